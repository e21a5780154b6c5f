/**
 * The lab's customer hosts: one real Debian `sshd` per customer on 127.0.0.1,
 * each with its own Unix user `axelab-<name>`, home, host key and port, reaching
 * the machine's real Docker engine and Compose v2, standing in for the
 * customers' Mac minis (see README.md for what a Mac mini has that these do not).
 *
 * Rules:
 * - `ensureHosts` is idempotent: a healthy host is left running, its port and
 *   host key stay the same across `up`s; a host whose sshd died is restarted on
 *   the same port with the same key.
 * - Everything lives under `<stateDir>/hosts/` or is a user named
 *   `axelab-<name>` whose GECOS carries this state dir's marker; `down` removes
 *   exactly that (processes by PID, users with their homes) and nothing else.
 * - The registry `<stateDir>/hosts/hosts.json` and the pinned known_hosts are
 *   rewritten after every change; other parts read them.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadKnownHosts } from '../../providers/host/known-hosts.js';
import type { SshCredentials, SshTarget } from '../../providers/host/ssh.js';
import { LAB_PREFIX, type LabContext, type LabPart, type LabPartStatus } from '../component.js';
import { homeLayout, layoutHome, writeSleep } from './home.js';
import {
  DEFAULT_HOST_PORT_BASE,
  DEFAULT_MACOS_VERSION,
  ensureKeyPair,
  hostDir,
  hostsPaths,
  LAB_ADDRESS,
  type HostSettings,
  type LabHost,
  readRegistry,
  readSettings,
  userMarker,
  userName,
  writeRegistry,
  writeSettings,
} from './registry.js';
import { sshAnswers, sshdFiles, sshdProcesses, startSshd } from './sshd.js';
import { createUser, deleteUser, ensurePrivsepDir, findUser, listProcesses, readUsers, stopPids, type UserEntry } from './system.js';

export { DEFAULT_HOST_PORT_BASE, hostsPaths, type HostsRegistry, type LabHost } from './registry.js';
export { homeLayout, SYSTEM_TOOLS } from './home.js';

/** What a lab host should be. */
export interface HostSpec {
  /** Lab name, usually the customer id: lowercase letters, digits and dashes. */
  name: string;
  /** The MagicDNS FQDN it stands in for (customers.yaml `tailscale_host`). */
  fqdn: string;
  /** Make `bw --version` answer this (the "bw newer than 2025.7.0 crashes" trap); default: the real bw. */
  bwVersion?: string;
  /** `pmset -g` sleep minutes; default 0 (disabled). Kept across `up`s when not given. */
  sleep?: number;
  /** What `sw_vers -productVersion` answers; default 15.1. */
  macosVersion?: string;
}

export interface EnsureHostsOptions {
  /** First port tried for a new host (default 2201); an existing host keeps its port. */
  basePort?: number;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;
// Linux user names are at most 32 characters: `axelab-` leaves 25.
const MAX_NAME = 32 - LAB_PREFIX.length - 1;
const PARALLEL = 16;

function repoRoot(): string {
  // From the sources (lab/hosts/) and from the build (dist/lab/hosts/): the first folder up with examples/.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== dirname(dir)) {
    if (existsSync(join(dir, 'examples', 'customers', 'customers.yaml'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find examples/customers/customers.yaml above lab/hosts');
}

/** One host per customer of examples/customers/customers.yaml: name = customer id, fqdn = its tailscale_host. */
export async function customerHostSpecs(file = join(repoRoot(), 'examples', 'customers', 'customers.yaml')): Promise<HostSpec[]> {
  const doc = parse(await readFile(file, 'utf8')) as { customers?: Record<string, { tailscale_host?: string }> };
  return Object.entries(doc.customers ?? {})
    .filter(([, c]) => typeof c?.tailscale_host === 'string')
    .map(([name, c]) => ({ name, fqdn: c.tailscale_host as string }));
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index] as T);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, LAB_ADDRESS, () => server.close(() => resolve(true)));
  });
}

async function hostKeys(stateDir: string, names: readonly string[]): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (const name of names) {
    const key = await readFile(`${sshdFiles(hostDir(stateDir, name)).hostKey}.pub`, 'utf8').catch(() => null);
    if (key) keys.set(name, key.trim());
  }
  return keys;
}

const locks = new Map<string, Promise<unknown>>();

/** Runs `fn` after any other registry change on the same state dir (in this process). */
function serialized<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  const key = hostsPaths(stateDir).dir;
  const run = (locks.get(key) ?? Promise.resolve()).then(fn);
  locks.set(key, run.catch(() => undefined));
  return run;
}

