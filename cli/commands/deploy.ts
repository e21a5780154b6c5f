/**
 * `axe deploy {service} {customer}`, `axe deploy customer {customer}
 * [--from-pack pack.json]`, `axe vault bootstrap {customer}`, `axe health
 * {customer}`: the controller's reconcile run once, limited to the kinds the
 * verb covers, acting only with --apply (the runbook's verbs, one engine).
 *
 * Rules:
 * - A service the customer has no slot for is refused before anything is
 *   read from the host: `service {svc} is not declared for {customer}`.
 * - `deploy customer` shows one plan for everything first (with a pack, the
 *   plan is made on customers.yaml and the vault as the ingest will leave
 *   them), then, with --apply, ingests and converges every kind in order.
 * - A failure names the resource and step, what it left, and the fix; the
 *   exit code is 1. Without --apply: 0 in sync, 2 changes pending, 1 error.
 */
import { join, resolve } from 'node:path';
import { terminal } from '../../core/errors.js';
import { onboardBranch } from '../../onboarding/apply.js';
import { planIngest, type VaultWrite } from '../../onboarding/plan.js';
import { openConfigRepo } from '../../providers/git/config-repo.js';
import { contentDigest, type VaultProvider } from '../../providers/vault/types.js';
import { type CustomerResult, type ProgressEvent, reconcileCustomer } from '../../reconcilers/engine.js';
import { buildEnv } from '../../reconcilers/env.js';
import { openConfiguredProviders } from '../../providers/index.js';
import { planExitCode, renderMarkdown, renderText, resultJson } from '../../reconcilers/report.js';
import type { ReconcileEnv } from '../../reconcilers/runtime.js';
import { trap } from '../../reconcilers/traps.js';
import type { Kind } from '../../reconcilers/types.js';
import { formatIssue, loadFile } from '../../schemas/load.js';
import { Pack } from '../../schemas/pack.js';
import { CUSTOMERS_FILE, isSovereign, loadRepo, readCustomersText } from '../../schemas/repo.js';
import { line, printJson, progress, stepTicker } from '../output.js';
import { loadSettings, resolveRepo } from '../settings.js';
import { customersIngest } from './customers.js';
import { openEnv } from './reconcile.js';
import { asWriter, type WriterCliOptions } from '../writer.js';

export interface DeployCliOptions extends WriterCliOptions {
  repo?: string;
  config?: string;
  apply?: boolean;
  json?: boolean;
  markdown?: boolean;
  fromPack?: string;
}

/** The kinds `axe deploy {service}` runs for a stack service (the runbook's 13 steps). */
export const STACK_DEPLOY_KINDS: readonly Kind[] = ['vault-items', 'stack', 'entities', 'admins', 'ingress', 'endpoints'];

function refuseUndeclared(env: ReconcileEnv, service: string, customer: string): void {
  const { customers, manifests } = env.state;
  if (!customers.customers[customer]) {
    throw terminal(`customer ${customer} is not in customers.yaml`, { customer, fix: trap('customer-entry-missing', { customer }).fix });
  }
  if (!manifests.has(service)) {
    throw terminal(`unknown service ${service}`, { customer, fix: `use one of ${[...manifests.keys()].join(', ')} (or add services/${service}.yaml)` });
  }
  if (!customers.services[service]?.[customer]) {
    const sovereign = isSovereign(customers, customer);
    throw terminal(`service ${service} is not declared for ${customer}`, {
      customer,
      fix: sovereign
        ? `${customer} is sovereign (no services slot): it deploys its own stacks; axe manages only its exposure (axe onboard ${customer})`
        : trap('services-slot-missing', { service, customer }).fix,
    });
  }
}

/** Each applied action as it starts, and a line every 10 s while it runs (compose up --wait can take minutes). */
const ticker = stepTicker();

function progressLine(event: ProgressEvent): void {
  if (event.phase === 'act' && event.action) ticker.start(event.customer, `${event.customer}/${event.kind}: ${event.action.summary}`);
  if (event.phase === 'done') ticker.stop(event.customer);
  if (event.phase === 'done' && event.result?.error) progress(`${event.customer}/${event.kind}: failed: ${event.result.error.message}`);
}

/** One reconcile of the verb's kinds; with `writer` (acting), as the customer's one writer (cli/writer.ts). */
async function run(env: ReconcileEnv, customer: string, kinds: readonly Kind[] | undefined, apply: boolean, verbose: boolean, writer?: { verb: string; options: DeployCliOptions }): Promise<CustomerResult> {
  const go = (): Promise<CustomerResult> => reconcileCustomer(env, customer, { apply, ...(kinds ? { only: kinds } : {}), ...(verbose ? { onProgress: progressLine } : {}) });
  return apply && writer ? asWriter(customer, `axe ${writer.verb} --apply`, writer.options, go) : go();
}

