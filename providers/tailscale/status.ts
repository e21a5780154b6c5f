/**
 * `tailscale status --json`: the subset of ipnstate.Status axe reads, and the
 * tailnet view the host check works from.
 *
 * Rules:
 * - Only the fields below are read; every other field of the real output is
 *   ignored, so a newer tailscale that adds fields still parses.
 * - Go's nil slices and maps arrive as `null`; they read as empty.
 * - A peer is `direct` when it has a current UDP endpoint (`CurAddr` not empty);
 *   an online peer without one is reached through its DERP `Relay`.
 * - `LastSeen` is Go's zero time (`0001-01-01T00:00:00Z`) for peers that are
 *   online; that reads as `null`.
 * - DNS names are compared lower-case and without the trailing dot.
 */
import { z } from 'zod';

const GO_ZERO_TIME = /^0001-01-01T00:00:00/;

const nullableStrings = z
  .array(z.string())
  .nullish()
  .transform((value) => value ?? []);

export const TailscalePeerStatus = z.looseObject({
  ID: z.string().optional(),
  HostName: z.string(),
  /** The peer's FQDN, ending with a dot ("host.tailnet.ts.net."). */
  DNSName: z.string(),
  OS: z.string().default(''),
  TailscaleIPs: nullableStrings,
  CurAddr: z.string().default(''),
  Relay: z.string().default(''),
  LastSeen: z.string().optional(),
  Online: z.boolean().default(false),
  Active: z.boolean().default(false),
});
export type TailscalePeerStatus = z.infer<typeof TailscalePeerStatus>;

export const TailscaleStatus = z.looseObject({
  Version: z.string().optional(),
  BackendState: z.string(),
  Self: TailscalePeerStatus.nullish(),
  MagicDNSSuffix: z.string().default(''),
  CurrentTailnet: z
    .looseObject({
      Name: z.string().default(''),
      MagicDNSSuffix: z.string().default(''),
      MagicDNSEnabled: z.boolean().default(false),
    })
    .nullish(),
  Peer: z
    .record(z.string(), TailscalePeerStatus)
    .nullish()
    .transform((value) => value ?? {}),
});
export type TailscaleStatus = z.infer<typeof TailscaleStatus>;

export interface TailnetPeer {
  hostName: string;
  /** MagicDNS FQDN, lower-case, without the trailing dot. */
  dnsName: string;
  online: boolean;
  /** True when traffic flows peer-to-peer (CurAddr set), false when relayed by DERP. */
  direct: boolean;
  /** Home DERP region code ("tok"), '' when unknown. */
  relay: string;
  os: string;
  ips: string[];
  /** ISO time the peer was last seen by control; null while it is online (Go zero time). */
  lastSeen: string | null;
}

export interface TailnetView {
  /** ipn.State: "Running" when connected; "Stopped", "NeedsLogin", "Starting", "NoState" otherwise. */
  backendState: string;
  /** The tailnet's MagicDNS suffix without dots around it ("tail-lab.ts.net"), '' when unknown. */
  magicDnsSuffix: string;
  /** This node's own FQDN (without trailing dot), null when absent. */
  selfDnsName: string | null;
  peers: TailnetPeer[];
}

export interface PeerMatch {
  peer: TailnetPeer;
  /** `short-alias` means customers.yaml names the host by its short name: the runbook's trap. */
  matchedBy: 'fqdn' | 'short-alias';
}

/** Thrown when the text is not JSON or not the shape of `tailscale status --json`. */
export class TailscaleStatusParseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TailscaleStatusParseError';
  }
}

function normalizeDnsName(name: string): string {
  return name.trim().toLowerCase().replace(/\.+$/, '');
}

function toPeer(status: TailscalePeerStatus): TailnetPeer {
  const lastSeen = status.LastSeen && !GO_ZERO_TIME.test(status.LastSeen) ? status.LastSeen : null;
  return {
    hostName: status.HostName,
    dnsName: normalizeDnsName(status.DNSName),
    online: status.Online,
    direct: status.CurAddr !== '',
    relay: status.Relay,
    os: status.OS,
    ips: status.TailscaleIPs,
    lastSeen,
  };
}

/** Parses the stdout of `tailscale status --json` into the tailnet view. Throws TailscaleStatusParseError. */
export function parseTailscaleStatus(json: string): TailnetView {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new TailscaleStatusParseError('tailscale status --json did not print JSON', { cause: error });
  }
  const result = TailscaleStatus.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(root)';
    throw new TailscaleStatusParseError(`tailscale status --json has an unexpected shape at ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const status = result.data;
  const suffix = status.CurrentTailnet?.MagicDNSSuffix || status.MagicDNSSuffix;
  const peers = Object.values(status.Peer)
    .map(toPeer)
    .sort((a, b) => a.dnsName.localeCompare(b.dnsName));
  return {
    backendState: status.BackendState,
    magicDnsSuffix: normalizeDnsName(suffix),
    selfDnsName: status.Self ? normalizeDnsName(status.Self.DNSName) || null : null,
    peers,
  };
}

/**
 * Finds the peer `host` names: the MagicDNS FQDN (with or without trailing dot)
 * matches as `fqdn`; a bare name with no dot matches a peer's first DNS label
 * (or, failing that, its HostName) as `short-alias`. Anything else is null.
 */
export function findPeer(view: TailnetView, host: string): PeerMatch | null {
  const wanted = normalizeDnsName(host);
  if (wanted === '') return null;
  if (wanted.includes('.')) {
    const peer = view.peers.find((p) => p.dnsName === wanted);
    return peer ? { peer, matchedBy: 'fqdn' } : null;
  }
  const byLabel = view.peers.find((p) => p.dnsName.split('.')[0] === wanted);
  if (byLabel) return { peer: byLabel, matchedBy: 'short-alias' };
  const byHostName = view.peers.find((p) => p.hostName.toLowerCase() === wanted);
  return byHostName ? { peer: byHostName, matchedBy: 'short-alias' } : null;
}
