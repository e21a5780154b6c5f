/**
 * What a stack service should be on a customer's host, from its manifest and
 * the customer's block (pure): the expanded templates, the env vars and where
 * each value comes from, and the env file text once the values are known.
 *
 * Rules:
 * - Templates know `{customer}`, `{CUSTOMER}`, `{service}`, `{SERVICE}`,
 *   `{public_domain}` and `{ref}`; hook commands also `{entity.*}`.
 * - The env file is rendered deterministically (sorted keys, one header
 *   line) so its sha256 is the drift check. Values a hook prints (the frame
 *   MCP token) are left out of that hash: only their presence is checked, so
 *   observing never has to run a hook.
 * - A value is written bare when it is made of safe characters, else in
 *   single quotes (Compose reads those literally); a value holding a single
 *   quote or a line break cannot be put in an env file and is refused.
 */
import { createHash } from 'node:crypto';
import { envToken, expandName } from '../../schemas/common.js';
import { type Customer, entityId } from '../../schemas/customers.js';
import { type HookExec, perEntityVar, type StackManifest } from '../../schemas/service-manifest.js';

export interface TemplateVars {
  customer: string;
  service: string;
  publicDomain: string;
  ref: string;
}

/** Expands the manifest placeholders in one string. */
export function expandTemplate(template: string, vars: TemplateVars): string {
  return expandName(template, { customer: vars.customer, service: vars.service })
    .replaceAll('{public_domain}', vars.publicDomain)
    .replaceAll('{ref}', vars.ref);
}

/** Where one env var's value comes from, resolved for one customer. */
export type EnvVarSpec =
  | { name: string; kind: 'value'; value: string }
  | { name: string; kind: 'secret'; secret: string }
  | { name: string; kind: 'hook'; hook: string }
  /** A customer field the customer block does not have (yet): the env cannot be rendered. */
  | { name: string; kind: 'missing-field'; field: string };

/** Reads a dotted path (`sso.apps.blueprint.client_id`) from the customer block. */
export function customerField(customer: Customer, path: string): string | null {
  let node: unknown = customer;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return null;
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') return String(node);
  return null;
}

/** The entity ids of a customer in env-token form (`acme-x` → `ACME_X`), in its order. */
export function entityTokens(customer: Customer): string[] {
  return customer.entities.map((e) => envToken(entityId(e)));
}

/** `{ENTITY}` names (`FRAME_PII_PASSPHRASE_{ENTITY}`) as one name per entity token; other names as they are. */
export function expandEntityNames(names: readonly string[], tokens: readonly string[]): string[] {
  return names.flatMap((name) => (perEntityVar(name) ? tokens.map((t) => name.replaceAll('{ENTITY}', t)) : [name]));
}

