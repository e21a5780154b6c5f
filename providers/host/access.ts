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
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { terminal } from '../../core/errors.js';
import type { ControllerConfig } from '../../schemas/controller-config.js';
import { loadKnownHosts } from './known-hosts.js';
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
  stats(): Record<string, SshStats>;
  close(): void;
}

function expand(path: string): string {
  return path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

export function openHostAccess(ssh: ControllerConfig['ssh']): HostAccess {
  let pool: Promise<HostPool> | null = null;
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
    probeMemo: new Map(),
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
    },
  };
}
