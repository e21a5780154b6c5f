/**
 * Pruning: tearing down what axe made for a customer who left customers.yaml,
 * when that customer's `policy.prune` was on (the controller's rule: off by
 * default, and a removed customer is left in place unless it was on).
 *
 * The teardown itself is the engine's (teardown.ts): each kind deletes what it
 * made (its `delete`, runtime.ts), in the order of the plan's `after` links:
 * on the host the stacks axe started (`compose down`; data volumes and the
 * checkouts stay), the files holding secrets, the cloudflared service, the
 * networks axe created; then the DNS records axe owns for the customer; then
 * the tunnel (Cloudflare refuses while a connector is up). What stays,
 * always: operator vault items, the customer's own Vaultwarden and its data,
 * data volumes, the service checkouts. Everything is computed from the desired
 * state the customer had last (the previous revision).
 */
import type { DesiredState } from '../schemas/repo.js';

export { type PruneResult, pruneCustomer } from './teardown.js';

/** A removed customer is pruned when the revision that last declared it says so: `prune` on, mode apply, not suspended. */
export function prunesOnRemoval(state: DesiredState, id: string): boolean {
  const policy = state.customers.customers[id]?.policy;
  return Boolean(policy?.prune && policy.mode === 'apply' && !policy.suspend);
}
