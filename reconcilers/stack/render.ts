/**
 * What a stack service should be on a customer's host, from its manifest and
 * the customer's block (pure): the env vars and where each value comes from,
 * each compose service's own env file, and the digest and revision the drift
 * check compares. Templates, the env file's text and hook commands are
 * ../templates.ts (shared with the other kinds that render them).
 *
 * Rules:
 * - The env file is rendered deterministically (sorted keys, one header
 *   line) so its sha256 is the drift check. Values a hook prints (the frame
 *   MCP token) are left out of that hash: only their presence is checked, so
 *   observing never has to run a hook.
 */
import type { OwnEnvFile } from '../../providers/host/commands/stack-records.js';
import { envToken } from '../../schemas/common.js';
import { type Customer, entityId } from '../../schemas/customers.js';
import { perEntityVar, type StackManifest } from '../../schemas/service-manifest.js';
import { customerField, type EnvVarSpec, expandTemplate, sha256, type TemplateVars } from '../templates.js';

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

/** Each compose service's own env file as the host writes it (providers/host/commands/stack-records.ts splitEnvScript). */
export function ownEnvFiles(customer: string, service: string, envs: readonly ServiceEnv[] | null): OwnEnvFile[] {
  return (envs ?? []).map((e) => ({ file: e.file, header: serviceEnvHeader(customer, service, e.service), vars: e.vars }));
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

/** `{CUSTOMER}` form of an id, re-exported for callers building names. */
export { envToken };
