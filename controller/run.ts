/**
 * Wires a controller from the operator's settings: source (git or --watch),
 * history, providers, HTTP server. `axe controller` runs it until a signal;
 * `--once` reconciles every customer once and exits.
 */
import type { FastifyInstance } from 'fastify';
import { terminal } from '../core/errors.js';
import type { reconcileCustomer } from '../reconcilers/engine.js';
import type { Providers } from '../reconcilers/runtime.js';
import type { ControllerConfig, VaultConfig } from '../schemas/controller-config.js';
import type { Secret } from '../core/secret.js';
import { controllerPaths, parseListen } from './config.js';
import { publishControl } from './control-api.js';
import { Controller, type ControllerTimings, type SyncOutcome } from './manager.js';
import { createLogger, type Logger } from './logger.js';
import { startServer } from './server.js';
import { CommitStatusReporter } from './commit-status.js'; // [git-host]
import { PullRequestPlanner } from './pr-plans.js'; // [git-host]
import { buildEnv } from '../reconcilers/env.js'; // [git-host]
import { openConfiguredProviders } from '../providers/index.js'; // [git-host]
import { gitSource, watchSource } from './source.js';

export interface OpenControllerOptions {
  config: ControllerConfig;
  vault: VaultConfig;
  zone: string;
  axeHome: string;
  /** Watch this local checkout instead of fetching the repo. */
  watchDir?: string;
  /** Override `listen` (port 0 picks a free port). */
  listen?: string;
  /** Do not serve HTTP (`--once`). */
  noServer?: boolean;
  log?: Logger;
  providers?: Providers;
  reconcile?: typeof reconcileCustomer;
  timings?: Partial<ControllerTimings>;
  driftSchedule?: boolean;
}

export interface RunningController {
  controller: Controller;
  /** The HTTP base URL, or null with `noServer`. */
  url: string | null;
  first: SyncOutcome;
  /** [git-host] Commit statuses and PR plans, when `git_host` is configured. */
  statuses?: CommitStatusReporter;
  plans?: PullRequestPlanner;
  stop(): Promise<void>;
}

/** Starts a controller (and its server); the caller stops it. */
export async function openController(options: OpenControllerOptions): Promise<RunningController> {
  if (!options.config) throw terminal('the controller needs an axe config', { fix: 'write ~/.axe/config.yaml (see examples/axe-config.yaml) or pass --config' });
  const paths = controllerPaths(options.config, options.axeHome);
  const source = options.watchDir
    ? watchSource({ dir: options.watchDir, stateDir: paths.stateDir })
    : gitSource({ url: options.config.repo.url, branch: options.config.repo.branch, stateDir: paths.stateDir });
  const log = options.log ?? createLogger();
  const controller = new Controller({
    config: options.config,
    vault: options.vault,
    zone: options.zone,
    paths,
    source,
    log,
    ...(options.providers ? { providers: options.providers } : {}),
    ...(options.reconcile ? { reconcile: options.reconcile } : {}),
    ...(options.timings ? { timings: options.timings } : {}),
    ...(options.driftSchedule === undefined ? {} : { driftSchedule: options.driftSchedule }),
  });
  // [git-host] commit statuses and PR plans, attached to the controller just built.
  const gitHost = options.config.git_host;
  const statuses = gitHost ? new CommitStatusReporter({ config: gitHost, log }) : null;
  statuses?.attach(controller);
  const plans =
    gitHost && !options.noServer
      ? new PullRequestPlanner({
          config: gitHost,
          repoUrl: options.config.repo.url,
          stateDir: paths.stateDir,
          log,
          openEnv: async (state, revision) => buildEnv({ config: options.config, zone: options.zone, state, providers: await openConfiguredProviders(options.config, options.vault, { cacheDir: paths.cache, home: paths.home }), revision }),
        })
      : null;
  plans?.attach(controller);
  const stopAll = async (): Promise<void> => {
    await plans?.stop();
    await controller.stop();
    await statuses?.stop();
  };
  let app: FastifyInstance | null = null;
  let url: string | null = null;
  let control: { token: Secret; remove(): Promise<void> } | null = null;
  try {
    if (!options.noServer) {
      const served = await startServer(controller, parseListen(options.listen ?? options.config.listen), () => control?.token ?? null, plans ? { pullRequest: (pr) => plans.accept(pr) } : {} /* [git-host] */);
      app = served.app;
      url = served.url;
      log.info({ url }, 'listening');
    }
    const first = await controller.start();
    // The runtime control API (control-api.ts): after start, so the pid lock is ours.
    if (url) control = await publishControl(paths.stateDir, url);
    return {
      controller,
      url,
      first,
      ...(statuses ? { statuses } : {}),
      ...(plans ? { plans } : {}),
      async stop() {
        await control?.remove();
        await app?.close();
        await stopAll(); // [git-host] plans, controller, statuses
      },
    };
  } catch (error) {
    await control?.remove();
    await app?.close();
    await stopAll().catch(() => undefined); // [git-host]
    throw error;
  }
}

/** `axe controller --once`: one pass over every customer; 0 when nothing failed. */
export async function runOnce(options: OpenControllerOptions): Promise<number> {
  const running = await openController({ ...options, noServer: true, driftSchedule: false, timings: { ...options.timings, pollIntervalMs: 0 } });
  try {
    if (!running.controller.revision) return 1;
    await running.controller.queue.idle();
    const view = running.controller.status();
    const failed = view.customers.some((c) => c.resources.some((r) => r.errorClass !== null));
    return failed || !view.configValid ? 1 : 0;
  } finally {
    await running.stop();
  }
}

/** `axe controller`: runs until SIGINT or SIGTERM. */
export async function runForever(options: OpenControllerOptions): Promise<number> {
  const running = await openController(options);
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      // A second signal while running reconciles finish: stop now.
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
  running.controller.log.info({}, 'stopping: waiting for running reconciles (signal again to stop at once)');
  await running.stop();
  return 0;
}
