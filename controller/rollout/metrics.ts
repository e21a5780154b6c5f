/**
 * The rollout's metrics and alert condition. Labels are bounded: service
 * names, the planner's states, customer states. Never a ref (unbounded) —
 * `axe rollout status` names the ref.
 *
 * - `axe_rollout_state{service, state}`: 1 for the current state of the
 *   service's rollout (running, halted, paused, aborted, complete), 0 others.
 * - `axe_rollout_halted{service}`: 1 while halted (the `RolloutHalted` rule).
 * - `axe_rollout_customers{service, state}`: customers per planner state.
 * - `axe_rollout_failures{service}`, `axe_rollout_failure_budget{service}`.
 */
import { Gauge, type Registry } from 'prom-client';
import type { AlertCondition } from '../alerts.js';
import type { CustomerState, RolloutState, ServicePlan } from './plan.js';

const STATES: RolloutState[] = ['running', 'halted', 'paused', 'aborted', 'complete'];
const CUSTOMER_STATES: CustomerState[] = ['pinned', 'waiting', 'held', 'admitted', 'pending', 'baking', 'done', 'failed'];

export class RolloutMetrics {
  readonly state: Gauge<'service' | 'state'>;
  readonly halted: Gauge<'service'>;
  readonly customers: Gauge<'service' | 'state'>;
  readonly failures: Gauge<'service'>;
  readonly budget: Gauge<'service'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.state = new Gauge({ name: 'axe_rollout_state', help: "1 for the current state of each service's rollout", labelNames: ['service', 'state'], registers });
    this.halted = new Gauge({ name: 'axe_rollout_halted', help: "1 while a service's rollout is halted (failure budget spent)", labelNames: ['service'], registers });
    this.customers = new Gauge({ name: 'axe_rollout_customers', help: 'customers of the current rollout per state', labelNames: ['service', 'state'], registers });
    this.failures = new Gauge({ name: 'axe_rollout_failures', help: 'customers that failed the current release', labelNames: ['service'], registers });
    this.budget = new Gauge({ name: 'axe_rollout_failure_budget', help: 'failures that halt the current release', labelNames: ['service'], registers });
  }

  set(plans: readonly ServicePlan[]): void {
    for (const { row, plan } of plans) {
      for (const s of STATES) this.state.set({ service: row.service, state: s }, s === plan.state ? 1 : 0);
      this.halted.set({ service: row.service }, plan.state === 'halted' ? 1 : 0);
      for (const s of CUSTOMER_STATES) this.customers.set({ service: row.service, state: s }, plan.customers.filter((c) => c.state === s).length);
      this.failures.set({ service: row.service }, plan.spent);
      this.budget.set({ service: row.service }, plan.budget);
    }
  }
}

/** One `RolloutHalted` condition (fleet-wide) naming every halted service, who failed, at which step, why. */
export function rolloutConditions(plans: readonly ServicePlan[]): AlertCondition[] {
  const halted = plans.filter((p) => p.plan.state === 'halted');
  if (halted.length === 0) return [];
  const resources = halted.map(({ row, plan }) => ({
    kind: 'stack',
    summary: `${row.service} ${row.ref} halted, budget spent (${plan.spent}/${plan.budget}): ${plan.failures.map((f) => `${f.customer} at ${f.step}: ${f.reason}`).join('; ')}`,
    fix: `fix the release and merge a new ref for ${row.service} (it restarts the rollout), or axe rollout abort ${row.service}`,
  }));
  return [{ name: 'RolloutHalted', customer: null, severity: 'critical', summary: resources.map((r) => r.summary).join(' | '), resources, fix: resources[0]!.fix }];
}
