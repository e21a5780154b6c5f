import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CustomerResult } from '../../reconcilers/engine.js';
import type { ReconcileEnv } from '../../reconcilers/runtime.js';
import type { Action } from '../../reconcilers/types.js';
import { type DesiredState, loadRepo } from '../../schemas/repo.js';
import type { StackManifest } from '../../schemas/service-manifest.js';
import { EXAMPLE_REPO, tempDir } from '../../test/helpers.js';
import { History } from '../history.js';
import { disruptiveHold, RolloutManager } from './manager.js';

const MIN = 60_000;

async function example(): Promise<DesiredState> {
  const load = await loadRepo(EXAMPLE_REPO);
  assert.ok(load.ok);
  return load.state;
}

/** The state with frame at `ref` and frame's rollout set to a 1-minute bake, canary demo. */
function withFrame(state: DesiredState, ref: string, customers?: (c: DesiredState['customers']['customers']) => void): DesiredState {
  const manifests = new Map(state.manifests);
  const frame = manifests.get('frame') as StackManifest;
  manifests.set('frame', { ...frame, source: { ...frame.source, ref }, rollout: { canary: { customers: ['demo'] }, bake: '1m' } });
  const copy = structuredClone(state.customers);
  customers?.(copy.customers);
  return { ...state, customers: copy, manifests };
}

/** A reconcile result whose frame runs `ref` on green (blue stopped on `stopped`), or exactly `containers` when given. */
function result(customer: string, frame: { ref: string; stopped?: string; failure?: { step: string; reason: string }; containers?: Array<{ service: string; ref: string; state: string }> } | null, ok = true): CustomerResult {
  const containers = frame?.containers ?? (frame ? [{ service: 'frame-mcp-green', ref: frame.ref, state: 'running' }, ...(frame.stopped ? [{ service: 'frame-mcp-blue', ref: frame.stopped, state: 'exited' }] : [])] : []);
  const services = new Map([['frame', { host: { containers, failure: frame?.failure ? { ...frame.failure, ref: frame.ref } : null } }]]);
  return {
    customer,
    mode: 'apply',
    suspended: false,
    sync: ok ? 'Synced' : 'OutOfSync',
    health: ok ? 'Healthy' : 'Degraded',
    resources: [
      { kind: 'host', context: false, sync: 'Synced', health: { status: 'Healthy', reason: 'Ready', message: '' }, actions: [], applied: [], observed: {}, durationMs: 1 },
      { kind: 'stack', context: false, sync: ok ? 'Synced' : 'OutOfSync', health: { status: ok ? 'Healthy' : 'Degraded', reason: '', message: '' }, actions: [], applied: [], observed: { docker: true, services }, durationMs: 1 },
    ],
  } as unknown as CustomerResult;
}

async function setup() {
  const dir = await tempDir('rollout');
  const history = History.open(join(dir.path, 'h.sqlite'));
  let now = Date.UTC(2026, 11, 5, 8);
  const queued: string[] = [];
  const log = { info: () => undefined, warn: () => undefined };
  const m = new RolloutManager({ history, log, now: () => now, enqueue: (c) => queued.push(c) });
  return { dir, history, m, queued, clock: (ms: number) => (now += ms), [Symbol.asyncDispose]: async () => (history.close(), await dir[Symbol.asyncDispose]()) };
}

const frameRef = (gate: { env(env: ReconcileEnv): ReconcileEnv }, state: DesiredState): string => (gate.env({ state } as ReconcileEnv).state.manifests.get('frame') as StackManifest).source.ref;

