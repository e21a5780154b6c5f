/**
 * The recorder's part for one reconcile's result (recorder.ts calls it; no
 * other module does): each shown resource's status row and metrics, drift
 * opened or closed, the error event, rows of kinds gone from the customer,
 * and the ship log line. Returns the pass's figures; what they mean for the
 * queue is the customer reconciler's business.
 *
 * Drift = a resource last seen Synced under the same desired state that now
 * needs actions (drift.ts); opened once, closed when Synced again.
 */
import type { BackupObserved } from '../reconcilers/backup/diff.js';
import type { ChecksObserved } from '../reconcilers/checks/diff.js';
import type { CustomerResult, KindResult } from '../reconcilers/engine.js';
import { isDrift, syncedUnder } from './drift.js';
import type { History, ResourceRow } from './history.js';
import type { Logger } from './logger.js';
import type { ControllerMetrics, ReconcileResult } from './metrics.js';

export interface PassFigures {
  sync: string;
  health: string;
  applied: number;
  pending: number;
  errors: number;
  transientErrors: number;
  terminalErrors: number;
  /** A resource is still Progressing. */
  progressing: boolean;
  /** A resource is Degraded or Missing. */
  unhealthy: boolean;
}

export interface RecordSinks {
  history: History;
  metrics: ControllerMetrics;
  log: Logger;
}

const SHORT = 12;

/** A commit id shortened for logs and messages (other ids as they are). */
export function short(id: string): string {
  return /^[0-9a-f]{40,64}$/.test(id) ? id.slice(0, SHORT) : id;
}

function kindResultLabel(k: KindResult): ReconcileResult {
  if (k.health.status === 'Suspended') return 'suspended';
  if (k.error) return 'error';
  if (k.health.reason === 'DependencyFailed') return 'waiting';
  if (k.actions.length > 0) return 'out_of_sync';
  if (k.applied.length > 0) return 'applied';
  return 'synced';
}

function pendingLines(k: KindResult): string {
  return k.actions.map((a) => `${a.op} ${a.target}`).join('\n');
}

function statusRow(id: string, k: KindResult, result: CustomerResult, prev: ResourceRow | null, digest: string | null, revision: string, now: number): ResourceRow {
  const trap = k.health.trap ?? k.error?.trap ?? null;
  return {
    customer: id,
    kind: k.kind,
    sync: k.sync,
    health: k.health.status,
    reason: k.health.reason,
    message: k.health.message,
    trap: trap?.trap ?? null,
    fix: trap?.fix ?? k.error?.fix ?? null,
    error_class: k.error?.class ?? null,
    mode: result.mode,
    suspended: k.health.status === 'Suspended' ? 1 : 0,
    revision,
    desired: digest,
    synced_desired: syncedUnder(k, prev, digest),
    last_reconcile: now,
    last_change: prev && prev.sync === k.sync && prev.health === k.health.status && prev.reason === k.health.reason ? prev.last_change : now,
    pending: pendingLines(k),
  };
}

function recordDrift(s: RecordSinks, id: string, k: KindResult, prev: ResourceRow | null, digest: string | null, revision: string, now: number): void {
  if (k.health.status === 'Suspended' || k.error) return;
  if (isDrift(k, prev, digest)) {
    const what = [...k.applied, ...k.actions].map((a) => `${a.op} ${a.target}`).join(', ');
    if (s.history.openDrift(id, k.kind, revision, what, now)) {
      s.metrics.driftDetected.inc({ customer: id, kind: k.kind });
      s.history.event({ type: 'drift', customer: id, kind: k.kind, revision, message: `drift: ${what}` });
      s.log.warn({ customer: id, kind: k.kind, mode: k.applied.length > 0 ? 'apply' : 'observe', actions: what }, 'drift detected');
    }
  }
  if (k.actions.length === 0) {
    const closed = s.history.closeDrift(id, k.kind, k.applied.length > 0, now);
    if (closed) {
      const how = k.applied.length > 0 ? 'corrected by the controller' : 'gone (corrected outside the controller)';
      s.history.event({ type: 'drift-closed', customer: id, kind: k.kind, revision, message: `drift ${how} after ${Math.round((now - closed.opened_at) / 1000)} s` });
      s.log.info({ customer: id, kind: k.kind, corrected: k.applied.length > 0, open_s: Math.round((now - closed.opened_at) / 1000) }, 'drift closed');
    }
  }
}

