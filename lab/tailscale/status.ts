/**
 * What the lab's `tailscale` stand-in answers, built from lab state: its peers
 * are the lab's hosts (`<stateDir>/hosts/hosts.json`), each one online and
 * direct unless `<stateDir>/tailscale/peers.json` says otherwise; `Self` is the
 * operator host.
 *
 * Rules:
 * - The JSON has the shape of `tailscale status --json` (Go's ipnstate.Status,
 *   marshalled with two-space indent): `Peer` keyed by node key, `DNSName` with
 *   its trailing dot, nil maps and slices as `null`, Go's zero time for the
 *   `LastSeen` of an online peer.
 * - Everything derived from a name (node key, node ID, 100.x and fd7a: addresses)
 *   is a hash of it: stable across runs and machines.
 * - A missing hosts.json means no peers; a missing peers.json means the daemon
 *   is running and every peer is online and direct.
 * - Overrides are written atomically (temp file + rename).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { platform } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** The version the stand-in reports (a Tailscale release of late 2025). */
export const TAILSCALE_VERSION = '1.90.6';
const VERSION_LONG = `${TAILSCALE_VERSION}-t4a1b2c3d4-g5e6f7a8b9`;
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';
const CREATED = '2026-01-05T09:00:00Z';
const DEFAULT_SUFFIX = 'tail-lab.ts.net';
const OPERATOR_HOST = 'axe-operator';
const OPERATOR_USER_ID = 7_001_000_000_001;
const OPERATOR_LOGIN = 'ops@axelabs.ai';
const DERP_REGION = 'tok';
const DIRECT_ENDPOINT = '127.0.0.1:41641';

/** running: connected; stopped: `tailscale down` (BackendState Stopped); not-running: tailscaled is not running at all. */
export type DaemonState = 'running' | 'stopped' | 'not-running';

export interface PeerOverride {
  online?: boolean;
  relayed?: boolean;
}

export interface TailscaleLabState {
  daemon: DaemonState;
  peers: Record<string, PeerOverride & { changedAt?: string }>;
}

export function tailscalePaths(stateDir: string): { dir: string; bin: string; binary: string; state: string; hosts: string } {
  const dir = join(stateDir, 'tailscale');
  return { dir, bin: join(dir, 'bin'), binary: join(dir, 'bin', 'tailscale'), state: join(dir, 'peers.json'), hosts: join(stateDir, 'hosts', 'hosts.json') };
}

const LabHosts = z.looseObject({
  hosts: z.array(z.looseObject({ name: z.string(), fqdn: z.string() })).default([]),
});

const LabState = z.object({
  daemon: z.enum(['running', 'stopped', 'not-running']).default('running'),
  peers: z.record(z.string(), z.object({ online: z.boolean().optional(), relayed: z.boolean().optional(), changedAt: z.string().optional() })).default({}),
});

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function readTailscaleLabState(stateDir: string): Promise<TailscaleLabState> {
  const raw = await readJson(tailscalePaths(stateDir).state);
  return LabState.parse(raw ?? {});
}

async function writeLabState(stateDir: string, state: TailscaleLabState): Promise<void> {
  const { dir, state: file } = tailscalePaths(stateDir);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, file);
}

function normalize(fqdn: string): string {
  return fqdn.trim().toLowerCase().replace(/\.+$/, '');
}

/**
 * Sets how the stand-in shows the peer `fqdn`: `online: false` → offline;
 * `relayed: true` → reached through DERP (no CurAddr); omitted keys keep their
 * value. Works whether or not the host exists yet.
 */
export async function setPeerState(stateDir: string, fqdn: string, state: PeerOverride): Promise<void> {
  const current = await readTailscaleLabState(stateDir);
  const key = normalize(fqdn);
  const previous = current.peers[key] ?? {};
  const next = { ...previous, ...Object.fromEntries(Object.entries(state).filter(([, v]) => v !== undefined)) };
  const changed = next.online !== previous.online;
  current.peers[key] = { ...next, ...(changed || !previous.changedAt ? { changedAt: new Date().toISOString() } : {}) };
  await writeLabState(stateDir, current);
}

