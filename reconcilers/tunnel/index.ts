/**
 * The tunnel reconciler: observes the account's one tunnel list (per scan) and
 * the vault's item list; creates the customer's tunnel with a fresh secret, or
 * adopts the one that exists, and keeps its credentials in the operator vault.
 *
 * Rules:
 * - Never re-creates a tunnel that exists: a run killed between "created" and
 *   "credentials stored" finds the tunnel next time and adopts it through its
 *   connector token.
 * - The tunnel secret and the credentials travel as `Secret` only.
 */
import { randomBytes } from 'node:crypto';
import { terminal } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { requireCloudflare } from '../../providers/index.js';
import type { ResourceReconciler } from '../runtime.js';
import type { TunnelObserved } from '../tunnel-ingress.js';
import { credentialsItemName } from '../vault-names.js';
import { diffTunnel, healthTunnel, tunnelName, type TunnelDesired, type TunnelPayload } from './diff.js';
import { tunnelDeletion } from './delete.js';

/** cloudflared's credentials file content, as a Secret. */
export function credentialsJson(accountId: string, tunnelId: string, secretBase64: string): Secret {
  return new Secret(`${JSON.stringify({ AccountTag: accountId, TunnelSecret: secretBase64, TunnelID: tunnelId })}\n`);
}

/** The credentials from a connector token (base64 of `{"a":account,"t":tunnel,"s":secret}`). */
export function credentialsFromToken(token: Secret): Secret {
  let parsed: { a?: unknown; t?: unknown; s?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(token.reveal(), 'base64').toString('utf8')) as typeof parsed;
  } catch {
    throw terminal('the tunnel token Cloudflare returned is not readable', { resource: 'tunnel', fix: 'delete the credentials item and let axe adopt the tunnel again' });
  }
  if (typeof parsed.a !== 'string' || typeof parsed.t !== 'string' || typeof parsed.s !== 'string') {
    throw terminal('the tunnel token Cloudflare returned lacks its account, id or secret', { resource: 'tunnel', fix: 'check the tunnel in the Cloudflare dashboard' });
  }
  return credentialsJson(parsed.a, parsed.t, parsed.s);
}

export const tunnelReconciler: ResourceReconciler<TunnelDesired, TunnelObserved, TunnelPayload> = {
  kind: 'tunnel',
  dependsOn: [],
  delete: tunnelDeletion,
  desired(ctx) {
    return { customer: ctx.id, name: tunnelName(ctx.id), credentialsItem: credentialsItemName(ctx.id) };
  },
  async observe(ctx, desired) {
    const [tunnels, items] = await Promise.all([ctx.env.scan.tunnels(), ctx.env.scan.vault()]);
    const found = tunnels.filter((t) => t.name === desired.name).sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''))[0];
    return {
      tunnel: found ? { id: found.id, name: found.name, status: found.status } : null,
      credentialsDigest: items.find((item) => item.name === desired.credentialsItem)?.digest ?? null,
    };
  },
  diff: diffTunnel,
  health: healthTunnel,
  async act(ctx, desired, action) {
    const api = requireCloudflare(ctx.env.providers);
    const meta = { name: desired.credentialsItem, customer: ctx.id, service: 'cloudflared' };
    if (action.op === 'create') {
      const secretBase64 = randomBytes(32).toString('base64');
      const created = await api.createTunnel(desired.name, new Secret(secretBase64));
      await ctx.env.providers.vault.put({ ...meta, value: credentialsJson(api.accountId, created.id, secretBase64) });
      return;
    }
    if (action.op === 'adopt' && action.payload.tunnelId) {
      const token = await api.tunnelToken(action.payload.tunnelId);
      await ctx.env.providers.vault.put({ ...meta, value: credentialsFromToken(token) });
    }
  },
  reads: ['tunnels', 'vault'],
};
