/**
 * One scan's bulk observations, shared by every customer of the pass: the
 * tailnet, the account's tunnel list, each zone's DNS records, the vault's
 * item list, and each host's one batched round trip.
 *
 * Rules:
 * - Each entry is fetched once per scan (memoised promise) and served to every
 *   customer from memory; a failed fetch is not kept, so the next reader retries.
 * - `drop(key)` forgets an entry: the engine drops what a kind reads before it
 *   acts and after, so an action is always planned on a fresh observation.
 */
import { terminal } from '../core/errors.js';
import type { DnsRecordInfo, TunnelInfo } from '../providers/cloudflare/index.js';
import type { HostSection, SectionOutput } from '../providers/host/sections.js';
import { runSections } from '../providers/host/sections.js';
import type { SshTarget } from '../providers/host/ssh.js';
import type { TailnetView } from '../providers/tailscale/index.js';
import type { VaultEntry } from '../providers/vault/types.js';
import type { Providers } from './runtime.js';

export type HostSections = Map<string, SectionOutput>;

export interface Scan {
  tailnet(): Promise<TailnetView>;
  tunnels(): Promise<TunnelInfo[]>;
  zoneId(): Promise<string>;
  dns(): Promise<DnsRecordInfo[]>;
  vault(): Promise<VaultEntry[]>;
  /** The host's batched sections, run once per scan over its one connection. */
  host(target: SshTarget, sections: () => HostSection[]): Promise<HostSections>;
  drop(key: string): void;
}

export const SCAN_KEYS = {
  tailnet: 'tailnet',
  tunnels: 'cloudflare:tunnels',
  dns: 'cloudflare:dns',
  vault: 'vault',
  host: (target: SshTarget) => `host:${target.user}@${target.address}:${target.port}`,
} as const;

export function newScan(providers: Providers, zone: string): Scan {
  const memo = new Map<string, Promise<unknown>>();
  function once<T>(key: string, load: () => Promise<T>): Promise<T> {
    const existing = memo.get(key);
    if (existing) return existing as Promise<T>;
    const promise = load();
    memo.set(key, promise);
    promise.catch(() => {
      if (memo.get(key) === promise) memo.delete(key);
    });
    return promise;
  }
  function cloudflare() {
    if (!providers.cloudflare) throw providers.cloudflareError ?? terminal('Cloudflare is not configured', { fix: 'set cloudflare.account_id in the axe config' });
    return providers.cloudflare;
  }
  return {
    tailnet: () => once(SCAN_KEYS.tailnet, () => providers.tailnet()),
    tunnels: () => once(SCAN_KEYS.tunnels, async () => cloudflare().listTunnels()),
    zoneId: () => once(`cloudflare:zone:${zone}`, async () => cloudflare().zoneId(zone)),
    dns: () =>
      once(SCAN_KEYS.dns, async () => {
        const api = cloudflare();
        return api.listDnsRecords(await once(`cloudflare:zone:${zone}`, () => api.zoneId(zone)));
      }),
    vault: () => once(SCAN_KEYS.vault, () => providers.vault.list()),
    host: (target, sections) =>
      once(SCAN_KEYS.host(target), async () => {
        const connection = await providers.hosts.connection(target);
        return runSections(connection, sections());
      }),
    drop: (key) => {
      memo.delete(key);
    },
  };
}
