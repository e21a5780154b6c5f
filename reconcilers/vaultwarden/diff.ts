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
 * - Its SSO settings (the manifest's `env`) come as the stacks' env does: a
 *   file beside the compose file rendered from the operator vault and
 *   customers.yaml (0600, over stdin), named under the service's `env_file:`.
 *   Only sha256 sums are compared: the file's against the rendered text, each
 *   key in the running container against its rendered value. A vault running
 *   with one of them empty (or not the rendered value) is Degraded
 *   `SsoNotConfigured`, naming the keys, the missing vault item or field, and the fix.
 */
import { trap, type Trap } from '../traps.js';
import type { Action, Health } from '../types.js';
import type { EnvVarSpec } from '../templates.js';
import { envChanges, envFileChanges, type VaultFile, type VaultPatchSpec, wantedEnv } from './patch.js';

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
  /** The SSO env file (the manifest's `env`): its host path and vars; null when the manifest has none. */
  sso: { path: string; vars: EnvVarSpec[] } | null;
}

/** What the SSO env file should hold: sha256 sums only (of the file, and of each value), or what is missing to render it. */
export type SsoRender = { ok: true; sha256: string; values: Map<string, string> } | { ok: false; missingSecrets: string[]; missingFields: string[] };

export interface VaultwardenObserved {
  docker: boolean;
  /** null: the file is not on the host. */
  file: { text: string; mode: string; parsed: VaultFile | null; error?: string } | null;
  container: {
    id: string;
    state: string;
    health: string | null;
    project: string;
    orphaned: boolean;
    env: Map<string, string>;
    /** Each SSO key the container runs with: the sha256 of its value, null when empty or absent. */
    sso: Map<string, string | null>;
  } | null;
  networks: Set<string>;
  inside: 'ok' | 'fail' | null;
  /** The SSO env file on the host (null: not there). */
  envFile: { mode: string; sha256: string } | null;
  /** Null when the manifest has no `env`. */
  ssoRender: SsoRender | null;
}

/** The patch spec as far as it can go now: the SSO env file is named only once it can be rendered. */
function patchSpec(desired: VaultwardenDesired, observed: VaultwardenObserved): VaultPatchSpec {
  return desired.envFile && observed.ssoRender?.ok ? desired : { ...desired, envFile: undefined };
}

function short(hash: string | null | undefined): string {
  return hash ? `sha256:${hash.slice(0, 12)}` : 'none';
}

