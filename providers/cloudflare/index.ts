/**
 * Cloudflare through the official `cloudflare` SDK: tunnels (cfd_tunnel) and
 * DNS records of one account and zone. The base URL is configurable (the lab
 * points it at its emulator, a stand-in).
 *
 * Rules:
 * - The API token comes from the vault, as a `Secret`; it is handed to the SDK
 *   and nowhere else (never logged, never in an error).
 * - Observation is bulk: one tunnel list per account and one record list per
 *   zone serve every customer of a scan (the callers memoise them per scan).
 * - Every request passes a client-side rate limit below Cloudflare's published
 *   1200 requests / 5 min (`requests_per_5m`), and is counted in `stats`.
 * - SDK errors are classified here, once, by status and Cloudflare error code:
 *   429, 5xx and connection errors are transient; 4xx are terminal and keep
 *   their codes (81053 a foreign record at the name, 1013 a tunnel name taken).
 * - Only fields the published spec documents and does not deprecate are read
 *   (contracts/cloudflare/openapi.trimmed.yaml; `CLOUDFLARE_FIELD_READS` lists
 *   them and the contract test holds them to the spec). A tunnel's health is its
 *   `status`; the tunnel object's `connections` array is deprecated (Cloudflare
 *   empties it) and is never read.
 */
import Bottleneck from 'bottleneck';
import type { CloudflareTunnel } from 'cloudflare/resources/shared';
import { AxeError, terminal, transient } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { APIConnectionError, APIError, cloudflareClient } from './sdk.js';

export interface TunnelInfo {
  id: string;
  name: string;
  /** Cloudflare's own verdict: inactive (never connected), healthy, degraded, down. */
  status: string;
  configSrc: 'local' | 'cloudflare';
  createdAt: string | null;
}

/** One field the provider reads from a Cloudflare answer, named as the spec names the operation. */
export interface CloudflareFieldRead {
  method: string;
  path: string;
  status: number;
  field: string;
}

const TUNNELS = '/accounts/{account_id}/cfd_tunnel';
const TUNNEL = '/accounts/{account_id}/cfd_tunnel/{tunnel_id}';
const RECORDS = '/zones/{zone_id}/dns_records';
const RECORD = '/zones/{zone_id}/dns_records/{dns_record_id}';
const RECORD_FIELDS = ['id', 'name', 'type', 'content', 'proxied', 'comment'];

/**
 * Every field of a Cloudflare answer the provider reads (toTunnel, toRecord, the zone
 * lookup, the pager, the token and the error classifier). The contract test checks each against the
 * spec: it must exist there and must not be deprecated. Keep it beside the code
 * that reads: a new read goes here too.
 */
export const CLOUDFLARE_FIELD_READS: readonly CloudflareFieldRead[] = [
  ...['id', 'name', 'status', 'config_src', 'created_at'].map((f) => ({ method: 'GET', path: TUNNELS, status: 200, field: `result[].${f}` })),
  ...['page', 'per_page', 'total_count'].map((f) => ({ method: 'GET', path: TUNNELS, status: 200, field: `result_info.${f}` })),
  ...['id', 'name', 'status', 'config_src', 'created_at'].map((f) => ({ method: 'POST', path: TUNNELS, status: 200, field: `result.${f}` })),
  { method: 'GET', path: `${TUNNEL}/token`, status: 200, field: 'result' },
  ...['id', 'name'].map((f) => ({ method: 'GET', path: '/zones', status: 200, field: `result[].${f}` })),
  ...RECORD_FIELDS.map((f) => ({ method: 'GET', path: RECORDS, status: 200, field: `result[].${f}` })),
  ...['page', 'per_page', 'total_count'].map((f) => ({ method: 'GET', path: RECORDS, status: 200, field: `result_info.${f}` })),
  ...RECORD_FIELDS.flatMap((f) => [
    { method: 'POST', path: RECORDS, status: 200, field: `result.${f}` },
    { method: 'PUT', path: RECORD, status: 200, field: `result.${f}` },
  ]),
  ...['code', 'message'].flatMap((f) => [
    { method: 'GET', path: TUNNELS, status: 400, field: `errors[].${f}` },
    { method: 'POST', path: TUNNELS, status: 409, field: `errors[].${f}` },
    { method: 'DELETE', path: TUNNEL, status: 400, field: `errors[].${f}` },
    { method: 'DELETE', path: `${TUNNEL}/connections`, status: 400, field: `errors[].${f}` },
    { method: 'GET', path: '/zones', status: 400, field: `errors[].${f}` },
    { method: 'GET', path: RECORDS, status: 400, field: `errors[].${f}` },
    { method: 'POST', path: RECORDS, status: 400, field: `errors[].${f}` },
    { method: 'PUT', path: RECORD, status: 400, field: `errors[].${f}` },
    { method: 'DELETE', path: RECORD, status: 404, field: `errors[].${f}` },
  ]),
];

export interface DnsRecordInfo {
  id: string;
  name: string;
  type: string;
  content: string;
  proxied: boolean;
  comment: string | null;
}

