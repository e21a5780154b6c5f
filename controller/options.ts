/** The controller's options and timings (manager.ts takes them; run.ts fills them from the operator config). */
import type { Providers } from '../providers/index.js';
import type { reconcileCustomer } from '../reconcilers/engine.js';
import type { ControllerConfig, VaultConfig } from '../schemas/controller-config.js';
import { type ControllerPaths, parseDuration } from './config.js';
import type { Logger } from './logger.js';
import type { ConfigSource } from './source.js';

export interface ControllerTimings {
  pollIntervalMs: number;
  /** Requeue a customer still Progressing (or with actions left) after this long. */
  progressingRequeueMs: number;
  /** Check a Degraded or Missing customer the controller is bringing up again after this long. */
  degradedRequeueMs: number;
  /** A pass reuses the scan's bulk observations for this long. */
  scanMaxAgeMs: number;
  alertForMs: number;
  alertRepeatMs: number;
  alertKeepFiringMs: number;
  alertEvalMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface ControllerOptions {
  config: ControllerConfig;
  vault: VaultConfig;
  zone: string;
  paths: ControllerPaths;
  source: ConfigSource;
  log: Logger;
  /** Seam for tests: providers already open. */
  providers?: Providers;
  /** Seam for tests: the reconcile function (default: the engine's). */
  reconcile?: typeof reconcileCustomer;
  timings?: Partial<ControllerTimings>;
  /** Run drift scans on the config's cron schedule (default true). */
  driftSchedule?: boolean;
  version?: string;
}

/** The config's timings, with the test overrides on top. */
export function controllerTimings(config: ControllerConfig, overrides: Partial<ControllerTimings> = {}): ControllerTimings {
  const n = config.notifications;
  return {
    pollIntervalMs: parseDuration(config.repo.poll_interval),
    progressingRequeueMs: 15_000,
    degradedRequeueMs: 60_000,
    scanMaxAgeMs: 30_000,
    alertForMs: parseDuration(n.for),
    alertRepeatMs: parseDuration(n.repeat),
    alertKeepFiringMs: parseDuration(n.keep_firing_for),
    alertEvalMs: 15_000,
    backoffBaseMs: 2_000,
    backoffMaxMs: 300_000,
    ...overrides,
  };
}
