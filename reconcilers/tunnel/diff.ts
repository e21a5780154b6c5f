/**
 * The customer's Cloudflare Tunnel: `axe-{customer}` in the operator's
 * account, locally managed (config_src local): its ingress rules live in the
 * cloudflared config.yml that the cloudflared reconciler renders and pushes to
 * the Mac mini (the runbook's step 7), so the rules in force are observed on
 * the host, in its one batched round trip, and a fleet scan costs Cloudflare
 * one tunnel list whatever the number of customers. An existing tunnel of
 * that name is adopted, never recreated; its credentials are kept in the
 * operator vault (derived from its connector token when adopted).
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
  name: string;
  /** Vault item holding the tunnel's credentials JSON (what cloudflared runs with). */
  credentialsItem: string;
}

export interface TunnelObserved {
  /** The tunnel of that name in the account, or null; `status` is Cloudflare's (inactive, healthy, degraded, down). */
  tunnel: { id: string; name: string; status: string } | null;
  /** The vault's content digest of the tunnel's credentials item (VaultEntry.digest), null when the vault lacks it. */
  credentialsDigest: string | null;
}

export type TunnelPayload = { name: string; tunnelId?: string; credentialsItem: string };

export const CATCH_ALL: IngressRule = { service: 'http_status:404' };

export function tunnelName(customer: string): string {
  return `axe-${customer}`;
}

export function credentialsItemName(customer: string): string {
  return `CLOUDFLARED_${customer.toUpperCase().replace(/-/g, '_')}_CREDENTIALS`;
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

export function sameIngress(a: IngressRule[] | null, b: IngressRule[]): boolean {
  if (!a || a.length !== b.length) return false;
  return a.every((rule, i) => rule.hostname === b[i]!.hostname && rule.path === b[i]!.path && rule.service === b[i]!.service);
}

/**
 * Creates the tunnel when no tunnel has its name (never re-creates one that
 * exists: an existing one is adopted), and keeps its credentials in the vault:
 * for an adopted tunnel they are derived from its connector token.
 */
export function diffTunnel(desired: TunnelDesired, observed: TunnelObserved | null): Action<TunnelPayload>[] {
  const target = `tunnel:${desired.name}`;
  const tunnel = observed?.tunnel ?? null;
  if (!tunnel) {
    return [{ kind: 'tunnel', op: 'create', target, summary: `create tunnel ${desired.name}; keep its credentials in the vault as ${desired.credentialsItem}`, payload: { name: desired.name, credentialsItem: desired.credentialsItem } }];
  }
  if (!observed?.credentialsDigest) {
    return [{ kind: 'tunnel', op: 'adopt', target, summary: `adopt tunnel ${desired.name} (id ${tunnel.id} kept); store its credentials in the vault as ${desired.credentialsItem}`, payload: { name: desired.name, tunnelId: tunnel.id, credentialsItem: desired.credentialsItem } }];
  }
  return [];
}

export function describeIngress(rules: IngressRule[]): string {
  return rules.map((r) => (r.hostname ? `${r.hostname}${r.path ?? ''} → ${r.service}` : `* → ${r.service}`)).join('; ');
}

export function healthTunnel(desired: TunnelDesired, observed: TunnelObserved | null): Health {
  const tunnel = observed?.tunnel ?? null;
  if (!tunnel) return { status: 'Missing', reason: 'NotFound', message: `no tunnel named ${desired.name}` };
  if (!observed?.credentialsDigest) return { status: 'Progressing', reason: 'CredentialsNotInVault', message: `tunnel ${tunnel.id} exists; its credentials are not in the vault yet` };
  // Cloudflare's status is the verdict: the tunnel object's `connections` array is deprecated and comes back empty.
  if (tunnel.status === 'healthy') return { status: 'Healthy', reason: 'Connected', message: `tunnel ${tunnel.id} is healthy: cloudflared is connected` };
  if (tunnel.status === 'degraded') return { status: 'Degraded', reason: 'DegradedConnections', message: `tunnel ${tunnel.id} is degraded: it serves traffic, but not all of cloudflared's connections are up` };
  if (tunnel.status === 'inactive') return { status: 'Progressing', reason: 'NotConnected', message: `tunnel ${tunnel.id} exists; cloudflared has not connected yet` };
  return { status: 'Degraded', reason: 'Disconnected', message: `tunnel ${tunnel.id} is ${tunnel.status}: cloudflared is not connected` };
}
