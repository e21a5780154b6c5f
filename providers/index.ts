/**
 * Opens every provider the reconcilers use from the operator's config: the
 * vault, Cloudflare (token read from the vault), the hosts (SSH), the tailnet
 * and public HTTP. The one place where the outside world is wired in.
 *
 * Rules:
 * - A missing Cloudflare token is not a crash: Cloudflare is null and every
 *   kind that needs it reports the `cloudflare-token-missing` trap.
 * - Nothing here logs a secret; the token goes from the vault to the SDK.
 */
import { join } from 'node:path';
import { AxeError, terminal } from '../core/errors.js';
import { TRAPS } from '../reconcilers/traps.js';
import type { ControllerConfig, VaultConfig } from '../schemas/controller-config.js';
import { type CloudflareApi, openCloudflare } from './cloudflare/index.js';
import { type HostAccess, openHostAccess } from './host/access.js';
import { publicFetcher } from './public/index.js';
import { readTailscaleStatus, type TailnetView } from './tailscale/index.js';
import { openVault } from './vault/index.js';
import type { VaultProvider } from './vault/types.js';

/** Every provider a reconcile reads and acts through (the seam tests swap). */
export interface Providers {
  /** null when Cloudflare is not configured or its token is missing (`cloudflareError` says why). */
  cloudflare: CloudflareApi | null;
  cloudflareError: Error | null;
  vault: VaultProvider;
  hosts: HostAccess;
  tailnet(): Promise<TailnetView>;
  /** GET a public URL (through the lab edge when `publicEdgeUrl` is set). */
  fetchPublic(url: string, timeoutMs?: number): Promise<{ status: number; body: string }>;
}

/** The Cloudflare API, or the error that says why there is none (token missing: its trap). */
export function requireCloudflare(providers: Providers): CloudflareApi {
  if (providers.cloudflare) return providers.cloudflare;
  throw providers.cloudflareError ?? terminal('Cloudflare is not configured', { resource: 'cloudflare', fix: 'set cloudflare.account_id in the axe config' });
}

export async function openProviders(config: ControllerConfig | null, vault: VaultProvider, options: { cacheDir?: string } = {}): Promise<Providers> {
  const ssh = config?.ssh ?? { default_user: 'axe', overrides: {}, tool_paths: [] };
  let cloudflare: Providers['cloudflare'] = null;
  let cloudflareError: Error | null = null;
  if (!config) {
    cloudflareError = terminal('Cloudflare is not configured (no axe config)', { resource: 'cloudflare', fix: 'write ~/.axe/config.yaml with cloudflare.account_id (see examples/axe-config.yaml)' });
  } else {
    try {
      const token = await vault.get(config.cloudflare.token_secret);
      if (!token) {
        cloudflareError = terminal(`the Cloudflare API token (${config.cloudflare.token_secret}) is not in the vault`, { resource: 'cloudflare', fix: TRAPS['cloudflare-token-missing'], trap: 'cloudflare-token-missing' });
      } else {
        cloudflare = openCloudflare({ baseURL: config.cloudflare.api_base_url, accountId: config.cloudflare.account_id, token, requestsPer5m: config.cloudflare.requests_per_5m });
      }
    } catch (error) {
      cloudflareError = error instanceof AxeError ? error : terminal('cannot read the Cloudflare token from the vault', { resource: 'cloudflare', cause: error, fix: 'check the vault (axe vault login)' });
    }
  }
  const binary = config?.tailscale.binary ?? 'tailscale';
  return {
    cloudflare,
    cloudflareError,
    vault,
    hosts: openHostAccess(ssh, options.cacheDir ? { memoFile: join(options.cacheDir, 'host-probe.json'), hashMemoFile: join(options.cacheDir, 'host-compose-hash.json') } : {}),
    tailnet: () => readTailscaleStatus({ binary }),
    fetchPublic: publicFetcher(config?.cloudflare.edge_url ?? null),
  };
}

/**
 * Opens the providers from the operator's config and vault settings: what the
 * CLI does once per command and the controller once at start (and again when
 * a Cloudflare token appears). `cacheDir` (e.g. `$AXE_HOME/cache`) keeps probe
 * memos across processes (nothing secret goes there); `home` is AXE_HOME (the
 * vault's fingerprint key), default `$AXE_HOME` or ~/.axe.
 */
export async function openConfiguredProviders(config: ControllerConfig | null, vault: VaultConfig, options: { cacheDir?: string; home?: string } = {}): Promise<Providers> {
  return openProviders(config, openVault(vault, process.env, options.home ? { home: options.home } : {}), options.cacheDir ? { cacheDir: options.cacheDir } : {});
}
