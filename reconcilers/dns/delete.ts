/**
 * The DNS kind's teardown (runtime.ts `Deletion`): every record of the zone
 * whose comment says axe owns it for the customer. Nothing when Cloudflare is
 * not configured (nothing can be read there).
 */
import { transient } from '../../core/errors.js';
import type { Deletion } from '../runtime.js';
import type { Action } from '../types.js';
import { ownedBy } from './diff.js';

export interface DnsLeft {
  records: Array<{ id: string; type: string; name: string }>;
  zoneId: string | null;
}

export interface DnsDeletePayload {
  id: string;
  zoneId?: string;
}

/** The DNS teardown (pure). */
export function planDnsDelete(customer: string, left: DnsLeft): Action<DnsDeletePayload>[] {
  const zone = left.zoneId ? { zoneId: left.zoneId } : {};
  return left.records.map((r) => ({ kind: 'dns', op: 'delete', target: `dns:${r.name}`, summary: `delete ${r.type} ${r.name} (its comment says axe owns it for ${customer})`, payload: { id: r.id, ...zone } }));
}

export const dnsDeletion: Deletion<DnsLeft, DnsDeletePayload> = {
  async observe(ctx) {
    if (!ctx.env.providers.cloudflare) return { records: [], zoneId: null };
    const [records, zoneId] = await Promise.all([ctx.env.scan.dns(), ctx.env.scan.zoneId()]);
    return { records: records.filter((r) => ownedBy(r, ctx.id)).map((r) => ({ id: r.id, type: r.type, name: r.name })), zoneId };
  },
  plan: planDnsDelete,
  async act(ctx, a) {
    const cloudflare = ctx.env.providers.cloudflare;
    if (!cloudflare) throw transient(`Cloudflare is not configured: cannot ${a.summary}`, { customer: ctx.id, resource: 'dns' });
    await cloudflare.deleteDnsRecord(a.payload.zoneId!, a.payload.id);
  },
};
