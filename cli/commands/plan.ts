/**
 * `axe plan [customer]`: asked of the running controller when the operator's
 * checkout is the revision it runs (controller/warm-plan.ts: the same plan,
 * made over its warm connections, with no SSH handshake and no provider
 * loaded here), else made here (reconcile.ts), as with `--local`. The MCP
 * `plan` tool plans the same way (`planVia`).
 *
 * Rules:
 * - The controller is asked only when one runs (its control.json, its pid
 *   alive: checked first, one small file) and the checkout is a git checkout
 *   without uncommitted changes; it plans only when the checkout's commit is
 *   its applied revision and this command's axe config, vault and zone are its
 *   own; otherwise, or when the request fails in any way, the plan is made
 *   here. One line says which, and why.
 * - The output and the exit code are the local plan's (0 in sync, 2 changes
 *   pending, 1 error): the controller answers the plan's `--json`, rendered
 *   here by the same renderers.
 * - Asking the controller loads neither the config schema nor a git library
 *   (plan-target.ts, checkout.ts); the local plan loads the settings once.
 */
import { askPlan, type ControllerEndpoint, runningController } from '../../controller/control-api.js';
import type { PlanAnswer } from '../../controller/warm-plan.js';
import type { CustomerResult } from '../../reconcilers/engine.js';
import { planExitCode, resultsFromJson } from '../../reconcilers/report.js';
import { checkoutAt } from '../checkout.js';
import { printResults } from '../output.js';
import { planTarget } from '../plan-target.js';
import { requester } from '../requester.js';
import { repoAt, type Settings } from '../settings.js';

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

/** The running controller's plan and the line naming it, or why this command must plan itself (with the settings, when they were loaded on the way). */
export async function controllerPlan(
  customer: string | undefined,
  options: PlanCliOptions,
  by = requester(),
): Promise<{ ok: true; results: CustomerResult[]; answer: PlanAnswer; line: string } | { ok: false; why: string; settings?: Settings }> {
  const target = await planTarget(options);
  const local = (why: string) => ({ ok: false as const, why, ...(target.settings ? { settings: target.settings } : {}) });
  const root = repoAt(options, target.checkout);
  let endpoint: ControllerEndpoint;
  try {
    endpoint = await runningController(target.stateDir);
  } catch (error) {
    return local(error instanceof Error ? error.message : String(error));
  }
  const { head, dirty } = await checkoutAt(root);
  if (head === null) return local(`${root} is not a git checkout`);
  if (dirty) return local(`the checkout ${root} has uncommitted changes`);
  const only = options.only?.split(',').map((k) => k.trim()).filter(Boolean);
  const asked = await askPlan(endpoint, {
    by,
    revision: head,
    settings: target.digest,
    ...(customer ? { customer } : {}),
    ...(only?.length ? { only } : {}),
    concurrency: Math.max(1, Number(options.concurrency ?? 8) || 8),
  });
  if (!asked.ok) return local(asked.why);
  const line = `by the running controller (pid ${asked.answer.pid}, revision ${asked.answer.revision.slice(0, 12)}) over its warm connections`;
  return { ok: true, results: resultsFromJson(asked.answer.plan), answer: asked.answer, line };
}

/** The plan, by the running controller when it can make it, else here (`--local`: here); `say` gets the one line saying which, before a local plan starts. */
export async function planVia(customer: string | undefined, options: PlanCliOptions, say: (line: string) => void, by?: string): Promise<CustomerResult[]> {
  const warm = options.local ? { ok: false as const, why: '--local' } : await controllerPlan(customer, options, by);
  if (warm.ok) {
    say(warm.line);
    return warm.results;
  }
  say(`locally (${warm.why})`);
  return (await import('./reconcile.js')).planResults(customer, options, 'settings' in warm ? warm.settings : undefined);
}

/** `axe plan [customer] [--local]`: read-only. Exit 0 in sync, 2 changes pending, 1 error. */
export async function plan(customer: string | undefined, options: PlanCliOptions): Promise<number> {
  const results = await planVia(customer, options, (line) => process.stderr.write(`plan: ${line}\n`));
  printResults(results, options, customer ? `axe plan ${customer}` : 'axe plan');
  return planExitCode(results);
}