/** SSO keys the running container has empty, and those whose value is not the rendered one. */
function ssoGaps(desired: VaultwardenDesired, observed: VaultwardenObserved): { empty: string[]; differ: string[] } {
  const c = observed.container;
  if (!desired.sso || !c) return { empty: [], differ: [] };
  const render = observed.ssoRender;
  const empty = desired.sso.vars.map((v) => v.name).filter((k) => !c.sso.get(k));
  const differ = render?.ok ? desired.sso.vars.map((v) => v.name).filter((k) => c.sso.get(k) && c.sso.get(k) !== render.values.get(k)) : [];
  return { empty, differ };
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
  const render = observed.ssoRender;
  if (desired.sso && render?.ok) {
    const file = observed.envFile;
    if (!file || file.sha256 !== render.sha256 || file.mode !== '600') {
      const why = !file ? 'new file' : file.sha256 !== render.sha256 ? `on the host ${short(file.sha256)}, rendered ${short(render.sha256)}` : `mode ${file.mode}`;
      actions.push({ kind: 'vaultwarden', op: 'render-env', target, summary: `render ${desired.sso.path} (${desired.sso.vars.length} SSO vars, mode 0600) from the vault and customers.yaml (${why})`, payload: {} });
    }
  }
  const changes = envChanges(env, desired);
  const { drop, addEnvFile } = envFileChanges(observed.file.parsed, patchSpec(desired, observed));
  if (changes.length || drop.length || addEnvFile) {
    const what = [
      ...changes.map((c) => (c.from === null ? `add ${c.key}` : `${c.key} ${JSON.stringify(c.to)} (was ${JSON.stringify(c.from)})`)),
      ...(addEnvFile ? [`env_file ${desired.envFile!.name}`] : []),
      ...(drop.length ? [`${drop.join(', ')} out of environment (from ${desired.envFile!.name} now)`] : []),
    ].join(', ');
    actions.push({ kind: 'vaultwarden', op: 'patch', target, summary: `patch ${desired.composeFile} in place: ${what}`, payload: {} });
  }
  for (const name of observed.file.parsed.externalNetworks) {
    if (!observed.networks.has(name)) actions.push({ kind: 'vaultwarden', op: 'create-network', target, summary: `create the external docker network ${name} the vault joins`, payload: { name } });
  }
  const c = observed.container;
  const wanted = wantedEnv(env, desired);
  const stale = c !== null && [...wanted].some(([k, v]) => c.env.get(k) !== v);
  const gaps = render?.ok ? ssoGaps(desired, observed) : { empty: [], differ: [] };
  const ssoStale = gaps.empty.length + gaps.differ.length > 0;
  if (changes.length || drop.length || addEnvFile || stale || ssoStale || c?.orphaned) {
    const why = changes.length || drop.length || addEnvFile ? 'the file changed' : c?.orphaned ? 'its network was removed' : stale ? 'it runs an older version of the file' : `its SSO settings: ${[...gaps.empty.map((k) => `${k} empty`), ...gaps.differ.map((k) => `${k} not the rendered value`)].join(', ')}`;
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

/** Degraded `SsoNotConfigured` when the running vault lacks its SSO settings or they cannot be rendered: what is missing, and the fix. */
function ssoHealth(desired: VaultwardenDesired, observed: VaultwardenObserved): Health | null {
  if (!desired.sso) return null;
  const render = observed.ssoRender;
  const { empty, differ } = ssoGaps(desired, observed);
  const bootstrap = `axe vault bootstrap ${desired.customer} --apply`;
  let cause = '';
  let fix = bootstrap;
  if (render && !render.ok) {
    cause = [
      render.missingSecrets.length ? `missing from the operator vault: ${render.missingSecrets.join(', ')}` : '',
      render.missingFields.length ? `not set in customers.yaml: ${render.missingFields.map((f) => `customers.${desired.customer}.${f}`).join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    const push = render.missingSecrets.map((s) => `axe secret push ${s} --service vaultwarden --customer ${desired.customer}`).join(' and ');
    fix = `ingest the customer's pack (axe customers ingest ${desired.customer} pack.json --apply)${push ? ` or ${push}` : ''}, then ${bootstrap}`;
  }
  const parts = [
    empty.length ? `runs with ${empty.join(', ')} empty` : '',
    differ.length ? `runs with ${differ.join(', ')} other than rendered from the operator vault and customers.yaml (values masked)` : '',
    cause ? `its SSO settings cannot be rendered (${cause})` : '',
  ].filter(Boolean);
  if (parts.length === 0) return null;
  return { status: 'Degraded', reason: 'SsoNotConfigured', message: `${desired.container} ${parts.join('; ')}: Entra sign-in to the vault cannot work; fix: ${fix}` };
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
  const sso = ssoHealth(desired, observed);
  if (sso) return sso;
  if (c.health === 'unhealthy' || observed.inside === 'fail') return { status: 'Degraded', reason: 'Unhealthy', message: `${desired.alivePath} does not answer inside ${desired.container}` };
  if (c.health === 'starting') return { status: 'Progressing', reason: 'Starting', message: `${desired.container} is starting` };
  return { status: 'Healthy', reason: 'Running', message: `${desired.container} runs with ${Object.keys(desired.required).length} required keys and DOMAIN ${c.env.get('DOMAIN')}` };
}
