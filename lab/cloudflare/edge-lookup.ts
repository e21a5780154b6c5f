/**
 * How the lab edge decides what to do with a public request: which zone and
 * DNS records the hostname has, and whether that leads to a tunnel. Also the
 * texts the edge answers itself (`/cdn-cgi/trace`, Cloudflare's error pages).
 *
 * Rules:
 * - Every function here is pure: state in, decision or text out.
 * - Only a proxied record reaches the edge (a DNS-only one would send the
 *   visitor straight to its content). A proxied CNAME to
 *   `<uuid>.cfargotunnel.com` routes to that tunnel; a proxied CNAME to another
 *   name in a zone of the account is followed (at most 8 hops); anything else
 *   is an origin the lab cannot reach.
 * - Exact names win over wildcards; `*.parent` is tried from the closest parent up.
 */
import type { DnsRecordState, EmulatorState, TunnelState, ZoneState } from './state.js';

const ADDRESS_TYPES = new Set(['A', 'AAAA', 'CNAME']);
const TUNNEL_TARGET = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.cfargotunnel\.com$/;
const MAX_HOPS = 8;

export type EdgeRoute =
  | { kind: 'no-zone'; hostname: string }
  | { kind: 'no-record'; hostname: string; zone: ZoneState }
  | { kind: 'dns-only'; hostname: string; zone: ZoneState; record: DnsRecordState }
  | { kind: 'origin'; hostname: string; zone: ZoneState; record: DnsRecordState }
  | { kind: 'tunnel'; hostname: string; zone: ZoneState; record: DnsRecordState; tunnelId: string; tunnel: TunnelState | null };

/** The visitor's hostname: from an absolute-form request target, else the Host header; lowercase, no port. */
export function requestHostname(url: string | undefined, host: string | undefined): string | null {
  let raw = host ?? '';
  if (url && /^https?:\/\//i.test(url)) {
    try {
      raw = new URL(url).host;
    } catch {
      return null;
    }
  }
  const name = raw.trim().toLowerCase().replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return name === '' ? null : name;
}

/** The path and query of a request target, whether origin-form or absolute-form. */
export function originForm(url: string | undefined): string {
  if (!url) return '/';
  if (!/^https?:\/\//i.test(url)) return url.startsWith('/') ? url : `/${url}`;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return '/';
  }
}

function zoneOf(hostname: string, zones: ZoneState[]): ZoneState | null {
  let best: ZoneState | null = null;
  for (const zone of zones) {
    if ((hostname === zone.name || hostname.endsWith(`.${zone.name}`)) && (!best || zone.name.length > best.name.length)) best = zone;
  }
  return best;
}

function addressRecords(name: string, zone: ZoneState, records: DnsRecordState[]): DnsRecordState[] {
  const exact = records.filter((r) => r.zone_id === zone.id && r.name === name && ADDRESS_TYPES.has(r.type));
  if (exact.length > 0 || name === zone.name) return exact;
  const labels = name.split('.');
  for (let i = 1; i < labels.length; i++) {
    const parent = labels.slice(i).join('.');
    if (parent !== zone.name && !parent.endsWith(`.${zone.name}`)) break;
    const wildcard = records.filter((r) => r.zone_id === zone.id && r.name === `*.${parent}` && ADDRESS_TYPES.has(r.type));
    if (wildcard.length > 0) return wildcard;
    // A name that exists (with any record) stops the wildcard search, as in DNS.
    if (records.some((r) => r.zone_id === zone.id && r.name === parent)) break;
  }
  return [];
}

export function lookupEdgeRoute(hostname: string, state: EmulatorState): EdgeRoute {
  const zone = zoneOf(hostname, state.zones);
  if (!zone) return { kind: 'no-zone', hostname };
  const first = addressRecords(hostname, zone, state.records)[0];
  if (!first) return { kind: 'no-record', hostname, zone };
  if (!first.proxied) return { kind: 'dns-only', hostname, zone, record: first };
  let record = first;
  let recordZone = zone;
  for (let hop = 0; hop < MAX_HOPS && record.type === 'CNAME'; hop++) {
    const target = TUNNEL_TARGET.exec(record.content);
    if (target?.[1]) {
      const tunnelId = target[1];
      const tunnel = state.tunnels.find((t) => t.id === tunnelId && t.deleted_at === null) ?? null;
      return { kind: 'tunnel', hostname, zone, record: first, tunnelId, tunnel };
    }
    const nextZone = zoneOf(record.content, state.zones);
    const next = nextZone ? addressRecords(record.content, nextZone, state.records)[0] : undefined;
    if (!nextZone || !next) break;
    record = next;
    recordZone = nextZone;
  }
  return { kind: 'origin', hostname, zone: recordZone, record };
}

export interface TraceInput {
  hostname: string;
  ip: string;
  userAgent: string;
  httpVersion: string;
  now: number;
}

/** `/cdn-cgi/trace` in Cloudflare's `key=value` lines; TLS fields say what the lab edge really does (plain HTTP). */
export function traceText(input: TraceInput): string {
  const lines: Array<[string, string]> = [
    ['fl', 'lab1'],
    ['h', input.hostname],
    ['ip', input.ip],
    ['ts', (input.now / 1000).toFixed(3)],
    ['visit_scheme', 'http'],
    ['uag', input.userAgent],
    ['colo', 'LAB'],
    ['sliver', 'none'],
    ['http', `http/${input.httpVersion}`],
    ['loc', 'XX'],
    ['tls', 'off'],
    ['sni', 'off'],
    ['warp', 'off'],
    ['gateway', 'off'],
    ['rbi', 'off'],
    ['kex', 'none'],
  ];
  return `${lines.map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}

export interface EdgeError {
  /** Cloudflare's error number (1001, 1016, 1033…). */
  code: number;
  status: number;
  title: string;
  /** What the lab found, for the operator (header x-axe-lab-detail and the HTML page). */
  detail: string;
}

export const EDGE_ERRORS = {
  dnsResolution: { code: 1001, status: 530, title: 'DNS resolution error' },
  originDns: { code: 1016, status: 530, title: 'Origin DNS error' },
  tunnel: { code: 1033, status: 530, title: 'Cloudflare Tunnel error' },
} as const;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * An error answer: a browser (Accept: text/html) gets an HTML page, any other
 * client the plain `error code: N` Cloudflare sends to non-browsers.
 */
export function errorPage(error: EdgeError, ray: string, hostname: string, accept: string | undefined): { status: number; contentType: string; body: string } {
  if (!accept?.includes('text/html')) return { status: error.status, contentType: 'text/plain; charset=UTF-8', body: `error code: ${error.code}\n` };
  const body = [
    '<!DOCTYPE html>',
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(hostname)} | ${error.code}: ${escapeHtml(error.title)}</title></head>`,
    '<body>',
    `<h1><span>Error</span> <span>${error.code}</span></h1>`,
    `<p>Ray ID: ${escapeHtml(ray)} &bull; ${new Date().toISOString()}</p>`,
    `<h2>${escapeHtml(error.title)}</h2>`,
    `<p>${escapeHtml(error.detail)}</p>`,
    '<p>Served by the axe lab edge, a stand-in for Cloudflare (not the real thing).</p>',
    '</body></html>',
    '',
  ].join('\n');
  return { status: error.status, contentType: 'text/html; charset=UTF-8', body };
}
