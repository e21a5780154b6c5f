/**
 * The operator's side of the lab: `<stateDir>/operator/` holds the operator's
 * AXE_HOME (file vault, `config.yaml`), the config repo clone and the packs
 * the customers' IT sent. `up` writes the operator config pointing axe at the
 * lab's stand-ins (Cloudflare emulator and edge, Tailscale stand-in, the lab
 * hosts' sshd with the pinned known_hosts) and puts the emulator's API token
 * in the operator vault, where axe reads it. `down` removes it all.
 *
 * Rules: runs after every part it points at (it reads their endpoint files);
 * the token goes from the emulator's 0600 file into the vault, never through
 * a log or a command line; config.yaml holds no secret and is 0600 anyway.
 */
import { chmod, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { openVault } from '../providers/vault/index.js';
import { ControllerConfig } from '../schemas/controller-config.js';
import { readCloudflareEndpoint, readCloudflareToken } from './cloudflare/index.js';
import type { LabContext, LabPart, LabPartStatus } from './component.js';
import { configRepoPaths } from './config-repo.js';
import { hostsPaths } from './hosts/index.js';
import { readRegistry } from './hosts/registry.js';
import { CLOUDFLARED_IMAGE } from './images/index.js';
import { serviceRepoRewrite } from './service-repos.js';

export const LAB_TAILNET = 'tail-lab.ts.net';

export function operatorPaths(stateDir: string): { dir: string; home: string; config: string } {
  const dir = join(stateDir, 'operator');
  return { dir, home: join(dir, 'home'), config: join(dir, 'home', 'config.yaml') };
}

/** The operator config for the lab, as a validated object. */
export async function labOperatorConfig(stateDir: string): Promise<ControllerConfig> {
  const cf = await readCloudflareEndpoint(stateDir);
  if (!cf) throw new Error('the Cloudflare emulator is not up (its endpoint.json is missing)');
  if (!(await stat(hostsPaths(stateDir).registry).then(() => true, () => false))) throw new Error('the lab hosts are not up (hosts/hosts.json is missing)');
  const hosts = await readRegistry(stateDir);
  const { home } = operatorPaths(stateDir);
  const { bare, clone } = configRepoPaths(stateDir);
  const raw = {
    repo: { url: `file://${bare}`, branch: 'main', checkout: clone, poll_interval: '60s' },
    vault: { provider: 'file', path: join(home, 'vault', 'vault.enc.json'), key_file: join(home, 'vault', 'vault.key') },
    cloudflare: { api_base_url: cf.apiBaseUrl, account_id: cf.accountId, zone: cf.zone, edge_url: cf.edgeUrl },
    cloudflared: { mode: 'container', image: CLOUDFLARED_IMAGE, publish: ['127.0.0.1::8080'] },
    tailscale: { binary: join(stateDir, 'tailscale', 'bin', 'tailscale'), tailnet: LAB_TAILNET },
    ssh: {
      key_file: hosts.keyFile,
      known_hosts: hosts.knownHosts,
      overrides: Object.fromEntries(hosts.hosts.map((h) => [h.fqdn, { address: h.address, port: h.port, user: h.user }])),
    },
    git: { instead_of: serviceRepoRewrite(stateDir) },
  };
  return ControllerConfig.parse(raw);
}

export const operatorPart: LabPart = {
  name: 'operator',
  async up(ctx: LabContext) {
    const paths = operatorPaths(ctx.stateDir);
    await mkdir(paths.home, { recursive: true, mode: 0o700 });
    const config = await labOperatorConfig(ctx.stateDir);
    const header = '# Written by `axe lab up`: the operator config pointed at the lab stand-ins.\n# Secrets are not here: the Cloudflare token is in the vault (CLOUDFLARE_API_TOKEN).\n';
    await writeFile(paths.config, header + stringify(config), { mode: 0o600 });
    await chmod(paths.config, 0o600);
    const token = await readCloudflareToken(ctx.stateDir);
    const vault = openVault(config.vault, {});
    await vault.put({ name: config.cloudflare.token_secret, service: 'cloudflare', customer: 'operator', value: token });
  },
  async down(ctx: LabContext) {
    await rm(operatorPaths(ctx.stateDir).dir, { recursive: true, force: true });
  },
  async status(ctx: LabContext): Promise<LabPartStatus> {
    const { home, config } = operatorPaths(ctx.stateDir);
    const ok = await stat(config).then(() => true, () => false);
    return { name: 'operator', ready: ok, detail: ok ? `AXE_HOME ${home} (config.yaml, file vault)` : 'missing (run axe lab up)' };
  },
};