describe('rollout manager', () => {
  it('the first ref seen is the baseline; a new ref goes to the canary first, the others keep theirs until the bake ends', async () => {
    await using t = await setup();
    const base = await example();
    const v1 = withFrame(base, 'v1');
    for (const id of ['acme', 'demo']) {
      const g = t.m.gate(v1, id);
      assert.equal(frameRef(g, v1), 'v1');
      t.m.observe(g, result(id, { ref: 'v1' }));
    }
    assert.equal(t.history.customerRef('acme', 'frame'), 'v1');
    const v2 = withFrame(base, 'v2');
    const acme = t.m.gate(v2, 'acme');
    assert.equal(frameRef(acme, v2), 'v1', 'acme is not admitted: it keeps v1');
    const demo = t.m.gate(v2, 'demo');
    assert.equal(frameRef(demo, v2), 'v2', 'the canary runs v2');
    // After its swap the old color is stopped, not removed: it keeps v1 and does not hold the bake.
    t.m.observe(demo, result('demo', { ref: 'v2', stopped: 'v1' }));
    assert.notEqual(t.history.rolloutCustomers(t.history.currentRollout('frame')!.id).find((r) => r.customer === 'demo')?.healthy_since ?? null, null, 'healthy on v2');
    t.clock(30_000);
    assert.equal(frameRef(t.m.gate(v2, 'acme'), v2), 'v1', 'baking');
    t.clock(31_000);
    t.queued.length = 0;
    t.m.tick();
    assert.deepEqual(t.queued, ['acme'], 'the bake is over: acme is queued');
    const acme2 = t.m.gate(v2, 'acme');
    assert.equal(frameRef(acme2, v2), 'v2');
    t.m.observe(acme2, result('acme', { ref: 'v2' }));
    t.clock(61_000);
    assert.equal(t.m.tick()[0]!.plan.state, 'complete');
    const events = t.history.events({ types: ['rollout'] }).map((e) => e.message).filter((m) => m.includes('frame'));
    assert.deepEqual(events, ['frame v1: baseline (first ref seen, every customer runs it)', 'frame v2: rollout started (from v1)', 'demo starts frame v2 (canary)', 'acme starts frame v2 (wave 1)', 'frame v2: complete']);
  });

  it('after a blue/green swap the canary bakes on its color: the shared services a swap does not recreate (postgres, the proxy) keep the old ref label', async () => {
    await using t = await setup();
    const base = await example();
    const v1 = withFrame(base, 'v1');
    for (const id of ['acme', 'demo']) t.m.observe(t.m.gate(v1, id), result(id, { ref: 'v1' }));
    const v2 = withFrame(base, 'v2');
    t.m.gate(v2, 'acme');
    const demo = t.m.gate(v2, 'demo');
    // What the lab's frame looks like after the canary's swap to v2: green runs v2, blue is stopped on v1,
    // postgres and axe-frame-proxy still run (compose up --no-deps frame-mcp-green never recreated them) with v1's labels.
    const containers = [
      { service: 'postgres', ref: 'v1', state: 'running' },
      { service: 'axe-frame-proxy', ref: 'v1', state: 'running' },
      { service: 'frame-mcp-blue', ref: 'v1', state: 'exited' },
      { service: 'frame-mcp-green', ref: 'v2', state: 'running' },
    ];
    const swapped = result('demo', { ref: 'v2', containers });
    t.m.observe(demo, swapped);
    const row = () => t.history.rolloutCustomers(t.history.currentRollout('frame')!.id).find((r) => r.customer === 'demo')!;
    assert.notEqual(row().healthy_since, null, 'healthy on v2: its live color runs v2');
    t.clock(61_000);
    t.queued.length = 0;
    t.m.tick();
    assert.deepEqual(t.queued, ['acme'], 'the bake is over: wave 1 opens');
    // A swap that left the OLD color serving (green stopped, blue running v1) is not on the release.
    const back = result('demo', { ref: 'v2', containers: [containers[0]!, containers[1]!, { service: 'frame-mcp-blue', ref: 'v1', state: 'running' }, { service: 'frame-mcp-green', ref: 'v2', state: 'exited' }] });
    t.m.observe(t.m.gate(v2, 'demo'), back);
    assert.equal(row().healthy_since, null, 'the old color serves: not on v2');
  });

  it('a failed canary halts the rollout: it goes back to its ref, nobody else starts; a fixing ref restarts', async () => {
    await using t = await setup();
    const base = await example();
    const v1 = withFrame(base, 'v1');
    for (const id of ['acme', 'demo']) t.m.observe(t.m.gate(v1, id), result(id, { ref: 'v1' }));
    const v2 = withFrame(base, 'v2');
    const demo = t.m.gate(v2, 'demo');
    t.m.observe(demo, result('demo', { ref: 'v2', failure: { step: 'health', reason: 'frame-mcp-green unhealthy' } }, false));
    t.clock(10 * MIN);
    const [sp] = t.m.tick();
    assert.equal(sp!.plan.state, 'halted');
    assert.deepEqual(sp!.plan.failures.map((f) => [f.customer, f.step, f.reason]), [['demo', 'health', 'frame-mcp-green unhealthy']]);
    assert.equal(frameRef(t.m.gate(v2, 'demo'), v2), 'v1', 'the failed canary goes back to v1');
    assert.equal(frameRef(t.m.gate(v2, 'acme'), v2), 'v1', 'nobody else starts');
    assert.match(t.history.events({ types: ['rollout'] }).at(-1)!.message, /frame v2: halted: failure budget spent \(1\/1\): demo at health: frame-mcp-green unhealthy/);
    const v3 = withFrame(base, 'v3');
    assert.equal(frameRef(t.m.gate(v3, 'demo'), v3), 'v3', 'a new ref restarts with the canary');
    assert.equal(frameRef(t.m.gate(v3, 'acme'), v3), 'v1');
    assert.equal(t.history.currentRollout('frame')!.from_ref, 'v1', 'from what the fleet ran, not the halted ref');
  });

  it('a pinned customer keeps its pin and is in no wave', async () => {
    await using t = await setup();
    const base = await example();
    const v1 = withFrame(base, 'v1');
    for (const id of ['acme', 'demo']) t.m.observe(t.m.gate(v1, id), result(id, { ref: 'v1' }));
    const v2 = withFrame(base, 'v2', (c) => (c.acme!.pins = { frame: 'v1' }));
    const g = t.m.gate(v2, 'acme');
    assert.equal(g.releases.size, 0);
    assert.deepEqual(t.m.plan('frame')!.plan.customers.find((c) => c.id === 'acme'), { id: 'acme', wave: -1, state: 'pinned', newRef: false });
  });

  it('outside the window, the disruptive service is held (all its actions), the rest runs', async () => {
    await using t = await setup();
    const base = await example();
    const closed = withFrame(base, 'v1', (c) => (c.demo!.maintenance = { timezone: 'UTC', windows: [{ days: ['sun'], hours: '02:00-03:00' }] }));
    const g = t.m.gate(closed, 'demo');
    assert.equal(g.windowOpen, false);
    const a = (op: string, target: string, disruptive?: boolean): Action => ({ kind: 'stack', op, target, summary: op, payload: { service: target.slice(6), ...(disruptive === undefined ? {} : { disruptive }) } });
    const actions = [a('checkout', 'stack:frame'), a('swap', 'stack:frame', true), a('up', 'stack:hive', false)];
    assert.deepEqual(g.hold!('stack', actions).map((x) => x.op), ['checkout', 'swap']);
    assert.deepEqual(g.hold!('dns', [{ kind: 'dns', op: 'update', target: 'dns:x', summary: '', payload: {} }]), []);
    assert.deepEqual([...g.heldTargets], ['stack:frame']);
    assert.deepEqual(disruptiveHold('stack', [a('up', 'stack:hive', false)]), []);
    assert.equal(t.m.gate(withFrame(base, 'v1'), 'demo').hold, undefined, 'no maintenance: nothing held');
  });
});
