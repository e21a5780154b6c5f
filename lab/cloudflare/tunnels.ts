/**
 * Cloudflare Tunnels (`cfd_tunnel`): the objects the v4 API returns, their
 * status from the lab's connectors, their token, and the checks a remotely
 * managed configuration must pass.
 *
 * Rules:
 * - Status is derived, never stored: `healthy` while a connector container runs,
 *   `down` once one has run (a stopped container, or a connection seen before),
 *   `inactive` when none ever did.
 * - The tunnel object's `connections` is always `[]`: the spec marks it deprecated
 *   ("will start returning an empty array"); connections are only listed at
 *   …/{tunnel_id}/connections.
 * - A stopped connector whose connections were not cleaned up is a stale
 *   connector: still listed at …/connections, and it blocks the tunnel's delete
 *   (1022) until DELETE …/connections removes it.
 * - The ingress rules follow cloudflared's own checks: the last rule and only the
 *   last is the catch-all (no hostname, or `*`, and no path).
 */
import { createHash } from 'node:crypto';
import type { Connector } from './connectors.js';
import type { V4Error } from './v4.js';
import type { TunnelConfigState, TunnelState } from './state.js';

export const CONNECTOR_VERSION = '2025.11.0-axelab';

export type TunnelStatus = 'inactive' | 'healthy' | 'down';

export function tunnelStatus(tunnel: TunnelState, connectors: Connector[]): TunnelStatus {
  if (connectors.some((c) => c.running)) return 'healthy';
  if (connectors.length > 0 || tunnel.conns_active_at !== null) return 'down';
  return 'inactive';
}

/** A connection id that stays the same for one container. */
function connectionId(containerId: string, salt: string): string {
  const hex = createHash('sha256').update(`${salt}:${containerId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The connection of one connector (the spec's `tunnel_schemas-connection`). */
function connectionView(c: Connector): Record<string, unknown> {
  return {
    id: connectionId(c.containerId, 'conn'),
    uuid: connectionId(c.containerId, 'conn'),
    client_id: connectorId(c),
    client_version: CONNECTOR_VERSION,
    colo_name: 'LAB',
    opened_at: c.createdAt,
    origin_ip: '127.0.0.1',
  };
}

/** The connector (client) id the API shows for a connector container, and takes as `client_id`. */
export function connectorId(c: Connector): string {
  return connectionId(c.containerId, 'client');
}

/** The connectors the API lists for a tunnel: the running ones and the stale ones not cleaned up. */
export function listedConnectors(connectors: Connector[], cleaned: ReadonlySet<string>): Connector[] {
  return connectors.filter((c) => c.running || !cleaned.has(c.containerId));
}

/** GET …/cfd_tunnel/{id}/connections: one entry per listed connector (the spec's `tunnel_tunnel_client`). */
export function connectorsView(tunnel: TunnelState, connectors: Connector[]): Record<string, unknown>[] {
  return connectors.map((c) => ({
    id: connectorId(c),
    arch: 'linux_amd64',
    config_version: tunnel.config_version,
    features: ['serialized_headers', 'support_datagram_v3'],
    run_at: c.createdAt,
    version: CONNECTOR_VERSION,
    conns: [connectionView(c)],
  }));
}

export function tunnelView(tunnel: TunnelState, accountId: string, connectors: Connector[]): Record<string, unknown> {
  return {
    id: tunnel.id,
    account_tag: accountId,
    name: tunnel.name,
    created_at: tunnel.created_at,
    // The spec types these timestamps as strings, not nullable: an unset one is left out.
    ...(tunnel.deleted_at === null ? {} : { deleted_at: tunnel.deleted_at }),
    connections: [],
    ...(tunnel.conns_active_at === null ? {} : { conns_active_at: tunnel.conns_active_at }),
    ...(tunnel.conns_inactive_at === null ? {} : { conns_inactive_at: tunnel.conns_inactive_at }),
    metadata: {},
    remote_config: tunnel.config_src === 'cloudflare',
    config_src: tunnel.config_src,
    status: tunnelStatus(tunnel, connectors),
    tun_type: 'cfd_tunnel',
  };
}

/** The token `cloudflared tunnel run --token` takes: base64 of {"a": account, "t": tunnel, "s": secret}. */
export function tunnelToken(tunnel: TunnelState, accountId: string): string {
  return Buffer.from(JSON.stringify({ a: accountId, t: tunnel.id, s: tunnel.secret })).toString('base64');
}

/** The API's answer to a configuration cloudflared would refuse (HTTP 400). */
function badConfig(message: string): V4Error {
  return { code: 1056, message: `Bad Configuration: Validation failed: ${message}` };
}

/** Checks a `config` object for PUT …/configurations the way cloudflared validates ingress. */
export function validateTunnelConfig(config: unknown): { config: TunnelConfigState } | { error: V4Error } {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return { error: badConfig('config must be an object') };
  const raw = (config as { ingress?: unknown }).ingress;
  if (!Array.isArray(raw) || raw.length === 0) return { error: badConfig("The config file doesn't contain any ingress rules") };
  for (const [i, rule] of raw.entries()) {
    if (typeof rule !== 'object' || rule === null) return { error: badConfig(`Rule #${i + 1} must be an object`) };
    const { hostname, path, service } = rule as { hostname?: unknown; path?: unknown; service?: unknown };
    if (typeof service !== 'string' || service === '') return { error: badConfig(`Rule #${i + 1} has no service`) };
    if (hostname !== undefined && hostname !== null && typeof hostname !== 'string') return { error: badConfig(`Rule #${i + 1} has an invalid hostname`) };
    if (path !== undefined && path !== null && typeof path !== 'string') return { error: badConfig(`Rule #${i + 1} has an invalid path`) };
    const host = typeof hostname === 'string' ? hostname : '';
    if (/:\d+$/.test(host)) return { error: badConfig('Hostname cannot contain a port') };
    if (host.lastIndexOf('*') > 0) {
      return { error: badConfig('Hostname patterns can have at most one wildcard character ("*") and it can only be used for subdomains, e.g. "*.example.com"') };
    }
    if (typeof path === 'string' && path !== '') {
      try {
        new RegExp(path);
      } catch (error) {
        return { error: badConfig(`Rule #${i + 1} has an invalid regex: ${(error as Error).message}`) };
      }
    }
    if (!/^(https?|tcp|ssh|rdp|unix|unix\+tls|smb):\/\/|^http_status:\d{3}$|^hello[_-]?world$|^bastion$/.test(service)) {
      return { error: badConfig(`${service} is an invalid address, please make sure it has a scheme and a hostname`) };
    }
    const catchAll = (host === '' || host === '*') && (typeof path !== 'string' || path === '');
    const last = i === raw.length - 1;
    if (last && !catchAll) return { error: badConfig('The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)') };
    if (!last && catchAll) {
      return { error: badConfig(`Rule #${i + 1} is matching the hostname '${host}', but this will match every hostname, meaning the rules which follow it will never be triggered.`) };
    }
  }
  return { config: config as TunnelConfigState };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const NAME_CONFLICT: V4Error = {
  code: 1013,
  message: 'You already have a tunnel with this name. Delete the existing tunnel, or choose a different name for your new tunnel',
};

export interface TunnelInput {
  name: string;
  config_src: 'local' | 'cloudflare';
  /** base64 of ≥ 32 bytes, or null for "generate one". Secret. */
  secret: string | null;
}

function invalid(message: string): V4Error {
  return { code: 1001, message };
}

/** Checks a create (or edit, with `partial`) body: name, config_src, tunnel_secret. */
export function validateTunnelInput(body: unknown, partial = false): { input: Partial<TunnelInput> } | { error: V4Error } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: invalid('Request body must be a JSON object') };
  const { name, config_src: configSrc, tunnel_secret: secret } = body as { name?: unknown; config_src?: unknown; tunnel_secret?: unknown };
  const input: Partial<TunnelInput> = {};
  if (name !== undefined || !partial) {
    if (typeof name !== 'string' || name.trim() === '') return { error: invalid('Tunnel name is required') };
    if (name.length > 255) return { error: invalid('Tunnel name must be at most 255 characters') };
    if (UUID.test(name)) return { error: invalid('You cannot use UUIDs as tunnel names') };
    input.name = name;
  }
  if (configSrc !== undefined && !partial) {
    if (configSrc !== 'local' && configSrc !== 'cloudflare') return { error: invalid("config_src must be 'local' or 'cloudflare'") };
    input.config_src = configSrc;
  } else if (!partial) {
    input.config_src = 'local';
  }
  if (secret !== undefined && secret !== null && secret !== '') {
    if (typeof secret !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(secret) || Buffer.from(secret, 'base64').length < 32) {
      return { error: invalid('tunnel_secret must be base64 of at least 32 bytes') };
    }
    input.secret = secret;
  } else if (!partial) {
    input.secret = null;
  }
  return { input };
}

