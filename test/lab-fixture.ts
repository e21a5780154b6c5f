/**
 * An isolated, complete lab for one integration test file: its own state dir,
 * its own lab hosts (real sshd + Unix users) and Cloudflare emulator on free
 * ports, the Tailscale stand-in, service repos, and a config repo seeded from
 * examples/customers with every customer id suffixed (`demo` → `t1x2demo`),
 * so it never collides with `axe lab up` or another test file. The stand-in
 * images are shared (built once, never removed by tests).
 *
 * Use: `await using lab = await startTestLab();` then `lab.axe([...])`.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCloudflarePart, type CloudflareEndpoint, readCloudflareEndpoint } from '../lab/cloudflare/index.js';
import type { LabContext } from '../lab/component.js';
import { configRepoPaths, createConfigRepoPart } from '../lab/config-repo.js';
import { fleetPart } from '../lab/fleet.js';
import { ensureHosts, hostsPart, type LabHost } from '../lab/hosts/index.js';
import { imagesPart } from '../lab/images/index.js';
import { operatorPart, operatorPaths } from '../lab/operator.js';
import { serviceReposPart } from '../lab/service-repos.js';
import { tailscalePart } from '../lab/tailscale/index.js';
import { axe, type CliResult, EXAMPLE_REPO } from './helpers.js';

export const EXAMPLE_CUSTOMERS = ['acme', 'realchoice', 'demo'] as const;
export type ExampleCustomer = (typeof EXAMPLE_CUSTOMERS)[number];

export interface TestLab {
  stateDir: string;
  /** Lab customer id of each example customer. */
  ids: Record<ExampleCustomer, string>;
  hosts: LabHost[];
  cloudflare: CloudflareEndpoint;
  /** The operator's working clone of the config repo. */
  repo: string;
  /** Environment for the axe CLI: AXE_HOME, AXE_CONFIG, AXE_REPO. */
  env: NodeJS.ProcessEnv;
  axe(args: string[], input?: string): Promise<CliResult>;
  /** The emulator's request counters (`writes` = POST/PUT/PATCH/DELETE). */
  cloudflareStats(): Promise<{ writes: number; total: number; [key: string]: unknown }>;
  resetCloudflareStats(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function suffix(): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const bytes = randomBytes(4);
  return `t${letters[bytes[0]! % 26]}${(bytes.readUInt16BE(1) % 1296).toString(36).padStart(2, '0')}`;
}

/** Copies examples/customers with every customer id renamed; returns the seed dir. */
async function seedRepo(dir: string, ids: Record<ExampleCustomer, string>): Promise<string> {
  const seed = join(dir, 'seed');
  await cp(EXAMPLE_REPO, seed, { recursive: true });
  let text = await readFile(join(seed, 'customers.yaml'), 'utf8');
  for (const alias of EXAMPLE_CUSTOMERS) {
    text = text.replace(new RegExp(`\\b${alias}`, 'g'), ids[alias]).replace(new RegExp(`_${alias.toUpperCase()}_`, 'g'), `_${ids[alias].toUpperCase()}_`);
  }
  await writeFile(join(seed, 'customers.yaml'), text);
  return seed;
}

export async function startTestLab(options: { log?: (m: string) => void } = {}): Promise<TestLab> {
  const stateDir = await mkdtemp(join(tmpdir(), 'axe-testlab-'));
  const ctx: LabContext = { stateDir, log: options.log ?? (() => undefined) };
  const tag = suffix();
  const ids = Object.fromEntries(EXAMPLE_CUSTOMERS.map((alias) => [alias, `${tag}${alias}`])) as Record<ExampleCustomer, string>;
  const cloudflarePart = createCloudflarePart({ apiPort: 0, edgePort: 0 });
  const started: Array<{ down(ctx: LabContext): Promise<void> }> = [];
  async function teardown(): Promise<void> {
    for (const part of [fleetPart, ...started.reverse()]) await part.down(ctx).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  }
  try {
    await imagesPart.up(ctx);
    const seed = await seedRepo(stateDir, ids);
    const text = await readFile(join(seed, 'customers.yaml'), 'utf8');
    const specs = EXAMPLE_CUSTOMERS.map((alias) => {
      const fqdn = new RegExp(`${ids[alias]}:[\\s\\S]*?tailscale_host: "([^"]+)"`).exec(text)?.[1];
      if (!fqdn) throw new Error(`no tailscale_host for ${ids[alias]} in the seeded customers.yaml`);
      return { name: ids[alias], fqdn };
    });
    started.push(hostsPart);
    const hosts = await ensureHosts(ctx, specs, { basePort: 20000 + (randomBytes(2).readUInt16BE(0) % 20000) });
    for (const part of [cloudflarePart, tailscalePart, createConfigRepoPart(seed), serviceReposPart, operatorPart]) {
      started.push(part);
      await part.up(ctx);
    }
    await rm(seed, { recursive: true, force: true });
    const cloudflare = await readCloudflareEndpoint(stateDir);
    if (!cloudflare) throw new Error('the Cloudflare emulator did not write its endpoint');
    const { home, config } = operatorPaths(stateDir);
    const repo = configRepoPaths(stateDir).clone;
    const env = { AXE_HOME: home, AXE_CONFIG: config, AXE_REPO: repo };
    return {
      stateDir,
      ids,
      hosts,
      cloudflare,
      repo,
      env,
      axe: (args, input) => axe(args, { env, ...(input === undefined ? {} : { input }) }),
      async cloudflareStats() {
        const res = await fetch(`${cloudflare.adminUrl}/stats`);
        return (await res.json()) as { writes: number; total: number };
      },
      async resetCloudflareStats() {
        await fetch(`${cloudflare.adminUrl}/stats/reset`, { method: 'POST' });
      },
      [Symbol.asyncDispose]: teardown,
    };
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** The bootstrap pack (axelabs-bootstrap/v1) for a lab customer, with the three app client secrets given: blueprint, vaultwarden, frame_mcp. */
export function bootstrapPack(id: string, secrets: readonly [string, string, string]): Record<string, unknown> {
  const base = `https://${id}.axelabs.ai`;
  return {
    schema: 'axelabs-bootstrap/v1',
    customer: id,
    tenant_id: '0d3a1e2f-5b6c-4d7e-8f90-a1b2c3d4e5f6',
    apps: {
      blueprint: { client_id: '7c1d2e3f-0000-4000-8000-0000000000b1', client_secret: secrets[0] },
      vaultwarden: { client_id: '7c1d2e3f-0000-4000-8000-0000000000a1', client_secret: secrets[1] },
      frame_mcp: { client_id: '7c1d2e3f-0000-4000-8000-0000000000f1', client_secret: secrets[2], application_id_uri: `${base}/frame/mcp`, scope: `${base}/frame/mcp/mcp.access`, redirect_uris: ['https://claude.ai/api/mcp/auth_callback'] },
    },
  };
}
