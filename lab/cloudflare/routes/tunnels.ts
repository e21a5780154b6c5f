/**
 * Cloudflare Tunnels of the account: /accounts/:account_id/cfd_tunnel (list,
 * create), …/:tunnel_id (get, edit, delete), …/token, …/configurations
 * (remotely managed ingress) and …/connections.
 *
 * Rules:
 * - Status and connections come from the connectors (Docker containers
 *   labelled with the tunnel id), observed at each call; the connection
 *   timestamps they imply are kept in the state.
 * - A name is unique among the tunnels that are not deleted (409, 1013).
 * - Answers hold to the published spec (contracts/cloudflare/openapi.trimmed.yaml):
 *   result_info without `total_pages` (the spec's tunnel_result_info has none), no
 *   fields the spec does not name, DELETE answers as it documents them.
 * - Stale connectors (stopped, not cleaned up) are listed at …/connections and
 *   refuse the tunnel's delete (400, 1022) until DELETE …/connections cleans them
 *   up; which ones were cleaned up lives in this process's memory.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Connector } from '../connectors.js';
import { newTunnelId, newTunnelSecret, type TunnelState } from '../state.js';
import {
  connectionTimes,
  connectorId,
  connectorsView,
  listedConnectors,
  NAME_CONFLICT,
  tunnelFilter,
  tunnelStatus,
  tunnelToken,
  tunnelView,
  validateTunnelConfig,
  validateTunnelInput,
} from '../tunnels.js';
import { type ResultInfo, paginate, success, V4Failure } from '../v4.js';
import { type ApiContext, bodyObject, queryOf, requireAccount } from './context.js';

const TUNNEL_PAGES = { defaultPerPage: 20, minPerPage: 1, maxPerPage: 1000 };

type TunnelRequest = FastifyRequest<{ Params: { account_id: string; tunnel_id: string } }>;

/** The spec's tunnel_result_info: page, per_page, count, total_count. */
function tunnelResultInfo(info: ResultInfo): ResultInfo {
  return { page: info.page, per_page: info.per_page, count: info.count, total_count: info.total_count };
}

