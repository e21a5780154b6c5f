/**
 * Builds the reconcile environment from the operator config and a loaded
 * desired state. The CLI builds one per command; the controller builds one
 * per revision and takes a fresh scan per pass (`withFreshScan`).
 */
import type { Providers } from '../providers/index.js';
import type { ControllerConfig } from '../schemas/controller-config.js';
import type { DesiredState } from '../schemas/repo.js';
import type { ReconcileEnv, ReconcileSettings } from './runtime.js';
import { newScan } from './scan.js';

export const DEFAULT_CLOUDFLARED: ControllerConfig['cloudflared'] = { mode: 'auto', image: 'cloudflare/cloudflared:latest', publish: [], metrics_port: 20241 };

export const DEFAULT_BACKUP: ControllerConfig['backup'] = { interval_minutes: 360, verify_every_days: 30 };

export function reconcileSettings(config: ControllerConfig | null, zone: string): ReconcileSettings {
  return {
    zone,
    publicEdgeUrl: config?.cloudflare.edge_url ?? null,
    cloudflareTokenSecret: config?.cloudflare.token_secret ?? 'CLOUDFLARE_API_TOKEN',
    bwMaxVersion: config ? config.bw_max_version : '2025.7.0',
    cloudflared: config?.cloudflared ?? DEFAULT_CLOUDFLARED,
    backup: config?.backup ?? DEFAULT_BACKUP,
    gitInsteadOf: config?.git.instead_of ?? {},
    customerVaults: config?.customer_vaults ?? {},
  };
}

export function buildEnv(input: { config: ControllerConfig | null; zone: string; state: DesiredState; providers: Providers; revision?: string | null }): ReconcileEnv {
  return {
    state: input.state,
    settings: reconcileSettings(input.config, input.zone),
    providers: input.providers,
    scan: newScan(input.providers, input.zone),
    revision: input.revision ?? null,
  };
}

/** The same environment with a new, empty scan: every observation is fetched again. */
export function withFreshScan(env: ReconcileEnv): ReconcileEnv {
  return { ...env, scan: newScan(env.providers, env.settings.zone) };
}
