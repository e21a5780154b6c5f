/**
 * The customer reconciler's contract: a work item in; `{ requeueAfterMs }` or
 * an AxeError (its class for the queue) out, with the pass recorded. The
 * engine is a stand-in returning fixed results; history is a real SQLite file.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { AxeError, terminal } from '../core/errors.js';
import type { CustomerResult, KindResult, reconcileCustomer } from '../reconcilers/engine.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { Health } from '../reconcilers/types.js';
import { type DesiredState, loadRepo } from '../schemas/repo.js';
import { EXAMPLE_REPO, tempDir } from '../test/helpers.js';
import { CustomerReconciler, LOCKED_REQUEUE_MS, type ReconcileDone } from './customer-reconciler.js';
import { History } from './history.js';
import { tryLease } from './lease.js';
import { createLogger } from './logger.js';
import { ControllerMetrics } from './metrics.js';
import type { Trigger, WorkItem } from './queue.js';
import { Recorder } from './recorder.js';
import type { Current } from './revisions.js';

const REV = 'a'.repeat(40);

function kind(k: KindResult['kind'], health: Health['status'], over: Partial<KindResult> = {}): KindResult {
  return { kind: k, sync: health === 'Healthy' ? 'Synced' : 'OutOfSync', health: { status: health, reason: health, message: health }, actions: [], applied: [], observed: null, durationMs: 1, context: false, ...over };
}

function result(customer: string, resources: KindResult[]): CustomerResult {
  return { customer, mode: 'apply', suspended: false, resources, sync: resources.every((r) => r.sync === 'Synced') ? 'Synced' : 'OutOfSync', health: resources.some((r) => r.health.status !== 'Healthy') ? 'Degraded' : 'Healthy' };
}

function item(key: string, ...triggers: Trigger[]): WorkItem {
  return { key, priority: 'normal', triggers: new Set(triggers), failures: 0, queuedAt: Date.now() };
}

describe('customer reconciler: work item in, Result or error out', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let history: History;
  let state: DesiredState;
  let next: () => Promise<CustomerResult>;
  const done: ReconcileDone[] = [];
  const scans: Array<[string, boolean]> = [];
  let passes = 0;
  let reconciler: CustomerReconciler;

  before(async () => {
    dir = await tempDir('customer-reconciler');
    history = History.open(join(dir.path, 'history.sqlite'));
    const load = await loadRepo(EXAMPLE_REPO);
    assert.ok(load.ok);
    state = load.state;
    const log = createLogger({ level: 'fatal', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    const metrics = new ControllerMetrics({ queue: () => ({ depth: 0, inFlight: 0, delayed: 0 }), openDrift: () => [], providers: () => [], alerts: () => [] }, { defaultMetrics: false });
    const current: Current = { id: REV, subject: null, state, env: {} as ReconcileEnv, digests: new Map([['acme', 'd1']]), appliedAt: Date.now() };
    const engine: typeof reconcileCustomer = () => next();
    reconciler = new CustomerReconciler({
      current: () => current,
      env: (c) => c.env,
      history,
      recorder: new Recorder({ history, metrics, log }),
      reconcile: engine,
      timings: { progressingRequeueMs: 15_000, degradedRequeueMs: 60_000 },
      zone: 'axelabs.ai',
      done: (e) => done.push(e),
      scanDone: (id, _t, failed) => scans.push([id, failed]),
      afterPass: () => (passes += 1),
    });
  });

  after(async () => {
    history.close();
    await dir[Symbol.asyncDispose]();
  });

  it('Synced and Healthy: nothing to requeue; the pass is recorded with its revision', async () => {
    next = async () => result('acme', [kind('dns', 'Healthy'), kind('tunnel', 'Healthy')]);
    assert.deepEqual(await reconciler.reconcile(item('acme', 'drift-scan')), {});
    assert.deepEqual(done.at(-1)?.revision, REV);
    assert.deepEqual(scans.at(-1), ['acme', false]);
    assert.equal(passes, 1);
    assert.deepEqual(history.resources('acme').map((r) => [r.kind, r.sync, r.desired]), [['dns', 'Synced', 'd1'], ['tunnel', 'Synced', 'd1']]);
  });

  it('Progressing: requeued after progressingRequeueMs', async () => {
    next = async () => result('acme', [kind('stack', 'Progressing')]);
    assert.deepEqual(await reconciler.reconcile(item('acme', 'revision')), { requeueAfterMs: 15_000 });
    assert.deepEqual(history.resources('acme').map((r) => r.kind), ['stack'], 'kinds gone from the result lose their rows');
  });

  it('Degraded: requeued after degradedRequeueMs while the controller brings the customer up, else left to the drift scan', async () => {
    next = async () => result('acme', [kind('dns', 'Healthy'), kind('stack', 'Degraded', { sync: 'Synced' })]);
    assert.equal(history.isConverging('acme'), false);
    assert.deepEqual(await reconciler.reconcile(item('acme')), {});
    history.markConverging('acme');
    assert.deepEqual(await reconciler.reconcile(item('acme')), { requeueAfterMs: 60_000 });
  });

  it('the ship line: written once, when the pass after acting finds every resource Synced and Healthy', async () => {
    next = async () => result('acme', [kind('dns', 'Healthy', { applied: [{ kind: 'dns', op: 'create', target: 'dns:acme', summary: 'create acme', payload: null }] })]);
    assert.deepEqual(await reconciler.reconcile(item('acme')), {});
    const ship = history.events({ customer: 'acme', types: ['ship'] });
    assert.equal(ship.length, 1);
    assert.match(ship[0]!.message, /^ship: acme converged by the controller at aaaaaaaaaaaa — dns Synced and Healthy; https:\/\//);
    assert.equal(history.isConverging('acme'), false);
  });

  it('a transient resource error is a transient AxeError (the queue backs off); a terminal one is terminal', async () => {
    next = async () => result('acme', [kind('dns', 'Unknown', { error: { class: 'transient', message: 'Cloudflare 503' } })]);
    await assert.rejects(reconciler.reconcile(item('acme', 'drift-scan')), (e: unknown) => e instanceof AxeError && e.class === 'transient');
    assert.deepEqual(scans.at(-1), ['acme', true]);
    next = async () => result('acme', [kind('dns', 'Unknown', { error: { class: 'terminal', message: 'zone not found' } })]);
    await assert.rejects(reconciler.reconcile(item('acme')), (e: unknown) => e instanceof AxeError && e.class === 'terminal');
  });

  it('the engine throwing: its AxeError comes out as it is, anything else as transient; the reconcile row is closed', async () => {
    next = async () => Promise.reject(terminal('customer acme is not in the desired state'));
    await assert.rejects(reconciler.reconcile(item('acme')), (e: unknown) => e instanceof AxeError && e.class === 'terminal');
    next = async () => Promise.reject(new Error('socket hang up'));
    await assert.rejects(reconciler.reconcile(item('acme')), (e: unknown) => e instanceof AxeError && e.class === 'transient' && /socket hang up/.test(e.message));
    assert.equal(history.events({ customer: 'acme', types: ['error'] }).at(-1)?.message, 'socket hang up');
  });

  it('a customer a CLI command holds: not reconciled, looked at again after LOCKED_REQUEUE_MS', async () => {
    const cli = tryLease({ history, holder: 'cli', command: 'axe apply acme --apply' }, 'acme');
    assert.ok('lease' in cli);
    let called = false;
    next = async () => ((called = true), result('acme', []));
    try {
      assert.deepEqual(await reconciler.reconcile(item('acme')), { requeueAfterMs: LOCKED_REQUEUE_MS });
      assert.equal(called, false);
    } finally {
      cli.lease.release();
    }
  });

  it('a customer not in the applied revision: done, nothing run', async () => {
    let called = false;
    next = async () => ((called = true), result('gone', []));
    assert.deepEqual(await reconciler.reconcile(item('gone', 'drift-scan')), {});
    assert.equal(called, false);
    assert.deepEqual(scans.at(-1), ['gone', false]);
  });
});