function checkSpec(spec: HostSpec): void {
  if (!NAME.test(spec.name) || spec.name.length > MAX_NAME) {
    throw new Error(`lab host name ${JSON.stringify(spec.name)} must be lowercase letters, digits and dashes, at most ${MAX_NAME} characters`);
  }
  if (!spec.fqdn || /\s|,/.test(spec.fqdn)) throw new Error(`lab host ${spec.name}: fqdn ${JSON.stringify(spec.fqdn)} is not a host name`);
}

/** The user for `name`, created when missing; refuses a user of that name the lab did not make. */
async function ensureUser(stateDir: string, name: string): Promise<UserEntry> {
  const user = userName(name);
  const marker = userMarker(stateDir);
  const existing = await findUser(user);
  if (existing) {
    if (existing.gecos !== marker) throw new Error(`user ${user} exists but was not made by this lab (${hostsPaths(stateDir).dir}): remove it or pick another host name`);
    return existing;
  }
  return createUser(user, marker, hostsPaths(stateDir).skel);
}

/**
 * Creates (or repairs) the hosts in `specs` and returns them as the registry
 * lists them. Hosts already in the registry but not in `specs` are kept.
 */
export function ensureHosts(ctx: LabContext, specs: readonly HostSpec[], options: EnsureHostsOptions = {}): Promise<LabHost[]> {
  return serialized(ctx.stateDir, async () => {
    specs.forEach(checkSpec);
    const paths = hostsPaths(ctx.stateDir);
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    await mkdir(paths.skel, { recursive: true, mode: 0o755 });
    await ensurePrivsepDir();
    const operatorKey = await ensureKeyPair(paths.keyFile, 'axe-lab-operator');
    const registry = await readRegistry(ctx.stateDir);
    const byName = new Map(registry.hosts.map((h) => [h.name, h]));

    // Ports: an existing host keeps its own; a new one takes the next free one from the base.
    const used = new Set(registry.hosts.map((h) => h.port));
    let candidate = options.basePort ?? DEFAULT_HOST_PORT_BASE;
    const ports = new Map<string, number>();
    for (const spec of specs) {
      const known = byName.get(spec.name);
      if (known) {
        ports.set(spec.name, known.port);
        continue;
      }
      while (used.has(candidate) || !(await portFree(candidate))) candidate += 1;
      used.add(candidate);
      ports.set(spec.name, candidate);
    }

    // useradd locks /etc/passwd: users one at a time; the rest in parallel.
    const users = new Map<string, UserEntry>();
    for (const spec of specs) users.set(spec.name, await ensureUser(ctx.stateDir, spec.name));

    const made = await mapLimit(specs, PARALLEL, async (spec): Promise<LabHost> => {
      const user = users.get(spec.name) as UserEntry;
      const port = ports.get(spec.name) as number;
      const dir = hostDir(ctx.stateDir, spec.name);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const previous = await readSettings(ctx.stateDir, spec.name);
      const settings: HostSettings = {
        bwVersion: spec.bwVersion ?? null,
        sleep: spec.sleep ?? previous?.sleep ?? 0,
        macosVersion: spec.macosVersion ?? DEFAULT_MACOS_VERSION,
        marker: userMarker(ctx.stateDir),
      };
      await writeSettings(ctx.stateDir, spec.name, settings);
      const layout = await layoutHome(user, settings, operatorKey);
      const files = sshdFiles(dir);
      await ensureKeyPair(files.hostKey, `${spec.fqdn} (axe lab)`);
      await startSshd(files, { port, address: LAB_ADDRESS, user: user.name, path: layout.systemBin, tmpdir: layout.tmp });
      if (!(await sshAnswers(LAB_ADDRESS, port))) throw new Error(`lab host ${spec.name}: sshd on ${LAB_ADDRESS}:${port} does not answer (see ${files.log})`);
      return { name: spec.name, fqdn: spec.fqdn, user: user.name, address: LAB_ADDRESS, port, home: user.home };
    });

    for (const host of made) byName.set(host.name, host);
    const all = [...byName.values()];
    await writeRegistry(ctx.stateDir, all, await hostKeys(ctx.stateDir, all.map((h) => h.name)));
    return made;
  });
}

/** Names of every host this state dir may have left: registry entries, host folders, marked users. */
async function everyHostName(stateDir: string): Promise<string[]> {
  const paths = hostsPaths(stateDir);
  const names = new Set((await readRegistry(stateDir)).hosts.map((h) => h.name));
  const entries = await readdir(paths.dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory() && entry.name !== 'skel' && NAME.test(entry.name)) names.add(entry.name);
  const marker = userMarker(stateDir);
  for (const user of await readUsers()) {
    if (user.name.startsWith(`${LAB_PREFIX}-`) && user.gecos === marker) names.add(user.name.slice(LAB_PREFIX.length + 1));
  }
  return [...names].sort();
}

/**
 * Removes hosts (all of this state dir's when `names` is omitted): stops each
 * sshd and its sessions, stops the processes of the host's user, deletes the
 * user with its home, its folder, and its registry and known_hosts entries.
 */
