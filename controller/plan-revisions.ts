/**
 * The pull request's plan: `axe plan --base REV --head REV --markdown`. Only
 * the customers whose desired state differs between the two revisions are
 * planned (against what the live observation says now) and shown, with their
 * actions, the traps found before merge and secret names only.
 *
 * Rules:
 * - Both revisions are read from git objects into temporary directories; the
 *   working tree is never touched.
 * - An invalid head is an error (the PR must not merge); an invalid base
 *   (the PR fixes it) plans every customer of the head.
 * - Removed customers are listed; the ones whose base revision had
 *   `policy.prune` on (mode apply, not suspended) get their teardown planned
 *   against the base's desired state (what the controller prunes on merge);
 *   the others are left in place.
 * - Planning never acts (`apply: false`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Bottleneck from 'bottleneck';
import { simpleGit } from 'simple-git';
import { terminal } from '../core/errors.js';
import { type CustomerResult, reconcileCustomer } from '../reconcilers/engine.js';
import { type PruneResult, pruneCustomer, prunesOnRemoval } from '../reconcilers/prune.js';
import { renderMarkdown } from '../reconcilers/report.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import { type ConfigIssue, formatIssue } from '../schemas/load.js';
import { type DesiredState, loadRepo } from '../schemas/repo.js';
import { customerDigests, diffRevisions } from './revision-diff.js';
import { exportTree } from './source.js';

export interface RevisionPlan {
  base: string;
  head: string;
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
  /** The base's errors when the base itself was invalid (then every head customer is planned). */
  baseIssues: ConfigIssue[] | null;
  results: CustomerResult[];
  /** Removed customers with pruning on: what the controller tears down on merge. */
  prunes: PruneResult[];
}


export interface PlanRevisionsOptions {
  /** A git checkout (or bare repo) holding both revisions. */
  repo: string;
  base: string;
  head: string;
  /** Only this customer (when it changed). */
  customer?: string;
  /** Builds the reconcile environment for the head's desired state (providers for the live observation). */
  openEnv(state: DesiredState, revision: string): Promise<ReconcileEnv>;
  concurrency?: number;
}

/** The commit id `rev` names in `repo`; a terminal error when it names none. */
async function resolveCommit(repo: string, rev: string): Promise<{ gitDir: string; id: string }> {
  const git = simpleGit({ baseDir: repo, trimmed: true });
  let gitDir: string;
  try {
    gitDir = await git.revparse(['--absolute-git-dir']);
  } catch {
    throw terminal(`${repo} is not a git repository`, { fix: 'pass --repo the config repo checkout' });
  }
  try {
    return { gitDir, id: await git.revparse(['--verify', '--quiet', `${rev}^{commit}`]) };
  } catch {
    throw terminal(`revision ${rev} is not in ${repo}`, { fix: 'fetch it first (git fetch origin) or name a branch or commit that exists' });
  }
}

async function loadAt(gitDir: string, id: string, tmp: string): Promise<ReturnType<typeof loadRepo>> {
  const dir = join(tmp, id);
  await exportTree(gitDir, id, dir);
  return loadRepo(dir);
}

export async function planRevisions(options: PlanRevisionsOptions): Promise<RevisionPlan> {
  const base = await resolveCommit(options.repo, options.base);
  const head = await resolveCommit(options.repo, options.head);
  const tmp = await mkdtemp(join(tmpdir(), 'axe-plan-'));
  try {
    const headLoad = await loadAt(head.gitDir, head.id, tmp);
    if (!headLoad.ok) {
      const first = headLoad.issues.slice(0, 5).map(formatIssue).join('; ');
      throw terminal(`the head revision ${options.head} is invalid (${headLoad.issues.length} error(s): ${first})`, { fix: 'run axe validate on the branch and fix the errors before merging' });
    }
    const baseLoad = base.id === head.id ? headLoad : await loadAt(base.gitDir, base.id, tmp);
    const diff = diffRevisions(baseLoad.ok ? customerDigests(baseLoad.state) : null, customerDigests(headLoad.state));
    let planned = [...diff.added, ...diff.changed];
    if (options.customer) planned = planned.filter((id) => id === options.customer);
    const env = await options.openEnv(headLoad.state, head.id);
    const limiter = new Bottleneck({ maxConcurrent: Math.max(1, options.concurrency ?? 8) });
    let results: CustomerResult[];
    try {
      results = await Promise.all(planned.map((id) => limiter.schedule(() => reconcileCustomer(env, id, { apply: false }))));
    } finally {
      env.providers.hosts.close();
    }
    const pruned = baseLoad.ok ? diff.removed.filter((id) => prunesOnRemoval(baseLoad.state, id) && (!options.customer || id === options.customer)) : [];
    let prunes: PruneResult[] = [];
    if (pruned.length > 0 && baseLoad.ok) {
      const baseEnv = await options.openEnv(baseLoad.state, base.id);
      try {
        prunes = await Promise.all(pruned.map((id) => limiter.schedule(() => pruneCustomer(baseEnv, id, { apply: false }))));
      } finally {
        baseEnv.providers.hosts.close();
      }
    }
    return {
      base: base.id,
      head: head.id,
      added: diff.added,
      changed: diff.changed,
      removed: diff.removed,
      unchanged: diff.unchanged,
      baseIssues: baseLoad.ok ? null : baseLoad.issues,
      results,
      prunes,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The PR comment: which customers this change touches, then the usual plan for them. */
export function renderRevisionPlan(plan: RevisionPlan): string {
  const short = (id: string): string => id.slice(0, 12);
  const head: string[] = [];
  if (plan.baseIssues) head.push(`> The base revision ${short(plan.base)} is invalid (${plan.baseIssues.length} error(s)); every customer of the head is planned.`, '');
  const touched = [...plan.added.map((id) => `\`${id}\` (new)`), ...plan.changed.map((id) => `\`${id}\``)];
  head.push(`Customers whose desired state changes: ${touched.length ? touched.join(', ') : 'none'}.`);
  const pruned = new Set(plan.prunes.map((p) => p.customer));
  const kept = plan.removed.filter((id) => !pruned.has(id));
  if (kept.length) head.push('', `Removed from customers.yaml: ${kept.map((id) => `\`${id}\``).join(', ')}. Nothing is torn down: their tunnel, DNS, stacks and vault items stay (pruning is off).`);
  for (const p of plan.prunes) {
    head.push('', `Removed from customers.yaml with \`policy.prune\` on: \`${p.customer}\` is torn down on merge (vault items, its own vault and data volumes stay):`);
    if (p.error) head.push(`- cannot plan the teardown: ${p.error}`);
    else if (p.actions.length === 0) head.push('- nothing of it is left');
    for (const a of p.actions) head.push(`- \`${a.kind}\` ${a.summary}`);
  }
  if (plan.unchanged.length) head.push('', `<sub>${plan.unchanged.length} other customer(s) unchanged, not planned.</sub>`);
  const body = plan.results.length ? renderMarkdown(plan.results, `axe plan ${short(plan.base)}..${short(plan.head)}`) : `### axe plan ${short(plan.base)}..${short(plan.head)}\n\nNo customer's desired state changes.\n`;
  const [title, ...rest] = body.split('\n');
  return [title, '', ...head, ...rest].join('\n');
}
