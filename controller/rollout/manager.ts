/**
 * The rollout in the controller: which ref each customer is given for each
 * stack service, what it made of it, and when the next wave may start.
 * The decisions are the pure planner's (plan.ts); this keeps its inputs in
 * the history (no SQL here: controller/history.ts) and wakes the queue.
 *
 * Rules:
 * - A manifest's new `source.ref` starts a rollout of that service. The first
 *   ref the controller ever sees for a service is the baseline: every
 *   customer runs it (nothing to roll out from).
 * - A customer the planner has not admitted keeps its previous ref for that
 *   service: the desired state is substituted (`withRefs`), nothing else.
 *   Its previous ref is the one it last ran with every resource Synced and
 *   Healthy, else the ref the fleet ran before the rollout.
 * - A customer is on the release when every running container that carries
 *   it runs the new ref: with blue/green, the colors only (a swap recreates
 *   neither the database nor the proxy: they keep the old ref's labels).
 * - A customer's release fails when its stack records a failure for the new
 *   ref (the rollback left the old one serving) or the stack kind fails with
 *   a terminal error; it goes back to its previous ref.
 * - Outside its maintenance window a customer's disruptive stack actions (a
 *   swap, an up that recreates a running container, with their hooks) and the
 *   rest of that service's actions are held; every other correction runs.
 */
import type { CustomerResult } from '../../reconcilers/engine.js';
import type { ReconcileEnv } from '../../reconcilers/runtime.js';
import type { StackObserved } from '../../reconcilers/stack/diff.js';
import type { Action, Kind } from '../../reconcilers/types.js';
import type { DesiredState } from '../../schemas/repo.js';
import type { ServiceManifest } from '../../schemas/service-manifest.js';
import { resolveRollout, withRefs } from '../../schemas/rollout.js';
import type { Registry } from 'prom-client';
import type { History, RolloutCustomerRow, RolloutRow } from '../history.js';
import { RolloutMetrics } from './metrics.js';
import { type CustomerProgress, planRollout, type ServicePlan } from './plan.js';
import { windowOpen } from './window.js';

export interface RolloutLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RolloutManagerOptions {
  history: History;
  enqueue(customer: string, why: string): void;
  log: RolloutLog;
  now?: () => number;
  /** How often plans are looked at again (a bake ends, a window opens). */
  tickMs?: number;
  /** Where the rollout's gauges go (metrics.ts). */
  registry?: Registry;
  /** A customer failed a release (the controller emits `rollout-failed`: its commit status says so). */
  onFailed?(e: RolloutFailure): void;
}

/** A customer that failed a release: which, at which step, why. */
export interface RolloutFailure {
  customer: string;
  service: string;
  ref: string;
  from: string | null;
  step: string;
  reason: string;
}

/** What one pass over one customer works with. */
export interface Gate {
  customer: string;
  /** The substituted refs (service → the ref the customer keeps). */
  refs: Map<string, string>;
  /** Services where the customer runs the release's ref in this pass: service → rollout. */
  releases: Map<string, RolloutRow>;
  /** False outside the customer's maintenance window. */
  windowOpen: boolean;
  /** Stack targets whose actions were held this pass. */
  heldTargets: Set<string>;
  env(env: ReconcileEnv): ReconcileEnv;
  hold?: (kind: Kind, actions: readonly Action[]) => readonly Action[];
}

/** The actions held outside a window: every action of a stack service that has a disruptive one. */
export function disruptiveHold(kind: Kind, actions: readonly Action[]): Action[] {
  if (kind !== 'stack') return [];
  const targets = new Set(actions.filter((a) => (a.payload as { disruptive?: boolean } | null)?.disruptive === true).map((a) => a.target));
  return actions.filter((a) => targets.has(a.target));
}

function stackServices(state: DesiredState, id: string): string[] {
  return [...state.manifests].filter(([name, m]) => m.kind === 'stack' && state.customers.services[name]?.[id]).map(([name]) => name);
}

/**
 * The containers that carry a stack service's release: the running ones. With
 * blue/green only its colors: a swap brings up the new color alone and stops
 * the old one (stopped, not removed, it keeps its ref); the shared services
 * (the database, the proxy) are not recreated and keep the labels of the ref
 * they were started with.
 */
export function releaseContainers<C extends { service: string; state: string }>(manifest: ServiceManifest | undefined, containers: readonly C[]): C[] {
  const bg = manifest?.kind === 'stack' ? manifest.blue_green : undefined;
  const colors = bg ? new Set([bg.colors.blue, bg.colors.green]) : null;
  return containers.filter((c) => c.state === 'running' && (!colors || colors.has(c.service)));
}

