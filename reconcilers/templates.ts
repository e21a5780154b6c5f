/**
 * Templates and env files, shared by the kinds that render them (stack,
 * vaultwarden, checks, backup, entities, admins, the secret rotation): the
 * manifests' placeholders, a customer field by path, where an env var's value
 * comes from, the env file's text, and a hook's command (pure).
 *
 * Rules:
 * - Templates know `{customer}`, `{CUSTOMER}`, `{service}`, `{SERVICE}`,
 *   `{public_domain}` and `{ref}`; hook commands also `{entity.*}`.
 * - The env file is rendered deterministically (sorted keys, one header
 *   line), so its sha256 can be a drift check.
 * - A value is written bare when it is made of safe characters, else in
 *   single quotes (Compose reads those literally); a value holding a single
 *   quote or a line break cannot be put in an env file and is refused.
 */
import { createHash } from 'node:crypto';
import { expandName } from '../schemas/common.js';
import type { Customer } from '../schemas/customers.js';
import type { HookExec } from '../schemas/service-manifest.js';

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

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
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
