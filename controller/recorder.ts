/**
 * The recorder: the only writer of the controller's history (events,
 * revisions, reconciles, status rows, drift, intents, the ship log) and of its
 * metrics, and the one that logs what happened. The other controller parts
 * decide; they tell the recorder, which writes. (The lease table is written
 * by lease.ts: it is a lock between writers, not a record.)
 *
 * One reconcile's result goes through record-result.ts.
 */
import { errorLine } from '../core/errors.js';
import type { CustomerResult, ProgressEvent } from '../reconcilers/engine.js';
import { formatIssue, type ConfigIssue } from '../schemas/load.js';
import type { DesiredState } from '../schemas/repo.js';
import type { AlertNotice } from './alerts.js';
import type { EventType, History, SuspensionRow } from './history.js';
import type { Logger } from './logger.js';
import type { ControllerMetrics } from './metrics.js';
import type { WorkItem } from './queue.js';
import { type PassFigures, recordResult, short } from './record-result.js';
import type { RevisionDiff } from './revision-diff.js';
import type { RevisionRef } from './source.js';

/** The intent kind of a prune in progress (history intents survive a restart). */
export const PRUNE_KIND = 'prune';

export class Recorder {
  readonly history: History;
  readonly metrics: ControllerMetrics;
  readonly log: Logger;

  constructor(sinks: { history: History; metrics: ControllerMetrics; log: Logger }) {
    this.history = sinks.history;
    this.metrics = sinks.metrics;
    this.log = sinks.log;
  }

  /** At start: the actions a killed controller left as intents, reported; returns their customers. */
  interrupted(): Set<string> {
    const customers = new Set<string>();
    for (const intent of this.history.intents()) {
      customers.add(intent.customer);
      this.history.event({ type: 'interrupted', customer: intent.customer, kind: intent.kind, revision: intent.revision, op: intent.op, target: intent.target, message: `the controller stopped during ${intent.op} ${intent.target}; it observes again before acting` });
      this.log.warn({ customer: intent.customer, kind: intent.kind, op: intent.op, target: intent.target }, 'action interrupted by a restart');
    }
    return customers;
  }

  // ------------------------------------------------------------- revisions

  fetched(result: { ok: true } | { ok: false; reason: string; error: unknown }): void {
    this.metrics.gitFetch.inc({ result: result.ok ? 'ok' : 'error' });
    if (result.ok) this.metrics.gitLastSync.set(Date.now() / 1000);
    else this.log.warn({ reason: result.reason, err: result.error }, 'config fetch failed');
  }

  configValid(valid: boolean): void {
    this.metrics.configValid.set(valid ? 1 : 0);
  }

  revisionRejected(ref: RevisionRef, issues: ConfigIssue[], running: string | null): void {
    this.history.recordRevision({ id: ref.id, valid: false, subject: ref.subject, issues });
    const keeps = running ? `; ${short(running)} keeps running` : '; no good revision yet';
    this.history.event({ type: 'rejected', revision: ref.id, message: `revision ${short(ref.id)} rejected: ${issues.length} error(s), first ${issues[0] ? formatIssue(issues[0]) : 'unknown'}${keeps}` });
    this.metrics.configValid.set(0);
    this.metrics.configRejected.set(Date.now() / 1000);
    this.log.error({ revision: short(ref.id), subject: ref.subject, errors: issues.length, issues: issues.slice(0, 10).map(formatIssue), running: running ? short(running) : null }, 'revision rejected');
  }

