/**
 * DNS records the way Cloudflare's v4 API takes and checks them: names made
 * absolute in the zone, content checked per type, and the same-name rules
 * (CNAME exclusivity, identical records) with Cloudflare's error codes.
 *
 * Rules:
 * - Every function here is pure: it reads the records it is given and returns
 *   either the record to store or the v4 error to send.
 */
import { isIP } from 'node:net';
import type { DnsRecordState, ZoneState } from './state.js';
import type { V4Error } from './v4.js';

export const SUPPORTED_TYPES = new Set(['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'NS', 'CAA', 'SRV', 'PTR', 'HTTPS', 'SVCB']);
const PROXIABLE = new Set(['A', 'AAAA', 'CNAME']);
const HOSTNAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

export const CONFLICT_CNAME_HOST: V4Error = { code: 81053, message: 'An A, AAAA, or CNAME record with that host already exists.' };
export const CONFLICT_CNAME_EXISTS: V4Error = { code: 81054, message: 'A CNAME record with that host already exists.' };
export const CONFLICT_IDENTICAL: V4Error = { code: 81057, message: 'Record already exists.' };

/** `@`, relative and absolute names → the lowercase absolute name in the zone. */
export function absoluteName(name: string, zone: ZoneState): string {
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  if (n === '@' || n === '') return zone.name;
  if (n === zone.name || n.endsWith(`.${zone.name}`)) return n;
  return `${n}.${zone.name}`;
}

export interface RecordInput {
  type?: unknown;
  name?: unknown;
  content?: unknown;
  proxied?: unknown;
  ttl?: unknown;
  priority?: unknown;
  comment?: unknown;
  tags?: unknown;
}

/** The fields of a record as they will be stored, or the validation error. */
export function validateRecord(input: RecordInput, zone: ZoneState): { record: Omit<DnsRecordState, 'id' | 'zone_id' | 'created_on' | 'modified_on'> } | { error: V4Error } {
  if (typeof input.type !== 'string' || input.type === '') return { error: { code: 9101, message: 'DNS record type is required.' } };
  const type = input.type.toUpperCase();
  if (!SUPPORTED_TYPES.has(type)) return { error: { code: 1004, message: `DNS Validation Error: unsupported record type ${type} (the lab emulator knows ${[...SUPPORTED_TYPES].join(', ')})` } };
  if (typeof input.name !== 'string' || input.name.trim() === '') return { error: { code: 9005, message: 'DNS name is invalid.' } };
  const name = absoluteName(input.name, zone);
  if (name.length > 255 || !HOSTNAME.test(name)) return { error: { code: 9005, message: 'DNS name is invalid.' } };
  if (typeof input.content !== 'string' || input.content === '') return { error: { code: 9007, message: 'Content for the record is required.' } };
  let content = input.content;
  if (type === 'A' && isIP(content) !== 4) return { error: { code: 9005, message: 'Content for A record must be a valid IPv4 address.' } };
  if (type === 'AAAA' && isIP(content) !== 6) return { error: { code: 9006, message: 'Content for AAAA record must be a valid IPv6 address.' } };
  if (type === 'CNAME' || type === 'NS' || type === 'PTR' || type === 'MX') {
    content = content.trim().toLowerCase().replace(/\.$/, '');
    if (!HOSTNAME.test(content)) return { error: { code: 9007, message: `Content for ${type} record is invalid.` } };
    if (type === 'CNAME' && content === name) return { error: { code: 9039, message: 'CNAME content cannot reference itself.' } };
  }
  const proxied = input.proxied === undefined || input.proxied === null ? false : input.proxied;
  if (typeof proxied !== 'boolean') return { error: { code: 9003, message: 'Invalid proxied value: must be a boolean.' } };
  if (proxied && !PROXIABLE.has(type)) return { error: { code: 9004, message: 'This record type cannot be proxied.' } };
  const ttlIn = input.ttl === undefined || input.ttl === null ? 1 : input.ttl;
  if (typeof ttlIn !== 'number' || !Number.isInteger(ttlIn) || (ttlIn !== 1 && (ttlIn < 60 || ttlIn > 86400))) {
    return { error: { code: 9021, message: 'Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.' } };
  }
  const ttl = proxied ? 1 : ttlIn; // proxied records are always served with an automatic TTL
  let priority: number | undefined;
  if (type === 'MX') {
    if (typeof input.priority !== 'number' || !Number.isInteger(input.priority) || input.priority < 0 || input.priority > 65535) {
      return { error: { code: 9100, message: 'MX records require a priority between 0 and 65535.' } };
    }
    priority = input.priority;
  }
  const comment = input.comment === undefined || input.comment === null || input.comment === '' ? null : input.comment;
  if (comment !== null && typeof comment !== 'string') return { error: { code: 9102, message: 'Comment must be a string.' } };
  if (comment !== null && comment.length > 100) return { error: { code: 9102, message: 'Comment is too long: at most 100 characters on this plan.' } };
  const tags = input.tags === undefined || input.tags === null ? [] : input.tags;
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t === '' || t.startsWith(':'))) {
    return { error: { code: 9103, message: 'Tags must be a list of "name" or "name:value" strings.' } };
  }
  return { record: { name, type, content, proxied, ttl, ...(priority === undefined ? {} : { priority }), comment, tags: tags as string[] } };
}

function sameContent(a: Pick<DnsRecordState, 'type' | 'content' | 'priority'>, b: Pick<DnsRecordState, 'type' | 'content' | 'priority'>): boolean {
  const norm = (r: typeof a) => (r.type === 'TXT' || r.type === 'CAA' ? r.content : r.content.toLowerCase());
  return a.type === b.type && norm(a) === norm(b) && (a.priority ?? null) === (b.priority ?? null);
}

