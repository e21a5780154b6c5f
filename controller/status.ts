/**
 * The status view (`GET /status`, `axe status`): per customer and resource,
 * sync, health, reason, trap and fix, last reconcile, last change, revision,
 * open drift; plus the revision being applied and the newest one rejected.
 *
 * Rules: built from the history database only, so the running controller and
 * `axe status` reading the database show the same thing; the controller adds
 * its live queue and alerts on top.
 */
import type { ConfigIssue } from '../schemas/load.js';
import { HEALTH_RANK } from '../reconcilers/types.js';
import type { FiringAlert } from './alertmanager.js';
import type { History, ResourceRow } from './history.js';
import type { WorkQueue } from './queue.js';
import type { Current, Rejected } from './revisions.js';

/** Health rank by the status text stored in the history (an unknown text ranks as Unknown). */
const RANK: Readonly<Record<string, number>> = HEALTH_RANK;

export interface ResourceStatus {
  kind: string;
  sync: string;
  health: string;
  reason: string;
  message: string;
  trap: string | null;
  fix: string | null;
  errorClass: string | null;
  pending: string[];
  lastReconcile: string;
  lastChange: string;
  revision: string | null;
  drift: { openedAt: string; summary: string } | null;
}

/** One of the runbook's D+7 checks, from its resource row. */
export interface DayPlus7Check {
  health: string;
  reason: string;
  message: string;
  fix: string | null;
}

/**
 * The runbook's D+7 checks of a customer (backups fresh, the services' checks
 * such as frame's audit log active), each from its resource row: the `backup`
 * and `checks` kinds. Absent when the customer has neither.
 */
export interface DayPlus7 {
  backup: DayPlus7Check | null;
  checks: DayPlus7Check | null;
}

/** The D+7 checks from a customer's resources (pure); undefined when it has neither kind. */
export function dayPlus7(resources: readonly ResourceStatus[]): DayPlus7 | undefined {
  const of = (kind: string): DayPlus7Check | null => {
    const r = resources.find((x) => x.kind === kind);
    return r ? { health: r.health, reason: r.reason, message: r.message, fix: r.fix } : null;
  };
  const backup = of('backup');
  const checks = of('checks');
  return backup || checks ? { backup, checks } : undefined;
}

export interface CustomerStatus {
  customer: string;
  mode: string;
  suspended: boolean;
  sync: string;
  health: string;
  lastReconcile: string | null;
  revision: string | null;
  resources: ResourceStatus[];
  /** The runbook's D+7 checks (backups fresh, audit log active), when the customer has them. */
  dayPlus7?: DayPlus7;
}

export interface RevisionStatus {
  id: string;
  subject: string | null;
  at: string;
}

export interface SuspensionStatus {
  customer: string;
  /** null = every kind of the customer. */
  kind: string | null;
  reason: string;
  by: string;
  since: string;
}

export interface StatusView {
  generatedAt: string;
  /** The revision being applied (the last good one). */
  revision: (RevisionStatus & { appliedAt: string | null }) | null;
  /** True when the newest revision seen is valid. */
  configValid: boolean;
  /** The newest revision when it was rejected, with its file:line errors. */
  rejected: (RevisionStatus & { issues: ConfigIssue[] }) | null;
  customers: CustomerStatus[];
  /** Runtime suspensions (`axe suspend`): the controller leaves these alone until `axe resume`. */
  suspensions?: SuspensionStatus[];
  queue?: { depth: number; inFlight: number; delayed: number };
  alerts?: Array<{ name: string; customer: string | null; severity: string; summary: string; since: string }>;
  source?: string;
}


function iso(ms: number | null | undefined): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

function resourceStatus(row: ResourceRow, drift: { opened_at: number; summary: string } | undefined): ResourceStatus {
  return {
    kind: row.kind,
    sync: row.sync,
    health: row.health,
    reason: row.reason,
    message: row.message,
    trap: row.trap,
    fix: row.fix,
    errorClass: row.error_class,
    pending: row.pending ? row.pending.split('\n') : [],
    lastReconcile: iso(row.last_reconcile)!,
    lastChange: iso(row.last_change)!,
    revision: row.revision,
    drift: drift ? { openedAt: iso(drift.opened_at)!, summary: drift.summary } : null,
  };
}

export function statusFromHistory(history: History, filter: { customer?: string } = {}): StatusView {
  const rows = history.resources(filter.customer);
  const drift = new Map(history.openDrifts(filter.customer).map((d) => [`${d.customer}/${d.kind}`, d]));
  const byCustomer = new Map<string, ResourceRow[]>();
  for (const row of rows) byCustomer.set(row.customer, [...(byCustomer.get(row.customer) ?? []), row]);
  const customers: CustomerStatus[] = [...byCustomer].map(([customer, list]) => {
    const resources = list.map((r) => resourceStatus(r, drift.get(`${customer}/${r.kind}`)));
    const health = resources.reduce((w, r) => ((RANK[r.health] ?? 4) > (RANK[w] ?? 0) ? r.health : w), 'Healthy');
    const sync = resources.some((r) => r.sync === 'OutOfSync') ? 'OutOfSync' : resources.some((r) => r.sync === 'Unknown' && r.health !== 'Suspended') ? 'Unknown' : 'Synced';
    const last = Math.max(...list.map((r) => r.last_reconcile));
    const d7 = dayPlus7(resources);
    return {
      customer,
      mode: list[0]!.mode,
      suspended: list.every((r) => r.suspended === 1),
      sync,
      health,
      lastReconcile: iso(last),
      revision: list.find((r) => r.last_reconcile === last)?.revision ?? null,
      resources,
      ...(d7 ? { dayPlus7: d7 } : {}),
    };
  });
  const good = history.lastGoodRevision();
  const latest = history.latestRevision();
  const rejected = latest && latest.valid === 0 ? latest : null;
  return {
    generatedAt: new Date().toISOString(),
    revision: good ? { id: good.id, subject: good.subject, at: iso(good.seen_at)!, appliedAt: iso(good.applied_at) } : null,
    configValid: !rejected,
    rejected: rejected ? { id: rejected.id, subject: rejected.subject, at: iso(rejected.seen_at)!, issues: rejected.issues ? (JSON.parse(rejected.issues) as ConfigIssue[]) : [] } : null,
    customers,
    suspensions: history.suspensions(filter.customer).map((r) => ({ customer: r.customer, kind: r.kind === '*' ? null : r.kind, reason: r.reason, by: r.by, since: iso(r.at)! })),
  };
}

/** The running controller's view: the history's, plus its live queue, firing alerts, applied and rejected revisions. */
export function liveStatus(view: StatusView, live: { source: string; queue: Pick<WorkQueue, 'depth' | 'inFlight' | 'delayed'>; firing: readonly FiringAlert[]; current: Current | null; rejected: Rejected | null }): StatusView {
  const { current, rejected } = live;
  view.source = live.source;
  view.queue = { depth: live.queue.depth(), inFlight: live.queue.inFlight(), delayed: live.queue.delayed() };
  view.alerts = live.firing.map((a) => ({ name: a.name, customer: a.customer, severity: a.severity, summary: a.summary, since: new Date(a.since).toISOString() }));
  if (current) view.revision = { id: current.id, subject: current.subject, at: new Date(current.appliedAt).toISOString(), appliedAt: new Date(current.appliedAt).toISOString() };
  view.configValid = rejected === null;
  view.rejected = rejected ? { id: rejected.id, subject: rejected.subject, at: new Date(rejected.at).toISOString(), issues: rejected.issues } : null;
  return view;
}
