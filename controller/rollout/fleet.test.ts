/**
 * The rollout through the controller's customer reconciler, over a fleet of
 * six customers whose frame stacks are a stand-in (the engine is replaced by
 * a model of a blue/green stack: it runs one ref, swaps to the desired one
 * unless the swap is held, fails a `-broken` ref and stays on the old one).
 * The clock is the test's. What it holds the product to: the desired ref each
 * pass is given (the gate), what is recorded, and when the next wave starts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { CustomerResult, KindResult, reconcileCustomer, ReconcileOptions } from '../../reconcilers/engine.js';
import type { ReconcileEnv } from '../../reconcilers/runtime.js';
import type { Action } from '../../reconcilers/types.js';
import { type DesiredState, loadRepo } from '../../schemas/repo.js';
import { pinnedRefs, withRefs } from '../../schemas/rollout.js';
import type { StackManifest } from '../../schemas/service-manifest.js';
import { EXAMPLE_REPO, tempDir } from '../../test/helpers.js';
import { CustomerReconciler } from '../customer-reconciler.js';
import { History } from '../history.js';
import { createLogger } from '../logger.js';
import { ControllerMetrics } from '../metrics.js';
import { Recorder } from '../recorder.js';
import type { Current } from '../revisions.js';
import { RolloutManager } from './manager.js';
import { rolloutConditions } from './metrics.js';

const MIN = 60_000;
const IDS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];

interface Box {
  ref: string;
  offline: boolean;
  dnsDrift: boolean;
  swaps: number;
}

/** Six customers like acme, frame only; c6 pinned to v1 when `pin`; frame's rollout: canary c1, waves [2, 3], bake 5m. */
async function fleetState(ref: string, extra: (c: DesiredState['customers']) => void = () => undefined): Promise<DesiredState> {
  const load = await loadRepo(EXAMPLE_REPO);
  assert.ok(load.ok);
  const base = load.state;
  const acme = base.customers.customers.acme!;
  const customers = structuredClone(base.customers);
  customers.customers = Object.fromEntries(IDS.map((id) => [id, { ...structuredClone(acme), public_domain: `${id}.axelabs.ai`, tailscale_host: `${id}-macmini.tail-lab.ts.net` }]));
  customers.services = { frame: Object.fromEntries(IDS.map((id) => [id, { secrets: [] }])) };
  extra(customers);
  const frame = base.manifests.get('frame') as StackManifest;
  const manifests = new Map(base.manifests);
  manifests.set('frame', { ...frame, source: { ...frame.source, ref }, rollout: { canary: { customers: ['c1'] }, waves: [2, 3], bake: '5m', failure_budget: 1, offline_deadline: '20m' } });
  return { ...base, customers, manifests };
}

function resultOf(id: string, box: Box, held: boolean, failure: { ref: string; step: string; reason: string } | null): CustomerResult {
  const ok = !held && !failure && !box.dnsDrift;
  const host: KindResult = box.offline
    ? { kind: 'host', context: false, sync: 'Unknown', health: { status: 'Unknown', reason: 'TransientError', message: 'ssh: connect timed out' }, actions: [], applied: [], observed: null, durationMs: 1, error: { class: 'transient', message: 'ssh: connect timed out' } }
    : { kind: 'host', context: false, sync: 'Synced', health: { status: 'Healthy', reason: 'Ready', message: '' }, actions: [], applied: [], observed: {}, durationMs: 1 };
  // The live color runs the box's ref; postgres, which a blue/green swap never recreates, keeps the labels of the first ref.
  const containers = [
    { service: 'frame-mcp-blue', ref: box.ref, state: 'running' },
    { service: 'postgres', ref: 'v1.0.0-first', state: 'running' },
  ];
  const services = new Map([['frame', { host: { containers, failure } }]]);
  const stack: KindResult = box.offline
    ? { kind: 'stack', context: false, sync: 'Unknown', health: { status: 'Unknown', reason: 'DependencyFailed', message: 'waiting for host' }, actions: [], applied: [], observed: null, durationMs: 1 }
    : { kind: 'stack', context: false, sync: ok || failure ? 'Synced' : 'OutOfSync', health: { status: failure ? 'Degraded' : 'Healthy', reason: failure ? 'RolledBack' : 'Running', message: '' }, actions: [], applied: [], observed: { docker: true, services }, durationMs: 1 };
  return { customer: id, mode: 'apply', suspended: false, resources: [host, stack], sync: ok && !box.offline ? 'Synced' : 'OutOfSync', health: ok && !box.offline ? 'Healthy' : 'Degraded' };
}