/**
 * The same-name rules, checked against the other records of the zone:
 * identical record → 81057; a CNAME where any record exists → 81053 (A/AAAA/CNAME,
 * and also TXT and other types: RFC 1034 forbids data beside a CNAME); any other
 * type where a CNAME exists → 81054.
 */
export function conflict(candidate: Pick<DnsRecordState, 'name' | 'type' | 'content' | 'priority'>, others: DnsRecordState[]): V4Error | null {
  const atName = others.filter((r) => r.name === candidate.name);
  if (atName.some((r) => sameContent(r, candidate))) return CONFLICT_IDENTICAL;
  // The real message names A, AAAA and CNAME only; the lab gives the same answer for a
  // TXT (or any other record) already at the name, as RFC 1034 allows nothing beside a CNAME.
  if (candidate.type === 'CNAME') return atName.length > 0 ? CONFLICT_CNAME_HOST : null;
  if (atName.some((r) => r.type === 'CNAME')) return CONFLICT_CNAME_EXISTS;
  return null;
}

type Operator = 'exact' | 'contains' | 'startswith' | 'endswith';
const OPERATORS: Operator[] = ['exact', 'contains', 'startswith', 'endswith'];

function stringMatch(value: string, op: Operator, wanted: string): boolean {
  const v = value.toLowerCase();
  const w = wanted.toLowerCase();
  if (op === 'exact') return v === w;
  if (op === 'contains') return v.includes(w);
  if (op === 'startswith') return v.startsWith(w);
  return v.endsWith(w);
}

/**
 * The list filters the SDK sends (`name=`, `name.exact=`, `name.contains=` …,
 * `type`, `content.*`, `comment.*`, `proxied`, `search`, `match=any|all`) as one predicate.
 */
export function recordFilter(query: URLSearchParams, zone: ZoneState): ((r: DnsRecordState) => boolean) | { error: V4Error } {
  const tests: Array<(r: DnsRecordState) => boolean> = [];
  for (const field of ['name', 'content'] as const) {
    const plain = query.get(field);
    if (plain !== null) tests.push((r) => stringMatch(r[field], 'exact', field === 'name' ? absoluteName(plain, zone) : plain));
    for (const op of OPERATORS) {
      const value = query.get(`${field}.${op}`);
      if (value === null) continue;
      const wanted = field === 'name' && op === 'exact' ? absoluteName(value, zone) : value;
      tests.push((r) => stringMatch(r[field], op, wanted));
    }
  }
  const commentPlain = query.get('comment');
  if (commentPlain !== null) tests.push((r) => (r.comment ?? '') === commentPlain);
  for (const op of OPERATORS) {
    const value = query.get(`comment.${op}`);
    if (value !== null) tests.push((r) => r.comment !== null && stringMatch(r.comment, op, value));
  }
  if (query.has('comment.present')) tests.push((r) => r.comment !== null);
  if (query.has('comment.absent')) tests.push((r) => r.comment === null);
  const tag = query.get('tag.exact') ?? query.get('tag');
  if (tag !== null) tests.push((r) => r.tags.includes(tag));
  const type = query.get('type');
  if (type !== null) {
    const wanted = type.toUpperCase();
    if (!SUPPORTED_TYPES.has(wanted)) return { error: { code: 9101, message: `Invalid DNS record type ${type}.` } };
    tests.push((r) => r.type === wanted);
  }
  const proxied = query.get('proxied');
  if (proxied !== null) tests.push((r) => r.proxied === (proxied === 'true'));
  const search = query.get('search');
  if (search !== null) tests.push((r) => [r.name, r.content, r.comment ?? ''].some((v) => v.toLowerCase().includes(search.toLowerCase())));
  const any = query.get('match') === 'any';
  if (tests.length === 0) return () => true;
  return any ? (r) => tests.some((t) => t(r)) : (r) => tests.every((t) => t(r));
}

/** The record as the v4 API returns it: the spec's dns-records_dns-record-response fields (no zone_id/zone_name). */
export function recordView(record: DnsRecordState): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    type: record.type,
    content: record.content,
    ...(record.priority === undefined ? {} : { priority: record.priority }),
    proxiable: PROXIABLE.has(record.type),
    proxied: record.proxied,
    ttl: record.ttl,
    settings: {},
    meta: {},
    comment: record.comment,
    tags: record.tags,
    created_on: record.created_on,
    modified_on: record.modified_on,
  };
}

const ORDERS = ['type', 'name', 'content', 'ttl', 'proxied'] as const;

/**
 * The list order: `order` (type, name, content, ttl, proxied) and `direction`,
 * then creation time and id, so every page of a listing is stable.
 */
export function sortRecords(records: DnsRecordState[], query: URLSearchParams): DnsRecordState[] {
  const order = query.get('order');
  const key = ORDERS.find((o) => o === order);
  const sign = query.get('direction') === 'desc' ? -1 : 1;
  return [...records].sort((a, b) => {
    if (key) {
      const x = a[key];
      const y = b[key];
      const c = typeof x === 'string' && typeof y === 'string' ? x.localeCompare(y) : Number(x) - Number(y);
      if (c !== 0) return sign * c;
    }
    return a.created_on.localeCompare(b.created_on) || a.id.localeCompare(b.id);
  });
}

/** The stored fields of a record as PATCH input, so a partial body can be merged onto them. */
export function recordAsInput(record: DnsRecordState): RecordInput {
  return { type: record.type, name: record.name, content: record.content, proxied: record.proxied, ttl: record.ttl, priority: record.priority, comment: record.comment, tags: record.tags };
}
