/**
 * The customer's tunnel as the kinds around it read it: the ingress rules
 * its cloudflared config routes by (desired from the manifests, described in
 * plans; rendered and pushed by the cloudflared kind) and what the tunnel kind
 * observed (read from the pass by cloudflared and dns for the tunnel's id).
 * Shared by those kinds, so none of them imports the tunnel kind.
 */
import type { CustomersFile } from '../schemas/customers.js';
import type { ServiceManifest } from '../schemas/service-manifest.js';

export interface IngressRule {
  hostname?: string;
  path?: string;
  service: string;
}

export interface TunnelObserved {
  /** The tunnel of that name in the account, or null; `status` is Cloudflare's (inactive, healthy, degraded, down). */
  tunnel: { id: string; name: string; status: string } | null;
  /** The vault's content digest of the tunnel's credentials item (VaultEntry.digest), null when the vault lacks it. */
  credentialsDigest: string | null;
}

export const CATCH_ALL: IngressRule = { service: 'http_status:404' };

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

export function describeIngress(rules: IngressRule[]): string {
  return rules.map((r) => (r.hostname ? `${r.hostname}${r.path ?? ''} → ${r.service}` : `* → ${r.service}`)).join('; ');
}
