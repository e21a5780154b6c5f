/** The rows of the controller's history database (history.ts holds the SQL). */
export type EventType = 'revision' | 'rejected' | 'reconcile' | 'action' | 'drift' | 'drift-closed' | 'error' | 'ship' | 'interrupted' | 'removed' | 'alert' | 'control' | 'rollout';

export interface HistoryEvent {
  id: number;
  at: number;
  type: EventType;
  customer: string | null;
  kind: string | null;
  revision: string | null;
  op: string | null;
  target: string | null;
  message: string;
}

export interface ResourceRow {
  customer: string;
  kind: string;
  sync: string;
  health: string;
  reason: string;
  message: string;
  trap: string | null;
  fix: string | null;
  error_class: string | null;
  mode: string;
  suspended: number;
  revision: string | null;
  /** Digest of the customer's desired state when this row was written. */
  desired: string | null;
  /**
   * The digest under which the resource was last seen Synced, kept while its
   * observations fail (controller/drift.ts); null when it is not.
   */
  synced_desired: string | null;
  last_reconcile: number;
  last_change: number;
  /** Pending actions, as `op target` lines (names only). */
  pending: string;
}

export interface RevisionRow {
  id: string;
  seen_at: number;
  valid: number;
  subject: string | null;
  /** JSON array of ConfigIssue when invalid. */
  issues: string | null;
  applied_at: number | null;
}

export interface DriftRow {
  id: number;
  customer: string;
  kind: string;
  opened_at: number;
  closed_at: number | null;
  revision: string | null;
  summary: string;
  corrected: number;
}

/** Who may change a customer now: the one writer (controller or a CLI command), until `expires_at`. */
export interface LeaseRow {
  customer: string;
  /** Random per acquisition: only its holder renews or releases it. */
  token: string;
  holder: 'controller' | 'cli';
  pid: number;
  host: string;
  command: string;
  acquired_at: number;
  expires_at: number;
}

export interface IntentRow {
  customer: string;
  kind: string;
  op: string;
  target: string;
  revision: string | null;
  started_at: number;
}

/**
 * A runtime suspension (`axe suspend`): the controller leaves the customer,
 * or one kind of it, alone until `axe resume`. Kept in the history database,
 * so it survives a restart.
 */
export interface SuspensionRow {
  customer: string;
  /** `*` = every kind of the customer. */
  kind: string;
  reason: string;
  /** Who asked (`user@host`, or `mcp (user@host)`). */
  by: string;
  at: number;
}

/** One release of one service reaching the fleet (controller/rollout/). */
export interface RolloutRow {
  id: number;
  service: string;
  ref: string;
  /** The ref the fleet ran before (the previous rollout's), null for the first one seen. */
  from_ref: string | null;
  started_at: number;
  /** The operator's control: running, paused, aborted. */
  control: 'running' | 'paused' | 'aborted';
  /** The planner's last verdict: running, halted, paused, aborted, complete. */
  state: string;
  updated_at: number;
}

/** The columns of a customer's rollout progress a caller may set (History.putRolloutCustomer). */
export const ROLLOUT_CUSTOMER_FIELDS: ReadonlySet<string> = new Set(['wave', 'admitted_at', 'healthy_since', 'done_at', 'failed_at', 'step', 'reason', 'offline', 'waiting_window']);

/** One customer's progress on one rollout. */
export interface RolloutCustomerRow {
  rollout: number;
  customer: string;
  wave: number;
  admitted_at: number | null;
  healthy_since: number | null;
  done_at: number | null;
  failed_at: number | null;
  step: string | null;
  reason: string | null;
  offline: number;
  waiting_window: number;
}
