/**
 * The DNS reconciler: the customer's public name as a proxied CNAME to its
 * tunnel, from the zone's one record list per scan. Creates it, adopts a
 * matching unowned CNAME, updates only a record axe owns; a foreign record
 * is reported (Degraded, with the fix), never touched.
 */
import { CloudflareError } from '../../providers/cloudflare/index.js';
import { requireCloudflare } from '../../providers/index.js';
import { terminal } from '../../core/errors.js';
import type { TunnelObserved } from '../tunnel-ingress.js';
import type { ResourceReconciler } from '../runtime.js';
import { trap } from '../traps.js';
import { diffDns, type DnsDesired, type DnsObserved, type DnsPayload, healthDns, ownerComment } from './diff.js';
import { dnsDeletion } from './delete.js';

export const dnsReconciler: ResourceReconciler<DnsDesired, DnsObserved, DnsPayload> = {
  kind: 'dns',
  dependsOn: ['tunnel'],
  delete: dnsDeletion,
  desired(ctx) {
    const tunnel = (ctx.pass.results.get('tunnel')?.observed as TunnelObserved | null | undefined)?.tunnel ?? null;
    return { customer: ctx.id, zone: ctx.env.settings.zone, name: ctx.customer.public_domain, target: tunnel ? `${tunnel.id}.cfargotunnel.com` : null };
  },
  async observe(ctx, desired) {
    const records = await ctx.env.scan.dns();
    return records.filter((r) => r.name === desired.name);
  },
  diff: diffDns,
  health: healthDns,
  async act(ctx, desired, action) {
    const api = requireCloudflare(ctx.env.providers);
    const { record } = action.payload;
    if (record.content === null) throw terminal(`the tunnel for ${ctx.id} does not exist yet`, { customer: ctx.id, resource: 'dns', fix: 'reconcile the tunnel first (axe onboard runs it before DNS)' });
    const zoneId = await ctx.env.scan.zoneId();
    const input = { name: record.name, type: record.type, content: record.content, proxied: record.proxied, comment: ownerComment(desired.customer) };
    try {
      if (action.op === 'create') await api.createDnsRecord(zoneId, input);
      else if (action.payload.recordId) await api.updateDnsRecord(zoneId, action.payload.recordId, input);
    } catch (error) {
      if (error instanceof CloudflareError && (error.codes.includes(81053) || error.codes.includes(81054))) {
        const t = trap('dns-foreign-record', { name: record.name, marker: ownerComment(desired.customer) });
        throw terminal(`a record that is not axe's appeared at ${record.name} (Cloudflare ${error.codes.join(',')})`, { customer: ctx.id, resource: 'dns', fix: t.fix, trap: t.trap });
      }
      throw error;
    }
  },
  reads: ['dns'],
};
