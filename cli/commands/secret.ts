/**
 * `axe secret push NAME --service S --customer C`: the runbook's way to put a
 * secret in the operator vault. The value comes from a hidden prompt or from
 * stdin, never from an argument (it would show in `ps` and shell history).
 * `axe secret list`: every declared secret, who owns it, present or not.
 */
import password from '@inquirer/password';
import { terminal } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { openVault } from '../../providers/vault/index.js';
import { trap } from '../../reconcilers/traps.js';
import { desiredVaultItems } from '../../reconcilers/vault-items/diff.js';
import { formatIssue } from '../../schemas/load.js';
import { type DesiredState, loadRepo } from '../../schemas/repo.js';
import { line, printJson } from '../output.js';
import { loadSettings, resolveRepo } from '../settings.js';

export interface SecretOptions {
  repo?: string;
  config?: string;
  service?: string;
  customer?: string;
  json?: boolean;
}

/** Operator-level secrets (not a customer's): `--service cloudflare --customer operator`. */
export const OPERATOR = 'operator';

async function desiredState(options: SecretOptions, settings: Awaited<ReturnType<typeof loadSettings>>): Promise<DesiredState> {
  const root = resolveRepo(options, settings);
  const load = await loadRepo(root);
  if (!load.ok) throw terminal(`the config repo is invalid: ${formatIssue(load.issues[0]!)}${load.issues.length > 1 ? ` (+${load.issues.length - 1} more)` : ''}`, { fix: 'run axe validate and fix the errors' });
  return load.state;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function secretPush(name: string, options: SecretOptions): Promise<number> {
  const { service, customer } = options;
  if (!service || !customer) throw terminal('--service and --customer are required', { fix: `axe secret push ${name} --service frame --customer acme` });
  const settings = await loadSettings(options);
  const tokenName = settings.config?.cloudflare.token_secret ?? 'CLOUDFLARE_API_TOKEN';
  if (customer === OPERATOR) {
    if (service !== 'cloudflare' || name !== tokenName) throw terminal(`${name} not in manifest`, { fix: `operator-level secrets are only the Cloudflare token: axe secret push ${tokenName} --service cloudflare --customer operator` });
  } else {
    const state = await desiredState(options, settings);
    if (!state.customers.customers[customer]) throw terminal(`customer ${customer} is not in customers.yaml`, { fix: trap('customer-entry-missing').fix });
    const slot = state.customers.services[service]?.[customer];
    if (!slot) throw terminal(`service ${service} is not declared for ${customer}`, { fix: trap('services-slot-missing', { service, customer }).fix });
    const declared = desiredVaultItems(state.customers, state.manifests, customer).items.filter((i) => i.service === service).map((i) => i.name);
    if (!declared.includes(name)) throw terminal(`${name} not in manifest`, { fix: `declare it under services.${service}.${customer}.secrets in customers.yaml (declared: ${declared.join(', ') || 'none'})` });
  }
  const value = process.stdin.isTTY ? await password({ message: `${name} (hidden):`, mask: false }) : await readStdin();
  if (value.length === 0) throw terminal(`no value given for ${name}`, { fix: `type it at the prompt, or pipe it: printf %s "$VALUE" | axe secret push ${name} --service ${service} --customer ${customer}` });
  const vault = openVault(settings.vault);
  const secret = new Secret(value);
  const result = await vault.put({ name, service, customer, value: secret });
  if (options.json) printJson({ name, service, customer, result, fingerprint: secret.fingerprint() });
  else line(`${name}: ${result} (${secret.fingerprint()})`);
  return 0;
}

export async function secretList(options: SecretOptions): Promise<number> {
  const settings = await loadSettings(options);
  const state = await desiredState(options, settings);
  const vault = openVault(settings.vault);
  const entries = new Map((await vault.list()).map((e) => [e.name, e]));
  const ids = options.customer ? [options.customer] : Object.keys(state.customers.customers);
  if (options.customer && !state.customers.customers[options.customer]) throw terminal(`customer ${options.customer} is not in customers.yaml`, { fix: trap('customer-entry-missing').fix });
  const rows = ids.flatMap((id) =>
    desiredVaultItems(state.customers, state.manifests, id).items.map((item) => {
      const entry = entries.get(item.name);
      return { customer: id, service: item.service, name: item.name, present: Boolean(entry), generated: Boolean(item.generate), fingerprint: entry?.fingerprint ?? null };
    }),
  );
  if (options.json) printJson({ secrets: rows });
  else {
    for (const r of rows) line(`${r.customer.padEnd(14)} ${r.service.padEnd(12)} ${r.name.padEnd(48)} ${r.present ? `present ${r.fingerprint}` : r.generated ? 'missing (generated by the controller)' : 'MISSING (push it: axe secret push)'}`);
    line(`${rows.filter((r) => r.present).length}/${rows.length} present`);
  }
  return rows.every((r) => r.present || r.generated) ? 0 : 1;
}