export function removeHosts(ctx: LabContext, names?: readonly string[]): Promise<void> {
  return serialized(ctx.stateDir, async () => {
    const targets = names ? [...names] : await everyHostName(ctx.stateDir);
    const marker = userMarker(ctx.stateDir);
    const users = (await Promise.all(targets.map((name) => findUser(userName(name))))).filter((u): u is UserEntry => u !== null);
    const ours = users.filter((u) => u.gecos === marker);
    for (const user of users) if (user.gecos !== marker) ctx.log(`hosts: leaving user ${user.name} alone (not made by this lab)`);
    // One look at /proc for all hosts: each sshd with its sessions, and whatever else runs as a host user.
    const table = await listProcesses();
    const uids = new Set(ours.map((u) => u.uid));
    const pids = new Set(table.filter((p) => uids.has(p.uid)).map((p) => p.pid));
    for (const name of targets) for (const pid of await sshdProcesses(sshdFiles(hostDir(ctx.stateDir, name)), table)) pids.add(pid);
    if (pids.size > 0) await stopPids([...pids]);
    for (const user of ours) await deleteUser(user);
    await Promise.all(targets.map((name) => rm(hostDir(ctx.stateDir, name), { recursive: true, force: true })));
    const registry = await readRegistry(ctx.stateDir);
    if (registry.hosts.length === 0 && !existsSync(hostsPaths(ctx.stateDir).registry)) return;
    const remaining = registry.hosts.filter((h) => !targets.includes(h.name));
    await writeRegistry(ctx.stateDir, remaining, await hostKeys(ctx.stateDir, remaining.map((h) => h.name)));
  });
}

/** The hosts of the registry (empty when the part is down). */
export async function listHosts(stateDir: string): Promise<LabHost[]> {
  return (await readRegistry(stateDir)).hosts;
}

/** Puts a host "to sleep" (minutes > 0) or keeps it awake (0): what its `pmset -g` answers from now on. */
export async function setHostSleep(stateDir: string, name: string, minutes: number): Promise<void> {
  const host = (await listHosts(stateDir)).find((h) => h.name === name);
  if (!host) throw new Error(`no lab host ${name} (run axe lab up)`);
  await writeSleep(host.home, minutes);
  const settings = await readSettings(stateDir, name);
  if (settings) await writeSettings(stateDir, name, { ...settings, sleep: Math.max(0, Math.trunc(minutes)) });
}

/** The product's SSH target for a lab host: known by its FQDN, reached on loopback. */
export function sshTarget(host: LabHost): SshTarget {
  return { name: host.fqdn, address: host.address, port: host.port, user: host.user };
}

/** The operator key and the pinned known_hosts, as the product's `connect()` takes them. */
export async function labSshCredentials(stateDir: string): Promise<SshCredentials> {
  const paths = hostsPaths(stateDir);
  return { privateKey: await readFile(paths.keyFile), knownHosts: await loadKnownHosts(paths.knownHosts) };
}

/** The non-login PATH a lab host's sessions get (for assertions and docs). */
export function nonLoginPath(host: LabHost): string {
  return homeLayout(host.home).systemBin;
}

export const hostsPart: LabPart = {
  name: 'hosts',
  async up(ctx: LabContext) {
    const specs = await customerHostSpecs();
    const hosts = await ensureHosts(ctx, specs);
    ctx.log(`hosts: ${hosts.map((h) => `${h.name} ${h.address}:${h.port}`).join(', ')}`);
  },
  async down(ctx: LabContext) {
    await removeHosts(ctx);
    const dir = hostsPaths(ctx.stateDir).dir;
    // A crashed run may have left an sshd whose host folder is already gone: find it by its config path.
    const strays = (await listProcesses()).filter((p) => p.cmdline.includes(`-f ${dir}/`)).map((p) => p.pid);
    if (strays.length > 0) await stopPids(strays);
    await rm(dir, { recursive: true, force: true });
  },
  async status(ctx: LabContext): Promise<LabPartStatus> {
    const hosts = await listHosts(ctx.stateDir);
    if (hosts.length === 0) return { name: 'hosts', ready: false, detail: 'no lab hosts (run axe lab up)' };
    const answers = await Promise.all(hosts.map((h) => sshAnswers(h.address, h.port)));
    const silent = hosts.filter((_, i) => !answers[i]);
    if (silent.length > 0) {
      return { name: 'hosts', ready: false, detail: `sshd not answering for ${silent.map((h) => `${h.name} (${h.address}:${h.port})`).join(', ')} (run axe lab up)` };
    }
    return { name: 'hosts', ready: true, detail: `${hosts.length} hosts answer SSH: ${hosts.map((h) => `${h.name} ${h.address}:${h.port}`).join(', ')}` };
  },
};
