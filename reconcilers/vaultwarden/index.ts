/**
 * The vaultwarden reconciler (`axe vault bootstrap`): reads the customer's
 * vault compose file and the running vault container in the host's batched
 * observation, patches the file in place when keys are missing, and
 * force-recreates the container only when something changed. Its SSO
 * settings (the manifest's `env`) are rendered here from the operator vault
 * and customers.yaml and written beside the compose file over stdin (0600);
 * the observation brings back sha256 sums only, never a value.
 */
import { terminal, transient } from '../../core/errors.js';
import { shellQuote } from '../../providers/host/ssh.js';
import type { VaultwardenManifest } from '../../schemas/service-manifest.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { SCAN_KEYS } from '../scan.js';
import { createScript, tools } from '../stack/host.js';
import { hostReachable, hostSectionOutput } from '../host/index.js';
import { customerField, type EnvVarSpec, expandTemplate, renderEnvFile, sha256 } from '../stack/render.js';
import type { Customer } from '../../schemas/customers.js';
import { hostPath } from '../../providers/host/commands/quote.js';
import { diffVaultwarden, healthVaultwarden, type SsoRender, type VaultwardenDesired, type VaultwardenObserved, type VaultwardenPayload } from './diff.js';
import { patchVaultCompose, readVaultFile } from './patch.js';

export const VAULTWARDEN_SECTION = 'vaultwarden';

function manifestFor(ctx: CustomerContext): [string, VaultwardenManifest] | null {
  const only = ctx.env.services;
  for (const [name, manifest] of ctx.env.state.manifests) {
    if (manifest.kind !== 'vaultwarden' || !ctx.env.state.customers.services[name]?.[ctx.id]) continue;
    if (only && !only.includes(name)) continue;
    return [name, manifest];
  }
  return null;
}

function desiredVaultwarden(ctx: CustomerContext): VaultwardenDesired | null {
  const found = manifestFor(ctx);
  if (!found) return null;
  const [name, m] = found;
  const vars = { customer: ctx.id, service: name, publicDomain: ctx.customer.public_domain, ref: '' };
  const composeFile = expandTemplate(m.compose_file, vars);
  const envPath = m.env ? `${composeFile.slice(0, composeFile.lastIndexOf('/') + 1)}${m.env.file}` : '';
  return {
    customer: ctx.id,
    publicDomain: ctx.customer.public_domain,
    composeFile,
    container: m.container,
    required: m.required_env,
    ...(m.anchor ? { anchor: m.anchor } : {}),
    domainPath: m.domain_path,
    defaultDomain: `https://${ctx.customer.public_domain}${m.domain_path}`,
    defaultProject: `${ctx.id}-vault`,
    port: m.ingress?.port ?? 80,
    alivePath: m.health.public?.path ?? `${m.domain_path}/alive`,
    sso: m.env ? { path: envPath, vars: ssoSpecs(m.env.vars, ctx.customer, vars) } : null,
    ...(m.env ? { envFile: { name: m.env.file, keys: Object.keys(m.env.vars).sort() } } : {}),
  };
}

/** The `{customer.<path>}` placeholders of a value template, filled from the customer block, or the first field it does not set. */
function withCustomerFields(template: string, customer: Customer): { value: string } | { missing: string } {
  let missing = '';
  const value = template.replace(/\{customer\.([a-z_][a-z0-9_.]*)\}/g, (_all, path: string) => {
    const found = customerField(customer, path);
    if (found === null) missing ||= path;
    return found ?? '';
  });
  return missing ? { missing } : { value };
}

