/**
 * What every kind that reads or changes the host asks of the pass before it
 * does: is the host reachable (the host kind's result in this pass), and its
 * own section of the host's one batched observation (run by the host kind
 * first, so normally answered from the scan). Shared by the kinds, so none of
 * them imports the host kind.
 */
import { transient } from '../core/errors.js';
import type { HostFileSums } from '../providers/host/facts/files.js';
import { SCAN_KEYS } from './scan.js';
import type { HostObserved } from './host/diff.js';
import type { CustomerContext } from './runtime.js';
import type { Kind } from './types.js';

/** The host must answer SSH before anything is read from or pushed to it. */
export function hostReachable(ctx: CustomerContext, resource: Kind): void {
  const host = ctx.pass.results.get('host');
  const observed = host?.observed as HostObserved | null | undefined;
  if (!observed?.ssh.ok) throw transient(`the host ${ctx.customer.tailscale_host} is not reachable`, { customer: ctx.id, resource, fix: host?.health.trap?.fix ?? 'see the host resource' });
}

/**
 * A kind's own section of the host's one batched observation (run by the host
 * kind first, so normally answered from the scan); the host must be reachable.
 */
export async function hostSectionOutput(ctx: CustomerContext, section: string, resource: Kind): Promise<string> {
  hostReachable(ctx, resource);
  const sections = await ctx.env.scan.host(ctx.target, ctx.hostSections, section);
  const found = sections.get(section);
  if (!found) throw transient(`the ${resource} observation did not come back from the host`, { customer: ctx.id, resource });
  return found.output;
}

/** The sums of files this process read on the customer's host (facts/files.ts), or none (a test double without them). */
export function hostFileSums(ctx: CustomerContext): HostFileSums {
  const store = ctx.env.providers.hosts.fileSums;
  return store ? { store, where: SCAN_KEYS.host(ctx.target) } : undefined;
}
