/**
 * Applying an onboarding edit: vault writes first, then customers.yaml on the
 * branch `onboard/{id}` with one commit (no push). Nothing is half-done: the
 * edit is validated as a whole repo before anything is written; when a vault
 * write fails, customers.yaml is not touched and the error says which items
 * were written and which were not (the same command again completes it).
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AxeError, errorLine, terminal } from '../core/errors.js';
import type { ConfigRepo } from '../providers/git/config-repo.js';
import type { VaultProvider } from '../providers/vault/types.js';
import { formatIssue } from '../schemas/load.js';
import { CUSTOMERS_FILE, loadRepo } from '../schemas/repo.js';
import type { EditPlan } from './plan.js';

export interface ApplyOptions {
  repo: ConfigRepo;
  vault?: VaultProvider;
  branch: string;
  message: string;
  /** One line per step done, for the operator. */
  progress?: (line: string) => void;
}

export interface ApplyResult {
  vaultWritten: string[];
  commit: string | null;
  branch: string;
}

export function onboardBranch(id: string): string {
  return `onboard/${id}`;
}

/** Checks that the config repo can take the commit; throws a one-line error with the fix. */
export async function preflight(repo: ConfigRepo, branch: string): Promise<void> {
  if (!(await repo.isRepo())) {
    throw terminal(`config repo ${repo.root} is not a git repository`, { fix: `git init ${repo.root} && git -C ${repo.root} add -A && git -C ${repo.root} commit -m init` });
  }
  if (!(await repo.isClean(CUSTOMERS_FILE))) {
    throw terminal(`${CUSTOMERS_FILE} has uncommitted changes in ${repo.root}`, { fix: `commit or stash them first (git -C ${repo.root} stash), then rerun` });
  }
  void branch;
}

export async function applyPlan(plan: EditPlan, options: ApplyOptions): Promise<ApplyResult> {
  const { repo, progress = () => {} } = options;
  const result: ApplyResult = { vaultWritten: [], commit: null, branch: options.branch };
  if (plan.nothingToDo) return result;

  if (plan.after !== plan.before) {
    const check = await loadRepo(repo.root, { customersText: plan.after });
    if (!check.ok) {
      throw terminal(`the edited ${CUSTOMERS_FILE} would not validate: ${check.issues.map(formatIssue).join('; ')}`, { fix: 'fix the input (pack or options); nothing was written' });
    }
    await preflight(repo, options.branch);
  }

  const pending = plan.vaultWrites.filter((w) => w.action !== 'unchanged');
  if (pending.length > 0 && !options.vault) throw terminal('no vault configured', { fix: 'configure vault in the axe config' });
  for (const write of pending) {
    try {
      await options.vault!.put({ name: write.name, customer: write.customer, service: write.service, value: write.value });
    } catch (error) {
      const notWritten = pending.map((w) => w.name).filter((n) => !result.vaultWritten.includes(n));
      throw new AxeError(error instanceof AxeError ? error.class : 'transient',
        `vault write of ${write.name} failed (${errorLine(error)}); written: ${result.vaultWritten.join(', ') || 'none'}; not written: ${notWritten.join(', ')}; ${CUSTOMERS_FILE} not changed`,
        { customer: plan.customer, resource: 'vault', fix: 'fix the vault, then rerun the same command (it is idempotent)', cause: error });
    }
    result.vaultWritten.push(write.name);
    progress(`vault: ${write.action === 'create' ? 'created' : 'updated'} ${write.name} (${write.fingerprint})`);
  }

  if (plan.after === plan.before) return result;
  await repo.switchTo(options.branch);
  const onBranch = await repo.show('HEAD', CUSTOMERS_FILE);
  if (onBranch !== null && onBranch !== plan.before) {
    throw terminal(`${CUSTOMERS_FILE} on ${options.branch} changed since the plan was made`, { customer: plan.customer, fix: 'rerun the command to plan again' });
  }
  const path = join(repo.root, CUSTOMERS_FILE);
  const tmp = `${path}.axe-${process.pid}.tmp`;
  await writeFile(tmp, plan.after);
  await rename(tmp, path);
  result.commit = await repo.commit([CUSTOMERS_FILE], options.message);
  progress(`git: committed ${result.commit} on ${options.branch} (not pushed)`);
  return result;
}