/** The env vars of a manifest for one customer, sorted by name; a `{ENTITY}` var is one var per entity. */
export function envVarSpecs(manifest: StackManifest, customer: Customer, vars: TemplateVars): EnvVarSpec[] {
  const out: EnvVarSpec[] = [];
  const entries = Object.entries(manifest.env.vars).flatMap(([name, source]) =>
    perEntityVar(name) ? entityTokens(customer).map((t) => [name.replaceAll('{ENTITY}', t), 'secret' in source ? { secret: source.secret.replaceAll('{ENTITY}', t) } : source] as const) : [[name, source] as const],
  );
  for (const [name, source] of entries) {
    if ('value' in source) out.push({ name, kind: 'value', value: expandTemplate(source.value, vars) });
    else if ('secret' in source) out.push({ name, kind: 'secret', secret: expandTemplate(source.secret, vars) });
    else if ('hook' in source) out.push({ name, kind: 'hook', hook: source.hook });
    else {
      const value = customerField(customer, source.customer);
      out.push(value === null ? { name, kind: 'missing-field', field: source.customer } : { name, kind: 'value', value });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const SAFE_VALUE = /^[A-Za-z0-9_./:@%+,~=-]*$/;

/** One `KEY=value` line; throws when the value cannot be written to an env file. */
export function envLine(name: string, value: string): string {
  if (SAFE_VALUE.test(value)) return `${name}=${value}`;
  if (/['\r\n]/.test(value)) throw new Error(`the value of ${name} holds a quote or a line break and cannot be written to an env file`);
  return `${name}='${value}'`;
}

export function envHeader(customer: string, service: string): string {
  return `# Written by axe for ${customer}/${service} from the operator vault and customers.yaml. Edits here are reverted.`;
}

/**
 * The env file text. `values` holds every var's value (secrets revealed by
 * the caller at the last moment); the result must go to the host over stdin
 * into a 0600 file and nowhere else.
 */
export function renderEnvFile(customer: string, service: string, values: ReadonlyMap<string, string>): string {
  const names = [...values.keys()].sort();
  return `${[envHeader(customer, service), ...names.map((n) => envLine(n, values.get(n)!))].join('\n')}\n`;
}

/** One compose service's own env file (`env.services`): its name beside the env file, and the vars it gets. */
export interface ServiceEnv {
  /** The compose service. */
  service: string;
  /** Relative to the checkout, in the env file's directory: `.env.axe.<service>`. */
  file: string;
  vars: string[];
}

/**
 * The per-service env files of a manifest (null: no `env.services`, the compose files' own `env_file:` lines decide);
 * `{ENTITY}` names listed there become one var per entity token.
 */
export function serviceEnvs(manifest: StackManifest, tokens: readonly string[] = []): ServiceEnv[] | null {
  const services = manifest.env.services;
  if (!services) return null;
  const dir = manifest.env.file.includes('/') ? manifest.env.file.slice(0, manifest.env.file.lastIndexOf('/') + 1) : '';
  return Object.keys(services)
    .sort()
    .map((service) => ({ service, file: `${dir}.env.axe.${service}`, vars: [...new Set(expandEntityNames(services[service]!, tokens))].sort() }));
}

export function serviceEnvHeader(customer: string, service: string, composeService: string): string {
  return `# Written by axe for ${customer}/${service}: the vars of ${composeService} only, from the env file. Edits here are reverted.`;
}

/**
 * A compose service's env file: its header, then the env file's lines of its
 * vars, in the env file's order. The host makes the same from the env file
 * (splitEnvScript), so a hook's or a pulled value never leaves it.
 */
export function renderServiceEnvFile(customer: string, service: string, envText: string, env: ServiceEnv): string {
  const lines = envText.split('\n').filter((line) => env.vars.some((name) => line.startsWith(`${name}=`)));
  return `${[serviceEnvHeader(customer, service, env.service), ...lines].join('\n')}\n`;
}

/**
 * What the env hash covers: the env file, then each compose service's own
 * file (in `serviceEnvs` order), concatenated; the host sums the same files.
 */
export function envFilesText(customer: string, service: string, envText: string, envs: readonly ServiceEnv[] | null): string {
  return envText + (envs ?? []).map((env) => renderServiceEnvFile(customer, service, envText, env)).join('');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The hash the drift check compares: sha256 of the file's lines without the
 * hook-valued ones (the host computes the same with `grep -v`).
 */
export function envDigest(text: string, hookVars: readonly string[]): string {
  const kept = text
    .split('\n')
    .filter((line, i, all) => !(i === all.length - 1 && line === ''))
    .filter((line) => !hookVars.some((name) => line.startsWith(`${name}=`)));
  return sha256(kept.map((line) => `${line}\n`).join(''));
}

/** The stack's config revision label: changes exactly when what the containers run should change. */
export function stackRevision(input: { ref: string; envDigest: string; composeFiles: readonly string[]; project: string }): string {
  return sha256(JSON.stringify([input.ref, input.envDigest, input.composeFiles, input.project])).slice(0, 12);
}

export interface EntityValues {
  id: string;
  legal_name: string;
  kind: string;
  accounting_standard: string;
}

/** A hook command with its placeholders filled (entity ones too when given). */
export function hookCommand(exec: HookExec, vars: TemplateVars, entity?: EntityValues): string[] {
  return exec.command.map((arg) => {
    let out = expandTemplate(arg, vars);
    if (entity) {
      out = out
        .replaceAll('{entity.id}', entity.id)
        .replaceAll('{entity.legal_name}', entity.legal_name)
        .replaceAll('{entity.kind}', entity.kind)
        .replaceAll('{entity.accounting_standard}', entity.accounting_standard);
    }
    return out;
  });
}

/** `{CUSTOMER}` form of an id, re-exported for callers building names. */
export { envToken };
