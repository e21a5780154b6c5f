import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Secret } from '../core/secret.js';
import { startGitHostStandIn } from '../lab/githost/server.js';
import type { CustomerResult, KindResult } from '../reconcilers/engine.js';
import { CommitStatusReporter, type StatusSource, verdict } from './commit-status.js';
import { createLogger } from './logger.js';
import { ControllerMetrics } from './metrics.js';

const TOKEN = new Secret('token-for-the-stand-in-0123456789');
const SHA = 'b'.repeat(40);
const quiet = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });

function kind(k: string, over: Partial<KindResult> = {}): KindResult {
  return { kind: k as KindResult['kind'], sync: 'Synced', health: { status: 'Healthy', message: 'ok' }, actions: [], applied: [], observed: null, durationMs: 1, context: false, ...over } as KindResult;
}

function result(resources: KindResult[], over: Partial<CustomerResult> = {}): CustomerResult {
  return { customer: 'demo', mode: 'apply', suspended: false, resources, sync: 'Synced', health: 'Healthy', ...over } as CustomerResult;
}

function source(): StatusSource & EventEmitter {
  const e = new EventEmitter() as EventEmitter & { providers: unknown; revision: string | null; log: unknown; metrics: ControllerMetrics };
  e.providers = { vault: { get: async (name: string) => (name === 'GIT_HOST_TOKEN' ? TOKEN : null) } };
  e.revision = SHA;
  e.log = quiet;
  e.metrics = new ControllerMetrics({ queue: () => ({ depth: 0, inFlight: 0, delayed: 0 }), openDrift: () => [], providers: () => [], alerts: () => [] }, { version: 't', defaultMetrics: false });
  return e as never;
}

describe('commit status verdict', () => {
  it('success only when every resource is Synced and Healthy with nothing left; a trapped error first; pending otherwise', () => {
    assert.equal(verdict(result([kind('host'), kind('dns')]))?.state, 'success');
    assert.equal(verdict(result([kind('host'), kind('stack', { sync: 'OutOfSync', health: { status: 'Progressing', message: 'starting' } as never })])), null);
    const v = verdict(result([kind('host', { error: { class: 'transient', message: 'asleep' } }), kind('dns', { error: { class: 'terminal', message: 'record taken', trap: { trap: 'dns-foreign-record', fix: 'remove it' } as never } })]));
    assert.deepEqual(v, { state: 'failure', description: 'trap dns-foreign-record · dns: record taken' });
    assert.equal(verdict(result([kind('dns', { error: { class: 'transient', message: 'asleep' } })]))?.description, 'dns: asleep');
    // Not an error, but stuck on a trap: a record axe does not own holds the name.
    const stuck = verdict(result([kind('host'), kind('dns', { health: { status: 'Degraded', reason: 'ForeignRecord', message: 'a CNAME axe does not own', trap: { trap: 'dns-foreign-record', fix: 'remove it' } } as never }), kind('endpoints', { health: { status: 'Degraded', reason: 'EndpointDown', message: '502' } as never })]));
    assert.deepEqual(stuck, { state: 'failure', description: 'trap dns-foreign-record · dns: Degraded ForeignRecord: a CNAME axe does not own' });
    // Degraded without a trap may still recover (an endpoint coming up): pending.
    assert.equal(verdict(result([kind('endpoints', { health: { status: 'Degraded', reason: 'EndpointDown', message: '502' } as never })])), null);
    assert.equal(verdict(result([kind('dns', { sync: 'OutOfSync', actions: [{ op: 'create' } as never] })], { mode: 'observe' }))?.state, 'failure');
    assert.equal(verdict(result([], { suspended: true }))?.state, 'success');
  });
});

