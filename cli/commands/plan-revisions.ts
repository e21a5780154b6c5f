/**
 * `axe plan [customer] --base REV --head REV`: the PR plan (controller/plan-revisions.ts).
 */
import { join } from 'node:path';
import { terminal } from '../../core/errors.js';
import { planRevisions, renderRevisionPlan, type RevisionPlan } from '../../controller/plan-revisions.js';
import { buildEnv } from '../../reconcilers/env.js';
import { openConfiguredProviders } from '../../providers/index.js';
import { planExitCode, renderText, resultJson } from '../../reconcilers/report.js';
import { printJson } from '../output.js';
import { loadSettings, resolveRepo } from '../settings.js';

export interface PlanRevisionsCliOptions {
  repo?: string;
  config?: string;
  base: string;
  head: string;
  json?: boolean;
  markdown?: boolean;
  concurrency?: string;
}

/**
 * `axe plan [customer] --base REV --head REV [--markdown|--json]`: only the
 * customers whose desired state differs between the revisions, planned
 * against the live state. Exit 0 in sync, 2 changes pending, 1 error.
 */
export async function planRevisionsCommand(customer: string | undefined, options: Partial<PlanRevisionsCliOptions>): Promise<number> {
  const result = await revisionPlan(customer, options);
  if (options.json) printJson({ base: result.base, head: result.head, added: result.added, changed: result.changed, removed: result.removed, ...(resultJson(result.results, false) as object) });
  else if (options.markdown) process.stdout.write(renderRevisionPlan(result));
  else process.stdout.write(renderText(result.results, false));
  return planExitCode(result.results);
}

/** The plan of the customers whose desired state differs between two revisions (read-only). */
export async function revisionPlan(customer: string | undefined, options: Partial<PlanRevisionsCliOptions>): Promise<RevisionPlan> {
  if (!options.base || !options.head) throw terminal('--base and --head go together', { fix: 'pass both, e.g. --base origin/main --head HEAD' });
  const settings = await loadSettings(options);
  const repo = resolveRepo(options, settings);
  return planRevisions({
    repo,
    base: options.base,
    head: options.head,
    ...(customer ? { customer } : {}),
    concurrency: Math.max(1, Number(options.concurrency ?? 8) || 8),
    openEnv: async (state, revision) => buildEnv({ config: settings.config, zone: settings.zone, state, providers: await openConfiguredProviders(settings.config, settings.vault, { cacheDir: join(settings.home, 'cache'), home: settings.home }), revision }),
  });
}
