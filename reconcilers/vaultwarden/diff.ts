/**
 * The customer's Vaultwarden (`axe vault bootstrap`): its compose file carries
 * the manifest's keys (the runbook's four: SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION,
 * SIGNUPS_ALLOWED, SSO_ONLY=false, ORGANIZATION_INVITE_AUTO_ACCEPT) and a DOMAIN
 * with its `/vault` path; the running container was created from that file.
 *
 * Rules:
 * - The file is the customer's: it is patched in place (patch.ts), never
 *   rewritten; the container is force-recreated only when something changed
 *   (the file, or a container started from an older file).
 * - The traps are judged on what runs (the container's env), or on the file
 *   when nothing runs.
 */
import { trap, type Trap } from '../traps.js';
import type { Action, Health } from '../types.js';
import { envChanges, type VaultFile, type VaultPatchSpec, wantedEnv } from './patch.js';

export interface VaultwardenDesired extends VaultPatchSpec {
  customer: string;
  publicDomain: string;
  /** `~/.axe/vault/docker-compose.yml`. */
  composeFile: string;
  /** Compose project used when no vault container exists yet. */
  defaultProject: string;
  /** Inside health check: the vault's port and its alive path. */
  port: number;
  alivePath: string;
}

export interface VaultwardenObserved {
  docker: boolean;
  /** null: the file is not on the host. */
  file: { text: string; mode: string; parsed: VaultFile | null; error?: string } | null;
  container: { id: string; state: string; health: string | null; project: string; orphaned: boolean; env: Map<string, string> } | null;
  networks: Set<string>;
  inside: 'ok' | 'fail' | null;
}

export interface VaultwardenPayload {
  name?: string;
  recreate?: boolean;
}

export function diffVaultwarden(desired: VaultwardenDesired, observed: VaultwardenObserved | null): Action<VaultwardenPayload>[] {
  if (!observed?.docker || !observed.file?.parsed?.env) return [];
  const target = `vaultwarden:${desired.customer}`;
  const actions: Action<VaultwardenPayload>[] = [];
  const env = observed.file.parsed.env;
  const changes = envChanges(env, desired);
  if (changes.length) {
    const what = changes.map((c) => (c.from === null ? `add ${c.key}` : `${c.key} ${JSON.stringify(c.to)} (was ${JSON.stringify(c.from)})`)).join(', ');
    actions.push({ kind: 'vaultwarden', op: 'patch', target, summary: `patch ${desired.composeFile} in place: ${what}`, payload: {} });
  }
  for (const name of observed.file.parsed.externalNetworks) {
    if (!observed.networks.has(name)) actions.push({ kind: 'vaultwarden', op: 'create-network', target, summary: `create the external docker network ${name} the vault joins`, payload: { name } });
  }
  const c = observed.container;
  const wanted = wantedEnv(env, desired);
  const stale = c !== null && [...wanted].some(([k, v]) => c.env.get(k) !== v);
  if (changes.length || stale || c?.orphaned) {
    const why = changes.length ? 'the file changed' : c?.orphaned ? 'its network was removed' : 'it runs an older version of the file';
    actions.push({ kind: 'vaultwarden', op: 'up', target, summary: `force-recreate ${desired.container} (${why})`, payload: { recreate: true } });
  } else if (!c || c.state !== 'running') {
    actions.push({ kind: 'vaultwarden', op: 'up', target, summary: `start ${desired.container} (${c ? c.state : 'not created'})`, payload: { recreate: false } });
  }
  return actions;
}

function traps(env: Map<string, string>, desired: VaultwardenDesired): Trap[] {
  const found: Trap[] = [];
  if (env.get('SSO_ONLY') === 'true') found.push(trap('vaultwarden-sso-only', { customer: desired.customer }));
  const missing = Object.entries(desired.required)
    .filter(([k, v]) => env.get(k) !== v && !(k === 'SSO_ONLY' && env.get(k) === 'true'))
    .map(([k]) => k);
  if (missing.length) found.push(trap('vaultwarden-keys-missing', { keys: missing.join(', '), customer: desired.customer }));
  const domain = env.get('DOMAIN');
  if (!domain || !domain.replace(/\/+$/, '').endsWith(desired.domainPath)) found.push(trap('vaultwarden-domain-path', { public_domain: desired.publicDomain }));
  return found;
}

export function healthVaultwarden(desired: VaultwardenDesired, observed: VaultwardenObserved | null): Health {
  if (!observed) return { status: 'Unknown', reason: 'NotObserved', message: 'the host could not be observed' };
  if (!observed.docker) return { status: 'Degraded', reason: 'DockerMissing', message: 'docker was not found by absolute path on the host' };
  if (!observed.file) return { status: 'Missing', reason: 'NoVault', message: `${desired.composeFile} is not on the host: the customer's vault is not installed` };
  if (!observed.file.parsed?.env) return { status: 'Degraded', reason: 'BadComposeFile', message: observed.file.error ?? `service ${desired.container} is not in ${desired.composeFile}` };
  const c = observed.container;
  const found = traps(c && c.state === 'running' ? c.env : observed.file.parsed.env, desired);
  const [first, ...rest] = found;
  const withTraps = (h: Health): Health => ({ ...h, ...(first ? { trap: first } : {}), ...(rest.length ? { findings: rest } : {}) });
  if (!c || c.state !== 'running') return withTraps({ status: 'Degraded', reason: 'NotRunning', message: `${desired.container} is ${c ? c.state : 'not created'}` });
  if (first) return withTraps({ status: 'Degraded', reason: first.trap === 'vaultwarden-sso-only' ? 'SsoOnly' : first.trap === 'vaultwarden-keys-missing' ? 'KeysMissing' : 'DomainPath', message: `${desired.container} runs without the settings the runbook requires` });
  if (c.health === 'unhealthy' || observed.inside === 'fail') return { status: 'Degraded', reason: 'Unhealthy', message: `${desired.alivePath} does not answer inside ${desired.container}` };
  if (c.health === 'starting') return { status: 'Progressing', reason: 'Starting', message: `${desired.container} is starting` };
  return { status: 'Healthy', reason: 'Running', message: `${desired.container} runs with ${Object.keys(desired.required).length} required keys and DOMAIN ${c.env.get('DOMAIN')}` };
}
