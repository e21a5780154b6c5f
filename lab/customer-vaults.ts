/**
 * The customers' own Vaultwarden as their IT installed it before axe: a
 * `~/.axe/vault/docker-compose.yml` on each lab host whose customer declares
 * a `vaultwarden` slot, written the way the runbook found it — without the
 * four SSO keys and with DOMAIN lacking its `/vault` path — so `axe vault
 * bootstrap` (and the controller) have the real traps to fix.
 *
 * Rules: written once (an existing file, patched or not, is left alone);
 * owned by the host's user; removed with the host's home on `down`.
 */
import { chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import type { LabContext, LabPart, LabPartStatus } from './component.js';
import { listHosts } from './hosts/index.js';
import { vaultwardenComposeFile } from './images/vaultwarden-compose.js';

async function vaultCustomers(stateDir: string): Promise<Map<string, string>> {
  // The operator clone's customers.yaml is the lab's desired state.
  const text = await readFile(join(stateDir, 'operator', 'config', 'customers.yaml'), 'utf8').catch(() => '');
  const doc = (parse(text) ?? {}) as { customers?: Record<string, { public_domain?: string }>; services?: Record<string, Record<string, unknown> | null> };
  const slots = doc.services?.vaultwarden ?? {};
  return new Map(Object.keys(slots ?? {}).map((id) => [id, doc.customers?.[id]?.public_domain ?? `${id}.axelabs.ai`]));
}

function composePath(home: string): string {
  return join(home, '.axe', 'vault', 'docker-compose.yml');
}

export const customerVaultsPart: LabPart = {
  name: 'customer-vaults',
  async up(ctx: LabContext) {
    const wanted = await vaultCustomers(ctx.stateDir);
    for (const host of await listHosts(ctx.stateDir)) {
      const domain = wanted.get(host.name);
      if (!domain) continue;
      const path = composePath(host.home);
      if (await stat(path).then(() => true, () => false)) continue;
      const owner = await stat(host.home);
      for (const dir of [join(host.home, '.axe'), dirname(path)]) {
        await mkdir(dir, { recursive: true, mode: 0o755 });
        await chown(dir, owner.uid, owner.gid);
      }
      await writeFile(path, vaultwardenComposeFile({ domain: `https://${domain}`, withKeys: false, network: `axe-${host.name}` }), { mode: 0o644 });
      await chown(path, owner.uid, owner.gid);
      ctx.log(`customer vaults: ${host.name}: ~/.axe/vault/docker-compose.yml as its IT installed it (no SSO keys, DOMAIN without /vault)`);
    }
  },
  async down() {
    // The files live in the lab hosts' homes, removed with the hosts.
  },
  async status(ctx: LabContext): Promise<LabPartStatus> {
    const wanted = await vaultCustomers(ctx.stateDir);
    const hosts = (await listHosts(ctx.stateDir)).filter((h) => wanted.has(h.name));
    const present = [];
    for (const h of hosts) if (await stat(composePath(h.home)).then(() => true, () => false)) present.push(h.name);
    return { name: 'customer-vaults', ready: present.length === hosts.length, detail: `${present.length}/${hosts.length} customer vault compose files on the lab hosts` };
  },
};
