/**
 * A fleet of N lab customers for benchmarks: N lab hosts (real sshd), the
 * Cloudflare emulator and edge (stand-ins), the Tailscale stand-in, a config
 * repo with N customers (full service slots), the operator config and file
 * vault with every pack secret present. Everything lives in one temp state
 * dir and is removed by `close()`.
 *
 * Options (test/rollout-lab.test.ts and bench/rollout.ts deploy with it): `services`
 * gives the customers only those service slots (default all four); `deployable`
 * adds each customer's SSO block (what `axe customers ingest` leaves) and the
 * service source repos, so its stacks render and deploy (and, with a vaultwarden
 * slot, each host's own vault compose file as its IT installed it,
 * lab/customer-vaults.ts; bench/fleet-full.ts deploys all four); `seed` edits the config
 * repo's files (manifests, customers.yaml) before the first commit.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Bottleneck from 'bottleneck';
import { parse, stringify } from 'yaml';
import { Secret } from '../core/secret.js';
import { createCloudflarePart } from '../lab/cloudflare/index.js';
import type { LabContext } from '../lab/component.js';
import { createConfigRepoPart, configRepoPaths } from '../lab/config-repo.js';
import { customerVaultsPart } from '../lab/customer-vaults.js';
import { fleetPart } from '../lab/fleet.js';
import { ensureHosts, hostsPart } from '../lab/hosts/index.js';
import { imagesPart } from '../lab/images/index.js';
import { operatorPart, operatorPaths } from '../lab/operator.js';
import { serviceReposPart } from '../lab/service-repos.js';
import { tailscalePart } from '../lab/tailscale/index.js';
import { openVault } from '../providers/vault/index.js';
import { type CustomerResult, reconcileCustomer } from '../reconcilers/engine.js';
import { buildEnv } from '../reconcilers/env.js';
import { openConfiguredProviders } from '../providers/index.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { Kind } from '../reconcilers/types.js';
import { ControllerConfig } from '../schemas/controller-config.js';
import { loadRepo } from '../schemas/repo.js';

const ROOT = join(import.meta.dirname, '..');

export type FleetService = 'frame' | 'blueprint' | 'hive' | 'vaultwarden';

export interface FleetLabOptions {
  /** The service slots every customer gets (default all four). */
  services?: readonly FleetService[];
  /** SSO blocks and the service source repos: the stacks render and deploy. */
  deployable?: boolean;
  /** Edits the seed (its customers.yaml and services/*.yaml) before the config repo is made. */
  seed?: (dir: string, ids: string[]) => Promise<void>;
}

export interface FleetLab {
  stateDir: string;
  ids: string[];
  config: ControllerConfig;
  /** The operator's clone of the config repo. */
  repo: string;
  /** Environment for the axe CLI: AXE_HOME, AXE_CONFIG, AXE_REPO. */
  env: NodeJS.ProcessEnv;
  /** A fresh environment (new providers: new SSH connections, new clients); `cacheDir` keeps probe memos like `$AXE_HOME/cache`. */
  openEnv(cacheDir?: string): Promise<ReconcileEnv>;
  pass(env: ReconcileEnv, options: { apply: boolean; only?: Kind[]; concurrency?: number }): Promise<CustomerResult[]>;
  close(): Promise<void>;
}

