/**
 * The customer reconciler, in controller-runtime's shape: a work item (a
 * customer and why it was queued) in; `{ requeueAfterMs }` out, or an
 * AxeError whose class says what the queue does (transient: back off and
 * retry; terminal: wait for the next revision, drift scan or request).
 *
 * One pass: take the customer's lease (a CLI command acting on it goes
 * first: come back in 5 s), run the engine with `apply: true` (the
 * customer's policy decides what it may do), hand the result to the
 * recorder, then judge the requeue:
 * - a resource Progressing, or actions left in apply mode → progressingRequeueMs;
 * - Degraded or Missing while the controller is bringing the customer up
 *   (it acted, no ship line yet) → degradedRequeueMs; otherwise the next
 *   drift scan looks again;
 * - a resource failed → the error (transient before terminal).
 */
import { AxeError, terminal, transient } from '../core/errors.js';
import type { CustomerResult, ProgressEvent, reconcileCustomer } from '../reconcilers/engine.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { History } from './history.js';
import { tryLease } from './lease.js';
import type { WorkItem } from './queue.js';
import type { Recorder } from './recorder.js';
import type { Current } from './revisions.js';

/** controller-runtime's `Result`: nothing (done until something queues it), or look again after this long. */
export interface ReconcileOutcome {
  requeueAfterMs?: number;
}

/** A customer a CLI command is changing is looked at again this soon. */
export const LOCKED_REQUEUE_MS = 5_000;

export interface ReconcileDone {
  customer: string;
  result: CustomerResult;
  triggers: string[];
  /** The applied revision the pass ran. */
  revision: string;
}

export interface CustomerReconcilerDeps {
  /** The applied revision (null before the first good one). */
  current(): Current | null;
  /** The environment a pass of `current` reads (the scan, runtime suspensions applied). */
  env(current: Current): ReconcileEnv;
  /** The database holding the per-customer leases. */
  history: History;
  recorder: Recorder;
  reconcile: typeof reconcileCustomer;
  timings: { progressingRequeueMs: number; degradedRequeueMs: number };
  /** The public domain shown in the ship log when the customer declares none. */
  zone: string;
  /** The engine returned (before the requeue is judged). */
  done(event: ReconcileDone): void;
  /** The customer's part of a running drift scan is over. */
  scanDone(customer: string, triggers: string[], failed: boolean): void;
  /** After a pass that ran: alerts judged, event streams synced. */
  afterPass(): void;
}

export class CustomerReconciler {
  readonly #deps: CustomerReconcilerDeps;

  constructor(deps: CustomerReconcilerDeps) {
    this.#deps = deps;
  }

  async reconcile(item: WorkItem): Promise<ReconcileOutcome> {
    const deps = this.#deps;
    const current = deps.current();
    if (!current) return {};
    const id = item.key;
    const triggers = [...item.triggers];
    const customer = current.state.customers.customers[id];
    if (!customer) {
      deps.scanDone(id, triggers, false);
      return {};
    }
    // One writer per customer: a CLI command acting on it now goes first; this reconcile comes back after it.
    const taken = tryLease({ history: deps.history, holder: 'controller', command: `reconcile (${triggers.join(', ') || 'queued'})` }, id);
    if ('held' in taken) {
      deps.recorder.lockedOut(id, taken.held);
      deps.scanDone(id, triggers, false);
      return { requeueAfterMs: LOCKED_REQUEUE_MS };
    }
    const env = deps.env(current);
    const revision = current.id;
    const recId = deps.recorder.beginReconcile(id, revision, triggers);
    const onProgress = (event: ProgressEvent): void => deps.recorder.progress(event, revision);
    let result: CustomerResult;
    try {
      result = await deps.reconcile(env, id, { apply: true, onProgress });
    } catch (error) {
      taken.lease.release();
      deps.recorder.reconcileCrashed(recId, id, revision, error);
      deps.scanDone(id, triggers, true);
      if (error instanceof AxeError) throw error;
      throw transient(error instanceof Error ? error.message : String(error), { customer: id, cause: error });
    }
    taken.lease.release();
    const f = deps.recorder.reconcileDone(recId, id, result, current.digests.get(id) ?? null, revision, customer.public_domain ?? `${id}.${deps.zone}`);
    deps.done({ customer: id, result, triggers, revision });
    deps.scanDone(id, triggers, f.errors > 0);
    deps.afterPass();

    const failed = (n: number, cls: 'transient' | 'terminal'): string => `${n} resource(s) of ${id} failed (${cls}); see axe status ${id}`;
    if (f.transientErrors > 0) throw transient(failed(f.transientErrors, 'transient'), { customer: id });
    if (f.terminalErrors > 0) throw terminal(failed(f.terminalErrors, 'terminal'), { customer: id });
    if (f.progressing || (result.mode === 'apply' && !result.suspended && f.pending > 0)) return { requeueAfterMs: deps.timings.progressingRequeueMs };
    // While the controller is bringing a customer up (it acted, no ship line yet), check it again soon;
    // otherwise a Degraded customer (an offline Mac mini, observe-only drift) waits for the next drift scan.
    if (f.unhealthy && result.mode === 'apply' && deps.history.isConverging(id)) return { requeueAfterMs: deps.timings.degradedRequeueMs };
    return {};
  }
}
