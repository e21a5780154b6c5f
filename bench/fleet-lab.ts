/**
 * A fleet of N lab customers for benchmarks: N lab hosts (real sshd), the
 * Cloudflare emulator and edge (stand-ins), the Tailscale stand-in, a config
 * repo with N customers (full service slots), the operator config and file
 * vault with every pack secret present. Everything lives in one temp state
 * dir and is removed by `close()`.
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
import { fleetPart } from '../lab/fleet.js';
import { ensureHosts, hostsPart } from '../lab/hosts/index.js';
import { imagesPart } from '../lab/images/index.js';
import { operatorPart, operatorPaths } from '../lab/operator.js';
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

export interface FleetLab {
  stateDir: string;
  ids: string[];
  config: ControllerConfig;
  /** A fresh environment (new providers: new SSH connections, new clients); `cacheDir` keeps probe memos like `$AXE_HOME/cache`. */
  openEnv(cacheDir?: string): Promise<ReconcileEnv>;
  pass(env: ReconcileEnv, options: { apply: boolean; only?: Kind[]; concurrency?: number }): Promise<CustomerResult[]>;
  close(): Promise<void>;
}

function customersYaml(ids: string[]): string {
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
        user_entity_map: {},
        default_entities_by_domain: {},
        onboarded: null,
      },
    ]),
  );
  const slot = (names: (id: string) => string[]) => Object.fromEntries(ids.map((id) => [id, { secrets: names(id) }]));
  const services = {
    frame: slot((id) => [`AZURE_${up(id)}_FRAME_MCP_CLIENT_SECRET`, `FRAME_${up(id)}_POSTGRES_PASSWORD`]),
    blueprint: slot((id) => [`AZURE_${up(id)}_BLUEPRINT_CLIENT_SECRET`, `BLUEPRINT_${up(id)}_NEXTAUTH_SECRET`]),
    hive: slot(() => []),
    vaultwarden: slot((id) => [`AZURE_${up(id)}_VAULTWARDEN_CLIENT_SECRET`]),
  };
  return `# Bench fleet: ${ids.length} customers\n${stringify({ customers, services })}`;
}

export async function startFleetLab(count: number, log: (m: string) => void = () => undefined): Promise<FleetLab> {
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
    await writeFile(join(seed, 'customers.yaml'), customersYaml(ids));
    for (const part of [cloudflare, tailscalePart, createConfigRepoPart(seed), operatorPart]) {
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
    return {
      stateDir,
      ids,
      config,
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
