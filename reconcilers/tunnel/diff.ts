/**
 * The customer's Cloudflare Tunnel: `axe-{customer}` in the operator's
 * account, remotely managed (config_src cloudflare), with ingress rules
 * `https://{public_domain}{path}` → the service, longest path first, and the
 * catch-all last. An existing tunnel of that name is adopted, never recreated.
 */
import type { CustomersFile } from '../../schemas/customers.js';
import type { ServiceManifest } from '../../schemas/service-manifest.js';
import type { Action, Health } from '../types.js';

export interface IngressRule {
  hostname?: string;
  path?: string;
  service: string;
}

export interface TunnelDesired {
  customer: string;
  accountId: string;
  name: string;
  ingress: IngressRule[];
}

export interface TunnelObserved {
  id: string;
  name: string;
  /** inactive (never connected), healthy, degraded, down. */
  status: string;
  connections: number;
  /** The remotely managed ingress, or null when none was ever set. */
  ingress: IngressRule[] | null;
}

export type TunnelPayload = { accountId: string; name: string; tunnelId?: string; ingress: IngressRule[] };

export const CATCH_ALL: IngressRule = { service: 'http_status:404' };

export function tunnelName(customer: string): string {
  return `axe-${customer}`;
}

/**
 * The ingress for a customer: one rule per declared service with an ingress,
 * longest path first, the catch-all last. A sovereign customer's tunnel sends
 * its whole domain to the customer's own reverse proxy on the Mac mini.
 */
export function desiredIngress(customers: CustomersFile, manifests: Map<string, ServiceManifest>, id: string, sovereignOrigin = 'http://localhost:80'): IngressRule[] {
  const customer = customers.customers[id];
  if (!customer) return [CATCH_ALL];
  const hostname = customer.public_domain;
  const rules: Array<{ path: string; service: string }> = [];
  for (const [name, manifest] of manifests) {
    if (!manifest.ingress || !customers.services[name]?.[id]) continue;
    rules.push({ path: manifest.ingress.path, service: `http://${manifest.ingress.service}:${manifest.ingress.port}` });
  }
  if (rules.length === 0) return [{ hostname, service: sovereignOrigin }, CATCH_ALL];
  rules.sort((a, b) => b.path.length - a.path.length || a.path.localeCompare(b.path));
  return [
    ...rules.map((r) => (r.path === '/' ? { hostname, service: r.service } : { hostname, path: `^${r.path}(/|$)`, service: r.service })),
    CATCH_ALL,
  ];
}

function sameIngress(a: IngressRule[] | null, b: IngressRule[]): boolean {
  if (!a || a.length !== b.length) return false;
  return a.every((rule, i) => rule.hostname === b[i]!.hostname && rule.path === b[i]!.path && rule.service === b[i]!.service);
}

export function diffTunnel(desired: TunnelDesired, observed: TunnelObserved | null): Action<TunnelPayload>[] {
  const target = `tunnel:${desired.name}`;
  const payload = { accountId: desired.accountId, name: desired.name, ingress: desired.ingress };
  if (!observed) {
    return [
      { kind: 'tunnel', op: 'create', target, summary: `create tunnel ${desired.name} (remotely managed)`, payload },
      { kind: 'tunnel', op: 'set-ingress', target, summary: `set ingress: ${describeIngress(desired.ingress)}`, payload },
    ];
  }
  if (!sameIngress(observed.ingress, desired.ingress)) {
    return [{ kind: 'tunnel', op: 'set-ingress', target, summary: `set ingress: ${describeIngress(desired.ingress)}`, payload: { ...payload, tunnelId: observed.id } }];
  }
  return [];
}

export function describeIngress(rules: IngressRule[]): string {
  return rules.map((r) => (r.hostname ? `${r.hostname}${r.path ?? ''} → ${r.service}` : `* → ${r.service}`)).join('; ');
}

export function healthTunnel(desired: TunnelDesired, observed: TunnelObserved | null): Health {
  if (!observed) return { status: 'Missing', reason: 'NotFound', message: `no tunnel named ${desired.name}` };
  if (!sameIngress(observed.ingress, desired.ingress)) return { status: 'Degraded', reason: 'IngressDrift', message: `ingress differs from the desired ${desired.ingress.length} rules` };
  if (observed.status === 'healthy' && observed.connections > 0) return { status: 'Healthy', reason: 'Connected', message: `${observed.connections} connection(s)` };
  if (observed.status === 'inactive') return { status: 'Progressing', reason: 'NotConnected', message: 'tunnel exists; cloudflared has not connected yet' };
  return { status: 'Degraded', reason: 'Disconnected', message: `tunnel status ${observed.status}: cloudflared is not connected` };
}
