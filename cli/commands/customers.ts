import { resolve } from 'node:path';
import { terminal } from '../../core/errors.js';
import { applyPlan, onboardBranch } from '../../onboarding/apply.js';
import { type EditPlan, planAdd, planIngest } from '../../onboarding/plan.js';
import { openConfigRepo } from '../../providers/git/config-repo.js';
import { openVault } from '../../providers/vault/index.js';
import { CustomerId } from '../../schemas/common.js';
import { formatIssue, loadFile } from '../../schemas/load.js';
import { Pack } from '../../schemas/pack.js';
import { CUSTOMERS_FILE, loadRepo, readCustomersText, type DesiredState } from '../../schemas/repo.js';
import { line, printJson, progress } from '../output.js';
import { loadSettings, resolveRepo } from '../settings.js';

interface Common {
  repo?: string;
  config?: string;
  apply?: boolean;
  json?: boolean;
}

export interface AddOptions extends Common {
  legalName?: string;
  domain?: string;
  publicDomain?: string;
  tailscaleHost?: string;
  tailnet?: string;
  entity?: string[];
  sovereign?: boolean;
}

export interface IngestOptions extends AddOptions {}

function checkId(id: string): void {
  const parsed = CustomerId.safeParse(id);
  if (!parsed.success) throw terminal(`invalid customer id "${id}": ${parsed.error.issues[0]?.message ?? 'invalid'}`, { fix: 'choose an id like newco or new-co' });
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** The customers.yaml the edit starts from: the onboarding branch's tip when it exists, else the working tree. */
async function baseState(root: string, id: string): Promise<{ text: string; state: DesiredState; branchExists: boolean }> {
  const repo = openConfigRepo(root);
  const branch = onboardBranch(id);
  const isRepo = await repo.isRepo();
  const branchExists = isRepo && (await repo.branchExists(branch));
  const current = isRepo ? await repo.currentBranch() : null;
  const working = branchExists && current !== branch ? null : await readCustomersText(root);
  if (working?.issue) throw terminal(formatIssue(working.issue), { fix: `replace the link with the file itself and commit it; nothing was written` });
  const text = working ? working.text : await repo.show(branch, CUSTOMERS_FILE);
  if (text === null) {
    const load = await loadRepo(root);
    if (!load.ok) throw terminal(`config repo is invalid: ${load.issues.map(formatIssue).join('; ')}`, { fix: 'run axe validate and fix the errors first' });
    throw terminal(`cannot read ${CUSTOMERS_FILE}`, { fix: `check ${root}` });
  }
  const load = await loadRepo(root, { customersText: text });
  if (!load.ok) throw terminal(`config repo is invalid: ${load.issues.map(formatIssue).join('; ')}`, { fix: 'run axe validate and fix the errors first' });
  return { text, state: load.state, branchExists };
}

/** What an edit plan shows: names, actions and fingerprints, never a value. */
export function editPlanJson(plan: EditPlan): { customer: string; nothingToDo: boolean; branch: string; diff: string; vault: Array<{ name: string; service: string; action: string; fingerprint: string }> } {
  return {
    customer: plan.customer,
    nothingToDo: plan.nothingToDo,
    branch: onboardBranch(plan.customer),
    diff: plan.diff,
    vault: plan.vaultWrites.map(({ name, service, action, fingerprint }) => ({ name, service, action, fingerprint })),
  };
}

/** Applies an edit plan: vault writes, then one commit on branch onboard/{id} (never a push). */
export async function applyEdit(plan: EditPlan, root: string, options: Common, verb: string, onProgress: (text: string) => void): Promise<{ commit: string | null; vaultWritten: string[] }> {
  const settings = await loadSettings(options);
  const repo = openConfigRepo(root);
  const needsVault = plan.vaultWrites.some((w) => w.action !== 'unchanged');
  const result = await applyPlan(plan, {
    repo,
    ...(needsVault ? { vault: openVault(settings.vault, process.env, { home: settings.home }) } : {}),
    branch: onboardBranch(plan.customer),
    message: `onboard ${plan.customer}: ${verb}\n\nVault items: ${plan.vaultWrites.map((w) => `${w.name} (${w.action})`).join(', ') || 'none'}`,
    progress: onProgress,
  });
  return { commit: result.commit, vaultWritten: result.vaultWritten };
}

async function finish(plan: EditPlan, root: string, options: Common, verb: string): Promise<number> {
  const branch = onboardBranch(plan.customer);
  const planJson = editPlanJson(plan);
  if (plan.nothingToDo) {
    if (options.json) printJson({ ...planJson, applied: false });
    else line(`${verb} ${plan.customer}: nothing to do (customers.yaml and the vault already match)`);
    return 0;
  }
  if (!options.apply) {
    if (options.json) {
      printJson({ ...planJson, applied: false });
      return 0;
    }
    line(`Plan for ${verb} ${plan.customer} (dry run: nothing is changed; rerun with --apply):`);
    line();
    if (plan.diff) line(plan.diff.trimEnd());
    else line(`  ${CUSTOMERS_FILE}: no change`);
    line();
    for (const w of plan.vaultWrites) line(`  vault ${w.action.padEnd(9)} ${w.name}  (service ${w.service}, ${w.fingerprint})`);
    if (plan.diff) line(`\n  git: commit on branch ${branch} (no push)`);
    return 0;
  }
  const result = await applyEdit(plan, root, options, verb, options.json ? () => {} : progress);
  if (options.json) printJson({ ...planJson, applied: true, commit: result.commit, vaultWritten: result.vaultWritten });
  else line(`${verb} ${plan.customer}: done${result.commit ? `; open a pull request from ${branch} (git push origin ${branch})` : ''}`);
  return 0;
}

/** `axe customers add {id}`: a new customer block and its service slots, on branch onboard/{id}. */
export async function customersAdd(id: string, options: AddOptions): Promise<number> {
  checkId(id);
  const root = resolveRepo(options, null);
  const settings = await loadSettings(options);
  const { text, state } = await baseState(root, id);
  if (!state.customers.customers[id] && (!options.legalName || !options.domain)) {
    throw terminal(`customer ${id} needs a legal name and a primary domain`, { fix: `axe customers add ${id} --legal-name "…" --domain example.com` });
  }
  const plan = planAdd(text, state.customers, state.manifests, {
    id,
    legalName: options.legalName ?? '',
    primaryDomain: options.domain ?? '',
    ...(options.publicDomain ? { publicDomain: options.publicDomain } : {}),
    ...(options.tailscaleHost ? { tailscaleHost: options.tailscaleHost } : {}),
    ...(options.tailnet ?? settings.tailnet ? { tailnet: (options.tailnet ?? settings.tailnet)! } : {}),
    ...(options.entity?.length ? { entities: options.entity } : {}),
    ...(options.sovereign ? { sovereign: true } : {}),
    today: today(),
    zone: settings.zone,
  });
  return finish(plan, root, options, 'customers add');
}

/** `axe customers ingest {id} {pack.json}`: the pack's secrets to the vault, its block to customers.yaml. */
export async function customersIngest(id: string, packPath: string, options: IngestOptions): Promise<number> {
  const { plan, root } = await ingestPlan(id, packPath, options);
  return finish(plan, root, options, 'customers ingest');
}

/** The ingest's edit plan (reads the pack, the repo and the vault's fingerprints; changes nothing). */
export async function ingestPlan(id: string, packPath: string, options: IngestOptions): Promise<{ plan: EditPlan; root: string }> {
  checkId(id);
  const root = resolveRepo(options, null);
  const settings = await loadSettings(options);
  const packLoad = await loadFile(resolve(packPath), packPath, Pack, { maxBytes: 1024 * 1024 });
  if (!packLoad.ok) throw terminal(`invalid pack: ${packLoad.issues.map(formatIssue).join('; ')}`, { customer: id, fix: "ask the customer's IT for a corrected axelabs-bootstrap pack; nothing was written" });
  const { text, state } = await baseState(root, id);
  const vault = openVault(settings.vault, process.env, { home: settings.home });
  const entries = await vault.list();
  const plan = planIngest(text, state.customers, state.manifests, {
    id,
    pack: packLoad.value,
    vaultFingerprints: new Map(entries.map((e) => [e.name, e.fingerprint])),
    fingerprint: (value) => vault.fingerprint(value),
    zone: settings.zone,
    ...(options.legalName && options.domain
      ? {
          create: {
            legalName: options.legalName,
            primaryDomain: options.domain,
            ...(options.publicDomain ? { publicDomain: options.publicDomain } : {}),
            ...(options.tailscaleHost ? { tailscaleHost: options.tailscaleHost } : {}),
            ...(options.tailnet ?? settings.tailnet ? { tailnet: (options.tailnet ?? settings.tailnet)! } : {}),
            ...(options.entity?.length ? { entities: options.entity } : {}),
            ...(options.sovereign ? { sovereign: true } : {}),
            today: today(),
            zone: settings.zone,
          },
        }
      : {}),
  });
  return { plan, root };
}