export function tunnelRoutes(app: FastifyInstance, ctx: ApiContext): void {
  /** Connector containers whose connections DELETE …/connections removed. */
  const cleaned = new Set<string>();

  /** Every tunnel's connectors, with the connection timestamps brought up to date. */
  async function observe(): Promise<(t: TunnelState) => Connector[]> {
    const snapshot = await ctx.connectors.snapshot();
    const of = (t: TunnelState): Connector[] => snapshot.byTunnel.get(t.id) ?? [];
    const now = new Date().toISOString();
    let changed = false;
    for (const tunnel of ctx.store.state.tunnels) {
      const times = connectionTimes(tunnel, of(tunnel), now);
      if (!times) continue;
      Object.assign(tunnel, times);
      changed = true;
    }
    if (changed) await ctx.store.save();
    return of;
  }

  function findTunnel(request: TunnelRequest): TunnelState {
    requireAccount(ctx, request.params.account_id);
    const id = request.params.tunnel_id.toLowerCase();
    const tunnel = ctx.store.state.tunnels.find((t) => t.id === id);
    if (!tunnel) throw new V4Failure(404, { code: 1003, message: 'Tunnel not found' });
    return tunnel;
  }

  function nameTaken(name: string, except: TunnelState | null): boolean {
    return ctx.store.state.tunnels.some((t) => t !== except && t.deleted_at === null && t.name === name);
  }

  app.get<{ Params: { account_id: string } }>('/accounts/:account_id/cfd_tunnel', async (request) => {
    requireAccount(ctx, request.params.account_id);
    const of = await observe();
    const query = queryOf(request);
    const tunnels = ctx.store.state.tunnels
      .filter(tunnelFilter(query, (t) => tunnelStatus(t, of(t))))
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
    const page = paginate(tunnels, query, TUNNEL_PAGES);
    return success(
      page.result.map((t) => tunnelView(t, ctx.store.state.accountId, of(t))),
      tunnelResultInfo(page.result_info),
    );
  });

  app.post<{ Params: { account_id: string } }>('/accounts/:account_id/cfd_tunnel', async (request) => {
    requireAccount(ctx, request.params.account_id);
    const valid = validateTunnelInput(bodyObject(request));
    if ('error' in valid) throw new V4Failure(400, valid.error);
    const { name, config_src: configSrc, secret } = valid.input;
    if (name === undefined || configSrc === undefined) throw new V4Failure(400, { code: 1001, message: 'Tunnel name is required' });
    if (nameTaken(name, null)) throw new V4Failure(409, NAME_CONFLICT);
    const tunnel: TunnelState = {
      id: newTunnelId(),
      name,
      config_src: configSrc,
      secret: secret ?? newTunnelSecret(),
      created_at: new Date().toISOString(),
      deleted_at: null,
      config: null,
      config_version: 0,
      config_updated_at: null,
      conns_active_at: null,
      conns_inactive_at: null,
    };
    ctx.store.state.tunnels.push(tunnel);
    await ctx.store.save();
    // The spec's create answer is the tunnel object alone (tunnel_cfd_tunnel); the token is at …/token.
    return success(tunnelView(tunnel, ctx.store.state.accountId, []));
  });

  app.get('/accounts/:account_id/cfd_tunnel/:tunnel_id', async (request: TunnelRequest) => {
    const tunnel = findTunnel(request);
    const of = await observe();
    return success(tunnelView(tunnel, ctx.store.state.accountId, of(tunnel)));
  });

  app.patch('/accounts/:account_id/cfd_tunnel/:tunnel_id', async (request: TunnelRequest) => {
    const tunnel = findTunnel(request);
    const valid = validateTunnelInput(bodyObject(request), true);
    if ('error' in valid) throw new V4Failure(400, valid.error);
    if (valid.input.name !== undefined && valid.input.name !== tunnel.name && nameTaken(valid.input.name, tunnel)) throw new V4Failure(409, NAME_CONFLICT);
    if (valid.input.name !== undefined) tunnel.name = valid.input.name;
    if (valid.input.secret) tunnel.secret = valid.input.secret;
    await ctx.store.save();
    const of = await observe();
    return success(tunnelView(tunnel, ctx.store.state.accountId, of(tunnel)));
  });

  app.delete('/accounts/:account_id/cfd_tunnel/:tunnel_id', async (request: TunnelRequest) => {
    const tunnel = findTunnel(request);
    if (tunnel.deleted_at !== null) throw new V4Failure(404, { code: 1003, message: 'Tunnel not found' });
    const of = await observe();
    if (listedConnectors(of(tunnel), cleaned).length > 0) throw new V4Failure(400, { code: 1022, message: 'Cannot delete tunnel because it has active connections' });
    tunnel.deleted_at = new Date().toISOString();
    await ctx.store.save();
    return success(tunnelView(tunnel, ctx.store.state.accountId, of(tunnel)));
  });

  app.get('/accounts/:account_id/cfd_tunnel/:tunnel_id/token', async (request: TunnelRequest) => {
    const tunnel = findTunnel(request);
    return success(tunnelToken(tunnel, ctx.store.state.accountId));
  });

  function configurationView(tunnel: TunnelState): Record<string, unknown> {
    return {
      account_id: ctx.store.state.accountId,
      tunnel_id: tunnel.id,
      version: tunnel.config_version,
      config: tunnel.config,
      source: tunnel.config_src,
      created_at: tunnel.config_updated_at ?? tunnel.created_at,
    };
  }

  app.get('/accounts/:account_id/cfd_tunnel/:tunnel_id/configurations', async (request: TunnelRequest) => {
    return success(configurationView(findTunnel(request)));
  });

  app.put('/accounts/:account_id/cfd_tunnel/:tunnel_id/configurations', async (request: TunnelRequest) => {
    const tunnel = findTunnel(request);
    if (tunnel.deleted_at !== null) throw new V4Failure(404, { code: 1003, message: 'Tunnel not found' });
    const valid = validateTunnelConfig(bodyObject(request).config);
    if ('error' in valid) throw new V4Failure(400, valid.error);
    tunnel.config = valid.config;
    tunnel.config_version += 1;
    tunnel.config_updated_at = new Date().toISOString();
    await ctx.store.save();
    return success(configurationView(tunnel));
  });

  app.get('/accounts/:account_id/cfd_tunnel/:tunnel_id/connections', async (request: TunnelRequest) => {
    const tunnel = findTunnel(request);
    const of = await observe();
    return success(connectorsView(tunnel, listedConnectors(of(tunnel), cleaned)));
  });

  // "Removes a connection (aka Cloudflare Tunnel Connector) from a Cloudflare Tunnel independently of its
  // current state. If no connector id (client_id) is provided all connectors will be removed." A running
  // connector reconnects at once, so only stopped ones stay removed.
  app.delete('/accounts/:account_id/cfd_tunnel/:tunnel_id/connections', async (request: TunnelRequest) => {
    const tunnel = findTunnel(request);
    const of = await observe();
    const clientId = queryOf(request).get('client_id');
    for (const c of of(tunnel)) {
      if (clientId === null || connectorId(c) === clientId.toLowerCase()) cleaned.add(c.containerId);
    }
    return success(null);
  });
}
