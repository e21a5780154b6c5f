/**
 * The host reconciler: observes the Mac mini (tailnet peer, SSH, tools, sleep)
 * and reports; it never changes the host. Its observation runs the host's one
 * batched round trip, carrying the sections of every other kind that reads
 * the host, so later kinds answer from the scan (through ../host-read.ts).
 */
import { AxeError, errorLine } from '../../core/errors.js';
import { memoFrom, parseProbe, probeScript } from '../../providers/host/probe.js';
import { findPeer } from '../../providers/tailscale/index.js';
import { isSovereign } from '../../schemas/repo.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { SCAN_KEYS } from '../scan.js';
import { trap, type TrapName, TRAPS } from '../traps.js';
import { diffHost, healthHost, type HostDesired, type HostObserved } from './diff.js';

export const PROBE_SECTION = 'probe';

function isTrapName(name: string | undefined): name is TrapName {
  return name !== undefined && name in TRAPS;
}

/** The host's batched sections, or the failure as an observation (SSH problems are health, not errors). */
export async function observeHostSections(ctx: CustomerContext): Promise<{ ok: true; sections: Awaited<ReturnType<CustomerContext['env']['scan']['host']>> } | { ok: false; observed: HostObserved['ssh'] }> {
  try {
    const sections = await ctx.env.scan.host(ctx.target, ctx.hostSections);
    return { ok: true, sections };
  } catch (error) {
    const name = error instanceof AxeError ? error.trap : undefined;
    const message = errorLine(error);
    return { ok: false, observed: { ok: false, message, ...(isTrapName(name) ? { trap: trap(name, { user: ctx.target.user }) } : {}) } };
  }
}

export const hostReconciler: ResourceReconciler<HostDesired, HostObserved> = {
  kind: 'host',
  dependsOn: [],
  desired(ctx) {
    const sovereign = isSovereign(ctx.env.state.customers, ctx.id);
    return {
      customer: ctx.id,
      tailscaleHost: ctx.customer.tailscale_host,
      needs: sovereign ? [] : ['docker', 'git'],
      bwMaxVersion: ctx.env.settings.bwMaxVersion,
    };
  },
  hostSection(ctx) {
    const hosts = ctx.env.providers.hosts;
    return { name: PROBE_SECTION, script: probeScript(hosts.toolPaths, hosts.probeMemo.get(SCAN_KEYS.host(ctx.target))) };
  },
  async observe(ctx, desired) {
    // A host reached before (its probe memo is kept) gets its SSH connection opened while the
    // tailnet is asked (~100 ms each): a failure here is ignored, the batch below connects again.
    const hosts = ctx.env.providers.hosts;
    if (hosts.probeMemo.has(SCAN_KEYS.host(ctx.target))) void hosts.connection(ctx.target).catch(() => undefined);
    const view = await ctx.env.scan.tailnet();
    const match = findPeer(view, desired.tailscaleHost);
    const peer = match ? { dnsName: match.peer.dnsName, hostName: match.peer.hostName, online: match.peer.online, direct: match.peer.direct, relay: match.peer.relay, matchedBy: match.matchedBy } : null;
    if (!peer || !peer.online) return { peer, ssh: { ok: false, message: 'not tried: the peer is not online' }, facts: null };
    // SSH always goes to the FQDN: a short alias in customers.yaml is resolved to the peer's MagicDNS name.
    if (peer.matchedBy === 'short-alias') ctx.target = ctx.env.providers.hosts.target(peer.dnsName, ctx.customer.ssh_user);
    const host = await observeHostSections(ctx);
    if (!host.ok) return { peer, ssh: host.observed, facts: null };
    const probe = host.sections.get(PROBE_SECTION);
    const facts = probe ? parseProbe(probe.output) : null;
    const memo = facts ? memoFrom(facts, hosts.probeMemo.get(SCAN_KEYS.host(ctx.target))) : null;
    if (memo) ctx.env.providers.hosts.probeMemo.set(SCAN_KEYS.host(ctx.target), memo);
    return { peer, ssh: { ok: true }, facts };
  },
  diff: () => diffHost(),
  health: healthHost,
  async act() {
    // The host is reported, never changed.
  },
  reads: ['tailnet', 'host'],
};