describe('CommitStatusReporter', () => {
  it('pending on the revision, success on a converged reconcile of that revision; retries a 500; a later revision\'s reconcile does not touch the old commit', async () => {
    const standIn = await startGitHostStandIn({ kind: 'gitea', token: TOKEN });
    try {
      const src = source();
      const reporter = new CommitStatusReporter({ config: { kind: 'gitea', api_url: standIn.apiUrl, repo: standIn.repo, token_secret: 'GIT_HOST_TOKEN' }, log: quiet, retryBaseMs: 10 });
      reporter.attach(src);
      standIn.failNext(500);
      src.emit('revision', { id: SHA, valid: true, diff: { added: ['demo'], changed: ['acme'], removed: [], unchanged: ['other'] } });
      await reporter.idle();
      assert.deepEqual([...standIn.latest(SHA).entries()].map(([c, s]) => [c, s.state]).sort(), [['axe/acme', 'pending'], ['axe/demo', 'pending']]);
      src.emit('reconcile-done', { customer: 'demo', result: result([kind('host')]), revision: SHA });
      src.emit('reconcile-done', { customer: 'acme', result: result([kind('host')]), revision: 'c'.repeat(40) });
      src.emit('reconcile-done', { customer: 'other', result: result([kind('host')]), revision: SHA });
      await reporter.idle();
      assert.equal(standIn.latest(SHA).get('axe/demo')?.state, 'success');
      assert.equal(standIn.latest(SHA).get('axe/acme')?.state, 'pending');
      assert.equal(standIn.latest(SHA).has('axe/other'), false);
      const text = await src.metrics.text();
      assert.match(text, /axe_commit_status_posts_total\{result="retried"\} 1/);
      assert.match(text, /axe_commit_status_posts_total\{result="ok"\} 3/);
      await reporter.stop();
      src.emit('reconcile-done', { customer: 'acme', result: result([kind('host')]), revision: SHA });
      await reporter.idle();
      assert.equal(standIn.latest(SHA).get('axe/acme')?.state, 'pending', 'stopped: no longer listening');
    } finally {
      await standIn.close();
    }
  });

  it('a release the customer failed (rolled back): failure naming the release, step and reason, kept when the rollback converges', async () => {
    const standIn = await startGitHostStandIn({ kind: 'gitea', token: TOKEN });
    try {
      const src = source();
      const reporter = new CommitStatusReporter({ config: { kind: 'gitea', api_url: standIn.apiUrl, repo: standIn.repo, token_secret: 'GIT_HOST_TOKEN' }, log: quiet, retryBaseMs: 10 });
      reporter.attach(src);
      src.emit('revision', { id: SHA, valid: true, diff: { added: [], changed: ['demo', 'acme'], removed: [], unchanged: [] } });
      src.emit('rollout-failed', { customer: 'demo', service: 'frame', ref: 'v2', from: 'v1', step: 'compose up', reason: 'frame-mcp-green is unhealthy' });
      src.emit('reconcile-done', { customer: 'demo', result: result([kind('host'), kind('stack')]), revision: SHA });
      src.emit('reconcile-done', { customer: 'acme', result: result([kind('host'), kind('stack')]), revision: SHA });
      await reporter.idle();
      assert.deepEqual(standIn.latest(SHA).get('axe/demo')?.state, 'failure');
      assert.equal(standIn.latest(SHA).get('axe/demo')?.description, 'release frame v2 failed at compose up (rolled back, v1 serves): frame-mcp-green is unhealthy');
      assert.equal(standIn.latest(SHA).get('axe/acme')?.state, 'success');
      // A newer revision tracks the customer again.
      const next = 'd'.repeat(40);
      (src as unknown as { revision: string }).revision = next;
      src.emit('revision', { id: next, valid: true, diff: { added: [], changed: ['demo'], removed: [], unchanged: [] } });
      src.emit('reconcile-done', { customer: 'demo', result: result([kind('host'), kind('stack')]), revision: next });
      await reporter.idle();
      assert.equal(standIn.latest(next).get('axe/demo')?.state, 'success');
      await reporter.stop();
    } finally {
      await standIn.close();
    }
  });

  it('a refused token is logged and counted once per post, never retried; a reconcile is never awaited', async () => {
    const standIn = await startGitHostStandIn({ kind: 'github', token: new Secret('another-token') });
    try {
      const src = source();
      const reporter = new CommitStatusReporter({ config: { kind: 'github', api_url: standIn.apiUrl, repo: standIn.repo, token_secret: 'GIT_HOST_TOKEN' }, log: quiet, retryBaseMs: 10 });
      reporter.attach(src);
      const t = Date.now();
      src.emit('revision', { id: SHA, valid: true, diff: { added: ['demo'], changed: [], removed: [], unchanged: [] } });
      assert.ok(Date.now() - t < 50, 'the event handler does not wait for the host');
      await reporter.idle();
      assert.equal(standIn.calls.length, 1);
      assert.equal(standIn.calls[0]!.status, 401);
      assert.match(await src.metrics.text(), /axe_commit_status_posts_total\{result="failed"\} 1/);
    } finally {
      await standIn.close();
    }
  });
});