/** The ship log line, once per customer: the first pass with every resource Synced and Healthy after the controller acted on it. */
function maybeShip(s: RecordSinks, id: string, result: CustomerResult, revision: string, publicDomain: string): void {
  if (!s.history.isConverging(id)) return;
  const shown = result.resources.filter((k) => !k.context);
  if (shown.length === 0 || shown.some((k) => k.sync !== 'Synced' || k.health.status !== 'Healthy')) return;
  const line = `ship: ${id} converged by the controller at ${short(revision)} — ${shown.map((k) => k.kind).join(', ')} Synced and Healthy; https://${publicDomain}`;
  if (s.history.ship(id, revision, line)) s.log.info({ customer: id, revision: short(revision), line }, 'ship log');
}

/** Records one customer's reconcile result; returns its figures. */
export function recordResult(s: RecordSinks, id: string, result: CustomerResult, digest: string | null, revision: string, publicDomain: string): PassFigures {
  const now = Date.now();
  const shown = result.resources.filter((k) => !k.context);
  const f: PassFigures = { sync: result.sync, health: result.health, applied: 0, pending: 0, errors: 0, transientErrors: 0, terminalErrors: 0, progressing: false, unhealthy: false };
  const kinds = new Set<string>();
  for (const k of shown) {
    kinds.add(k.kind);
    const label = kindResultLabel(k);
    s.metrics.reconcileTotal.inc({ kind: k.kind, result: label });
    s.metrics.reconcileDuration.observe({ kind: k.kind, result: label }, k.durationMs / 1000);
    f.applied += k.applied.length;
    f.pending += k.actions.length;
    if (k.health.status === 'Progressing') f.progressing = true;
    if (k.health.status === 'Degraded' || k.health.status === 'Missing') f.unhealthy = true;
    if (k.error) {
      s.metrics.reconcileErrors.inc({ kind: k.kind, class: k.error.class });
      if (k.error.class === 'transient') f.transientErrors += 1;
      else f.terminalErrors += 1;
    }
    const prev = s.history.resource(id, k.kind);
    recordDrift(s, id, k, prev, digest, revision, now);
    const row = statusRow(id, k, result, prev, digest, revision, now);
    s.history.putResource(row);
    s.metrics.setResource({ customer: id, kind: k.kind, sync: k.sync, health: k.health.status, suspended: row.suspended === 1 });
    if (k.kind === 'backup') s.metrics.backup.record(id, k.observed as BackupObserved | null);
    if (k.kind === 'checks') s.metrics.checks.record(id, k.observed as ChecksObserved | null);
    if (k.error && (!prev || prev.error_class === null || prev.message !== k.health.message)) {
      s.history.event({ type: 'error', customer: id, kind: k.kind, revision, message: `${k.error.message}${k.error.fix ? ` (fix: ${k.error.fix})` : ''}` });
      s.log.warn({ customer: id, kind: k.kind, class: k.error.class, error: k.error.message, fix: k.error.fix, trap: row.trap ?? undefined }, 'reconcile error');
    }
  }
  for (const row of s.history.resources(id)) {
    if (kinds.has(row.kind)) continue;
    s.history.closeDrift(id, row.kind, false);
    s.history.dropResource(id, row.kind);
    s.metrics.removeResource(id, row.kind);
  }
  s.metrics.lastReconcile.set({ customer: id }, now / 1000);
  f.errors = f.transientErrors + f.terminalErrors;
  if (result.sync === 'Synced' && f.errors === 0) s.metrics.lastSynced.set({ customer: id }, now / 1000);
  s.metrics.customerReconcileTotal.inc({ result: f.errors > 0 ? 'error' : result.sync === 'Synced' ? 'synced' : 'out_of_sync' });
  if (f.applied > 0) s.history.markConverging(id);
  maybeShip(s, id, result, revision, publicDomain);
  const line = { customer: id, sync: result.sync, health: result.health, applied: f.applied, pending: f.pending, errors: f.errors, revision: short(revision) };
  if (f.applied > 0 || f.errors > 0) s.log.info(line, 'reconcile finished');
  else s.log.debug(line, 'reconcile finished');
  return f;
}
