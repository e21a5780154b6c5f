/**
 * The controller's parts and how they are connected (manager.ts owns them
 * and their lifecycle). Every connection is a callback read when it runs, so
 * the parts can be built in any order.
 *
 *   source ─► revisions ─► queue ─► customer-reconciler ─► the engine
 *                 │                         │
 *                 └───────► recorder ◄──────┘  (history, drift, metrics, ship log)
 *
 * After a revision is applied (`afterRevision`): the scan is the new
 * revision's, the customers it removed are removed (removals.ts), then the
 * customers it concerns are queued: at start all (those a restart
 * interrupted first, high), later only the ones it adds or changes (high).
 */
import type { EventEmitter } from 'node:events';
import type { Providers } from '../providers/index.js';
import { buildEnv } from '../reconcilers/env.js';
import type { reconcileCustomer } from '../reconcilers/engine.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { DesiredState } from '../schemas/repo.js';
import { AlertDispatch } from './alerting.js';
import type { Alerter } from './alerts.js';
import { AlertmanagerSender } from './alertmanager.js';
import { parseDuration } from './config.js';
import { settingsDigest } from './control-api.js';
import { RuntimeControls, withSuspensions } from './controls.js';
import { CustomerReconciler } from './customer-reconciler.js';
import type { History } from './history.js';
import type { Logger } from './logger.js';
import type { ControllerOptions, ControllerTimings } from './options.js';
import type { WorkQueue } from './queue.js';
import { Readiness } from './readiness.js';
import type { Recorder } from './recorder.js';
import { Removals } from './removals.js';
import { type AppliedRevision, Revisions, type SyncReason } from './revisions.js';
import { Scans } from './scans.js';
import { Triggers } from './triggers.js';
import { VaultReads } from './vault-reads.js';
import { WarmPlans } from './warm-plan.js';
import type { RolloutManager } from './rollout/manager.js';

/** What the parts read of the manager (its public surface). */
export interface PartsHost extends EventEmitter {
  readonly history: History;
  readonly queue: WorkQueue;
  readonly alerter: Alerter;
  readonly log: Logger;
  readonly recorder: Recorder;
  readonly rollout: RolloutManager;
  readonly revision: string | null;
  readonly desiredState: DesiredState | null;
  readonly providers: Providers | null;
  sync(reason: SyncReason): Promise<unknown>;
  driftScan(): Promise<unknown>;
}

export interface Parts {
  revisions: Revisions;
  scans: Scans;
  removals: Removals;
  alerts: AlertDispatch;
  readiness: Readiness;
  reconciler: CustomerReconciler;
  triggers: Triggers;
  vaultReads: VaultReads;
  controls: RuntimeControls;
  /** Read-only plans over the controller's connections (`POST /control/plan`). */
  plans: WarmPlans;
  /** An environment as a pass sees it: the runtime suspensions laid over the customers' policies. */
  view(env: ReconcileEnv): ReconcileEnv;
  /** Customers whose actions a restart interrupted (reconciled first). */
  interrupted: Set<string>;
  /** Background work (prunes, prefetches) `settled()` waits for. */
  background: Set<Promise<void>>;
  track(work: Promise<void>): void;
}

