/**
 * The checks kind's verdicts as metrics: `axe_service_check_ok{customer,
 * service, check}` is 1 while a manifest's health query (the runbook's D+7
 * checks: frame's audit log active) passes and 0 while it fails or does not
 * answer. A check not run (its service has no running container) has no
 * series: the stack's own health says why. Set from each reconcile's checks
 * result; a check or customer that goes away is removed. No answer text is a label.
 */
import { Gauge, type Registry } from 'prom-client';
import type { ChecksObserved } from '../reconcilers/checks/diff.js';

type Labels = 'customer' | 'service' | 'check';

export class CheckMetrics {
  readonly ok: Gauge<Labels>;
  /** Per customer: the `service/check` series set. */
  readonly #seen = new Map<string, Map<string, { service: string; check: string }>>();

  constructor(registry: Registry) {
    this.ok = new Gauge({
      name: 'axe_service_check_ok',
      help: "1 while the service's check (a read-only health query of its manifest, e.g. frame's audit log active) passes on the customer's host, 0 while it fails or does not answer.",
      labelNames: ['customer', 'service', 'check'],
      registers: [registry],
    });
  }

  /** Records one observation (null: not observed this time, the old values stay). */
  record(customer: string, observed: ChecksObserved | null): void {
    if (!observed) return;
    const before = this.#seen.get(customer) ?? new Map<string, { service: string; check: string }>();
    const now = new Map<string, { service: string; check: string }>();
    for (const r of observed.results) {
      if (r.verdict === 'not-run') continue;
      const labels = { service: r.service, check: r.name };
      now.set(`${r.service}/${r.name}`, labels);
      this.ok.set({ customer, ...labels }, r.verdict === 'pass' ? 1 : 0);
    }
    for (const [key, labels] of before) if (!now.has(key)) this.ok.remove({ customer, ...labels });
    this.#seen.set(customer, now);
  }

  remove(customer: string): void {
    for (const labels of this.#seen.get(customer)?.values() ?? []) this.ok.remove({ customer, ...labels });
    this.#seen.delete(customer);
  }
}
