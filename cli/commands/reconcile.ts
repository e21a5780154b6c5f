/**
 * `axe plan`, `axe onboard`, `axe apply`: the controller's reconcile, run once
 * from the command line for one customer (or all, for plan), limited to the
 * kinds the verb covers, acting only with --apply.
 */
import { join } from 'node:path';
import Bottleneck from 'bottleneck';
import { terminal } from '../../core/errors.js';
import { type CustomerResult, EXPOSURE_KINDS, type ProgressEvent, KIND_NAMES, reconcileCustomer, unknownKind } from '../../reconcilers/engine.js';
import { planExitCode } from '../../reconcilers/report.js';
import type { ReconcileEnv } from '../../reconcilers/runtime.js';
import { buildEnv } from '../../reconcilers/env.js';
import { openConfiguredProviders } from '../../providers/index.js';
import type { Kind } from '../../reconcilers/types.js';
import { formatIssue } from '../../schemas/load.js';
import { loadRepo } from '../../schemas/repo.js';
import { printResults, progress, stepTicker } from '../output.js';
import { loadSettings, resolveRepo, type Settings } from '../settings.js';
import { asWriter, type WriterCliOptions } from '../writer.js';

export interface ReconcileCliOptions extends WriterCliOptions {
  repo?: string;
  config?: string;
  apply?: boolean;
  json?: boolean;
  markdown?: boolean;
  only?: string;
  concurrency?: string;
}

/** Builds the reconcile environment from the operator's settings (loaded here unless given) and the config repo. */
export async function openEnv(options: { repo?: string; config?: string }, loaded?: Settings): Promise<ReconcileEnv> {
  const settings = loaded ?? (await loadSettings(options));
  const root = resolveRepo(options, settings);
  const load = await loadRepo(root);
  if (!load.ok) {
    for (const issue of load.issues) process.stderr.write(`${formatIssue(issue)}\n`);
    throw terminal(`the config repo ${root} is invalid (${load.issues.length} error(s) above); nothing was planned or changed`, { fix: 'run axe validate and fix the errors' });
  }
  const providers = await openConfiguredProviders(settings.config, settings.vault, { cacheDir: join(settings.home, 'cache'), home: settings.home });
  return buildEnv({ config: settings.config, zone: settings.zone, state: load.state, providers });
}

function parseKinds(only: string | undefined): Kind[] | undefined {
  if (!only) return undefined;
  const kinds = only.split(',').map((k) => k.trim()).filter(Boolean);
  const bad = unknownKind(kinds);
  if (bad) throw terminal(`unknown resource kind "${bad}"`, { fix: `use one or more of ${KIND_NAMES.join(', ')}` });
  return kinds as Kind[];
}

/** Each applied action as it starts, and a line every 10 s while it runs (compose up --wait can take minutes). */
const ticker = stepTicker();

function progressLine(event: ProgressEvent): void {
  if (event.phase === 'act' && event.action) ticker.start(event.customer, `${event.customer}/${event.kind}: ${event.action.summary}`);
  if (event.phase === 'done') ticker.stop(event.customer);
  if (event.phase === 'done' && event.result) progress(`${event.customer}/${event.kind}: ${event.result.sync}, ${event.result.health.status}${event.result.error ? ` (${event.result.error.message})` : ''}`);
}

async function runAll(env: ReconcileEnv, customers: string[], options: ReconcileCliOptions, only: readonly Kind[] | undefined, verb = 'axe apply'): Promise<CustomerResult[]> {
  const limiter = new Bottleneck({ maxConcurrent: Math.max(1, Number(options.concurrency ?? 8) || 8) });
  // Progress goes to stderr, so it is shown with --json too whenever something is applied.
  const verbose = Boolean(options.apply) || (!options.json && !options.markdown && customers.length === 1);
  try {
    return await Promise.all(
      customers.map((id) =>
        limiter.schedule(() => {
          const go = (): Promise<CustomerResult> => reconcileCustomer(env, id, { apply: Boolean(options.apply), ...(only ? { only } : {}), ...(verbose ? { onProgress: progressLine } : {}) });
          return options.apply ? asWriter(id, `${verb} ${id} --apply`, options, go) : go();
        }),
      ),
    );
  } finally {
    env.providers.hosts.close();
  }
}

/** `axe plan [customer]`: read-only. Exit 0 in sync, 2 changes pending, 1 error. */
export async function plan(customer: string | undefined, options: ReconcileCliOptions): Promise<number> {
  if (options.apply) throw terminal('axe plan never changes anything', { fix: 'use axe apply CUSTOMER --apply or axe onboard CUSTOMER --apply' });
  const results = await planResults(customer, options);
  printResults(results, options, customer ? `axe plan ${customer}` : 'axe plan');
  return planExitCode(results);
}

/** The read-only plan of one customer or of all: the same reconcile, acting switched off (with the settings, when the caller has loaded them). */
export async function planResults(customer: string | undefined, options: Omit<ReconcileCliOptions, 'apply'>, settings?: Settings): Promise<CustomerResult[]> {
  const env = await openEnv(options, settings);
  const ids = customer ? [customer] : Object.keys(env.state.customers.customers);
  return runAll(env, ids, { ...options, apply: false }, parseKinds(options.only));
}

/** `axe onboard CUSTOMER [--apply]`: host, tunnel, DNS, cloudflared. */
export async function onboard(customer: string, options: ReconcileCliOptions): Promise<number> {
  const env = await openEnv(options);
  const results = await runAll(env, [customer], options, EXPOSURE_KINDS, 'axe onboard');
  printResults(results, options, `axe onboard ${customer}`);
  return options.apply ? (results.some((r) => r.resources.some((k) => k.error)) ? 1 : 0) : planExitCode(results);
}

/** `axe apply CUSTOMER [--only kinds] [--apply]`: every kind (or those named). */
export async function apply(customer: string, options: ReconcileCliOptions): Promise<number> {
  const env = await openEnv(options);
  const results = await runAll(env, [customer], options, parseKinds(options.only));
  printResults(results, options, `axe apply ${customer}`);
  return options.apply ? (results.some((r) => r.resources.some((k) => k.error)) ? 1 : 0) : planExitCode(results);
}