export function buildParts(c: PartsHost, options: ControllerOptions, t: ControllerTimings, reconcile: typeof reconcileCustomer): Parts {
  const { recorder } = c;
  const n = options.config.notifications;
  const env = (state: DesiredState, revision: string | null): ReconcileEnv => buildEnv({ config: options.config, zone: options.zone, state, providers: c.providers!, revision });
  const background = new Set<Promise<void>>();
  const suspended = (state: DesiredState): DesiredState => withSuspensions(state, c.history.suspensions());
  const p: Parts = {
    view(e) {
      const state = suspended(e.state);
      return state === e.state ? e : { ...e, state };
    },
    interrupted: new Set(),
    background,
    track(work) {
      background.add(work);
      void work.finally(() => background.delete(work));
    },
    revisions: new Revisions({
      source: options.source,
      history: c.history,
      recorder,
      log: c.log,
      buildEnv: env,
      onApplied: (applied) => afterRevision(c, p, applied),
      onRejected: (ref, issues) => {
        c.emit('revision', { id: ref.id, valid: false, issues });
        p.alerts.evaluate();
      },
      onRecovered: () => p.alerts.evaluate(),
    }),
    scans: new Scans({ maxAgeMs: t.scanMaxAgeMs, recorder, customers: () => Object.keys(c.desiredState?.customers.customers ?? {}).length, onDone: (figures) => c.emit('drift-scan-done', figures) }),
    removals: new Removals({
      history: c.history,
      recorder,
      revision: () => c.revision,
      load: (id) => p.revisions.load(id),
      buildEnv: env,
      forget: (id) => {
        c.queue.forget(id);
        p.scans.done(id, ['drift-scan'], false);
      },
      track: (work) => p.track(work),
    }),
    alerts: new AlertDispatch({
      alerter: c.alerter,
      recorder,
      alertmanager: n.alertmanager ? new AlertmanagerSender({ url: n.alertmanager.url, resendMs: parseDuration(n.alertmanager.resend), ttlMs: 4 * parseDuration(n.alertmanager.resend) }) : null,
      inputs: () => ({ rejected: p.revisions.rejected, running: c.revision, bw: p.readiness.bw, resources: c.history.resources(), drifts: c.history.openDrifts(), rollouts: c.rollout.plans }),
      notificationUrl: () => p.vaultReads.notificationUrl(),
      onNotices: (notices) => c.emit('alerts', notices),
    }),
    readiness: new Readiness({ vault: options.vault, bwMaxVersion: options.config.bw_max_version, log: c.log, onBwUnusable: () => p.alerts.evaluate() }),
    reconciler: new CustomerReconciler({
      current: () => p.revisions.current,
      env: (current) => p.view(p.scans.env(current.env)),
      history: c.history,
      recorder,
      reconcile,
      rollout: c.rollout,
      timings: t,
      zone: options.zone,
      done: (event) => {
        p.interrupted.delete(event.customer);
        c.emit('reconcile-done', event);
      },
      scanDone: (id, triggers, failed) => p.scans.done(id, triggers, failed),
      afterPass: () => {
        p.alerts.evaluate();
        // A host reached for the first time has its engine socket known now (the probe's memo).
        p.triggers.syncEvents();
      },
    }),
    triggers: new Triggers({
      source: options.source,
      log: c.log,
      pollIntervalMs: t.pollIntervalMs,
      alertEvalMs: t.alertEvalMs,
      driftSchedule: options.driftSchedule === false ? null : options.config.drift_schedule,
      sync: (reason) => void c.sync(reason),
      driftScan: () => void c.driftScan(),
      evaluateAlerts: () => p.alerts.evaluate(),
      state: () => (c.desiredState ? suspended(c.desiredState) : null),
      engineEvent: (customer, what, hostKey) => {
        p.scans.drop(hostKey);
        c.log.info({ customer, event: what }, 'engine event');
        c.emit('engine-event', { customer, what, at: Date.now() });
        c.queue.add(customer, { priority: 'high', trigger: 'engine-event' });
      },
    }),
    vaultReads: new VaultReads(options.config, () => c.providers, c.log),
    controls: new RuntimeControls({ history: c.history, recorder, applied: () => p.revisions.current, enqueue: (id) => c.queue.add(id, { priority: 'high', trigger: 'manual' }) }),
    plans: new WarmPlans({ applied: () => p.revisions.current, reconcile, log: c.log, settings: settingsDigest(options) }),
  };
  return p;
}

function afterRevision(c: PartsHost, p: Parts, { previous, current, diff }: AppliedRevision): void {
  p.scans.reset(current.env);
  c.emit('revision', { id: current.id, valid: true, diff });
  p.removals.afterRevision(current.digests, diff.removed, previous ? { id: previous.id, state: previous.state } : null);
  if (!previous) {
    // Customers whose actions a restart interrupted go first.
    const interrupted = p.interrupted;
    const ids = [...current.digests.keys()].sort((a, b) => Number(interrupted.has(b)) - Number(interrupted.has(a)));
    for (const id of ids) c.queue.add(id, { priority: interrupted.has(id) ? 'high' : 'normal', trigger: interrupted.has(id) ? 'interrupted' : 'startup' });
  } else {
    // Only the customers the revision changes: an unchanged customer's desired state is what it was
    // (its digest covers its block, slots and manifests); the drift scan keeps checking its actual state.
    for (const id of [...diff.added, ...diff.changed]) c.queue.add(id, { priority: 'high', trigger: 'revision' });
  }
  p.alerts.evaluate();
  p.triggers.syncEvents();
}
