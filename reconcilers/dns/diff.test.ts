import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DnsDesired, type DnsRecord, diffDns, healthDns, ownerComment } from './diff.js';

const desired: DnsDesired = { customer: 'demo', zone: 'axelabs.ai', name: 'demo.axelabs.ai', target: 't-123.cfargotunnel.com' };
const record = (over: Partial<DnsRecord>): DnsRecord => ({ id: 'r1', name: 'demo.axelabs.ai', type: 'CNAME', content: 't-123.cfargotunnel.com', proxied: true, comment: ownerComment('demo'), ...over });

describe('dns diff', () => {
  it('converged state plans nothing and is Healthy', () => {
    const observed = [record({}), record({ id: 'other', name: 'acme.axelabs.ai', content: 'x.cfargotunnel.com', comment: ownerComment('acme') })];
    assert.deepEqual(diffDns(desired, observed), []);
    assert.equal(healthDns(desired, observed).status, 'Healthy');
  });

  it('creates the CNAME when there is none', () => {
    const [action, ...rest] = diffDns(desired, []);
    assert.equal(rest.length, 0);
    assert.equal(action?.op, 'create');
    assert.deepEqual(action?.payload.record, { name: 'demo.axelabs.ai', type: 'CNAME', content: 't-123.cfargotunnel.com', proxied: true, comment: 'managed-by=axe customer=demo' });
    assert.equal(healthDns(desired, []).status, 'Missing');
  });

  it('plans the create before the tunnel exists', () => {
    const [action] = diffDns({ ...desired, target: null }, []);
    assert.equal(action?.op, 'create');
    assert.match(action!.summary, /\(new tunnel\)\.cfargotunnel\.com/);
  });

  it('updates only its own record when it drifted', () => {
    const [action] = diffDns(desired, [record({ content: 'old.cfargotunnel.com', proxied: false })]);
    assert.equal(action?.op, 'update');
    assert.equal(action?.payload.recordId, 'r1');
    assert.match(action!.summary, /old\.cfargotunnel\.com → t-123\.cfargotunnel\.com, proxied off → on/);
  });

  it('adopts an unmarked CNAME that already points at the tunnel (id kept)', () => {
    const [action] = diffDns(desired, [record({ id: 'legacy', comment: null })]);
    assert.equal(action?.op, 'adopt');
    assert.equal(action?.payload.recordId, 'legacy');
  });

  it('never touches a foreign A record: Degraded with the trap', () => {
    const foreign = [record({ id: 'a1', type: 'A', content: '203.0.113.7', comment: 'made by hand' })];
    assert.deepEqual(diffDns(desired, foreign), []);
    const health = healthDns(desired, foreign);
    assert.equal(health.status, 'Degraded');
    assert.equal(health.reason, 'ForeignRecord');
    assert.equal(health.trap?.trap, 'dns-foreign-record');
    assert.match(health.trap!.fix, /demo\.axelabs\.ai/);
  });

  it('a foreign CNAME pointing elsewhere is foreign, not ours', () => {
    const foreign = [record({ content: 'elsewhere.example.com', comment: 'someone' })];
    assert.deepEqual(diffDns(desired, foreign), []);
    assert.equal(healthDns(desired, foreign).reason, 'ForeignRecord');
  });

  it('a record owned by another customer is foreign to this one', () => {
    assert.deepEqual(diffDns(desired, [record({ comment: ownerComment('acme') })]), []);
  });

  it('a TXT at the name blocks the CNAME: Degraded with the trap', () => {
    const txt = [record({ id: 't1', type: 'TXT', content: 'MS=ms123', comment: null })];
    assert.deepEqual(diffDns(desired, txt), []);
    assert.equal(healthDns(desired, txt).trap?.trap, 'dns-txt-beside-cname');
  });
});
