/**
 * The reconciler contract (DESIGN.md "A reconciler"): observe reads only,
 * diff is pure, act is idempotent, health judges the observation.
 *
 * Rules:
 * - `observe` never changes anything; `null` means the thing does not exist.
 * - `diff(desired, observed)` is pure and returns `[]` when in sync: every
 *   reconciler has a test feeding it converged state and asserting `[]`.
 * - `act` succeeds when the change already happened (create-if-exists,
 *   delete-if-gone); it acts only on a fresh observation: one made in this
 *   pass after the last change this pass made to what it reads (the engine's
 *   rule: reconcilers/README.md "Fresh enough to act on").
 * - Known traps are values (`Trap`), never strings in a log.
 */
import type { Trap } from './traps.js';

export type Kind = 'host' | 'tunnel' | 'dns' | 'cloudflared' | 'vault-items' | 'stack' | 'vaultwarden' | 'vault-org' | 'entities' | 'admins' | 'ingress' | 'endpoints' | 'backup' | 'checks';

export type SyncStatus = 'Synced' | 'OutOfSync' | 'Unknown';
export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Missing' | 'Unknown' | 'Suspended';

/** Health from best to worst: a customer's or a resource's health is its worst part's. */
export const HEALTH_RANK: Readonly<Record<HealthStatus, number>> = { Healthy: 0, Suspended: 1, Progressing: 2, Missing: 3, Unknown: 4, Degraded: 5 };

/** The worst of several healths (the first of equals); `parts` must not be empty. */
export function worstOf(parts: readonly Health[]): Health {
  return parts.reduce((a, b) => (HEALTH_RANK[b.status] > HEALTH_RANK[a.status] ? b : a));
}

export interface Health {
  status: HealthStatus;
  /** A short CamelCase reason, stable for alerts: `ForeignRecord`, `PeerRelayed`. */
  reason: string;
  message: string;
  trap?: Trap;
  /** Further traps found that do not decide the status (e.g. the non-login PATH, worked around). */
  findings?: Trap[];
}

/**
 * An action's name in a plan: `kind:op:target` (actionId). A link in `after`
 * names one action so, or every action of a kind and op (`kind:op`), or
 * every action of a kind (`kind`).
 */
export type ActionId = string;

export interface Action<P = unknown> {
  kind: Kind;
  /** What is done, stable for metrics and history: `create`, `update`, `adopt`, `set-ingress`. */
  op: string;
  /** The resource it touches: `dns:demo.axelabs.ai`, `tunnel:axe-demo`. */
  target: string;
  /** One line for the plan; never a secret value. */
  summary: string;
  payload: P;
  /**
   * What must be done before this action (links, see ActionId). A link that
   * names no action of the plan holds: there is nothing left to do there.
   * The engine orders a plan by its links (order.ts).
   */
  after?: ActionId[];
}

/** The action's name in its plan. */
export function actionId(a: Pick<Action, 'kind' | 'op' | 'target'>): ActionId {
  return `${a.kind}:${a.op}:${a.target}`;
}

export interface Reconciler<D, O, P = unknown> {
  kind: Kind;
  dependsOn: Kind[];
  diff(desired: D, observed: O | null): Action<P>[];
  health(desired: D, observed: O | null): Health;
}

/** What one kind's pass came to (the engine's record of it, read by the kinds that depend on it). */
export interface ResourceResult {
  kind: Kind;
  sync: SyncStatus;
  health: Health;
  /** Actions still to do (planned, or left after applying). */
  actions: Action[];
  /** Actions performed in this pass. */
  applied: Action[];
  observed: unknown;
  /** A classified failure while observing or acting. */
  error?: { class: 'transient' | 'terminal'; message: string; fix?: string; trap?: Trap };
  durationMs: number;
}
