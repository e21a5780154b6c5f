/**
 * cloudflared on the Mac mini: its config.yml (tunnel id + the customer's
 * ingress rules, catch-all last) and credentials (0600) under
 * `~/.axe/cloudflared/`, the service running with exactly those files, ready,
 * and the public `/cdn-cgi/trace` answering through the tunnel.
 *
 * Rules:
 * - The credentials are compared by digest (the vault's unkeyed `sha256:`
 *   prefix against the file's sha256), never by value. Not the keyed
 *   fingerprint: the host's file and the service hash it feeds must read the
 *   same from every install (the CLI's and the controller's AXE_HOME).
 *   The credentials hold a 32-byte random tunnel secret: nothing to guess.
 * - The service carries the hash of what it was started with (`serviceHash`):
 *   a changed file, image or mode restarts it; nothing else does.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { trap } from '../traps.js';
import { describeIngress, type IngressRule } from '../tunnel-ingress.js';
import type { Action, Health } from '../types.js';

export const CLOUDFLARED_DIR = '.axe/cloudflared';

export type ServiceManager = 'launchd' | 'container';

export interface CloudflaredDesired {
  customer: string;
  /** null while the tunnel does not exist yet (a plan before the first apply). */
  tunnelId: string | null;
  ingress: IngressRule[];
  configText: string | null;
  configSha256: string | null;
  credentialsItem: string;
  /** The vault's content digest of the credentials (`sha256:` + 12 hex), null when not in the vault. */
  credentialsDigest: string | null;
  /** Hash of config, credentials digest and how the service runs. */
  serviceHash: string | null;
  /** `https://{public_domain}/cdn-cgi/trace`. */
  publicTraceUrl: string;
}

export interface FileFact {
  sha256: string;
  /** Octal permission bits, e.g. `600`. */
  mode: string;
}

export interface CloudflaredObserved {
  manager: ServiceManager | 'none';
  config: FileFact | null;
  credentials: FileFact | null;
  service: { state: 'running' | 'stopped' | 'missing'; ready: boolean | null; hash: string | null };
  /** null when not checked (service not running). */
  publicTrace: { ok: boolean; status: number; detail: string } | null;
  /** A launchd domain error seen while observing (GUI domain over SSH). */
  launchdGuiDomain?: boolean;
}

export interface CloudflaredPayload {
  file?: 'config' | 'credentials';
}

