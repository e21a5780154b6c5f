/**
 * Runtime controls, asked of the running controller through its
 * authenticated API (server.ts, `axe reconcile|suspend|resume`, the MCP
 * tools): reconcile a customer now, suspend it (or one kind of it) with a
 * reason, resume it.
 *
 * Rules:
 * - A suspension is kept in the history database (it survives a restart)
 *   and recorded as a `control` event with who asked, when and why, like
 *   every request here.
 * - A suspended customer is left alone by reconciles, drift scans and the
 *   engine event streams: its env carries `policy.suspend` (a suspended kind:
 *   `policy.suspend_kinds`), so the engine reports it Suspended without
 *   reading or changing anything. A pass already running finishes.
 * - Suspending or resuming queues the customer (its status shows it at once).
 * - Refusals are one line with the fix: an unknown customer or kind, no
 *   reason, a reconcile of a suspended customer, a resume of what is not
 *   suspended (or is suspended by customers.yaml, which only a commit lifts).
 */
import { AxeError, type AxeErrorOptions } from '../core/errors.js';
import { KIND_NAMES, unknownKind } from '../reconcilers/engine.js';
import type { DesiredState } from '../schemas/repo.js';
import type { History, SuspensionRow } from './history.js';
import type { Recorder } from './recorder.js';

/** The whole customer, in the suspensions table. */
export const ALL_KINDS = '*';

/** A refused control request: its HTTP status for the API. */
export class ControlRefused extends AxeError {
  readonly status: number;

  constructor(status: number, message: string, options: AxeErrorOptions) {
    super('terminal', message, options);
    this.status = status;
  }
}

export interface ControlRequest {
  /** Who asks: `user@host` (the CLI), `mcp (user@host)`. */
  by: string;
  kind?: string;
  reason?: string;
}

export interface ControlAnswer {
  customer: string;
  op: 'reconcile' | 'suspend' | 'resume';
  kind: string | null;
  message: string;
}

/** The desired state with the runtime suspensions laid over the customers' policies (the same object when there are none). */
export function withSuspensions(state: DesiredState, rows: readonly SuspensionRow[]): DesiredState {
  const mine = rows.filter((r) => state.customers.customers[r.customer]);
  if (mine.length === 0) return state;
  const customers = { ...state.customers.customers };
  for (const r of mine) {
    const c = customers[r.customer]!;
    const policy = c.policy ?? { mode: 'apply' as const, suspend: false, suspend_kinds: [], prune: false };
    customers[r.customer] = { ...c, policy: r.kind === ALL_KINDS ? { ...policy, suspend: true } : { ...policy, suspend_kinds: [...new Set([...policy.suspend_kinds, r.kind])] } };
  }
  return { ...state, customers: { ...state.customers, customers } };
}

/** The applied revision, checked to hold `customer` when one is named: refused (503) while none is loaded, (404) for a customer it does not have. The runtime controls and the warm plans (warm-plan.ts) ask it. */
export function appliedFor<T extends { id: string; state: DesiredState }>(applied: T | null, customer?: string): T {
  const named = customer !== undefined ? { customer } : {};
  if (!applied) throw new ControlRefused(503, 'the controller has no good revision loaded yet', { ...named, fix: 'axe status shows why (a rejected revision names its file:line)' });
  if (customer !== undefined && !applied.state.customers.customers[customer]) throw new ControlRefused(404, `unknown customer ${customer}: not in the applied revision ${applied.id.slice(0, 12)}`, { customer, fix: `check the id (axe status lists the customers): ${Object.keys(applied.state.customers.customers).join(', ')}` });
  return applied;
}

function what(customer: string, kind: string): string {
  return kind === ALL_KINDS ? customer : `${customer}/${kind}`;
}

export class RuntimeControls {
  readonly #history: History;
  readonly #recorder: Recorder;
  readonly #state: () => { id: string; state: DesiredState } | null;
  readonly #enqueue: (customer: string) => void;

  constructor(deps: { history: History; recorder: Recorder; applied(): { id: string; state: DesiredState } | null; enqueue(customer: string): void }) {
    this.#history = deps.history;
    this.#recorder = deps.recorder;
    this.#state = deps.applied;
    this.#enqueue = deps.enqueue;
  }

  reconcile(customer: string, request: ControlRequest): ControlAnswer {
    this.#known(customer);
    const whole = this.#history.suspensions(customer).find((r) => r.kind === ALL_KINDS);
    if (whole) throw new ControlRefused(409, `${customer} is suspended (by ${whole.by} since ${new Date(whole.at).toISOString()}: ${whole.reason})`, { customer, fix: `resume it first: axe resume ${customer}` });
    const message = `reconcile of ${customer} queued by ${request.by}`;
    this.#recorder.control({ op: 'reconcile', customer, kind: null, by: request.by, message });
    this.#enqueue(customer);
    return { customer, op: 'reconcile', kind: null, message };
  }

  suspend(customer: string, request: ControlRequest): ControlAnswer {
    this.#known(customer);
    const kind = this.#kind(request.kind);
    const reason = request.reason?.trim() ?? '';
    if (!reason) throw new ControlRefused(400, 'a suspension needs a reason', { customer, fix: `say why: axe suspend ${customer} --reason "…"` });
    const row: SuspensionRow = { customer, kind, reason, by: request.by, at: Date.now() };
    const message = `${what(customer, kind)} suspended by ${request.by}: ${reason}; the controller leaves it alone until axe resume ${customer}${kind === ALL_KINDS ? '' : ` --kind ${kind}`}`;
    this.#recorder.control({ op: 'suspend', customer, kind: kind === ALL_KINDS ? null : kind, by: request.by, message, suspension: row });
    this.#enqueue(customer);
    return { customer, op: 'suspend', kind: kind === ALL_KINDS ? null : kind, message };
  }

  resume(customer: string, request: ControlRequest): ControlAnswer {
    const state = this.#known(customer);
    const kind = request.kind === undefined ? undefined : this.#kind(request.kind);
    const held = this.#history.suspensions(customer).filter((r) => kind === undefined || r.kind === kind);
    if (held.length === 0) {
      const policy = state.customers.customers[customer]?.policy;
      const byPolicy = kind === undefined || kind === ALL_KINDS ? policy?.suspend : policy?.suspend_kinds.includes(kind);
      if (byPolicy) throw new ControlRefused(409, `${kind && kind !== ALL_KINDS ? what(customer, kind) : customer} is suspended by its policy in customers.yaml, not at run time`, { customer, fix: 'change policy.suspend (or suspend_kinds) in customers.yaml and merge the change' });
      throw new ControlRefused(409, `${kind && kind !== ALL_KINDS ? what(customer, kind) : customer} is not suspended`, { customer, fix: `axe status ${customer} shows its state` });
    }
    const message = `${held.map((r) => what(r.customer, r.kind)).join(', ')} resumed by ${request.by}`;
    this.#recorder.control({ op: 'resume', customer, kind: kind && kind !== ALL_KINDS ? kind : null, by: request.by, message, resume: kind ?? null });
    this.#enqueue(customer);
    return { customer, op: 'resume', kind: kind && kind !== ALL_KINDS ? kind : null, message };
  }

  #known(customer: string): DesiredState {
    return appliedFor(this.#state(), customer).state;
  }

  #kind(kind: string | undefined): string {
    if (kind === undefined || kind === ALL_KINDS) return ALL_KINDS;
    if (unknownKind([kind]) !== undefined) throw new ControlRefused(400, `unknown resource kind "${kind}"`, { fix: `use one of ${KIND_NAMES.join(', ')}` });
    return kind;
  }
}