/** Sets tailscaled's state: `stopped` answers BackendState "Stopped"; `not-running` fails like a CLI with no daemon. */
export async function setDaemonState(stateDir: string, daemon: DaemonState): Promise<void> {
  const current = await readTailscaleLabState(stateDir);
  await writeLabState(stateDir, { ...current, daemon });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function nodeKey(name: string): string {
  return `nodekey:${digest(`nodekey:${name}`).toString('hex')}`;
}

function nodeId(name: string): string {
  return `n${digest(`id:${name}`).toString('base64url').replace(/[-_]/g, '').slice(0, 10)}CNTRL`;
}

/** A stable address in the tailnet's 100.64.0.0/10 and its fd7a:115c:a1e0::/48 twin. */
export function tailnetAddresses(name: string): [string, string] {
  const h = digest(`ip:${normalize(name)}`);
  const v4 = `100.${64 + (h[0]! % 64)}.${h[1]!}.${1 + (h[2]! % 254)}`;
  const v6 = `fd7a:115c:a1e0::${h.readUInt16BE(3).toString(16)}:${h.readUInt16BE(5).toString(16)}`;
  return [v4, v6];
}

function suffixOf(fqdns: string[]): string {
  const first = fqdns.find((f) => f.includes('.'));
  return first ? first.slice(first.indexOf('.') + 1) : DEFAULT_SUFFIX;
}

export interface PeerStatusJson {
  ID: string;
  PublicKey: string;
  HostName: string;
  DNSName: string;
  OS: string;
  UserID: number;
  TailscaleIPs: string[] | null;
  AllowedIPs: string[] | null;
  Addrs: string[] | null;
  CurAddr: string;
  Relay: string;
  RxBytes: number;
  TxBytes: number;
  Created: string;
  LastWrite: string;
  LastSeen: string;
  LastHandshake: string;
  Online: boolean;
  ExitNode: boolean;
  ExitNodeOption: boolean;
  Active: boolean;
  PeerAPIURL: string[] | null;
  InNetworkMap: boolean;
  InMagicSock: boolean;
  InEngine: boolean;
  KeyExpiry?: string;
}

export interface StatusJson {
  Version: string;
  TUN: boolean;
  BackendState: string;
  HaveNodeKey: boolean;
  AuthURL: string;
  TailscaleIPs: string[] | null;
  Self: PeerStatusJson;
  Health: string[] | null;
  MagicDNSSuffix: string;
  CurrentTailnet: { Name: string; MagicDNSSuffix: string; MagicDNSEnabled: boolean } | null;
  CertDomains: string[] | null;
  Peer: Record<string, PeerStatusJson> | null;
  User: Record<string, { ID: number; LoginName: string; DisplayName: string; ProfilePicURL: string }> | null;
  ClientVersion: null;
}

function peerJson(fqdn: string, os: string, override: PeerOverride & { changedAt?: string }, now: Date, running: boolean): PeerStatusJson {
  const name = normalize(fqdn);
  const [v4, v6] = tailnetAddresses(name);
  const online = running && override.online !== false;
  const direct = online && override.relayed !== true;
  const seenAt = override.changedAt ?? new Date(now.getTime() - 3600_000).toISOString();
  return {
    ID: nodeId(name),
    PublicKey: nodeKey(name),
    HostName: name.split('.')[0]!,
    DNSName: `${name}.`,
    OS: os,
    UserID: OPERATOR_USER_ID,
    TailscaleIPs: [v4, v6],
    AllowedIPs: [`${v4}/32`, `${v6}/128`],
    Addrs: direct ? [DIRECT_ENDPOINT] : null,
    CurAddr: direct ? DIRECT_ENDPOINT : '',
    Relay: DERP_REGION,
    RxBytes: online ? 148_212 : 0,
    TxBytes: online ? 96_480 : 0,
    Created: CREATED,
    LastWrite: online ? now.toISOString() : GO_ZERO_TIME,
    LastSeen: online ? GO_ZERO_TIME : seenAt,
    LastHandshake: online ? now.toISOString() : GO_ZERO_TIME,
    Online: online,
    ExitNode: false,
    ExitNodeOption: false,
    Active: online,
    PeerAPIURL: [`http://${v4}:49217`, `http://[${v6}]:49217`],
    InNetworkMap: true,
    InMagicSock: online,
    InEngine: online,
    // Keys are valid for 180 days from "now", so they never read as expired.
    KeyExpiry: new Date(Math.ceil(now.getTime() / 86_400_000) * 86_400_000 + 180 * 86_400_000).toISOString().replace('.000Z', 'Z'),
  };
}

/** `tailscale status --json` for the lab as it is now; null when tailscaled is "not running". */
export async function buildTailscaleStatus(stateDir: string, now = new Date()): Promise<StatusJson | null> {
  const { hosts: hostsFile } = tailscalePaths(stateDir);
  const lab = await readTailscaleLabState(stateDir);
  if (lab.daemon === 'not-running') return null;
  const running = lab.daemon === 'running';
  const hosts = LabHosts.parse((await readJson(hostsFile)) ?? {}).hosts;
  const suffix = suffixOf(hosts.map((h) => normalize(h.fqdn)));
  const selfName = `${OPERATOR_HOST}.${suffix}`;
  const self = peerJson(selfName, platform() === 'darwin' ? 'macOS' : 'linux', {}, now, running);
  // Self's endpoint fields describe this node, not a path to it.
  Object.assign(self, {
    CurAddr: '',
    Addrs: running ? [DIRECT_ENDPOINT] : null,
    RxBytes: 0,
    TxBytes: 0,
    LastWrite: GO_ZERO_TIME,
    LastSeen: GO_ZERO_TIME,
    LastHandshake: GO_ZERO_TIME,
    Active: false,
    InMagicSock: false,
    InEngine: false,
  });
  const peers: Record<string, PeerStatusJson> = {};
  for (const host of hosts) {
    const name = normalize(host.fqdn);
    peers[nodeKey(name)] = peerJson(name, 'macOS', lab.peers[name] ?? {}, now, running);
  }
  return {
    Version: VERSION_LONG,
    TUN: true,
    BackendState: running ? 'Running' : 'Stopped',
    HaveNodeKey: true,
    AuthURL: '',
    TailscaleIPs: running ? self.TailscaleIPs : null,
    Self: self,
    Health: running ? null : ['Tailscale is stopped.'],
    MagicDNSSuffix: suffix,
    CurrentTailnet: running ? { Name: 'axelabs.ai', MagicDNSSuffix: suffix, MagicDNSEnabled: true } : null,
    CertDomains: null,
    Peer: running ? peers : null,
    User: { [String(OPERATOR_USER_ID)]: { ID: OPERATOR_USER_ID, LoginName: OPERATOR_LOGIN, DisplayName: 'axe operator', ProfilePicURL: '' } },
    ClientVersion: null,
  };
}

/** The plain `tailscale status` table (IP, name, owner, OS, state), as the CLI prints it while running. */
export function renderPlainStatus(status: StatusJson, options: { self?: boolean; peers?: boolean; active?: boolean } = {}): string {
  const lines: string[] = [];
  const owner = OPERATOR_LOGIN.slice(0, OPERATOR_LOGIN.indexOf('@') + 1);
  const suffix = `.${status.MagicDNSSuffix}.`;
  function line(ps: PeerStatusJson, isSelf: boolean): string {
    const name = ps.DNSName.endsWith(suffix) ? ps.DNSName.slice(0, -suffix.length) : ps.DNSName.replace(/\.$/, '');
    let state: string;
    if (isSelf) state = '-';
    else if (!ps.Online) state = 'offline';
    else if (ps.CurAddr) state = `active; direct ${ps.CurAddr}, tx ${ps.TxBytes} rx ${ps.RxBytes}`;
    else state = `active; relay "${ps.Relay}", tx ${ps.TxBytes} rx ${ps.RxBytes}`;
    return `${(ps.TailscaleIPs?.[0] ?? '').padEnd(15)} ${name.padEnd(20)} ${owner.padEnd(12)} ${ps.OS.padEnd(7)} ${state}`;
  }
  if (options.self !== false) lines.push(line(status.Self, true));
  if (options.peers !== false) {
    const peers = Object.values(status.Peer ?? {}).sort((a, b) => a.DNSName.localeCompare(b.DNSName));
    for (const ps of peers) if (!options.active || ps.Active) lines.push(line(ps, false));
  }
  return `${lines.join('\n')}\n`;
}

/** `tailscale version` (plain). */
export function renderVersion(): string {
  return `${TAILSCALE_VERSION}\n  tailscale commit: 4a1b2c3d4e5f60718293a4b5c6d7e8f901234567\n  other commit: 5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f\n  go version: go1.25.3\n`;
}

export function versionJson(): Record<string, unknown> {
  return { majorMinorPatch: TAILSCALE_VERSION, short: TAILSCALE_VERSION, long: VERSION_LONG, unstableBranch: false, cap: 125 };
}
