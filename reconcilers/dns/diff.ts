/**
 * DNS for one customer: `{public_domain}` CNAME → `{tunnel-id}.cfargotunnel.com`,
 * proxied. axe owns a record only when its comment carries the ownership
 * marker; it updates only records it owns, adopts (marks) a CNAME that already
 * points at the customer's tunnel, and never touches a foreign record.
 */
import type { DnsRecordInfo } from '../../providers/cloudflare/index.js';
import { trap } from '../traps.js';
import type { Action, Health } from '../types.js';

export const OWNER_MARKER = 'managed-by=axe';

/** A record as the zone list returns it (the provider's shape). */
export type DnsRecord = DnsRecordInfo;

export interface DnsDesired {
  customer: string;
  zone: string;
  name: string;
  /** `{tunnel-id}.cfargotunnel.com`, or null while the tunnel is still to be created. */
  target: string | null;
}

/** Every record at the name (from the one zone-wide list of the scan). */
export type DnsObserved = DnsRecord[];

export interface DnsPayload {
  zone: string;
  recordId?: string;
  record: { name: string; type: 'CNAME'; content: string | null; proxied: true; comment: string };
}

export function ownerComment(customer: string): string {
  return `${OWNER_MARKER} customer=${customer}`;
}

/** True when the record's comment carries our marker for exactly this customer (`customer=demo` is not `customer=demo2`). */
export function ownedBy(record: Pick<DnsRecord, 'comment'>, customer: string): boolean {
  const words = (record.comment ?? '').split(/\s+/);
  const at = words.indexOf(OWNER_MARKER);
  return at >= 0 && words[at + 1] === `customer=${customer}`;
}

const ADDRESS_TYPES = new Set(['A', 'AAAA', 'CNAME']);

interface Analysis {
  ours: DnsRecord | undefined;
  adoptable: DnsRecord | undefined;
  foreign: DnsRecord[];
  txt: DnsRecord[];
}

function analyse(desired: DnsDesired, observed: DnsObserved): Analysis {
  const atName = observed.filter((r) => r.name === desired.name);
  const ours = atName.find((r) => r.type === 'CNAME' && ownedBy(r, desired.customer));
  const adoptable = ours ? undefined : atName.find((r) => r.type === 'CNAME' && desired.target !== null && r.content === desired.target && !r.comment?.includes(OWNER_MARKER));
  const foreign = atName.filter((r) => ADDRESS_TYPES.has(r.type) && r !== ours && r !== adoptable);
  const txt = atName.filter((r) => r.type === 'TXT');
  return { ours, adoptable, foreign, txt };
}

export function diffDns(desired: DnsDesired, observed: DnsObserved): Action<DnsPayload>[] {
  const { ours, adoptable, foreign, txt } = analyse(desired, observed);
  const target = `dns:${desired.name}`;
  const record = { name: desired.name, type: 'CNAME' as const, content: desired.target, proxied: true as const, comment: ownerComment(desired.customer) };
  if (foreign.length > 0 || (!ours && !adoptable && txt.length > 0)) return [];
  if (adoptable) {
    return [{ kind: 'dns', op: 'adopt', target, summary: `adopt CNAME ${desired.name} → ${adoptable.content} (mark it owned; id ${adoptable.id} kept)`, payload: { zone: desired.zone, recordId: adoptable.id, record } }];
  }
  if (!ours) {
    return [{ kind: 'dns', op: 'create', target, summary: `create CNAME ${desired.name} → ${desired.target ?? '(new tunnel).cfargotunnel.com'} (proxied)`, payload: { zone: desired.zone, record } }];
  }
  if (desired.target !== null && (ours.content !== desired.target || !ours.proxied)) {
    const what = [ours.content !== desired.target ? `${ours.content} → ${desired.target}` : null, !ours.proxied ? 'proxied off → on' : null].filter(Boolean).join(', ');
    return [{ kind: 'dns', op: 'update', target, summary: `update CNAME ${desired.name}: ${what}`, payload: { zone: desired.zone, recordId: ours.id, record } }];
  }
  return [];
}

export function healthDns(desired: DnsDesired, observed: DnsObserved): Health {
  const { ours, adoptable, foreign, txt } = analyse(desired, observed);
  if (foreign.length > 0) {
    const f = foreign[0]!;
    return {
      status: 'Degraded',
      reason: 'ForeignRecord',
      message: `${f.type} ${f.name} → ${f.content} (id ${f.id}) is not axe's; left untouched`,
      trap: trap('dns-foreign-record', { name: desired.name, marker: ownerComment(desired.customer) }),
    };
  }
  if (txt.length > 0 && !ours && !adoptable) {
    return { status: 'Degraded', reason: 'TxtBesideCname', message: `TXT record at ${desired.name} blocks the CNAME`, trap: trap('dns-txt-beside-cname', { name: desired.name }) };
  }
  if (!ours && !adoptable) return { status: 'Missing', reason: 'NotFound', message: `no CNAME at ${desired.name}` };
  const record = ours ?? adoptable!;
  if (desired.target !== null && (record.content !== desired.target || !record.proxied)) {
    return { status: 'Degraded', reason: 'Drifted', message: `CNAME ${desired.name} → ${record.content}${record.proxied ? '' : ' (not proxied)'}; want ${desired.target}` };
  }
  const note = txt.length > 0 ? ` (a TXT record also sits at ${desired.name})` : '';
  return { status: 'Healthy', reason: 'InSync', message: `CNAME ${desired.name} → ${record.content}, proxied${note}` };
}
