/**
 * The customer's Cloudflare Tunnel: `axe-{customer}` in the operator's
 * account, locally managed (config_src local): its ingress rules live in the
 * cloudflared config.yml that the cloudflared reconciler renders and pushes to
 * the Mac mini (the runbook's step 7), so the rules in force are observed on
 * the host, in its one batched round trip, and a fleet scan costs Cloudflare
 * one tunnel list whatever the number of customers. An existing tunnel of
 * that name is adopted, never recreated; its credentials are kept in the
 * operator vault (derived from its connector token when adopted). The ingress
 * rules and the tunnel's observed shape, read by cloudflared and dns, are in
 * ../tunnel-ingress.ts; the credentials item's name in ../vault-names.ts.
 */
import type { TunnelObserved } from '../tunnel-ingress.js';
import type { Action, Health } from '../types.js';

export interface TunnelDesired {
  customer: string;
  name: string;
  /** Vault item holding the tunnel's credentials JSON (what cloudflared runs with). */
  credentialsItem: string;
}

export type TunnelPayload = { name: string; tunnelId?: string; credentialsItem: string };

export function tunnelName(customer: string): string {
  return `axe-${customer}`;
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
