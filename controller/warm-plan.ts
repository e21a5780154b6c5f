/**
 * A read-only plan asked of the running controller: `POST /control/plan`
 * (server.ts, with the control API's bearer token), what `axe plan` asks when
 * the operator's checkout is the revision the controller runs. The controller
 * plans over its own providers and warm connections, so a new `axe plan`
 * process makes no SSH handshake and loads no provider.
 *
 * Rules:
 * - A plan is not a reconcile: the engine runs with `apply: false` on a fresh
 *   scan (every observation read again, none from a drift scan's cache), so
 *   nothing is changed, no lease is taken, nothing is recorded in the history
 *   (no reconcile row, no resource row, no event, no drift) and nothing is
 *   queued. Only the log has a line.
 * - It plans the desired state of the applied revision as the checkout has it,
 *   like `axe plan` in that checkout: the runtime suspensions and a rollout's
 *   gate are the controller's run-time state and are not laid over it, so
 *   the answer is the local plan's, byte for byte (its JSON, `--json`).
 * - The request names the revision the checkout is at and the digest of the
 *   command's axe config, vault and zone (control-api.ts `settingsDigest`);
 *   another revision than the applied one, or other settings than the
 *   controller's, is refused (409), and the CLI then plans locally. Unknown
 *   customers and kinds are refused (404, 400).
 * - A plan may run beside a reconcile of the same customer: it only reads,
 *   as a local `axe plan` beside the controller always could. It may then
 *   show as pending what that reconcile is doing at that moment.
 * - The answer carries what `--json` carries: names, hashes, summaries; never
 *   a secret value (the reconcilers' actions never hold one).
 */
import Bottleneck from 'bottleneck';
import { type CustomerResult, KIND_NAMES, type reconcileCustomer, unknownKind } from '../reconcilers/engine.js';
import { withFreshScan } from '../reconcilers/env.js';
import { resultJson, type ResultJson } from '../reconcilers/report.js';
import type { Kind } from '../reconcilers/types.js';
import { appliedFor, ControlRefused } from './controls.js';
import type { Logger } from './logger.js';
import type { Current } from './revisions.js';

export interface PlanRequest {
  /** Who asks: `user@host`. */
  by: string;
  /** The commit the operator's checkout is at: the plan is made only when it is the applied revision. */
  revision: string;
  /** The command's `settingsDigest` (control-api.ts): the plan is made only when it is the controller's. */
  settings: string;
  /** One customer; all when unset. */
  customer?: string;
  /** Only these kinds (their dependencies observed as context). */
  only?: string[];
  /** Customers planned in parallel (default 8). */
  concurrency?: number;
}

export interface PlanAnswer {
  /** The applied revision planned. */
  revision: string;
  /** The controller's process id. */
  pid: number;
  plan: ResultJson;
}

/** The request body checked: the request, or why it is not one. */
export function parsePlanRequest(value: unknown): PlanRequest | string {
  const v = (value ?? {}) as Partial<Record<keyof PlanRequest, unknown>>;
  const text = (x: unknown): x is string => typeof x === 'string' && x.trim() !== '';
  if (typeof v !== 'object' || !text(v.by) || !text(v.revision) || !text(v.settings)) return 'the body must be JSON { by, revision, settings, customer?, only?, concurrency? }';
  if (v.customer !== undefined && typeof v.customer !== 'string') return 'customer must be a string';
  if (v.only !== undefined && !(Array.isArray(v.only) && v.only.every((k) => typeof k === 'string'))) return 'only must be a list of kinds';
  const concurrency = v.concurrency;
  if (concurrency !== undefined && !(typeof concurrency === 'number' && Number.isInteger(concurrency) && concurrency > 0)) return 'concurrency must be a positive integer';
  return {
    by: v.by.trim().slice(0, 200),
    revision: v.revision,
    settings: v.settings,
    ...(v.customer ? { customer: v.customer } : {}),
    ...(v.only ? { only: v.only as string[] } : {}),
    ...(concurrency ? { concurrency: Math.min(64, concurrency) } : {}),
  };
}

export class WarmPlans {
  readonly #applied: () => Current | null;
  readonly #reconcile: typeof reconcileCustomer;
  readonly #log: Logger;
  readonly #settings: string;

  constructor(deps: { applied(): Current | null; reconcile: typeof reconcileCustomer; log: Logger; settings: string }) {
    this.#settings = deps.settings;
    this.#applied = deps.applied;
    this.#reconcile = deps.reconcile;
    this.#log = deps.log;
  }

  /** The applied revision, planned read-only; refused (ControlRefused) for another revision, an unknown customer or kind. */
  async plan(request: PlanRequest): Promise<PlanAnswer> {
    const current = appliedFor(this.#applied());
    const local = 'the CLI plans locally (as axe plan --local does)';
    if (request.revision !== current.id) throw new ControlRefused(409, `the controller runs ${current.id.slice(0, 12)}, this checkout is ${request.revision.slice(0, 12)}`, { fix: local });
    if (request.settings !== this.#settings) throw new ControlRefused(409, "the controller runs with another axe config (its config, vault or zone differ from this command's)", { fix: local });
    if (request.customer) appliedFor(current, request.customer);
    const ids = request.customer ? [request.customer] : Object.keys(current.state.customers.customers);
    const bad = unknownKind(request.only ?? []);
    if (bad !== undefined) throw new ControlRefused(400, `unknown resource kind "${bad}"`, { fix: `use one or more of ${KIND_NAMES.join(', ')}` });
    const only = request.only?.length ? (request.only as Kind[]) : undefined;
    const started = Date.now();
    // One fresh scan shared by the customers of this plan (as the CLI's one env), over the controller's providers.
    const env = withFreshScan(current.env);
    const limiter = new Bottleneck({ maxConcurrent: request.concurrency ?? 8 });
    const results: CustomerResult[] = await Promise.all(ids.map((id) => limiter.schedule(() => this.#reconcile(env, id, { apply: false, ...(only ? { only } : {}) }))));
    this.#log.info({ by: request.by, customers: ids.length, only: only ?? null, revision: current.id, ms: Date.now() - started }, 'plan asked');
    return { revision: current.id, pid: process.pid, plan: resultJson(results, false) };
  }
}