function progressOf(r: RolloutCustomerRow): CustomerProgress {
  return {
    ...(r.admitted_at !== null ? { admittedAt: r.admitted_at } : {}),
    healthySince: r.healthy_since,
    ...(r.failed_at !== null ? { failed: { at: r.failed_at, step: r.step ?? '', reason: r.reason ?? '' } } : {}),
    offline: r.offline === 1,
    waitingWindow: r.waiting_window === 1,
  };
}

export class RolloutManager {
  readonly #o: RolloutManagerOptions;
  #state: DesiredState | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #metrics: RolloutMetrics | null;
  /** The plans of the last tick (alerts, metrics). */
  plans: ServicePlan[] = [];

  constructor(options: RolloutManagerOptions) {
    this.#o = options;
    this.#metrics = options.registry ? new RolloutMetrics(options.registry) : null;
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  /** A new desired state (a revision applied): a changed ref starts a rollout. */
  setState(state: DesiredState): void {
    if (state === this.#state) return;
    this.#state = state;
    const h = this.#o.history;
    for (const [service, m] of state.manifests) {
      if (m.kind !== 'stack') continue;
      const cur = h.currentRollout(service);
      if (cur && cur.ref === m.source.ref) continue;
      const from = cur ? (cur.state === 'complete' || cur.from_ref === null ? cur.ref : cur.from_ref) : null;
      const row = h.startRollout({ service, ref: m.source.ref, from_ref: from, state: from === null ? 'complete' : 'running', at: this.#now() });
      const message = from === null ? `${service} ${row.ref}: baseline (first ref seen, every customer runs it)` : `${service} ${row.ref}: rollout started (from ${from})`;
      h.event({ type: 'rollout', op: 'start', target: service, message });
      this.#o.log.info({ service, ref: row.ref, from }, 'rollout started');
    }
    this.tick();
  }

  /** The plan of a service's current rollout, its progress rows brought up to date; null for a baseline or no rollout. */
  plan(service: string): ServicePlan | null {
    const state = this.#state;
    const h = this.#o.history;
    const row = h.currentRollout(service);
    const m = state?.manifests.get(service);
    if (!state || !row || row.from_ref === null || !m || m.kind !== 'stack' || m.source.ref !== row.ref) return null;
    const now = this.#now();
    const fleet = Object.entries(state.customers.customers)
      .filter(([id]) => state.customers.services[service]?.[id])
      .map(([id, c]) => ({ id, labels: c.labels ?? [], pin: c.pins?.[service] ?? null }));
    const rows = new Map(h.rolloutCustomers(row.id).map((r) => [r.customer, r]));
    const progress = new Map([...rows].map(([id, r]) => [id, progressOf(r)]));
    const plan = planRollout({ release: { service, ref: row.ref, control: row.control }, policy: resolveRollout(m.rollout, state.customers.rollout), fleet, progress, now });
    for (const c of plan.customers) {
      const r = rows.get(c.id);
      if (!r || r.wave !== c.wave) h.putRolloutCustomer(row.id, c.id, { wave: c.wave });
      if (c.state === 'done' && r && r.done_at === null) h.putRolloutCustomer(row.id, c.id, { done_at: now });
    }
    if (plan.state !== row.state) {
      h.setRolloutState(row.id, plan.state);
      const why = plan.state === 'halted' ? `: failure budget spent (${plan.spent}/${plan.budget}): ${plan.failures.map((f) => `${f.customer} at ${f.step}: ${f.reason}`).join('; ')}` : '';
      h.event({ type: 'rollout', op: plan.state, target: service, message: `${service} ${row.ref}: ${plan.state}${why}` });
      this.#o.log[plan.state === 'halted' ? 'warn' : 'info']({ service, ref: row.ref, state: plan.state, spent: plan.spent, budget: plan.budget }, `rollout ${plan.state}`);
      row.state = plan.state;
    }
    return { row, plan };
  }

  /** The gate for one pass over `id`: its refs, its window, its admission recorded. */
  gate(state: DesiredState, id: string): Gate {
    this.setState(state);
    const h = this.#o.history;
    const now = this.#now();
    const customer = state.customers.customers[id];
    const refs = new Map<string, string>();
    const releases = new Map<string, RolloutRow>();
    for (const service of stackServices(state, id)) {
      if (customer?.pins?.[service]) continue;
      const sp = this.plan(service);
      if (!sp) continue;
      const c = sp.plan.customers.find((x) => x.id === id);
      if (!c) continue;
      if (c.newRef) {
        releases.set(service, sp.row);
        const r = h.rolloutCustomers(sp.row.id).find((x) => x.customer === id);
        if (!r || r.admitted_at === null) {
          h.putRolloutCustomer(sp.row.id, id, { wave: c.wave, admitted_at: now });
          h.event({ type: 'rollout', op: 'admit', customer: id, target: service, message: `${id} starts ${service} ${sp.row.ref} (${c.wave === 0 ? 'canary' : `wave ${c.wave}`})` });
        }
        continue;
      }
      const previous = h.customerRef(id, service) ?? sp.row.from_ref;
      if (previous && previous !== sp.row.ref) refs.set(service, previous);
    }
    const open = windowOpen(customer?.maintenance, now);
    const heldTargets = new Set<string>();
    const gate: Gate = {
      customer: id,
      refs,
      releases,
      windowOpen: open,
      heldTargets,
      env: (env) => (refs.size ? { ...env, state: withRefs(env.state, refs) } : env),
    };
    if (!open) {
      gate.hold = (kind, actions) => {
        const held = disruptiveHold(kind, actions);
        for (const a of held) heldTargets.add(a.target);
        return held;
      };
    }
    return gate;
  }

  /** What a pass made of the release: healthy since, failed (step, reason), offline, waiting for a window. */
  observe(gate: Gate, result: CustomerResult): void {
    const h = this.#o.history;
    const now = this.#now();
    const id = gate.customer;
    const stack = result.resources.find((k) => k.kind === 'stack');
    const host = result.resources.find((k) => k.kind === 'host');
    const observed = (stack?.observed ?? null) as StackObserved | null;
    const allGood = result.sync === 'Synced' && result.health === 'Healthy';
    const state = this.#state;
    for (const service of state ? stackServices(state, id) : []) {
      if (allGood) h.setCustomerRef(id, service, this.#ref(state!, id, service, gate));
    }
    for (const [service, row] of gate.releases) {
      const r = h.rolloutCustomers(row.id).find((x) => x.customer === id);
      if (!r || r.failed_at !== null) continue;
      const so = observed?.services?.get(service);
      const failure = so?.host.failure && so.host.failure.ref === row.ref ? so.host.failure : null;
      const terminal = stack?.error?.class === 'terminal' && stack.error.message.includes(service) ? stack.error : null;
      if (failure || terminal) {
        const step = failure?.step ?? 'deploy';
        const reason = failure?.reason ?? terminal!.message;
        h.putRolloutCustomer(row.id, id, { failed_at: now, step, reason, healthy_since: null });
        h.event({ type: 'rollout', op: 'failed', customer: id, target: service, message: `${id} failed ${service} ${row.ref} at ${step}: ${reason}` });
        this.#o.log.warn({ customer: id, service, ref: row.ref, step, reason }, 'rollout customer failed');
        this.#o.onFailed?.({ customer: id, service, ref: row.ref, from: row.from_ref, step, reason });
        continue;
      }
      const offline = !!host?.error || observed === null;
      const live = so ? releaseContainers(state?.manifests.get(service), so.host.containers) : [];
      const onRef = live.length > 0 && live.every((c) => c.ref === row.ref);
      const healthy = allGood && onRef;
      h.putRolloutCustomer(row.id, id, {
        healthy_since: healthy ? (r.healthy_since ?? now) : null,
        offline: offline ? 1 : 0,
        waiting_window: [...gate.heldTargets].some((t) => t === `stack:${service}`) ? 1 : 0,
      });
    }
    this.tick();
  }

  #ref(state: DesiredState, id: string, service: string, gate: Gate): string {
    const m = state.manifests.get(service);
    return state.customers.customers[id]?.pins?.[service] ?? gate.refs.get(service) ?? (m?.kind === 'stack' ? m.source.ref : '');
  }

  /** Every current rollout planned again: customers newly admitted, or whose window opened, are queued. */
  tick(): ServicePlan[] {
    const state = this.#state;
    if (!state) return [];
    const h = this.#o.history;
    const now = this.#now();
    const plans: ServicePlan[] = [];
    for (const row of h.currentRollouts()) {
      const sp = this.plan(row.service);
      if (!sp) continue;
      plans.push(sp);
      const rows = new Map(h.rolloutCustomers(sp.row.id).map((r) => [r.customer, r]));
      for (const c of sp.plan.customers) {
        const r = rows.get(c.id);
        if (c.newRef && (!r || r.admitted_at === null)) this.#o.enqueue(c.id, `rollout ${row.service} ${row.ref}`);
        else if (r?.waiting_window === 1 && windowOpen(state.customers.customers[c.id]?.maintenance, now)) this.#o.enqueue(c.id, 'maintenance window open');
      }
    }
    this.plans = plans;
    this.#metrics?.set(plans);
    return plans;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.tick(), this.#o.tickMs ?? 5_000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