function print(result: CustomerResult, options: DeployCliOptions, applied: boolean, title: string): void {
  if (options.json) printJson(resultJson([result], applied));
  else if (options.markdown) process.stdout.write(renderMarkdown([result], title));
  else process.stdout.write(renderText([result], applied));
}

/**
 * After applying: 0 when every shown resource is in sync and not Degraded;
 * otherwise one line per failure on stderr (step, state left, fix) and 1.
 */
function applyExitCode(result: CustomerResult, verb: string): number {
  const shown = result.resources.filter((k) => !k.context);
  const failed = shown.filter((k) => k.error || k.health.status === 'Degraded' || k.actions.length > 0);
  for (const k of failed) {
    const why = k.error ? k.error.message : `${k.health.status} ${k.health.reason}: ${k.health.message}`;
    const fix = k.error?.fix ?? k.health.trap?.fix;
    process.stderr.write(`axe: ${verb}: ${k.kind} not done: ${why}${fix ? ` (fix: ${fix})` : ''}\n`);
  }
  return failed.length > 0 ? 1 : 0;
}

/** `axe deploy {service} {customer} [--apply]`. */
export async function deployService(service: string, customer: string, options: DeployCliOptions): Promise<number> {
  const env = await openEnv(options);
  try {
    refuseUndeclared(env, service, customer);
    env.services = [service];
    const kinds: readonly Kind[] = env.state.manifests.get(service)?.kind === 'vaultwarden' ? ['vaultwarden', 'endpoints'] : STACK_DEPLOY_KINDS;
    const verbose = !options.json && !options.markdown;
    const result = await run(env, customer, kinds, Boolean(options.apply), verbose && Boolean(options.apply), { verb: `deploy ${service} ${customer}`, options });
    print(result, options, Boolean(options.apply), `axe deploy ${service} ${customer}`);
    return options.apply ? applyExitCode(result, `deploy ${service} ${customer}`) : planExitCode([result]);
  } finally {
    env.providers.hosts.close();
  }
}

/** The vault as it will be once the pack's writes are made (plans only: it refuses writes). */
function previewVault(base: VaultProvider, writes: readonly VaultWrite[]): VaultProvider {
  const pending = writes.filter((w) => w.action !== 'unchanged');
  return {
    kind: base.kind,
    fingerprint: (value) => base.fingerprint(value),
    async list() {
      const entries = (await base.list()).filter((e) => !pending.some((w) => w.name === e.name));
      const now = new Date().toISOString();
      return [...entries, ...pending.map((w) => ({ name: w.name, customer: w.customer, service: w.service, fingerprint: w.fingerprint, digest: contentDigest(w.value), updatedAt: now }))].sort((a, b) => a.name.localeCompare(b.name));
    },
    async get(name) {
      return pending.find((w) => w.name === name)?.value ?? base.get(name);
    },
    async put() {
      throw terminal('the plan preview of the vault is read-only');
    },
  };
}

/** The environment a plan sees once the pack is ingested: customers.yaml as ingest will write it, the vault with its three secrets. */
async function previewEnv(customer: string, packPath: string, options: DeployCliOptions): Promise<ReconcileEnv> {
  const settings = await loadSettings(options);
  const root = resolveRepo(options, settings);
  const packLoad = await loadFile(resolve(packPath), packPath, Pack, { maxBytes: 1024 * 1024 });
  if (!packLoad.ok) throw terminal(`invalid pack: ${packLoad.issues.map(formatIssue).join('; ')}`, { customer, fix: "ask the customer's IT for a corrected axelabs-bootstrap pack; nothing was written" });
  const repo = openConfigRepo(root);
  const branch = onboardBranch(customer);
  const onBranch = (await repo.isRepo()) && (await repo.branchExists(branch)) && (await repo.currentBranch()) !== branch;
  const working = onBranch ? null : await readCustomersText(root);
  if (working?.issue) throw terminal(formatIssue(working.issue), { customer, fix: 'replace the link with the file itself and commit it; nothing was written' });
  const text = working ? working.text : await repo.show(branch, CUSTOMERS_FILE);
  if (text === null) throw terminal(`cannot read ${CUSTOMERS_FILE}`, { fix: `check ${root}` });
  const base = await loadRepo(root, { customersText: text });
  if (!base.ok) throw terminal(`the config repo ${root} is invalid: ${base.issues.map(formatIssue).join('; ')}`, { fix: 'run axe validate and fix the errors' });
  const providers = await openConfiguredProviders(settings.config, settings.vault, { cacheDir: join(settings.home, 'cache'), home: settings.home });
  const entries = await providers.vault.list();
  const plan = planIngest(text, base.state.customers, base.state.manifests, { id: customer, pack: packLoad.value, vaultFingerprints: new Map(entries.map((e) => [e.name, e.fingerprint])), fingerprint: (value) => providers.vault.fingerprint(value), zone: settings.zone });
  const after = await loadRepo(root, { customersText: plan.after });
  if (!after.ok) throw terminal(`the pack would leave customers.yaml invalid: ${after.issues.map(formatIssue).join('; ')}`, { customer, fix: 'fix the pack; nothing was written' });
  return buildEnv({ config: settings.config, zone: settings.zone, state: after.state, providers: { ...providers, vault: previewVault(providers.vault, plan.vaultWrites) } });
}

