/**
 * `axe controller [--config F] [--watch DIR] [--once] [--listen H:P]`,
 * `axe status [customer]` and `axe history [customer]`, registered on the
 * program by `registerControllerCommands`.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { terminal } from '../../core/errors.js';
import { planRevisions, renderRevisionPlan } from '../../controller/plan-revisions.js';
import { runForever, runOnce } from '../../controller/run.js';
import { buildEnv, openEnvProviders } from '../../reconcilers/env.js';
import { planExitCode, renderText, resultJson } from '../../reconcilers/report.js';
import { printJson } from '../output.js';
import { loadSettings, resolveRepo } from '../settings.js';
import { history } from './history.js';
import { status } from './status.js';
import { collect, runCommand as run } from '../run.js';

export interface ControllerCliOptions {
  config?: string;
  watch?: string;
  once?: boolean;
  listen?: string;
}

/** `axe controller`: run the controller in the foreground (JSON log on stdout). */
export async function controllerCommand(options: ControllerCliOptions): Promise<number> {
  const settings = await loadSettings(options);
  if (!settings.config) throw terminal('axe controller needs an axe config', { fix: 'write ~/.axe/config.yaml (see examples/axe-config.yaml) or pass --config FILE' });
  const common = {
    config: settings.config,
    vault: settings.vault,
    zone: settings.zone,
    axeHome: settings.home,
    ...(options.watch ? { watchDir: options.watch } : {}),
    ...(options.listen ? { listen: options.listen } : {}),
  };
  return options.once ? runOnce(common) : runForever(common);
}

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
  if (!options.base || !options.head) throw terminal('--base and --head go together', { fix: 'pass both, e.g. --base origin/main --head HEAD' });
  const settings = await loadSettings(options);
  const repo = resolveRepo(options, settings);
  const result = await planRevisions({
    repo,
    base: options.base,
    head: options.head,
    ...(customer ? { customer } : {}),
    concurrency: Math.max(1, Number(options.concurrency ?? 8) || 8),
    openEnv: async (state, revision) => buildEnv({ config: settings.config, zone: settings.zone, state, providers: await openEnvProviders(settings.config, settings.vault, join(settings.home, 'cache')), revision }),
  });
  if (options.json) printJson({ base: result.base, head: result.head, added: result.added, changed: result.changed, removed: result.removed, ...(resultJson(result.results, false) as object) });
  else if (options.markdown) process.stdout.write(renderRevisionPlan(result));
  else process.stdout.write(renderText(result.results, false));
  return planExitCode(result.results);
}

export function registerControllerCommands(program: Command): void {
  program
    .command('controller')
    .description('run the GitOps controller: pull the config repo, reconcile every customer, serve /metrics /status /healthz /readyz and the signed webhook /hooks/git')
    .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
    .option('--watch <dir>', 'dev mode: watch this local checkout instead of fetching the repo')
    .option('--once', 'reconcile every customer once and exit (exit 1 when a resource failed)')
    .option('--listen <host:port>', 'override the config\'s listen address')
    .action(run((options: ControllerCliOptions) => controllerCommand(options)));

  program
    .command('status [customer]')
    .description("the controller's view: every resource's sync, health, reason, trap and fix (exit 1 when something is degraded or failing)")
    .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
    .option('--url <url>', 'ask a running controller (e.g. http://127.0.0.1:9464) instead of reading its history database')
    .option('--json', 'machine-readable output')
    .action(run((customer: string | undefined, options) => status(customer, options)));

  program
    .command('history [customer]')
    .description('what the controller did: revisions, actions, drift, errors, alerts and ship log lines, oldest first')
    .option('--config <file>', 'axe config (default: $AXE_CONFIG or ~/.axe/config.yaml)')
    .option('--limit <n>', 'how many events (default 50)')
    .option('--type <type>', 'only this event type (repeatable): revision, rejected, action, drift, drift-closed, error, ship, interrupted, removed, alert', collect)
    .option('--json', 'machine-readable output')
    .action(run((customer: string | undefined, options) => history(customer, options)));
}
