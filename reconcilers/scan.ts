/**
 * One scan's bulk observations, shared by every customer of the pass: the
 * tailnet, the account's tunnel list, each zone's DNS records, the vault's
 * item list, and each host's one batched round trip.
 *
 * Rules:
 * - Each entry is fetched once per scan (memoised promise) and served to every
 *   customer from memory; a failed fetch is not kept, so the next reader retries.
 * - A kind declares what it reads (`Read`, the contract's `reads`); only this
 *   module turns a read into its entry. `forget(target, read)` forgets it: the
 *   engine forgets what a kind reads before it acts and after, so an action is
 *   always planned on a fresh observation.
 * - Forgetting a host section (`{ hostSection: name }`) keeps the rest of the
 *   batch: the next `host()` read runs just the stale sections (one round trip;
 *   only the reader's own when it names it).
 * - A host batch's engine facts ask the engine (the socket its last probe
 *   found) side by side with the round trip; channels, not round trips.
 */
import type { DnsRecordInfo, TunnelInfo } from '../providers/cloudflare/index.js';
import { requireCloudflare } from '../providers/index.js';
import type { HostSection, SectionOutput } from '../providers/host/sections.js';
import { batchEngine } from '../providers/host/engine-api.js';
import { runBatch } from '../providers/host/executor.js';
import type { SshTarget } from '../providers/host/ssh.js';
import type { TailnetView } from '../providers/tailscale/index.js';
import type { VaultEntry } from '../providers/vault/types.js';
import type { Providers } from '../providers/index.js';

export type HostSections = Map<string, SectionOutput>;

/**
 * What a kind's observation reads from the scan: the tailnet, the account's
 * tunnel list, the zone's DNS records, the vault's item list, the customer's
 * host's whole batch, or one section of that batch.
 */
export type Read = 'tailnet' | 'tunnels' | 'dns' | 'vault' | 'host' | { hostSection: string };

export interface Scan {
  tailnet(): Promise<TailnetView>;
  tunnels(): Promise<TunnelInfo[]>;
  zoneId(): Promise<string>;
  dns(): Promise<DnsRecordInfo[]>;
  vault(): Promise<VaultEntry[]>;
  /**
   * The host's batched sections, run once per scan over its one connection.
   * Dropped sections run again on the next read (one round trip): all of them,
   * or only `only` when the reader names the one it reads.
   */
  host(target: SshTarget, sections: () => HostSection[], only?: string): Promise<HostSections>;
  /** Forgets what `read` fetched (from the host at `target` for a host read): the next reader fetches it again. */
  forget(target: SshTarget, read: Read): void;
  /** `read` is a read of the host at `target` (its batch or one section of it), held, and fetched at or after `since`. */
  hostReadSince(target: SshTarget, read: Read, since: number): boolean;
  /** Forgets an entry by its key (SCAN_KEYS; an engine event forgets a host's batch). */
  drop(key: string): void;
  /** When the entry's fetch started (ms since the epoch); undefined when it is not held (never fetched, or dropped). */
  fetchedAt(key: string): number | undefined;
}

export const SCAN_KEYS = {
  tailnet: 'tailnet',
  tunnels: 'cloudflare:tunnels',
  dns: 'cloudflare:dns',
  vault: 'vault',
  host: (target: SshTarget) => `host:${target.user}@${target.address}:${target.port}`,
  /** One section of a host's batch: dropping it re-runs only that section on the next read. */
  hostSection: (target: SshTarget, name: string) => `host:${target.user}@${target.address}:${target.port}#${name}`,
} as const;

/** The scan's entry of a read. */
function keyOf(target: SshTarget, read: Read): string {
  if (typeof read === 'object') return SCAN_KEYS.hostSection(target, read.hostSection);
  return read === 'host' ? SCAN_KEYS.host(target) : SCAN_KEYS[read];
}

export function newScan(providers: Providers, zone: string): Scan {
  const memo = new Map<string, Promise<unknown>>();
  /** Per host key: sections dropped since the batch ran. */
  const staleSections = new Map<string, Set<string>>();
  /** When each entry's fetch started; a section run again on its own has its own time. */
  const started = new Map<string, number>();
  function once<T>(key: string, load: () => Promise<T>): Promise<T> {
    const existing = memo.get(key);
    if (existing) return existing as Promise<T>;
    started.set(key, Date.now());
    const promise = load();
    memo.set(key, promise);
    promise.catch(() => {
      if (memo.get(key) === promise) memo.delete(key);
    });
    return promise;
  }
  function fetchedAt(key: string): number | undefined {
    const section = /^(host:[^#]+)#(.+)$/.exec(key);
    if (!section) return memo.has(key) ? started.get(key) : undefined;
    if (!memo.has(section[1]!) || staleSections.get(section[1]!)?.has(section[2]!)) return undefined;
    return started.get(key) ?? started.get(section[1]!);
  }
  function drop(key: string): void {
    const section = /^(host:[^#]+)#(.+)$/.exec(key);
    if (section) {
      const set = staleSections.get(section[1]!) ?? new Set<string>();
      set.add(section[2]!);
      staleSections.set(section[1]!, set);
      return;
    }
    memo.delete(key);
  }
  const cloudflare = () => requireCloudflare(providers);
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
    host: async (target, sections, only) => {
      const key = SCAN_KEYS.host(target);
      if (!memo.has(key)) {
        staleSections.delete(key);
        for (const k of [...started.keys()]) if (k.startsWith(`${key}#`)) started.delete(k);
      }
      const batch = await once(key, async () => {
        const connection = await providers.hosts.connection(target);
        return runBatch(connection, sections(), undefined, batchEngine(connection, providers.hosts.probeMemo.get(key)?.dockerSocket));
      });
      const stale = staleSections.get(key);
      if (!stale?.size || (only !== undefined && !stale.has(only))) return batch;
      const names = new Set(only !== undefined ? [only] : stale);
      for (const name of names) stale.delete(name);
      const wanted = sections().filter((s) => names.has(s.name));
      const at = Date.now();
      for (const name of names) started.set(`${key}#${name}`, at);
      if (wanted.length) {
        const connection = await providers.hosts.connection(target);
        const fresh = await runBatch(connection, wanted, undefined, batchEngine(connection, providers.hosts.probeMemo.get(key)?.dockerSocket));
        for (const [name, output] of fresh) batch.set(name, output);
      }
      return batch;
    },
    forget: (target, read) => drop(keyOf(target, read)),
    hostReadSince: (target, read, since) => {
      const at = read === 'host' || typeof read === 'object' ? fetchedAt(keyOf(target, read)) : undefined;
      return at !== undefined && at >= since;
    },
    drop,
    fetchedAt,
  };
}