/**
 * `axe deploy customer {customer} [--from-pack pack.json] [--apply]`: the
 * pack ingested, then onboard and every declared service, in order.
 */
export async function deployCustomer(customer: string, options: DeployCliOptions): Promise<number> {
  const verb = `deploy customer ${customer}`;
  const plain = !options.json && !options.markdown;
  // 1. One plan for everything.
  const planEnv = options.fromPack ? await previewEnv(customer, options.fromPack, options) : await openEnv(options);
  let plan: CustomerResult;
  try {
    const { customers } = planEnv.state;
    if (!customers.customers[customer]) throw terminal(`customer ${customer} is not in customers.yaml`, { customer, fix: trap('customer-entry-missing', { customer }).fix });
    if (isSovereign(customers, customer)) {
      throw terminal(`no service is declared for ${customer}`, { customer, fix: `${customer} is sovereign: it deploys its own stacks; axe manages only its exposure (axe onboard ${customer})` });
    }
    if (options.fromPack && plain) {
      line(`Plan for ${verb}:`);
      line(`  1. ingest ${options.fromPack}: the three client secrets to the vault, the sso block to customers.yaml (branch ${onboardBranch(customer)})`);
      line('  2. converge every resource (as the controller will):');
    }
    plan = await run(planEnv, customer, undefined, false, false);
  } finally {
    planEnv.providers.hosts.close();
  }
  if (!options.apply) {
    print(plan, options, false, `axe ${verb}`);
    return planExitCode([plan]);
  }
  if (plain) process.stdout.write(renderText([plan], false).replace(' Run again with --apply to make them.', ' Applying them now.'));

  // 2. Ingest, then converge.
  if (options.fromPack) {
    progress(`${customer}: ingesting ${options.fromPack}`);
    const code = await customersIngest(customer, options.fromPack, { ...(options.repo ? { repo: options.repo } : {}), ...(options.config ? { config: options.config } : {}), apply: true, ...(options.json ? { json: true } : {}) });
    if (code !== 0) return code;
  }
  const env = await openEnv(options);
  try {
    const result = await run(env, customer, undefined, true, plain, { verb, options });
    if (plain) line();
    print(result, options, true, `axe ${verb}`);
    return applyExitCode(result, verb);
  } finally {
    env.providers.hosts.close();
  }
}

/** `axe vault bootstrap {customer} [--apply]`: the customer vault's keys and DOMAIN, recreated only when changed. */
export async function vaultBootstrap(customer: string, options: DeployCliOptions): Promise<number> {
  const env = await openEnv(options);
  try {
    const service = [...env.state.manifests.values()].find((m) => m.kind === 'vaultwarden')?.name ?? 'vaultwarden';
    refuseUndeclared(env, service, customer);
    env.services = [service];
    const result = await run(env, customer, ['vaultwarden'], Boolean(options.apply), Boolean(options.apply) && !options.json, { verb: `vault bootstrap ${customer}`, options });
    print(result, options, Boolean(options.apply), `axe vault bootstrap ${customer}`);
    return options.apply ? applyExitCode(result, `vault bootstrap ${customer}`) : planExitCode([result]);
  } finally {
    env.providers.hosts.close();
  }
}

/** `axe health {customer}`: every public endpoint through the tunnel; exit 0 when all answer 200. */
export async function health(customer: string, options: DeployCliOptions): Promise<number> {
  const env = await openEnv(options);
  try {
    if (!env.state.customers.customers[customer]) throw terminal(`customer ${customer} is not in customers.yaml`, { customer, fix: trap('customer-entry-missing', { customer }).fix });
    const result = await run(env, customer, ['endpoints'], false, false);
    const k = result.resources.find((r) => r.kind === 'endpoints');
    const observed = (k?.observed ?? new Map()) as Map<string, { status: number; detail: string }>;
    if (options.json) {
      printJson({ customer, health: k?.health ?? null, endpoints: [...observed].map(([url, o]) => ({ url, status: o.status, detail: o.detail })) });
    } else {
      line(`${customer}: ${k ? `${k.health.status}: ${k.health.message}` : 'no public endpoint is declared'}`);
      for (const [url, o] of observed) line(`  ${o.status === 200 ? '✓' : '✗'} ${url}  ${o.detail}`);
    }
    return !k || k.health.status === 'Healthy' ? 0 : 1;
  } finally {
    env.providers.hosts.close();
  }
}

/** Adds `deploy`, `vault bootstrap` and `health` to the CLI (reusing an existing `vault` command when there is one). */
