/**
 * A controller test bed without the full lab: a real bare config repo (seeded
 * from examples/customers) and a clone to push from, the Cloudflare emulator
 * in-process on loopback (no connectors), a file vault holding the emulator's
 * token and the webhook secret, and an operator config pointing at all of it.
 * The customers' hosts are unreachable here (no SSH key): host checks fail
 * and the kinds that need a host wait, which is what the controller must
 * handle anyway. Everything lives in one temp dir, removed on dispose.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { createLogger } from '../controller/logger.js';
import { openController, type OpenControllerOptions, type RunningController } from '../controller/run.js';
import { Secret } from '../core/secret.js';
import { noConnectors } from '../lab/cloudflare/connectors.js';
import { type CloudflareEmulator, startCloudflareEmulator } from '../lab/cloudflare/server.js';
import { openVault } from '../providers/vault/index.js';
import { ControllerConfig, type VaultConfig } from '../schemas/controller-config.js';
import { exampleRepo, git, tempDir } from './helpers.js';

export interface ControllerFixture {
  dir: string;
  bare: string;
  work: string;
  home: string;
  configPath: string;
  config: ControllerConfig;
  vault: VaultConfig;
  emulator: CloudflareEmulator;
  webhookSecret: Secret;
  /** Rewrites customers.yaml in the work clone, commits and pushes; returns the commit id. */
  push(edit: (text: string) => string, message: string): Promise<string>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function controllerFixture(options: { customers?: (text: string) => string; config?: Record<string, unknown> } = {}): Promise<ControllerFixture> {
  const tmp = await tempDir('controller');
  const dir = tmp.path;
  let emulator: CloudflareEmulator | null = null;
  try {
    const seed = await exampleRepo(dir);
    if (options.customers) {
      const path = join(seed, 'customers.yaml');
      await writeFile(path, options.customers(await readFile(path, 'utf8')));
      await git(seed, 'commit', '-qam', 'fixture customers');
    }
    const bare = join(dir, 'config.git');
    await git(dir, 'clone', '-q', '--bare', seed, bare);
    const work = join(dir, 'work');
    await git(dir, 'clone', '-q', bare, work);
    emulator = await startCloudflareEmulator({ connectors: noConnectors });
    const home = join(dir, 'home');
    const vault: VaultConfig = { provider: 'file', path: join(home, 'vault', 'vault.enc.json'), key_file: join(home, 'vault', 'vault.key') };
    const webhookSecret = new Secret(randomBytes(24).toString('hex'));
    const v = openVault(vault, {});
    await v.put({ name: 'CLOUDFLARE_API_TOKEN', service: 'cloudflare', customer: 'operator', value: emulator.token });
    await v.put({ name: 'AXE_WEBHOOK_SECRET', service: 'controller', customer: 'operator', value: webhookSecret });
    const config = ControllerConfig.parse({
      repo: { url: bare, branch: 'main', poll_interval: '1h' },
      state_dir: join(dir, 'state'),
      listen: '127.0.0.1:0',
      vault,
      cloudflare: { api_base_url: emulator.apiBaseUrl, account_id: emulator.accountId, zone: emulator.zone, edge_url: emulator.edgeUrl },
      tailscale: { binary: join(dir, 'no-tailscale') },
      ssh: { key_file: join(dir, 'no-key'), known_hosts: join(dir, 'no-known-hosts') },
      ...options.config,
    });
    const configPath = join(home, 'config.yaml');
    await writeFile(configPath, stringify(config), { mode: 0o600 });
    const em = emulator;
    return {
      dir,
      bare,
      work,
      home,
      configPath,
      config,
      vault,
      emulator: em,
      webhookSecret,
      async push(edit, message) {
        const path = join(work, 'customers.yaml');
        await writeFile(path, edit(await readFile(path, 'utf8')));
        await git(work, 'commit', '-qam', message);
        await git(work, 'push', '-q', 'origin', 'HEAD:main');
        return (await git(work, 'rev-parse', 'HEAD')).trim();
      },
      async [Symbol.asyncDispose]() {
        await em.close();
        await tmp[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    await emulator?.close();
    await tmp[Symbol.asyncDispose]();
    throw error;
  }
}

/** The fixture's controller: a free loopback port, no drift schedule, a quiet log; `over` adds or replaces options. */
export function openFixtureController(f: ControllerFixture, over: Partial<OpenControllerOptions> = {}): Promise<RunningController> {
  return openController({ config: f.config, vault: f.vault, zone: f.emulator.zone, axeHome: f.home, listen: '127.0.0.1:0', driftSchedule: false, log: createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) }), ...over });
}

/** A customer block for customers.yaml (as `axe customers add` leaves it: no sso, no slots: sovereign). */
export function customerBlock(id: string, policy = ''): string {
  return [
    `  ${id}:`,
    `    legal_name: "${id} Inc."`,
    `    primary_domain: "${id}.example.com"`,
    `    public_domain: "${id}.axelabs.ai"`,
    `    entities: ["${id}"]`,
    `    tailscale_host: "${id}-macmini.tail-lab.ts.net"`,
    ...(policy ? [`    policy: ${policy}`] : []),
    '',
  ].join('\n');
}

/** Adds customer blocks right after `customers:`. */
export function addCustomers(text: string, ...blocks: string[]): string {
  return text.replace(/^customers:\n/m, `customers:\n${blocks.join('')}`);
}