/** The SSO block `axe customers ingest` leaves (test/lab-fixture.ts bootstrapPack's ids). */
function ssoBlock(id: string): Record<string, unknown> {
  const base = `https://${id}.axelabs.ai`;
  const up = id.toUpperCase();
  return {
    provider: 'microsoft_entra_id',
    tenant_id: '0d3a1e2f-5b6c-4d7e-8f90-a1b2c3d4e5f6',
    apps: {
      blueprint: { client_id: '7c1d2e3f-0000-4000-8000-0000000000b1', client_secret_env: `AZURE_${up}_BLUEPRINT_CLIENT_SECRET`, redirect_uri: `${base}/api/auth/callback/azure-ad` },
      vaultwarden: { client_id: '7c1d2e3f-0000-4000-8000-0000000000a1', client_secret_env: `AZURE_${up}_VAULTWARDEN_CLIENT_SECRET`, redirect_uri: `${base}/vault/identity/connect/oidc-signin` },
      frame_mcp: { client_id: '7c1d2e3f-0000-4000-8000-0000000000f1', client_secret_env: `AZURE_${up}_FRAME_MCP_CLIENT_SECRET`, application_id_uri: `${base}/frame/mcp`, redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], scopes: ['openid', `${base}/frame/mcp/mcp.access`] },
    },
  };
}

/**
 * services/frame.yaml for a rollout lab (test/rollout-lab.test.ts, bench/rollout.ts): the
 * `rollout:` given, the stand-in's healthchecks every 3 s until healthy (a compose-only var
 * its compose file reads; once healthy they back off on their own, lab/services/frame/docker-compose.yml;
 * retries stay 10: a check that times out under load must not make a running container
 * unhealthy; a check times out after 10 s, not 2 s, for a machine under heavy load), no `migrating` hook
 * and no `backup:` (the snapshot gate is test/deploy.test.ts's and test/backup-lab.ts's), a 60 s wait.
 */
