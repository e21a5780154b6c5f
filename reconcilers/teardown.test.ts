import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderActions } from './order.js';
import { planTeardown, type TeardownObserved } from './teardown.js';
import type { Action, Kind } from './types.js';

const left = (kinds: Partial<Record<Kind, unknown>>): TeardownObserved => ({ kinds: new Map(Object.entries(kinds) as Array<[Kind, unknown]>), hostError: null });

const everything = left({
  stack: { projects: ['x-frame'], secretFiles: [], networks: ['axe-x'] },
  cloudflared: { secretFiles: ['~/.axe/cloudflared/credentials.json'], service: 'container' },
  dns: { records: [{ id: 'r', type: 'CNAME', name: 'x.axelabs.ai' }], zoneId: 'z' },
  tunnel: { tunnel: { id: 't', name: 'axe-x' } },
});

const ops = (actions: readonly Action[]) => actions.map((a) => `${a.kind}:${a.op}`);

describe('teardown: each kind plans its deletion, the engine orders the plan by its links', () => {
  it('the order prune has always run in, from the links', () => {
    assert.deepEqual(ops(planTeardown('x', everything)), ['stack:compose-down', 'cloudflared:remove-file', 'cloudflared:remove-service', 'stack:remove-network', 'dns:delete', 'tunnel:delete']);
  });

  it('the links behind it: a network after the cloudflared service, the tunnel after DNS and cloudflared, Cloudflare after the host', () => {
    const plan = planTeardown('x', everything);
    const of = (kind: Kind, op: string) => plan.find((a) => a.kind === kind && a.op === op)!.after ?? [];
    assert.ok(of('stack', 'remove-network').includes('cloudflared:remove-service'));
    assert.ok(of('tunnel', 'delete').includes('dns') && of('tunnel', 'delete').includes('cloudflared'));
    assert.ok(of('dns', 'delete').includes('stack') && of('dns', 'delete').includes('cloudflared'));
  });

  it('with the stacks\' env files and a LaunchDaemon: every file after compose down, the network still after the service', () => {
    const plan = planTeardown(
      'x',
      left({
        stack: { projects: ['x-frame', 'x-hive'], secretFiles: ['~/s/frame/.env.axe'], networks: ['axe-x'] },
        cloudflared: { secretFiles: [], service: 'launchd' },
        dns: { records: [], zoneId: 'z' },
        tunnel: { tunnel: null },
      }),
    );
    assert.deepEqual(
      plan.map((a) => a.target),
      ['stack:x-frame', 'stack:x-hive', 'file:~/s/frame/.env.axe', 'launchd:ai.axelabs.cloudflared', 'network:axe-x'],
    );
  });

  it('an unobserved host plans nothing, not even in Cloudflare; nothing left plans nothing', () => {
    assert.deepEqual(planTeardown('x', { ...everything, hostError: 'down' }), []);
    const gone = left({ stack: { projects: [], secretFiles: [], networks: [] }, cloudflared: { secretFiles: [], service: null }, dns: { records: [], zoneId: 'z' }, tunnel: { tunnel: null } });
    assert.deepEqual(planTeardown('x', gone), []);
  });
});

const act = (kind: Kind, op: string, target: string, after?: string[]): Action => ({ kind, op, target, summary: op, payload: {}, ...(after ? { after } : {}) });

describe('the engine order over after links', () => {
  it('keeps plan order where no link says otherwise, and moves an action after what it names', () => {
    const a = act('stack', 'up', 'a');
    const b = act('stack', 'up', 'b', ['stack:up:c']);
    const c = act('stack', 'up', 'c');
    assert.deepEqual(orderActions([a, b, c]).map((x) => x.target), ['a', 'c', 'b']);
    assert.deepEqual(orderActions([a, c]).map((x) => x.target), ['a', 'c']);
  });

  it('a link names one action, a kind and op, or a kind; a link naming nothing in the plan holds', () => {
    const plan = [act('tunnel', 'delete', 't', ['dns']), act('dns', 'delete', 'd1'), act('dns', 'delete', 'd2', ['cloudflared:remove-service'])];
    assert.deepEqual(orderActions(plan).map((x) => x.target), ['d1', 'd2', 't']);
    // `dns` does not name `dnsx:...`: links name whole words.
    assert.deepEqual(orderActions([act('tunnel', 'delete', 't', ['dn']), act('dns', 'delete', 'd')]).map((x) => x.target), ['t', 'd']);
  });

  it('a cycle is an error that names it', () => {
    const plan = [act('stack', 'x', 'a', ['stack:x:c']), act('stack', 'x', 'b', ['stack:x:a']), act('stack', 'x', 'c', ['stack:x:b']), act('dns', 'delete', 'free')];
    assert.throws(() => orderActions(plan), /after links form a cycle: stack:x:\w → stack:x:\w → stack:x:\w → stack:x:\w/);
    assert.throws(() => orderActions([act('stack', 'x', 'a', ['stack:x:a'])]), /linked after itself/);
    // A kind-wide link naming its own action as well is no cycle.
    assert.deepEqual(orderActions([act('stack', 'x', 'a', ['stack', 'dns']), act('dns', 'delete', 'd')]).map((x) => x.target), ['d', 'a']);
  });
});