export interface DnsRecordInput {
  name: string;
  type: 'CNAME';
  content: string;
  proxied: boolean;
  comment: string;
}

export interface CloudflareStats {
  calls: number;
  writes: number;
  errors: number;
}

/** The seam the reconcilers use; tests may pass another implementation. */
export interface CloudflareApi {
  readonly accountId: string;
  readonly stats: CloudflareStats;
  zoneId(name: string): Promise<string>;
  listTunnels(): Promise<TunnelInfo[]>;
  createTunnel(name: string, secret: Secret): Promise<TunnelInfo>;
  /** The connector token (base64 JSON `{a, t, s}`), as a Secret. */
  tunnelToken(tunnelId: string): Promise<Secret>;
  listDnsRecords(zoneId: string): Promise<DnsRecordInfo[]>;
  createDnsRecord(zoneId: string, record: DnsRecordInput): Promise<DnsRecordInfo>;
  updateDnsRecord(zoneId: string, recordId: string, record: DnsRecordInput): Promise<DnsRecordInfo>;
  /** Pruning only (a removed customer with `policy.prune`). */
  deleteDnsRecord(zoneId: string, recordId: string): Promise<void>;
  /**
   * Pruning only. Cleans up the tunnel's connections first (DELETE …/connections,
   * as the API documents for stale connectors), then deletes the tunnel; Cloudflare
   * still refuses while a connector is running (code 1022): stop cloudflared first.
   */
  deleteTunnel(tunnelId: string): Promise<void>;
}

/** A Cloudflare API failure with the API's own error codes. */
export class CloudflareError extends AxeError {
  readonly status: number | undefined;
  readonly codes: number[];

  constructor(errorClass: 'transient' | 'terminal', message: string, status: number | undefined, codes: number[], options: { fix?: string; cause?: unknown }) {
    super(errorClass, message, { resource: 'cloudflare', ...options });
    this.name = 'CloudflareError';
    this.status = status;
    this.codes = codes;
  }
}

export interface CloudflareOptions {
  baseURL: string;
  accountId: string;
  token: Secret;
  requestsPer5m?: number;
  /** SDK retries on 429/5xx (default 2; tests use 0 to see the first answer). */
  maxRetries?: number;
  timeoutMs?: number;
}

function codesOf(error: APIError): number[] {
  const errors = (error as { errors?: Array<{ code?: number }> }).errors ?? [];
  return errors.map((e) => e.code).filter((c): c is number => typeof c === 'number');
}