export function rolloutFrameManifest(text: string, rollout: string, healthInterval = '3s'): string {
  const out = text
    .replace(/^name: frame\n/m, `name: frame\n${rollout}`)
    .replace(/    AXE_REF: \{ value: "\{ref\}" \}\n/, `    AXE_REF: { value: "{ref}" }\n    AXE_LAB_HEALTH_INTERVAL: { value: "${healthInterval}" }\n    AXE_LAB_HEALTH_TIMEOUT: { value: "10s" }\n`)
    .replace('compose_only: [AXE_REF,', 'compose_only: [AXE_LAB_HEALTH_INTERVAL, AXE_LAB_HEALTH_TIMEOUT, AXE_REF,')
    .replace(/    migrating: true\n/, '')
    .replace(/\n# What the customer's backup kind[\s\S]*?\nhooks:\n/, '\nhooks:\n')
    .replace('timeout_seconds: 120', 'timeout_seconds: 60');
  if (out.includes('migrating: true') || !out.includes('AXE_LAB_HEALTH_TIMEOUT, AXE_REF') || /^backup:/m.test(out)) throw new Error('services/frame.yaml changed shape: update rolloutFrameManifest');
  return out;
}

const ALL_SERVICES: readonly FleetService[] = ['frame', 'blueprint', 'hive', 'vaultwarden'];

function customersYaml(ids: string[], options: FleetLabOptions = {}): string {
  const up = (id: string) => id.toUpperCase();
  const customers = Object.fromEntries(
    ids.map((id) => [
      id,
      {
        legal_name: `Bench ${id}`,
        primary_domain: `${id}.example.com`,
        public_domain: `${id}.axelabs.ai`,
        entities: [id],
        tailscale_host: `${id}-macmini.tail-lab.ts.net`,
        ...(options.deployable ? { sso: ssoBlock(id) } : {}),
        user_entity_map: {},
        default_entities_by_domain: {},
        onboarded: null,
      },
    ]),
  );
  const slot = (names: (id: string) => string[]) => Object.fromEntries(ids.map((id) => [id, { secrets: names(id) }]));
  const all = {
    frame: () => slot((id) => [`AZURE_${up(id)}_FRAME_MCP_CLIENT_SECRET`, `FRAME_${up(id)}_POSTGRES_PASSWORD`]),
    blueprint: () => slot((id) => [`AZURE_${up(id)}_BLUEPRINT_CLIENT_SECRET`, `BLUEPRINT_${up(id)}_NEXTAUTH_SECRET`]),
    hive: () => slot(() => []),
    vaultwarden: () => slot((id) => [`AZURE_${up(id)}_VAULTWARDEN_CLIENT_SECRET`]),
  };
  const services = Object.fromEntries((options.services ?? ALL_SERVICES).map((s) => [s, all[s]()]));
  return `# Bench fleet: ${ids.length} customers\n${stringify({ customers, services })}`;
}

export async function startFleetLab(count: number, log: (m: string) => void = () => undefined, options: FleetLabOptions = {}): Promise<FleetLab> {
  const stateDir = await mkdtemp(join(tmpdir(), 'axe-bench-'));
  const ctx: LabContext = { stateDir, log };
  const tag = `b${randomBytes(2).toString('hex').replace(/^[0-9]/, 'x')}`;
  const ids = Array.from({ length: count }, (_, i) => `${tag}c${String(i + 1).padStart(2, '0')}`);
  const cloudflare = createCloudflarePart({ apiPort: 0, edgePort: 0 });
  const started: Array<{ down(c: LabContext): Promise<void> }> = [];
  const close = async () => {
    for (const part of [fleetPart, ...[...started].reverse()]) await part.down(ctx).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  };
  // A bench stopped by a signal still takes its 50 hosts (sshd, containers, networks) down.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: taking the bench lab down`);
      void close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  try {
    await imagesPart.up(ctx);
    started.push(hostsPart);
    await ensureHosts(ctx, ids.map((id) => ({ name: id, fqdn: `${id}-macmini.tail-lab.ts.net` })), { basePort: 20000 + (randomBytes(2).readUInt16BE(0) % 20000) });
    const seed = join(stateDir, 'seed');
    await mkdir(seed, { recursive: true });
    await cp(join(ROOT, 'examples', 'customers', 'services'), join(seed, 'services'), { recursive: true });
    await writeFile(join(seed, 'customers.yaml'), customersYaml(ids, options));
    await options.seed?.(seed, ids);
    const vaults = options.deployable && (options.services ?? ALL_SERVICES).includes('vaultwarden');
    for (const part of [cloudflare, tailscalePart, createConfigRepoPart(seed), ...(options.deployable ? [serviceReposPart] : []), operatorPart, ...(vaults ? [customerVaultsPart] : [])]) {
      started.push(part);
      await part.up(ctx);
    }
    const config = ControllerConfig.parse(parse(await readFile(operatorPaths(stateDir).config, 'utf8')));
    const vault = openVault(config.vault, {});
    for (const id of ids) {
      for (const app of ['FRAME_MCP', 'BLUEPRINT', 'VAULTWARDEN']) {
        await vault.put({ name: `AZURE_${id.toUpperCase()}_${app}_CLIENT_SECRET`, customer: id, service: app === 'FRAME_MCP' ? 'frame' : app.toLowerCase(), value: new Secret(randomBytes(24).toString('base64url')) });
      }
    }
    const load = await loadRepo(configRepoPaths(stateDir).clone);
    if (!load.ok) throw new Error(`bench config repo invalid: ${JSON.stringify(load.issues[0])}`);
    const state = load.state;
    const repo = configRepoPaths(stateDir).clone;
    return {
      stateDir,
      ids,
      config,
      repo,
      env: { AXE_HOME: operatorPaths(stateDir).home, AXE_CONFIG: operatorPaths(stateDir).config, AXE_REPO: repo },
      async openEnv(cacheDir) {
        const providers = await openConfiguredProviders(config, config.vault, { cacheDir, home: operatorPaths(stateDir).home });
        return buildEnv({ config, zone: config.cloudflare.zone, state, providers });
      },
      async pass(env, options) {
        const limiter = new Bottleneck({ maxConcurrent: options.concurrency ?? 8 });
        return Promise.all(ids.map((id) => limiter.schedule(() => reconcileCustomer(env, id, { apply: options.apply, ...(options.only ? { only: options.only } : {}) }))));
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