  /** A revision applied; `stillRejected` is the newer rejected one a fallback to the last good leaves the newest. */
  revisionApplied(a: { ref: RevisionRef; state: DesiredState; diff: RevisionDiff; reason: string; timings: Record<string, number>; stillRejected: { id: string; subject: string | null; issues: ConfigIssue[] } | null }): void {
    const { ref, diff } = a;
    this.history.recordRevision({ id: ref.id, valid: true, subject: ref.subject });
    this.history.markApplied(ref.id);
    if (a.reason === 'last-good' && a.stillRejected) this.history.recordRevision({ id: a.stillRejected.id, valid: false, subject: a.stillRejected.subject, issues: a.stillRejected.issues });
    const summary = `${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed, ${diff.unchanged.length} unchanged`;
    this.history.event({ type: 'revision', revision: ref.id, message: `revision ${short(ref.id)} applied${ref.subject ? ` (${ref.subject})` : ''}: ${summary}` });
    this.metrics.configValid.set(a.stillRejected ? 0 : 1);
    this.metrics.setRevision(short(ref.id));
    this.metrics.customers.reset();
    for (const c of Object.values(a.state.customers.customers)) {
      const policy = c.policy ?? { mode: 'apply', suspend: false };
      this.metrics.customers.inc({ mode: policy.mode, suspended: String(policy.suspend) });
    }
    this.log.info({ revision: short(ref.id), subject: ref.subject, reason: a.reason, added: diff.added, changed: diff.changed, removed: diff.removed, unchanged: diff.unchanged.length, ...a.timings }, 'revision applied');
  }

  // ------------------------------------------------------------- reconciles

  started(item: WorkItem, revision: string | null): void {
    this.metrics.queueLatency.observe((Date.now() - item.queuedAt) / 1000);
    const triggers = [...item.triggers];
    const quiet = triggers.every((t) => t === 'drift-scan' || t === 'requeue');
    this.log[quiet ? 'debug' : 'info']({ customer: item.key, triggers, revision: revision ? short(revision) : null, waited_ms: Date.now() - item.queuedAt }, 'reconcile started');
  }

  lockedOut(customer: string, held: { holder: string; pid: number; host: string; command: string }): void {
    this.log.info({ customer, holder: held.holder, pid: held.pid, host: held.host, command: held.command }, 'customer locked by another writer');
  }

  beginReconcile(customer: string, revision: string, triggers: string[]): number {
    return this.history.beginReconcile(customer, revision, triggers);
  }

  /** The engine's progress: an intent before each action, the applied actions when a kind is done. */
  progress(event: ProgressEvent, revision: string): void {
    if (event.phase === 'act' && event.action) {
      this.history.intend({ customer: event.customer, kind: event.kind, op: event.action.op, target: event.action.target, revision });
      this.log.info({ customer: event.customer, kind: event.kind, op: event.action.op, target: event.action.target, summary: event.action.summary, revision: short(revision) }, 'action started');
      return;
    }
    if (event.phase === 'done' && event.result) {
      this.log.debug({ customer: event.customer, kind: event.kind, duration_ms: event.result.durationMs, sync: event.result.sync, health: event.result.health.status }, 'kind done');
      for (const a of event.result.applied) {
        this.history.event({ type: 'action', customer: event.customer, kind: event.kind, revision, op: a.op, target: a.target, message: a.summary });
        this.metrics.actionsTotal.inc({ kind: event.kind, op: a.op });
        this.log.info({ customer: event.customer, kind: event.kind, op: a.op, target: a.target, summary: a.summary, revision: short(revision) }, 'action applied');
      }
      this.history.clearIntents(event.customer, event.kind);
    }
  }

  /** The engine threw (the customer's pass did not finish). */
  reconcileCrashed(recId: number, customer: string, revision: string, error: unknown): void {
    this.history.finishReconcile(recId, { sync: 'Unknown', health: 'Unknown', applied: 0, pending: 0, errors: 1 });
    this.history.event({ type: 'error', customer, revision, message: errorLine(error) });
    this.log.error({ customer, err: error }, 'reconcile failed');
    this.metrics.customerReconcileTotal.inc({ result: 'error' });
  }

  /** The engine's result: status rows, drift, metrics, the ship log; the reconcile row closed. */
  reconcileDone(recId: number, customer: string, result: CustomerResult, digest: string | null, revision: string, publicDomain: string): PassFigures {
    const figures = recordResult(this, customer, result, digest, revision, publicDomain);
    this.history.finishReconcile(recId, figures);
    this.history.clearIntents(customer);
    return figures;
  }

