/**
 * The lab's vault: a `bw serve` (Vault Management API) emulator standing in
 * for the operator's Vaultwarden behind the `bw` CLI. See README.md for what
 * it does not do.
 *
 * Files under `<stateDir>/vault/`:
 * - `pid`: the detached server's PID (it is stopped by that PID only);
 * - `items.json` (0600): server and bw-cache state, item values included;
 * - `master-password` (0600): written once by `up`, read by the server;
 * - `endpoint.json`: `{ url, passwordFile, adminUrl }`, what the lead's wiring reads;
 * - `server.log`: the server's own lines (never a secret).
 *
 * Rules: `up` is idempotent (a running, answering server is kept); the server
 * starts locked, like a fresh `bw serve` (unlock with `vaultLogin` and the
 * password file); `down` stops the PID and removes the folder, nothing else.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabContext, LabPart, LabPartStatus } from '../component.js';
import { nodeEntry } from './node-entry.js';

export { startVaultEmulator, type VaultCounters, type VaultEmulator, type VaultEmulatorOptions, type VaultExchange } from './server.js';

export const DEFAULT_VAULT_PORT = 18789;

export interface VaultPaths {
  dir: string;
  pid: string;
  items: string;
  passwordFile: string;
  endpoint: string;
  log: string;
}

/** What `<stateDir>/vault/endpoint.json` holds. */
export interface VaultEndpoint {
  /** `bw serve` base URL: the provider's `vault.url`. */
  url: string;
  /** The master password (0600): what `axe vault login` is given in the lab. */
  passwordFile: string;
  /** The lab's admin API (`/__lab`). */
  adminUrl: string;
}

export function vaultPaths(stateDir: string): VaultPaths {
  const dir = join(stateDir, 'vault');
  return {
    dir,
    pid: join(dir, 'pid'),
    items: join(dir, 'items.json'),
    passwordFile: join(dir, 'master-password'),
    endpoint: join(dir, 'endpoint.json'),
    log: join(dir, 'server.log'),
  };
}

/** The port `up` binds: AXE_LAB_VAULT_PORT, else 18789. */
export function vaultPort(env: NodeJS.ProcessEnv = process.env): number {
  const port = Number(env.AXE_LAB_VAULT_PORT ?? DEFAULT_VAULT_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`AXE_LAB_VAULT_PORT must be a port number, not ${env.AXE_LAB_VAULT_PORT}`);
  return port;
}

export async function readVaultEndpoint(stateDir: string): Promise<VaultEndpoint | null> {
  try {
    return JSON.parse(await readFile(vaultPaths(stateDir).endpoint, 'utf8')) as VaultEndpoint;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function readPid(file: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** True when `pid` is alive and (where /proc exists) runs this part's entry. */
async function isOurs(pid: number, entryName: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  return cmdline === null || cmdline.includes(entryName);
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

const ENTRY_NAME = join('vault', 'main.');

async function stopPid(pid: number): Promise<void> {
  if (!(await isOurs(pid, ENTRY_NAME))) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  process.kill(pid, 'SIGKILL');
}

async function tail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-3).join(' | ');
}

export const vaultPart: LabPart = {
  name: 'vault',
  async up(ctx: LabContext) {
    const paths = vaultPaths(ctx.stateDir);
    const port = vaultPort();
    const url = `http://127.0.0.1:${port}`;
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    const endpoint: VaultEndpoint = { url, passwordFile: paths.passwordFile, adminUrl: `${url}/__lab` };
    const pid = await readPid(paths.pid);
    if (pid !== null && (await isOurs(pid, ENTRY_NAME)) && (await answers(url))) {
      await writeFile(paths.endpoint, `${JSON.stringify(endpoint, null, 2)}\n`, { mode: 0o600 });
      return;
    }
    if (pid !== null) await stopPid(pid);
    try {
      await writeFile(paths.passwordFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    ctx.log(`vault: starting the bw serve emulator on ${url}`);
    const entry = nodeEntry(import.meta.url, 'main');
    const log = await open(paths.log, 'a', 0o600);
    let exited: number | null = null;
    try {
      const env = { ...process.env };
      delete env.BW_SESSION;
      const child = spawn(process.execPath, [...entry.nodeArgs, entry.file, '--state-dir', ctx.stateDir, '--port', String(port)], {
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        env,
      });
      child.once('exit', (code) => (exited = code ?? -1));
      child.unref();
      await writeFile(paths.pid, `${child.pid}\n`, { mode: 0o600 });
    } finally {
      await log.close();
    }
    const deadline = Date.now() + 20_000;
    while (!(await answers(url))) {
      if (exited !== null) throw new Error(`vault emulator exited (code ${exited}) before answering on ${url}: ${await tail(paths.log)} (is port ${port} taken? set AXE_LAB_VAULT_PORT)`);
      if (Date.now() > deadline) throw new Error(`vault emulator did not answer on ${url} within 20 s: ${await tail(paths.log)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await writeFile(paths.endpoint, `${JSON.stringify(endpoint, null, 2)}\n`, { mode: 0o600 });
  },
  async down(ctx: LabContext) {
    const paths = vaultPaths(ctx.stateDir);
    const pid = await readPid(paths.pid);
    if (pid !== null) await stopPid(pid);
    await rm(paths.dir, { recursive: true, force: true });
  },
  async status(ctx: LabContext): Promise<LabPartStatus> {
    const paths = vaultPaths(ctx.stateDir);
    const endpoint = await readVaultEndpoint(ctx.stateDir);
    const pid = await readPid(paths.pid);
    if (!endpoint || pid === null) return { name: 'vault', ready: false, detail: 'not started (run axe lab up)' };
    if (!(await isOurs(pid, ENTRY_NAME))) return { name: 'vault', ready: false, detail: `emulator PID ${pid} is gone (run axe lab up)` };
    try {
      const response = await fetch(`${endpoint.adminUrl}/state`, { signal: AbortSignal.timeout(2000) });
      const state = (await response.json()) as { status: string; server: { items: unknown[] } };
      const passwordOk = await stat(endpoint.passwordFile).then((s) => (s.mode & 0o077) === 0, () => false);
      return {
        name: 'vault',
        ready: passwordOk,
        detail: `bw serve emulator ${endpoint.url} (PID ${pid}, ${state.status}, ${state.server.items.length} items); master password in ${endpoint.passwordFile}${passwordOk ? '' : ' (missing or not 0600)'}`,
      };
    } catch {
      return { name: 'vault', ready: false, detail: `emulator PID ${pid} does not answer on ${endpoint.url} (run axe lab down, then up)` };
    }
  },
};