/** Maps an SDK error to a classified one-line AxeError; `what` says which call failed. */
export function classifyCloudflareError(error: unknown, what: string): AxeError {
  if (error instanceof AxeError) return error;
  if (error instanceof APIConnectionError) {
    return new CloudflareError('transient', `Cloudflare API unreachable while ${what}`, undefined, [], { fix: 'check the network and cloudflare.api_base_url; axe retries with backoff', cause: error });
  }
  if (error instanceof APIError) {
    const status = typeof error.status === 'number' ? error.status : undefined;
    const codes = codesOf(error);
    const first = (error as { errors?: Array<{ code?: number; message?: string }> }).errors?.[0];
    const detail = first?.message ? `${first.code ?? ''} ${first.message}`.trim() : `HTTP ${status ?? '?'}`;
    if (status === 429) return new CloudflareError('transient', `Cloudflare rate limit while ${what} (${detail})`, status, codes, { fix: 'axe backs off and retries; lower cloudflare.requests_per_5m if this repeats', cause: error });
    if (status !== undefined && status >= 500) return new CloudflareError('transient', `Cloudflare API error while ${what} (${detail})`, status, codes, { fix: 'a Cloudflare-side failure: axe retries with backoff', cause: error });
    if (status === 401 || status === 403 || codes.includes(10000) || codes.includes(9109)) {
      return new CloudflareError('terminal', `Cloudflare refused the API token while ${what} (${detail})`, status, codes, {
        fix: 'put a valid token with Tunnel:Edit and DNS:Edit in the vault: axe secret push CLOUDFLARE_API_TOKEN --service cloudflare --customer operator',
        cause: error,
      });
    }
    return new CloudflareError('terminal', `Cloudflare rejected ${what} (${detail})`, status, codes, { fix: 'see the Cloudflare error code above', cause: error });
  }
  return transient(`Cloudflare call failed while ${what}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, { resource: 'cloudflare', cause: error });
}

function toTunnel(t: CloudflareTunnel): TunnelInfo {
  return {
    id: t.id ?? '',
    name: t.name ?? '',
    status: t.status ?? 'inactive',
    configSrc: t.config_src ?? 'local',
    createdAt: t.created_at ?? null,
  };
}

function toRecord(r: { id?: string; name?: string; type?: string; content?: string; proxied?: boolean; comment?: string | null }): DnsRecordInfo {
  return { id: r.id ?? '', name: r.name ?? '', type: r.type ?? '', content: r.content ?? '', proxied: r.proxied ?? false, comment: r.comment ?? null };
}

/** The SDK-backed implementation. */
export function openCloudflare(options: CloudflareOptions): CloudflareApi {
  const client = cloudflareClient({ apiToken: options.token.reveal(), baseURL: options.baseURL, maxRetries: options.maxRetries ?? 2, timeout: options.timeoutMs ?? 30_000 });
  const per5m = options.requestsPer5m ?? 1000;
  const limiter = new Bottleneck({ reservoir: per5m, reservoirRefreshAmount: per5m, reservoirRefreshInterval: 5 * 60_000, maxConcurrent: 4 });
  const stats: CloudflareStats = { calls: 0, writes: 0, errors: 0 };
  const accountId = options.accountId;

  async function call<T>(what: string, write: boolean, fn: () => Promise<T>): Promise<T> {
    return limiter.schedule(async () => {
      stats.calls += 1;
      if (write) stats.writes += 1;
      try {
        return await fn();
      } catch (error) {
        stats.errors += 1;
        throw classifyCloudflareError(error, what);
      }
    });
  }

  /** Walks every page; one rate-limited call per page. */
  async function all<T>(
    what: string,
    first: () => Promise<{ result: T[]; result_info?: { page?: number; per_page?: number; total_count?: number }; hasNextPage(): boolean; getNextPage(): Promise<unknown> }>,
  ): Promise<T[]> {
    const out: T[] = [];
    let page = await call(what, false, first);
    out.push(...page.result);
    while (page.result.length > 0 && page.hasNextPage()) {
      // Stop at the last page instead of asking for an empty one. `total_pages` is not
      // in every endpoint's result_info (cfd_tunnel's has page, per_page, count, total_count).
      const info = page.result_info;
      if (info?.page !== undefined && info.per_page !== undefined && info.total_count !== undefined && info.page * info.per_page >= info.total_count) break;
      const current = page;
      page = (await call(what, false, () => current.getNextPage())) as typeof page;
      out.push(...page.result);
    }
    return out;
  }

  const zoneIds = new Map<string, string>();
  return {
    accountId,
    stats,
    async zoneId(name) {
      const known = zoneIds.get(name);
      if (known) return known;
      const zones = await call(`looking up zone ${name}`, false, () => client.zones.list({ name }));
      const zone = zones.result.find((z) => z.name === name);
      if (!zone) throw terminal(`zone ${name} is not in the Cloudflare account`, { resource: 'cloudflare', fix: `add ${name} to the account, or set cloudflare.zone in the axe config` });
      zoneIds.set(name, zone.id);
      return zone.id;
    },
    async listTunnels() {
      const tunnels = await all('listing tunnels', () => client.zeroTrust.tunnels.cloudflared.list({ account_id: accountId, is_deleted: false, per_page: 100 }));
      return tunnels.map(toTunnel);
    },
    async createTunnel(name, secret) {
      const created = await call(`creating tunnel ${name}`, true, () =>
        client.zeroTrust.tunnels.cloudflared.create({ account_id: accountId, name, config_src: 'local', tunnel_secret: secret.reveal() }),
      );
      return toTunnel(created);
    },
    async tunnelToken(tunnelId) {
      const token = await call(`reading the token of tunnel ${tunnelId}`, false, () => client.zeroTrust.tunnels.cloudflared.token.get(tunnelId, { account_id: accountId }));
      return new Secret(String(token));
    },
    async listDnsRecords(zoneId) {
      const records = await all('listing DNS records', () => client.dns.records.list({ zone_id: zoneId, per_page: 5000 }));
      return records.map(toRecord);
    },
    async createDnsRecord(zoneId, record) {
      const created = await call(`creating ${record.type} ${record.name}`, true, () => client.dns.records.create({ zone_id: zoneId, ...record, ttl: 1 }));
      return toRecord(created);
    },
    async updateDnsRecord(zoneId, recordId, record) {
      const updated = await call(`updating ${record.type} ${record.name}`, true, () => client.dns.records.update(recordId, { zone_id: zoneId, ...record, ttl: 1 }));
      return toRecord(updated);
    },
    async deleteDnsRecord(zoneId, recordId) {
      // The spec's DELETE takes a JSON object body (required); the SDK sends none unless given one.
      await call(`deleting DNS record ${recordId}`, true, () => client.dns.records.delete(recordId, { zone_id: zoneId }, { body: {} }));
    },
    async deleteTunnel(tunnelId) {
      // The spec's DELETE operations take a JSON object body; the SDK sends none unless given one.
      await call(`cleaning up the connections of tunnel ${tunnelId}`, true, () =>
        client.zeroTrust.tunnels.cloudflared.connections.delete(tunnelId, { account_id: accountId }, { body: {} }),
      );
      await call(`deleting tunnel ${tunnelId}`, true, () => client.zeroTrust.tunnels.cloudflared.delete(tunnelId, { account_id: accountId }, { body: {} }));
    },
  };
}