export function renderConfig(tunnelId: string, ingress: IngressRule[]): string {
  const rules = ingress.map((r) => ({ ...(r.hostname ? { hostname: r.hostname } : {}), ...(r.path ? { path: r.path } : {}), service: r.service }));
  const header = '# Written by axe (cloudflared reconciler). Changes here are reverted: edit customers.yaml / services/*.yaml instead.\n';
  return header + stringify({ tunnel: tunnelId, 'no-autoupdate': true, ingress: rules });
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function desiredCloudflared(input: {
  customer: string;
  tunnelId: string | null;
  ingress: IngressRule[];
  credentialsItem: string;
  credentialsDigest: string | null;
  publicDomain: string;
  serviceSpec: string;
}): CloudflaredDesired {
  const configText = input.tunnelId ? renderConfig(input.tunnelId, input.ingress) : null;
  const configSha256 = configText ? sha256(configText) : null;
  const serviceHash = configSha256 && input.credentialsDigest ? sha256(`${configSha256}\n${input.credentialsDigest}\n${input.serviceSpec}`).slice(0, 16) : null;
  return {
    customer: input.customer,
    tunnelId: input.tunnelId,
    ingress: input.ingress,
    configText,
    configSha256,
    credentialsItem: input.credentialsItem,
    credentialsDigest: input.credentialsDigest,
    serviceHash,
    publicTraceUrl: `https://${input.publicDomain}/cdn-cgi/trace`,
  };
}

function credentialsMatch(desired: CloudflaredDesired, observed: CloudflaredObserved): boolean {
  const fp = desired.credentialsDigest?.replace(/^sha256:/, '');
  return Boolean(fp && observed.credentials && observed.credentials.sha256.startsWith(fp) && observed.credentials.mode === '600');
}

export function diffCloudflared(desired: CloudflaredDesired, observed: CloudflaredObserved | null): Action<CloudflaredPayload>[] {
  const target = `cloudflared:${desired.customer}`;
  const actions: Action<CloudflaredPayload>[] = [];
  if (!desired.tunnelId) {
    return [
      { kind: 'cloudflared', op: 'push-config', target, summary: `push config.yml (after the tunnel exists): ${describeIngress(desired.ingress)}`, payload: { file: 'config' } },
      { kind: 'cloudflared', op: 'push-credentials', target, summary: `push the tunnel credentials from the vault (${desired.credentialsItem}, mode 0600)`, payload: { file: 'credentials' } },
      { kind: 'cloudflared', op: 'reload', target, summary: 'start cloudflared', payload: {} },
    ];
  }
  if (!observed || observed.manager === 'none') return [];
  if (observed.config?.sha256 !== desired.configSha256) {
    actions.push({ kind: 'cloudflared', op: 'push-config', target, summary: `${observed.config ? 'update' : 'push'} config.yml: ${describeIngress(desired.ingress)}`, payload: { file: 'config' } });
  }
  if (desired.credentialsDigest && !credentialsMatch(desired, observed)) {
    const why = !observed.credentials ? 'missing' : observed.credentials.mode !== '600' ? `mode ${observed.credentials.mode}` : 'differs';
    actions.push({ kind: 'cloudflared', op: 'push-credentials', target, summary: `push the tunnel credentials from the vault (${desired.credentialsItem}; on the host: ${why}), mode 0600`, payload: { file: 'credentials' } });
  }
  const canRun = desired.credentialsDigest !== null;
  const stale = observed.service.state !== 'running' || observed.service.hash !== desired.serviceHash;
  if (canRun && (actions.length > 0 || stale)) {
    const why = observed.service.state !== 'running' ? `service ${observed.service.state}` : actions.length > 0 ? 'files changed' : 'started with other settings';
    actions.push({ kind: 'cloudflared', op: 'reload', target, summary: `(re)start cloudflared as a ${observed.manager === 'launchd' ? 'LaunchDaemon' : 'container'} (${why})`, payload: {} });
  }
  return actions;
}

export function healthCloudflared(desired: CloudflaredDesired, observed: CloudflaredObserved | null): Health {
  if (!desired.tunnelId) return { status: 'Missing', reason: 'NoTunnel', message: 'waiting for the tunnel to exist' };
  if (!desired.credentialsDigest) return { status: 'Degraded', reason: 'CredentialsNotInVault', message: `${desired.credentialsItem} is not in the vault (the tunnel reconciler stores it)` };
  if (!observed) return { status: 'Unknown', reason: 'NotObserved', message: 'the host could not be observed' };
  if (observed.launchdGuiDomain) return { status: 'Degraded', reason: 'LaunchdGuiDomain', message: 'cloudflared is loaded in a gui/ domain', trap: trap('launchd-gui-domain') };
  if (observed.manager === 'none') return { status: 'Degraded', reason: 'NoServiceManager', message: 'neither launchctl nor docker found on the host' };
  if (!observed.config) return { status: 'Missing', reason: 'ConfigMissing', message: `~/${CLOUDFLARED_DIR}/config.yml is missing` };
  if (observed.config.sha256 !== desired.configSha256) return { status: 'Degraded', reason: 'ConfigDrift', message: 'config.yml on the host differs from the rendered one' };
  if (!credentialsMatch(desired, observed)) return { status: 'Degraded', reason: 'CredentialsDrift', message: observed.credentials ? `credentials.json differs or is not 0600 (mode ${observed.credentials.mode})` : 'credentials.json is missing' };
  if (observed.service.state !== 'running') return { status: 'Degraded', reason: 'NotRunning', message: `cloudflared is ${observed.service.state}` };
  if (observed.service.hash !== desired.serviceHash) return { status: 'Degraded', reason: 'StaleService', message: 'cloudflared runs with settings other than the desired ones' };
  if (observed.service.ready === false) return { status: 'Progressing', reason: 'NotReady', message: 'cloudflared runs; /ready is not 200 yet' };
  if (observed.publicTrace && !observed.publicTrace.ok) return { status: 'Degraded', reason: 'PublicUnreachable', message: `${desired.publicTraceUrl}: ${observed.publicTrace.detail}` };
  return { status: 'Healthy', reason: 'Ready', message: `running as a ${observed.manager === 'launchd' ? 'LaunchDaemon' : 'container'}, ready, ${desired.publicTraceUrl} answers` };
}