  // ------------------------------------------------------------- removals

  /** A customer left the desired state: its status and metrics forgotten; a prune intent when a revision declared it. */
  customerRemoved(customer: string, declaredIn: string | null): void {
    this.metrics.removeCustomer(customer);
    for (const d of this.history.openDrifts(customer)) this.history.closeDrift(customer, d.kind, false);
    this.history.dropResources(customer);
    this.history.clearIntents(customer);
    if (declaredIn) this.history.intend({ customer, kind: PRUNE_KIND, op: 'prune', target: `customer:${customer}`, revision: declaredIn });
  }

  /** The removal's outcome; the prune intent is cleared (it stays only when `pruneStopped`). */
  removalDone(customer: string, revision: string | null, message: string, type: EventType = 'removed'): void {
    this.history.event({ type, customer, revision, message });
    this.history.clearIntents(customer, PRUNE_KIND);
  }

  pruneStep(customer: string, revision: string | null, a: { kind: string; op: string; target: string; summary: string }): void {
    this.history.event({ type: 'action', customer, kind: a.kind, revision, op: `prune:${a.op}`, target: a.target, message: a.summary });
  }

  /** A prune that stopped (its intent stays: the next start tries again) or failed. */
  pruneFailed(customer: string, revision: string | null, message: string, error: unknown): void {
    this.log.error({ customer, ...(typeof error === 'string' ? { error } : { err: error }) }, 'prune failed');
    this.history.event({ type: 'error', customer, revision, op: 'prune', message });
  }

  // ------------------------------------------------------------- scans, alerts

  driftScanStarted(customers: number, revision: string): void {
    this.history.prune(30);
    this.log.info({ customers, revision: short(revision) }, 'drift scan started');
  }

  driftScanFinished(figures: { durationMs: number; customers: number; errors: number }): void {
    this.metrics.driftScans.inc({ result: figures.errors > 0 ? 'errors' : 'ok' });
    this.metrics.driftScanDuration.set(figures.durationMs / 1000);
    this.log.info({ duration_ms: figures.durationMs, customers: figures.customers, errors: figures.errors }, 'drift scan finished');
  }

  alertNotices(notices: readonly AlertNotice[], revision: string | null): void {
    for (const n of notices) {
      this.history.event({ type: 'alert', customer: n.customer, revision, op: n.status, target: n.name, message: `${n.name} ${n.status}${n.repeat ? ' (repeat)' : ''}: ${n.summary}` });
      this.log.warn({ alert: n.name, status: n.status, customer: n.customer, severity: n.severity, summary: n.summary, repeat: n.repeat }, n.status === 'firing' ? 'alert firing' : 'alert resolved');
    }
  }

  /** A post to Alertmanager or the notification webhook; the error line only (a URL may carry a token). */
  delivery(to: 'alertmanager' | 'webhook', ok: boolean, error?: unknown): void {
    const counter = to === 'alertmanager' ? this.metrics.alertmanagerPosts : this.metrics.notifications;
    counter.inc({ result: ok ? 'sent' : 'failed' });
    if (!ok) this.log.warn({ error: error instanceof Error ? error.message.split('\n')[0] : 'error' }, to === 'alertmanager' ? 'alertmanager post failed' : 'notification failed');
  }

  // ------------------------------------------------------------- runtime controls

  /** A runtime control request (controls.ts): the suspension written or lifted, and the event with who asked and why. */
  control(c: { op: 'reconcile' | 'suspend' | 'resume'; customer: string; kind: string | null; by: string; message: string; suspension?: SuspensionRow; resume?: string | null }): void {
    if (c.suspension) this.history.suspend(c.suspension);
    if (c.resume !== undefined) this.history.resume(c.customer, c.resume ?? undefined);
    this.history.event({ type: 'control', customer: c.customer, kind: c.kind, op: c.op, target: c.by, message: c.message });
    this.log.info({ customer: c.customer, kind: c.kind, op: c.op, by: c.by }, c.message);
  }
}