async function setup(first: DesiredState) {
  const dir = await tempDir('rollout-fleet');
  const history = History.open(join(dir.path, 'history.sqlite'));
  let now = Date.UTC(2026, 11, 5, 10, 0);
  const queue = new Set<string>();
  const log = createLogger({ level: 'fatal', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const metrics = new ControllerMetrics({ queue: () => ({ depth: 0, inFlight: 0, delayed: 0 }), openDrift: () => [], providers: () => [], alerts: () => [] }, { defaultMetrics: false });
  const rollout = new RolloutManager({ history, log, now: () => now, enqueue: (c) => queue.add(c), registry: metrics.registry });
  const boxes = new Map<string, Box>(IDS.map((id) => [id, { ref: 'v1', offline: false, dnsDrift: false, swaps: 0 }]));
  /** Every pass: customer and the frame ref it was given. */
  const given: Array<[string, string]> = [];
  const dnsFixed: string[] = [];
  let current: Current = { id: 'r1', subject: null, state: first, env: { state: first } as ReconcileEnv, digests: new Map(), appliedAt: now };
  const engine: typeof reconcileCustomer = async (env: ReconcileEnv, id: string, options: ReconcileOptions) => {
    const box = boxes.get(id)!;
    const pinned = withRefs(env.state, pinnedRefs(env.state.customers.customers[id]!.pins));
    const want = (pinned.manifests.get('frame') as StackManifest).source.ref;
    given.push([id, want]);
    if (box.offline) return resultOf(id, box, false, null);
    if (box.dnsDrift) {
      const dns: Action = { kind: 'dns', op: 'update', target: `dns:${id}`, summary: 'fix the CNAME', payload: {} };
      if ((options.hold?.('dns', [dns]) ?? []).length === 0) (box.dnsDrift = false), dnsFixed.push(id);
    }
    if (box.ref === want) return resultOf(id, box, false, null);
    const swap: Action = { kind: 'stack', op: 'swap', target: 'stack:frame', summary: `swap to ${want}`, payload: { service: 'frame', disruptive: true } };
    if ((options.hold?.('stack', [swap]) ?? []).length > 0) return resultOf(id, box, true, null);
    box.swaps += 1;
    if (want.endsWith('-broken')) return resultOf(id, box, false, { ref: want, step: 'health', reason: 'frame-mcp-blue never became healthy' });
    box.ref = want;
    return resultOf(id, box, false, null);
  };
  const reconciler = new CustomerReconciler({
    current: () => current,
    env: (c) => c.env,
    history,
    recorder: new Recorder({ history, metrics, log }),
    reconcile: engine,
    rollout,
    timings: { progressingRequeueMs: 15_000, degradedRequeueMs: 60_000 },
    zone: 'axelabs.ai',
    done: () => undefined,
    scanDone: () => undefined,
    afterPass: () => undefined,
  });
  const pass = async (id: string) => {
    try {
      await reconciler.reconcile({ key: id, priority: 'normal', triggers: new Set(['revision']), failures: 0, queuedAt: now });
    } catch {
      // A failed pass is the queue's business; the test reads what was recorded.
    }
  };
  return {
    history,
    rollout,
    boxes,
    given,
    dnsFixed,
    metrics,
    clock: (ms: number) => (now += ms),
    /** A revision applied: every customer reconciled once. */
    apply: async (state: DesiredState, id: string) => {
      current = { ...current, id, state, env: { state } as ReconcileEnv };
      for (const c of IDS) await pass(c);
      queue.clear(); // everyone was just reconciled
    },
    /** The controller's tick: what it queues is reconciled; returns who ran. */
    tick: async () => {
      rollout.tick();
      const ran = [...queue].sort();
      queue.clear();
      for (const c of ran) await pass(c);
      for (const c of ran) queue.delete(c); // queued again while its batch ran: the queue dedupes that
      return ran;
    },
    refs: () => IDS.map((id) => boxes.get(id)!.ref),
    [Symbol.asyncDispose]: async () => (history.close(), await dir[Symbol.asyncDispose]()),
  };
}

describe('a rollout across six customers (the controller\'s reconciler, a stand-in engine)', () => {
  it('canary, then two waves after the bake; a broken release halts at the canary; a fixing ref completes; pins, windows and an offline customer', async () => {
    const window = { timezone: 'Europe/Paris', windows: [{ days: ['sat' as const], hours: '12:00-13:00' }] };
    // Saturday 2026-12-05 10:00 UTC is 11:00 in Paris: c5's window opens in an hour.
    const v1 = await fleetState('v1', (c) => {
      c.customers.c6!.pins = { frame: 'v1' };
      c.customers.c5!.maintenance = window;
    });
    await using t = await setup(v1);
    await t.apply(v1, 'r1');
    assert.deepEqual(t.refs(), ['v1', 'v1', 'v1', 'v1', 'v1', 'v1']);

    // A broken release: the canary swaps, fails and goes back; the rollout halts; nobody else is touched.
    const broken = await fleetState('v2-broken', (c) => {
      c.customers.c6!.pins = { frame: 'v1' };
      c.customers.c5!.maintenance = window;
    });
    t.given.length = 0;
    await t.apply(broken, 'r2');
    assert.deepEqual(t.given.filter(([, ref]) => ref === 'v2-broken').map(([id]) => id), ['c1'], 'only the canary is given the release');
    assert.equal(t.boxes.get('c1')!.swaps, 1);
    t.clock(10 * MIN);
    assert.deepEqual(await t.tick(), [], 'halted: nobody is queued for it');
    assert.equal(t.rollout.plans[0]!.plan.state, 'halted');
    assert.deepEqual(IDS.slice(1).map((id) => t.boxes.get(id)!.swaps), [0, 0, 0, 0, 0]);
    assert.match(await t.metrics.text(), /axe_rollout_halted\{service="frame"\} 1/);
    const [alert] = rolloutConditions(t.rollout.plans);
    assert.equal(alert?.name, 'RolloutHalted');
    assert.match(alert!.summary, /^frame v2-broken halted, budget spent \(1\/1\): c1 at health: frame-mcp-blue never became healthy$/);
    const failed = t.history.events({ types: ['rollout'] }).map((e) => e.message);
    assert.ok(failed.includes('c1 failed frame v2-broken at health: frame-mcp-blue never became healthy'), failed.join('\n'));
    assert.ok(failed.some((m) => /^frame v2-broken: halted: failure budget spent \(1\/1\): c1 at health/.test(m)));
    t.given.length = 0;
    await t.tick();
    await t.apply(broken, 'r2');
    assert.ok(t.given.every(([, ref]) => ref === 'v1'), 'after the halt the canary is back on v1 too');

    // A fixing ref restarts: canary first, the first wave (2) after the bake, then the second (3, less the pinned c6).
    const v3 = await fleetState('v3', (c) => {
      c.customers.c6!.pins = { frame: 'v1' };
      c.customers.c5!.maintenance = window;
    });
    t.boxes.get('c3')!.offline = true;
    t.boxes.get('c5')!.dnsDrift = true;
    t.clock(MIN);
    await t.apply(v3, 'r3');
    assert.deepEqual(t.refs(), ['v3', 'v1', 'v1', 'v1', 'v1', 'v1']);
    assert.deepEqual(t.dnsFixed, ['c5'], 'c5\'s DNS drift is fixed at once, outside its window');
    t.clock(4 * MIN);
    assert.deepEqual(await t.tick(), [], 'baking');
    t.clock(2 * MIN);
    assert.deepEqual(await t.tick(), ['c2', 'c3'], 'wave 1 after the bake');
    assert.deepEqual(t.refs(), ['v3', 'v3', 'v1', 'v1', 'v1', 'v1'], 'c3 is offline: pending');
    t.clock(6 * MIN);
    assert.deepEqual(await t.tick(), [], 'c3 offline holds wave 1 until its deadline (20m)');
    t.clock(15 * MIN);
    assert.deepEqual(await t.tick(), ['c4', 'c5'], 'past the deadline, wave 2 starts; c6 is pinned');
    assert.equal(t.boxes.get('c5')!.ref, 'v1', 'c5 is outside its window: its swap waits');
    assert.equal(t.boxes.get('c4')!.ref, 'v3');
    assert.equal(t.history.rolloutCustomers(t.history.currentRollout('frame')!.id).find((r) => r.customer === 'c5')!.waiting_window, 1);

    // The window opens (12:00 Paris = 11:00 UTC): c5 is queued and swaps. c3 comes back and catches up.
    t.clock(40 * MIN);
    assert.deepEqual(await t.tick(), ['c5']);
    assert.equal(t.boxes.get('c5')!.ref, 'v3');
    t.boxes.get('c3')!.offline = false;
    await t.apply(v3, 'r3');
    assert.deepEqual(t.refs(), ['v3', 'v3', 'v3', 'v3', 'v3', 'v1'], 'everyone on v3 but the pinned c6');
    t.clock(6 * MIN);
    await t.tick();
    assert.equal(t.rollout.plans[0]!.plan.state, 'complete');
    assert.deepEqual(rolloutConditions(t.rollout.plans), [], 'RolloutHalted resolves');
    assert.deepEqual(t.given.filter(([id]) => id === 'c6').map(([, ref]) => ref).filter((r) => r !== 'v1'), [], 'the pinned customer never got another ref');
  });
});
