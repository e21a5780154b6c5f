/**
 * `axe plan [customer]`: asked of the running controller when the operator's
 * checkout is the revision it runs (controller/warm-plan.ts: the same plan,
 * made over its warm connections, with no SSH handshake and no provider
 * loaded here), else made here (reconcile.ts), as with `--local`.
 *
 * Rules:
 * - The controller is asked only when the checkout is a git checkout without
 *   uncommitted changes, and it plans only when the checkout's commit is its
 *   applied revision and this command's axe config, vault and zone are its
 *   own; otherwise, when no controller runs, or the request fails in any way,
 *   the plan is made here. One line on stderr says which, and why.
 * - The output and the exit code are the local plan's (0 in sync, 2 changes
 *   pending, 1 error): the controller answers the plan's `--json`, rendered
 *   here by the same renderers.
 */
import { controllerPaths } from '../../controller/config.js';
import { askPlan, settingsDigest } from '../../controller/control-api.js';
import type { PlanAnswer } from '../../controller/warm-plan.js';
import { checkoutAt } from '../../providers/git/config-repo.js';
import type { CustomerResult } from '../../reconcilers/engine.js';
import { planExitCode, resultsFromJson } from '../../reconcilers/report.js';
import { printResults } from '../output.js';
import { loadSettings, resolveRepo } from '../settings.js';
import { requester } from './control.js';

export interface PlanCliOptions {
  repo?: string;
  config?: string;
  json?: boolean;
  markdown?: boolean;
  only?: string;
  concurrency?: string;
  /** Plan here even when a controller runs. */
  local?: boolean;
}

function say(text: string): void {
  process.stderr.write(`plan: ${text}\n`);
}

/** The running controller's plan, or null (after saying why) when this command must plan itself. */
export async function controllerPlan(customer: string | undefined, options: PlanCliOptions): Promise<{ results: CustomerResult[]; answer: PlanAnswer } | null> {
  const settings = await loadSettings(options);
  const root = resolveRepo(options, settings);
  const { head, dirty } = await checkoutAt(root);
  const local = (why: string): null => (say(`locally (${why})`), null);
  if (head === null) return local(`${root} is not a git checkout`);
  if (dirty) return local(`the checkout ${root} has uncommitted changes`);
  const only = options.only?.split(',').map((k) => k.trim()).filter(Boolean);
  const asked = await askPlan(controllerPaths(settings.config, settings.home).stateDir, {
    by: requester(),
    revision: head,
    settings: settingsDigest(settings),
    ...(customer ? { customer } : {}),
    ...(only?.length ? { only } : {}),
    concurrency: Math.max(1, Number(options.concurrency ?? 8) || 8),
  });
  if (!asked.ok) return local(asked.why);
  say(`by the running controller (pid ${asked.answer.pid}, revision ${asked.answer.revision.slice(0, 12)}) over its warm connections`);
  return { results: resultsFromJson(asked.answer.plan), answer: asked.answer };
}

/** `axe plan [customer] [--local]`: read-only. Exit 0 in sync, 2 changes pending, 1 error. */
export async function plan(customer: string | undefined, options: PlanCliOptions): Promise<number> {
  const warm = options.local ? (say('locally (--local)'), null) : await controllerPlan(customer, options);
  if (!warm) return (await import('./reconcile.js')).plan(customer, options);
  printResults(warm.results, options, customer ? `axe plan ${customer}` : 'axe plan');
  return planExitCode(warm.results);
}