/** The list filters of GET …/cfd_tunnel: name, uuid, is_deleted, include_prefix, exclude_prefix, status, existed_at. */
export function tunnelFilter(query: URLSearchParams, statusOf: (t: TunnelState) => TunnelStatus): (t: TunnelState) => boolean {
  const tests: Array<(t: TunnelState) => boolean> = [];
  const name = query.get('name');
  if (name !== null) tests.push((t) => t.name === name);
  const uuid = query.get('uuid');
  if (uuid !== null) tests.push((t) => t.id === uuid.toLowerCase());
  // Like the real API, deleted tunnels are listed unless is_deleted=false asks otherwise.
  const deleted = query.get('is_deleted');
  if (deleted !== null) tests.push((t) => (t.deleted_at !== null) === (deleted === 'true'));
  const include = query.get('include_prefix');
  if (include !== null) tests.push((t) => t.name.startsWith(include));
  const exclude = query.get('exclude_prefix');
  if (exclude !== null) tests.push((t) => !t.name.startsWith(exclude));
  const status = query.get('status');
  if (status !== null) tests.push((t) => statusOf(t) === status);
  const existedAt = query.get('existed_at');
  if (existedAt !== null) {
    const at = Date.parse(existedAt);
    if (!Number.isNaN(at)) tests.push((t) => Date.parse(t.created_at) <= at && (t.deleted_at === null || Date.parse(t.deleted_at) > at));
  }
  return (t) => tests.every((test) => test(t));
}

/**
 * The connection timestamps after observing `connectors`: `conns_active_at` is
 * when the tunnel last became connected, `conns_inactive_at` when it last lost
 * its connections (null while connected). Returns null when nothing changed.
 */
export function connectionTimes(tunnel: TunnelState, connectors: Connector[], now: string): Pick<TunnelState, 'conns_active_at' | 'conns_inactive_at'> | null {
  const running = connectors.some((c) => c.running);
  if (running && (tunnel.conns_active_at === null || tunnel.conns_inactive_at !== null)) return { conns_active_at: now, conns_inactive_at: null };
  if (!running && tunnel.conns_active_at !== null && tunnel.conns_inactive_at === null) return { conns_active_at: tunnel.conns_active_at, conns_inactive_at: now };
  return null;
}
