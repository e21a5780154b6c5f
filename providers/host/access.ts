/**
 * How the operator reaches a customer's Mac mini: the SSH target for a
 * customer (its MagicDNS FQDN, or the configured override: the lab's loopback
 * sshd), the operator key and the pinned known_hosts, and one pooled
 * connection per host for a whole scan.
 *
 * Rules:
 * - The key and known_hosts are read once, when first needed; a missing or
 *   unreadable file is a terminal error naming the config key to fix.
 * - The name used for host-key verification is always the FQDN from
 *   customers.yaml, so a lab override cannot weaken the check.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { terminal } from '../../core/errors.js';
import type { ControllerConfig } from '../../schemas/controller-config.js';
import { loadKnownHosts } from './known-hosts.js';
import { FileSums } from './facts/files.js';
import type { ProbeMemo } from './probe.js';
import { type HostConnection, HostPool, type SshStats, type SshTarget } from './ssh.js';

export interface HostAccess {
  /** The target for a host name as written in customers.yaml. */
  target(tailscaleHost: string, user?: string): SshTarget;
  connection(target: SshTarget): Promise<HostConnection>;
  /** Extra tool directories searched on hosts (config `ssh.tool_paths`). */
  readonly toolPaths: string[];
  /** What earlier probes learnt per host (`user@address:port`), so later probes skip slow commands. */
  readonly probeMemo: Map<string, ProbeMemo>;
  /**
   * Compose config hashes a host computed, per `user@address:port#service`,
   * with the key of the inputs they were computed from (ComposeHashMemo), so
   * an observation whose inputs are unchanged skips `compose config --hash`.
   */
  readonly hashMemo: Map<string, ComposeHashMemo>;
  /** Sums of files read on the hosts (facts/files.ts), for this process's life. */
  readonly fileSums: FileSums;
  stats(): Record<string, SshStats>;
  close(): void;
}

function expand(path: string): string {
  return path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/** What a stack observation computed with `compose config --hash`: its output lines, and the sum of the inputs (`key`). */
export interface ComposeHashMemo {
  key: string;
  lines: string[];
}

function loadMemo<T>(file: string | undefined): Map<string, T> {
  if (!file) return new Map();
  try {
    return new Map(Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, T>));
  } catch {
    return new Map();
  }
}

function saveMemo<T>(file: string | undefined, memo: Map<string, T>): void {
  if (!file || memo.size === 0) return;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(Object.fromEntries(memo), null, 1), { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // A lost memo only makes the next probe slower.
  }
}

/**
 * `memoFile` keeps what probes learnt (tool versions by binary stamp, never a
 * secret) across processes, so a CLI run's probe is as cheap as the
 * controller's next scan; `hashMemoFile` the compose config hashes (sums,
 * never a value).
 */
export function openHostAccess(ssh: ControllerConfig['ssh'], options: { memoFile?: string; hashMemoFile?: string } = {}): HostAccess {
  let pool: Promise<HostPool> | null = null;
  const probeMemo = loadMemo<ProbeMemo>(options.memoFile);
  const hashMemo = loadMemo<ComposeHashMemo>(options.hashMemoFile);
  let opened: HostPool | null = null;
  const keyFile = expand(ssh.key_file ?? '~/.ssh/id_ed25519');
  const knownHostsFile = expand(ssh.known_hosts ?? '~/.axe/known_hosts');

  async function makePool(): Promise<HostPool> {
    const privateKey = await readFile(keyFile).catch((error: NodeJS.ErrnoException) => {
      throw terminal(`cannot read the operator SSH key ${keyFile} (${error.code ?? 'error'})`, { resource: 'host', fix: 'set ssh.key_file in the axe config to the operator key (mode 0600)' });
    });
    const knownHosts = await loadKnownHosts(knownHostsFile).catch((error: NodeJS.ErrnoException) => {
      throw terminal(`cannot read the pinned known_hosts ${knownHostsFile} (${error.code ?? 'error'})`, { resource: 'host', fix: 'set ssh.known_hosts in the axe config to the file pinning every Mac mini key' });
    });
    opened = new HostPool({ privateKey, knownHosts });
    return opened;
  }

  return {
    toolPaths: ssh.tool_paths,
    probeMemo,
    hashMemo,
    fileSums: new FileSums(),
    target(tailscaleHost, user) {
      const name = tailscaleHost.replace(/\.$/, '');
      const override = ssh.overrides[name];
      return {
        name,
        address: override?.address ?? name,
        port: override?.port ?? 22,
        user: override?.user ?? user ?? ssh.default_user,
      };
    },
    async connection(target) {
      pool ??= makePool();
      pool.catch(() => (pool = null));
      return (await pool).get(target);
    },
    stats() {
      return opened?.stats() ?? {};
    },
    close() {
      opened?.closeAll();
      saveMemo(options.memoFile, probeMemo);
      saveMemo(options.hashMemoFile, hashMemo);
    },
  };
}