/** The SSO env vars for one customer, sorted by name (as the stacks' envVarSpecs; no hooks). */
function ssoSpecs(vars: NonNullable<VaultwardenManifest['env']>['vars'], customer: Customer, tvars: Parameters<typeof expandTemplate>[1]): EnvVarSpec[] {
  const out: EnvVarSpec[] = [];
  for (const [name, source] of Object.entries(vars)) {
    if ('secret' in source) out.push({ name, kind: 'secret', secret: expandTemplate(source.secret, tvars) });
    else if ('customer' in source) {
      const value = customerField(customer, source.customer);
      out.push(value === null ? { name, kind: 'missing-field', field: source.customer } : { name, kind: 'value', value });
    } else if ('value' in source) {
      const filled = withCustomerFields(expandTemplate(source.value, tvars), customer);
      out.push('missing' in filled ? { name, kind: 'missing-field', field: filled.missing } : { name, kind: 'value', value: filled.value });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

interface SsoValues {
  render: SsoRender;
  /** The file's text (secrets revealed): only for writing it. */
  text: string;
}

/** Renders the SSO env file from the operator vault and customers.yaml; the observation keeps its sums only. */
async function renderSso(ctx: CustomerContext, d: VaultwardenDesired): Promise<SsoValues | null> {
  if (!d.sso) return null;
  const values = new Map<string, string>();
  const missingSecrets: string[] = [];
  const missingFields: string[] = [];
  for (const v of d.sso.vars) {
    if (v.kind === 'value') values.set(v.name, v.value);
    else if (v.kind === 'missing-field') missingFields.push(v.field);
    else if (v.kind === 'secret') {
      const secret = await ctx.env.providers.vault.get(v.secret);
      const value = secret ? secret.reveal() : '';
      if (value) values.set(v.name, value);
      else missingSecrets.push(v.secret);
    }
  }
  if (missingSecrets.length || missingFields.length) return { render: { ok: false, missingSecrets, missingFields }, text: '' };
  let text: string;
  try {
    text = renderEnvFile(d.customer, 'vaultwarden', values);
  } catch (error) {
    throw terminal(`cannot render ${d.sso.path}: ${(error as Error).message}`, { customer: ctx.id, resource: 'vaultwarden', fix: 'store the value without quotes or line breaks in the operator vault' });
  }
  return { render: { ok: true, sha256: sha256(text), values: new Map([...values].map(([k, v]) => [k, sha256(v)])) }, text };
}

const ENV_KEYS = (d: VaultwardenDesired) => ['DOMAIN', ...Object.keys(d.required)];

/** The read-only observation of the vault (one section of the host batch): SSO values leave the host as sha256 sums only. */
export function sectionScript(d: VaultwardenDesired, toolPaths: readonly string[]): string {
  const keys = shellQuote(`^(${ENV_KEYS(d).join('|')})=`);
  const url = shellQuote(`http://127.0.0.1:${d.port}${d.alivePath}`);
  return [
    tools(toolPaths),
    `f=${hostPath(d.composeFile)}; dir=$(dirname "$f")`,
    'if [ -f "$f" ]; then echo "vw.mode=$(mode "$f")"; echo "vw.file=$(base64 < "$f" | tr -d \'\\n\')"; else echo "vw.file=missing"; fi',
    ...(d.sso ? [`e=${hostPath(d.sso.path)}; if [ -f "$e" ]; then echo "vw.envfile=$(mode "$e") $(sum < "$e")"; fi`] : []),
    'if [ -z "$D" ]; then echo "vw.docker=missing"; exit 0; fi',
    `"$D" network ls --no-trunc --format '{{.ID}} {{.Name}}' 2>/dev/null | while IFS= read -r l; do echo "vw.network=$l"; done`,
    `id=$("$D" ps -aq --no-trunc --filter ${shellQuote(`label=com.docker.compose.service=${d.container}`)} --filter "label=com.docker.compose.project.working_dir=$dir" 2>/dev/null | head -n 1)`,
    'if [ -z "$id" ]; then exit 0; fi',
    `"$D" inspect --format '{{.Id}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{index .Config.Labels "com.docker.compose.project"}}|{{range $k, $v := .NetworkSettings.Networks}}{{$v.NetworkID}} {{end}}' "$id" | sed 's/^/vw.ctr=/'`,
    `"$D" inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$id" | grep -E ${keys} | sed 's/^/vw.env=/'`,
    // The SSO keys: only the sha256 of each value leaves the host ('-' when empty or absent); the values stay in a shell variable.
    ...(d.sso
      ? [
          `E=$("$D" inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$id")`,
          ...d.sso.vars.map((v) => `v=$(printf '%s\\n' "$E" | sed -n ${shellQuote(`s/^${v.name}=//p`)} | head -n 1); if [ -n "$v" ]; then echo "vw.sso=${v.name} $(printf '%s' "$v" | sum)"; else echo "vw.sso=${v.name} -"; fi`),
          'E=""; v=""',
        ]
      : []),
    `if [ "$("$D" inspect --format '{{.State.Status}}' "$id")" = running ]; then if "$D" exec "$id" wget -q -O /dev/null ${url} >/dev/null 2>&1 || "$D" exec "$id" curl -fsS -o /dev/null ${url} >/dev/null 2>&1; then echo "vw.inside=ok"; else echo "vw.inside=fail"; fi; fi`,
  ].join('\n');
}

/** Parses the section (pure); `ssoRender` is filled by observe. */
export function parseSection(output: string, d: VaultwardenDesired): VaultwardenObserved {
  const networkIds = new Set<string>();
  const networks = new Set<string>();
  const env = new Map<string, string>();
  const sso = new Map<string, string | null>();
  let envFile: VaultwardenObserved['envFile'] = null;
  let file: VaultwardenObserved['file'] = null;
  let mode = '';
  let ctr: string | null = null;
  let docker = true;
  let inside: VaultwardenObserved['inside'] = null;
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (!line.startsWith('vw.') || eq < 0) continue;
    const key = line.slice(3, eq);
    const value = line.slice(eq + 1);
    if (key === 'docker') docker = false;
    else if (key === 'mode') mode = value.trim();
    else if (key === 'network') {
      const [id, name] = value.split(' ');
      if (id) networkIds.add(id);
      if (name) networks.add(name);
    } else if (key === 'ctr') ctr = value;
    else if (key === 'env') {
      const e = value.indexOf('=');
      if (e > 0) env.set(value.slice(0, e), value.slice(e + 1));
    } else if (key === 'sso') {
      const [name = '', hash = '-'] = value.split(' ');
      if (name) sso.set(name, hash === '-' ? null : hash);
    } else if (key === 'envfile') {
      const [fileMode = '', hash = ''] = value.split(' ');
      envFile = { mode: fileMode, sha256: hash };
    } else if (key === 'inside') inside = value === 'ok' ? 'ok' : 'fail';
    else if (key === 'file' && value !== 'missing') {
      const text = Buffer.from(value, 'base64').toString('utf8');
      try {
        file = { text, mode, parsed: readVaultFile(text, d.container) };
      } catch (error) {
        file = { text, mode, parsed: null, error: (error as Error).message };
      }
    }
  }
  if (file) file.mode = mode;
  let container: VaultwardenObserved['container'] = null;
  if (ctr) {
    const [id = '', state = '', health = '', project = '', nets = ''] = ctr.split('|');
    container = { id, state, health: health || null, project, orphaned: nets.split(' ').filter(Boolean).some((n) => !networkIds.has(n)), env, sso };
  }
  return { docker, file, container, networks, inside, envFile, ssoRender: null };
}

export const vaultwardenReconciler: ResourceReconciler<VaultwardenDesired, VaultwardenObserved, VaultwardenPayload> = {
  kind: 'vaultwarden',
  dependsOn: ['host'],
  desired: desiredVaultwarden,
  hostSection(ctx) {
    const d = desiredVaultwarden(ctx);
    return d ? { name: VAULTWARDEN_SECTION, script: sectionScript(d, ctx.env.providers.hosts.toolPaths) } : null;
  },
  async observe(ctx, desired) {
    const observed = parseSection(await hostSectionOutput(ctx, VAULTWARDEN_SECTION, 'vaultwarden'), desired);
    return { ...observed, ssoRender: (await renderSso(ctx, desired))?.render ?? null };
  },
  diff: diffVaultwarden,
  health: healthVaultwarden,
  async act(ctx, desired, action) {
    hostReachable(ctx, 'vaultwarden');
    const connection = await ctx.env.providers.hosts.connection(ctx.target);
    const toolPaths = ctx.env.providers.hosts.toolPaths;
    const run = (script: string, timeoutMs = 60_000) => connection.exec(`/bin/sh -c ${shellQuote(script)}`, { timeoutMs });
    if (action.op === 'patch') {
      // Read the file again right before writing it: never patch a stale copy.
      // The SSO env file is named in the compose file only once it is there (compose refuses a missing env_file).
      const hasEnv = desired.sso ? `if [ -f ${hostPath(desired.sso.path)} ]; then echo env; else echo noenv; fi; ` : 'echo noenv; ';
      const read = await run(`f=${hostPath(desired.composeFile)}; mode() { stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1" 2>/dev/null; }; ${hasEnv}echo "$(mode "$f")"; base64 < "$f" | tr -d '\\n'`);
      if (read.code !== 0) throw transient(`cannot read ${desired.composeFile}: ${read.stderr.trim().split('\n')[0] ?? ''}`, { customer: ctx.id, resource: 'vaultwarden' });
      const [envThere = '', mode = '644', b64 = ''] = read.stdout.split('\n');
      const spec = envThere === 'env' ? desired : { ...desired, envFile: undefined };
      let patched: string;
      try {
        patched = patchVaultCompose(Buffer.from(b64, 'base64').toString('utf8'), spec).text;
      } catch (error) {
        throw terminal(`cannot patch ${desired.composeFile}: ${(error as Error).message}`, { customer: ctx.id, resource: 'vaultwarden', fix: `add ${Object.keys(desired.required).join(', ')} to the environment of ${desired.container} by hand; the file was not changed` });
      }
      await connection.writeFile(desired.composeFile, patched, Number.parseInt(mode.trim(), 8) || 0o644);
      return;
    }
    if (action.op === 'render-env') {
      const sso = await renderSso(ctx, desired);
      if (!sso || !sso.render.ok) {
        const missing = sso && !sso.render.ok ? [...sso.render.missingSecrets, ...sso.render.missingFields] : [];
        throw terminal(`cannot render ${desired.sso?.path ?? 'the vault SSO env file'}: missing ${missing.join(', ')}`, { customer: ctx.id, resource: 'vaultwarden', fix: `ingest the customer's pack (axe customers ingest ${ctx.id} pack.json --apply), then axe vault bootstrap ${ctx.id} --apply` });
      }
      await connection.writeFile(desired.sso!.path, sso.text, 0o600);
      return;
    }
    if (action.op === 'create-network') {
      const result = await run(createScript('network', action.payload.name!, ctx.id, toolPaths));
      if (result.code !== 0) throw transient(`creating network ${action.payload.name} failed: ${result.stderr.trim()}`, { customer: ctx.id, resource: 'vaultwarden' });
      return;
    }
    if (action.op === 'up') {
      // The project the vault already runs under (the customer may have started it by hand), else ours.
      const script = [
        'set -e',
        tools(toolPaths),
        `f=${hostPath(desired.composeFile)}; dir=$(dirname "$f"); cd "$dir"`,
        `p=$("$D" ps -a --filter ${shellQuote(`label=com.docker.compose.service=${desired.container}`)} --filter "label=com.docker.compose.project.working_dir=$dir" --format '{{.Label "com.docker.compose.project"}}' | head -n 1)`,
        `if [ -z "$p" ]; then p=${shellQuote(desired.defaultProject)}; fi`,
        `"$D" compose -p "$p" -f "$f" up -d --wait --wait-timeout 120 --no-deps ${action.payload.recreate ? '--force-recreate ' : ''}${shellQuote(desired.container)}`,
      ].join('\n');
      const project = desired.defaultProject;
      const result = await run(script, 300_000);
      if (result.code !== 0) {
        throw transient(`starting ${desired.container} failed: ${result.stderr.trim().split('\n').pop() ?? `exit ${result.code}`}; left: ${desired.composeFile} ${action.payload.recreate ? 'patched' : 'unchanged'}, the vault container not healthy`, { customer: ctx.id, resource: 'vaultwarden', fix: `see docker compose -p ${project} logs on the host` });
      }
    }
  },
  cacheKeys(ctx) {
    // Only this kind's section of the host's batch: a re-observation runs it alone.
    return [SCAN_KEYS.hostSection(ctx.target, VAULTWARDEN_SECTION)];
  },
};
