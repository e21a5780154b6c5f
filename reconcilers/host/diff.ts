/**
 * The host check: the Mac mini is a peer online and direct in the tailnet,
 * reached by SSH key on its MagicDNS FQDN, with docker, Compose v2, git (and
 * bw when the host pulls secrets itself) found by absolute path, and sleep
 * disabled. Nothing is created: a problem is Degraded with its trap's fix.
 */
import type { HostFacts } from '../../providers/host/probe.js';
import { bwCrashTrap, trap, type Trap } from '../traps.js';
import type { Action, Health } from '../types.js';

export interface HostDesired {
  customer: string;
  /** tailscale_host as written in customers.yaml. */
  tailscaleHost: string;
  /** Tools the customer's stacks need on the host. */
  needs: Array<'docker' | 'git' | 'bw'>;
  /** bw versions above this crash against the OIDCWarden fork (null: no such vault). */
  bwMaxVersion: string | null;
}

export interface PeerFact {
  dnsName: string;
  hostName: string;
  online: boolean;
  direct: boolean;
  relay: string;
  matchedBy: 'fqdn' | 'short-alias';
}

export interface HostObserved {
  /** null: no such peer in the tailnet. */
  peer: PeerFact | null;
  ssh: { ok: true } | { ok: false; message: string; trap?: Trap };
  facts: HostFacts | null;
}

/** The host resource is observed and reported, never changed. */
export function diffHost(): Action[] {
  return [];
}

export function healthHost(desired: HostDesired, observed: HostObserved): Health {
  const findings: Trap[] = [];
  const { peer, ssh, facts } = observed;
  if (!peer) {
    return { status: 'Degraded', reason: 'PeerNotFound', message: `${desired.tailscaleHost} is not a peer of this tailnet`, trap: trap('tailscale-peer-offline', { host: desired.tailscaleHost }) };
  }
  if (peer.matchedBy === 'short-alias') findings.push(trap('tailscale-short-alias', { fqdn: peer.dnsName, alias: desired.tailscaleHost }));
  if (!peer.online) {
    return { status: 'Degraded', reason: 'PeerOffline', message: `${peer.dnsName} is offline in the tailnet`, trap: trap('tailscale-peer-offline', { host: peer.dnsName }), findings };
  }
  if (!ssh.ok) {
    return { status: 'Degraded', reason: 'SshFailed', message: ssh.message, ...(ssh.trap ? { trap: ssh.trap } : {}), findings };
  }
  if (!facts?.complete) return { status: 'Unknown', reason: 'ProbeIncomplete', message: 'the host probe did not finish', findings };
  if (facts.sleepMinutes !== null && facts.sleepMinutes !== 0) {
    return { status: 'Degraded', reason: 'SleepEnabled', message: `pmset sleep is ${facts.sleepMinutes} min: the Mac mini will fall asleep`, trap: trap('host-asleep'), findings };
  }
  for (const tool of desired.needs) {
    const fact = facts.tools[tool];
    if (!fact.path) return { status: 'Degraded', reason: 'ToolMissing', message: `${tool} is not installed on ${peer.dnsName} (searched the macOS tool directories)`, findings };
    if (!fact.bare) findings.push(trap('ssh-non-login-path', { tool, path: fact.path }));
  }
  if (desired.needs.includes('docker') && !facts.composeVersion) {
    return { status: 'Degraded', reason: 'ComposeMissing', message: `docker compose (v2) is not available on ${peer.dnsName}`, findings };
  }
  const bw = facts.tools.bw;
  const crash = bw.path ? bwCrashTrap(bw.version, desired.bwMaxVersion) : null;
  if (crash) {
    if (desired.needs.includes('bw')) return { status: 'Degraded', reason: 'BwCrashingVersion', message: `bw ${bw.version} is newer than ${desired.bwMaxVersion}`, trap: crash, findings };
    findings.push(crash);
  }
  if (!peer.direct) {
    return { status: 'Degraded', reason: 'PeerRelayed', message: `${peer.dnsName} is reached through DERP relay ${peer.relay || '?'}, not directly`, trap: trap('tailscale-relayed'), findings };
  }
  return { status: 'Healthy', reason: 'Ready', message: `${peer.dnsName}: direct, SSH ok, docker ${facts.tools.docker.version ?? '?'} / compose ${facts.composeVersion ?? '-'}`, ...(findings.length ? { findings } : {}) };
}
