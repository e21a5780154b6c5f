/**
 * The tunnel kind's teardown (runtime.ts `Deletion`): the customer's tunnel
 * (the oldest of its name, the one the kind adopts). Its credentials stay in
 * the vault: vault items are never pruned. Nothing when Cloudflare is not
 * configured.
 */
import { transient } from '../../core/errors.js';
import type { Deletion } from '../runtime.js';
import type { Action } from '../types.js';
import { tunnelName } from './diff.js';

export interface TunnelLeft {
  tunnel: { id: string; name: string } | null;
}

export interface TunnelDeletePayload {
  id: string;
}

/** The tunnel teardown (pure). */
export function planTunnelDelete(_customer: string, left: TunnelLeft): Action<TunnelDeletePayload>[] {
  const t = left.tunnel;
  return t ? [{ kind: 'tunnel', op: 'delete', target: `tunnel:${t.name}`, summary: `delete tunnel ${t.name} (${t.id}); its credentials stay in the vault (vault items are never pruned)`, payload: { id: t.id } }] : [];
}

export const tunnelDeletion: Deletion<TunnelLeft, TunnelDeletePayload> = {
  async observe(ctx) {
    if (!ctx.env.providers.cloudflare) return { tunnel: null };
    const tunnels = await ctx.env.scan.tunnels();
    const found = tunnels.filter((t) => t.name === tunnelName(ctx.id)).sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''))[0];
    return { tunnel: found ? { id: found.id, name: found.name } : null };
  },
  plan: planTunnelDelete,
  async act(ctx, a) {
    const cloudflare = ctx.env.providers.cloudflare;
    if (!cloudflare) throw transient(`Cloudflare is not configured: cannot ${a.summary}`, { customer: ctx.id, resource: 'tunnel' });
    await cloudflare.deleteTunnel(a.payload.id);
  },
};
