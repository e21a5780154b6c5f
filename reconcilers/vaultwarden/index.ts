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
import { containerInDirPrelude, upInDirScript } from '../../providers/host/commands/compose-dir.js';
import { ensureObjectScript } from '../../providers/host/commands/docker.js';
import { isSet, path, variable } from '../../providers/host/commands/quote.js';
import { hasTool } from '../../providers/host/commands/tools.js';
import { runBatch, runScript } from '../../providers/host/executor.js';
import { containerEnvFact, containerEnvSumsFact, containerSummaryFact, insideHttpFact, networksFact } from '../../providers/host/facts/docker.js';
import { factsSection, never, readFacts, when } from '../../providers/host/facts/fact.js';
import { existsFact, fileContentFact } from '../../providers/host/facts/files-content.js';
import { filesFact, type HostFileSums, inDir } from '../../providers/host/facts/files.js';
import { toolFoundFact } from '../../providers/host/facts/host.js';
import type { HostSection } from '../../providers/host/sections.js';
import type { VaultwardenManifest } from '../../schemas/service-manifest.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { hostFileSums, hostReachable, hostSectionOutput } from '../host-read.js';
import { customerField, type EnvVarSpec, expandTemplate, renderEnvFile, sha256 } from '../templates.js';
import type { Customer } from '../../schemas/customers.js';
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
    const fix = 'store the value without quotes or line breaks in the operator vault';
    throw terminal(`cannot render ${d.sso.path}: ${(error as Error).message}`, { customer: ctx.id, resource: 'vaultwarden', fix });
  }
  return { render: { ok: true, sha256: sha256(text), values: new Map([...values].map(([k, v]) => [k, sha256(v)])) }, text };
}

const ENV_KEYS = (d: VaultwardenDesired) => ['DOMAIN', ...Object.keys(d.required)];

/** The directory and name of a host path (`~/` kept as the home). */
function splitPath(file: string): [string, string] {
  const slash = file.lastIndexOf('/');
  return [file.slice(0, slash) || '/', file.slice(slash + 1)];
}

/** What is read of the vault: one fact each; SSO values leave the host as sha256 sums only. */
function facts(d: VaultwardenDesired, sums?: HostFileSums) {
  const id = variable('id');
  const running = isSet('id');
  const sso = containerEnvSumsFact('sso', id, d.sso?.vars.map((v) => v.name) ?? []);
  const [envDir, envName] = d.sso ? splitPath(d.sso.path) : ['', ''];
  return {
    compose: fileContentFact('compose', path(d.composeFile)),
    envFile: filesFact('envfile', path(envDir), d.sso ? [envName] : [], inDir(sums, envDir)),
    docker: toolFoundFact('docker', 'docker'),
    networks: when(hasTool('docker'), networksFact('networks')),
    container: when(running, containerSummaryFact('container', id)),
    env: when(running, containerEnvFact('env', id, ENV_KEYS(d))),
    sso: d.sso ? when(running, sso) : never(sso),
    inside: when(running, insideHttpFact('inside', id, `http://127.0.0.1:${d.port}${d.alivePath}`)),
  };
}

/** The read-only section of the vault in the host's batch. */
export function observeSection(d: VaultwardenDesired, toolPaths: readonly string[], sums?: HostFileSums): HostSection {
  return factsSection(VAULTWARDEN_SECTION, facts(d, sums), containerInDirPrelude(d.composeFile, d.container, toolPaths));
}

/** The observation from the section's output (pure); `ssoRender` is filled by observe. */
export function parseSection(output: string, d: VaultwardenDesired, sums?: HostFileSums): VaultwardenObserved {
  const f = readFacts(output, facts(d, sums));
  let file: VaultwardenObserved['file'] = null;
  if (f.compose) {
    try {
      file = { ...f.compose, parsed: readVaultFile(f.compose.text, d.container) };
    } catch (error) {
      file = { ...f.compose, parsed: null, error: (error as Error).message };
    }
  }
  const c = f.container;
  const orphaned = (ids: readonly string[]) => ids.some((n) => !f.networks.ids.has(n));
  const sso = d.sso ? f.sso : new Map<string, string | null>();
  const container = c ? { id: c.id, state: c.state, health: c.health, project: c.project, orphaned: orphaned(c.networkIds), env: f.env, sso } : null;
  const envFile = d.sso ? (f.envFile.get(splitPath(d.sso.path)[1]) ?? null) : null;
  return { docker: f.docker === true, file, container, networks: f.networks.names, inside: f.inside, envFile, ssoRender: null };
}

