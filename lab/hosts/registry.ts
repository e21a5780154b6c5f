/**
 * The lab hosts' files under `<stateDir>/hosts/`: the registry `hosts.json`
 * (read by other lab parts, e.g. the Tailscale stand-in), the pinned
 * `known_hosts`, the operator key pair, and each host's private settings.
 *
 * Rules:
 * - `hosts.json` keeps exactly the shape of `HostsRegistry`: other parts parse it.
 * - Every file is written atomically (temp file + rename); the private key is 0600.
 * - `known_hosts` pins each host key under `[fqdn]:port` and `[address]:port`, the
 *   very patterns the product looks up (`hostPatterns()`), as OpenSSH writes them.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import ssh2 from 'ssh2';
import { hostPatterns } from '../../providers/host/known-hosts.js';
import { LAB_PREFIX } from '../component.js';

/** One lab host as the registry lists it. */
export interface LabHost {
  /** Lab name (the customer id). */
  name: string;
  /** The MagicDNS FQDN the host stands in for. */
  fqdn: string;
  /** Unix user on this machine: `axelab-<name>`. */
  user: string;
  /** Where its sshd listens: always 127.0.0.1. */
  address: string;
  port: number;
  home: string;
}

/** `<stateDir>/hosts/hosts.json`. */
export interface HostsRegistry {
  /** The operator's private key (0600), accepted by every host. */
  keyFile: string;
  /** The pinned known_hosts the lab writes. */
  knownHosts: string;
  hosts: LabHost[];
}

/** What a host is set to, besides its identity; kept in `<stateDir>/hosts/<name>/host.json` (root only). */
export interface HostSettings {
  /** bw version the stand-in answers; null: the real bw CLI of this checkout. */
  bwVersion: string | null;
  /** `pmset -g` sleep minutes; 0 = sleep disabled. */
  sleep: number;
  /** What the `sw_vers` stand-in answers for -productVersion. */
  macosVersion: string;
  /** The marker written into the user's GECOS field (see `userMarker`). */
  marker: string;
}

export interface HostsPaths {
  dir: string;
  registry: string;
  keyFile: string;
  publicKeyFile: string;
  knownHosts: string;
  /** An empty skeleton for `useradd -k`, so homes hold only what the lab puts there. */
  skel: string;
}

export const LAB_ADDRESS = '127.0.0.1';
export const DEFAULT_HOST_PORT_BASE = 2201;
export const DEFAULT_MACOS_VERSION = '15.1';

export function hostsPaths(stateDir: string): HostsPaths {
  const dir = join(resolve(stateDir), 'hosts');
  return {
    dir,
    registry: join(dir, 'hosts.json'),
    keyFile: join(dir, 'operator_ed25519'),
    publicKeyFile: join(dir, 'operator_ed25519.pub'),
    knownHosts: join(dir, 'known_hosts'),
    skel: join(dir, 'skel'),
  };
}

/** A host's own folder: its sshd config, host key, PID file, log and settings. */
export function hostDir(stateDir: string, name: string): string {
  return join(hostsPaths(stateDir).dir, name);
}

export function userName(name: string): string {
  return `${LAB_PREFIX}-${name}`;
}

/**
 * The GECOS marker of every user this lab state dir made. A user is the lab's only
 * when its name carries LAB_PREFIX *and* its GECOS equals this marker, so a sweep
 * never touches another lab's (or a test's) users.
 */
export function userMarker(stateDir: string): string {
  return `axe-lab-host ${createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 12)}`;
}

async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, content, { mode });
  await rename(temp, path);
}

export async function readRegistry(stateDir: string): Promise<HostsRegistry> {
  const paths = hostsPaths(stateDir);
  const empty: HostsRegistry = { keyFile: paths.keyFile, knownHosts: paths.knownHosts, hosts: [] };
  const text = await readFile(paths.registry, 'utf8').catch(() => null);
  if (text === null) return empty;
  const parsed = JSON.parse(text) as Partial<HostsRegistry>;
  return { ...empty, hosts: Array.isArray(parsed.hosts) ? parsed.hosts : [] };
}

/** Writes hosts.json and the known_hosts that goes with it. `hostKeys` maps a name to its public key line. */
export async function writeRegistry(stateDir: string, hosts: LabHost[], hostKeys: Map<string, string>): Promise<void> {
  const paths = hostsPaths(stateDir);
  const sorted = [...hosts].sort((a, b) => a.name.localeCompare(b.name));
  const registry: HostsRegistry = { keyFile: paths.keyFile, knownHosts: paths.knownHosts, hosts: sorted };
  const lines = ['# axe lab: pinned host keys of the lab hosts (written by lab/hosts)'];
  for (const host of sorted) {
    const key = hostKeys.get(host.name);
    if (!key) continue;
    const [type, blob] = key.trim().split(/\s+/);
    lines.push(`${hostPatterns([host.fqdn, host.address], host.port).join(',')} ${type} ${blob}`);
  }
  await writeAtomic(paths.knownHosts, `${lines.join('\n')}\n`, 0o644);
  await writeAtomic(paths.registry, `${JSON.stringify(registry, null, 2)}\n`, 0o644);
}

export async function readSettings(stateDir: string, name: string): Promise<HostSettings | null> {
  const text = await readFile(join(hostDir(stateDir, name), 'host.json'), 'utf8').catch(() => null);
  return text === null ? null : (JSON.parse(text) as HostSettings);
}

export async function writeSettings(stateDir: string, name: string, settings: HostSettings): Promise<void> {
  await writeAtomic(join(hostDir(stateDir, name), 'host.json'), `${JSON.stringify(settings, null, 2)}\n`, 0o600);
}

/** Generates an OpenSSH-format ed25519 key pair at `path` (0600) and `path.pub`, unless it exists. Returns the public line. */
/**
 * An ed25519 pair that ssh2 itself can parse back: ssh2's generator drops a
 * public key's leading zero byte (mscdex/ssh2#1390, #1513), so about 1 pair in
 * 256 is malformed — a lab that came up with one failed its first SSH connect.
 */
export function parsableKeyPair(comment?: string): { private: string; public: string } {
  for (let attempt = 0; attempt < 16; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', comment ? { comment } : {});
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) && !(ssh2.utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error('ssh2 generated 16 unparsable ed25519 key pairs in a row');
}

export async function ensureKeyPair(path: string, comment: string): Promise<string> {
  const existing = await readFile(`${path}.pub`, 'utf8').catch(() => null);
  const hasPrivate = await readFile(path).then(() => true, () => false);
  if (existing && hasPrivate) return existing.trim();
  const pair = parsableKeyPair(comment);
  await writeAtomic(path, pair.private, 0o600);
  await writeAtomic(`${path}.pub`, `${pair.public.trim()}\n`, 0o644);
  return pair.public.trim();
}