export const vaultwardenReconciler: ResourceReconciler<VaultwardenDesired, VaultwardenObserved, VaultwardenPayload> = {
  kind: 'vaultwarden',
  dependsOn: ['host'],
  desired: desiredVaultwarden,
  hostSection(ctx) {
    const d = desiredVaultwarden(ctx);
    return d ? observeSection(d, ctx.env.providers.hosts.toolPaths, hostFileSums(ctx)) : null;
  },
  async observe(ctx, desired) {
    const observed = parseSection(await hostSectionOutput(ctx, VAULTWARDEN_SECTION, 'vaultwarden'), desired, hostFileSums(ctx));
    return { ...observed, ssoRender: (await renderSso(ctx, desired))?.render ?? null };
  },
  diff: diffVaultwarden,
  health: healthVaultwarden,
  async act(ctx, desired, action) {
    hostReachable(ctx, 'vaultwarden');
    const connection = await ctx.env.providers.hosts.connection(ctx.target);
    const toolPaths = ctx.env.providers.hosts.toolPaths;
    const where = { customer: ctx.id, resource: 'vaultwarden' };
    if (action.op === 'patch') {
      // Read the file again right before writing it: never patch a stale copy.
      // The SSO env file is named in the compose file only once it is there (compose refuses a missing env_file).
      const read = { compose: fileContentFact('compose', path(desired.composeFile)), env: existsFact('env', path(desired.sso?.path ?? '/nonexistent')) };
      const batch = await runBatch(connection, [factsSection('patch', read)]);
      const now = readFacts(batch.get('patch')?.output ?? '', read);
      if (!now.compose) throw transient(`cannot read ${desired.composeFile} on the host`, where);
      const spec = desired.sso && now.env ? desired : { ...desired, envFile: undefined };
      let patched: string;
      try {
        patched = patchVaultCompose(now.compose.text, spec).text;
      } catch (error) {
        const fix = `add ${Object.keys(desired.required).join(', ')} to the environment of ${desired.container} by hand; the file was not changed`;
        throw terminal(`cannot patch ${desired.composeFile}: ${(error as Error).message}`, { ...where, fix });
      }
      await connection.writeFile(desired.composeFile, patched, Number.parseInt(now.compose.mode, 8) || 0o644);
      return;
    }
    if (action.op === 'render-env') {
      const sso = await renderSso(ctx, desired);
      if (!sso || !sso.render.ok) {
        const missing = sso && !sso.render.ok ? [...sso.render.missingSecrets, ...sso.render.missingFields] : [];
        const fix = `ingest the customer's pack (axe customers ingest ${ctx.id} pack.json --apply), then axe vault bootstrap ${ctx.id} --apply`;
        throw terminal(`cannot render ${desired.sso?.path ?? 'the vault SSO env file'}: missing ${missing.join(', ')}`, { ...where, fix });
      }
      await connection.writeFile(desired.sso!.path, sso.text, 0o600);
      return;
    }
    if (action.op === 'create-network') {
      const name = action.payload.name!;
      await runScript(connection, ensureObjectScript('network', name, [`ai.axelabs.axe.customer=${ctx.id}`], toolPaths), { what: `creating network ${name}`, ...where });
      return;
    }
    if (action.op === 'up') {
      // The project the vault already runs under (the customer may have started it by hand), else ours.
      const script = upInDirScript({ composeFile: desired.composeFile, service: desired.container, defaultProject: desired.defaultProject, waitSeconds: 120, forceRecreate: action.payload.recreate === true, toolPaths });
      const left = `${desired.composeFile} ${action.payload.recreate ? 'patched' : 'unchanged'}, the vault container not healthy`;
      await runScript(connection, script, { what: `starting ${desired.container}`, left, ...where, timeoutMs: 300_000, fix: `see docker compose -p ${desired.defaultProject} logs on the host` });
    }
  },
  // Only this kind's section of the host's batch: a re-observation runs it alone.
  reads: [{ hostSection: VAULTWARDEN_SECTION }],
};
