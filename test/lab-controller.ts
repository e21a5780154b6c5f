/**
 * The controller in-process on a test lab (test/lab-fixture.ts), as the lab
 * tests start it: the operator's settings from the lab's config, the API on a
 * free loopback port, no drift timer, short requeue and backoff, alerts with
 * no `for:` wait. AXE_TEST_CONTROLLER_LOG=file keeps its JSON log for a
 * failing run (appended); otherwise the log goes nowhere.
 *
 * With `gitHost`, the git-host stand-in (GitHub's commit-status and comment
 * API, lab/githost) is started, its token put in the operator vault, and the
 * controller pointed at it.
 */
import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { loadSettings } from '../cli/settings.js';
import { createLogger } from '../controller/logger.js';
import type { ControllerTimings } from '../controller/manager.js';
import { openController, type RunningController } from '../controller/run.js';
import { Secret } from '../core/secret.js';
import { type GitHostStandIn, startGitHostStandIn } from '../lab/githost/server.js';
import { openVault } from '../providers/vault/index.js';
import type { ControllerConfig } from '../schemas/controller-config.js';

export const LAB_CONTROLLER_TIMINGS: Partial<ControllerTimings> = { pollIntervalMs: 0, progressingRequeueMs: 3_000, backoffBaseMs: 1_000, backoffMaxMs: 10_000, alertForMs: 0, alertKeepFiringMs: 0 };

export interface LabControllerOptions {
  /** Start the git-host stand-in with this token (stored in the vault as GIT_HOST_TOKEN); `targetUrl` is the statuses' link. */
  gitHost?: { token: string; targetUrl?: string };
  /** Replaces parts of the operator's controller config (e.g. its own state_dir). */
  config?: Partial<ControllerConfig>;
  /** On top of LAB_CONTROLLER_TIMINGS. */
  timings?: Partial<ControllerTimings>;
}

export interface LabController {
  running: RunningController;
  /** The git-host stand-in, when asked for. */
  gitHost: GitHostStandIn | null;
  /** The config the controller runs with (the lab's, with the options' parts and the git host): what a CLI asking it must load to be planned for. */
  config: ControllerConfig;
  /** Stops the controller, then the stand-in. */
  stop(): Promise<void>;
}

export async function openLabController(env: { AXE_CONFIG?: string; [key: string]: string | undefined }, options: LabControllerOptions = {}): Promise<LabController> {
  const settings = await loadSettings({ config: env.AXE_CONFIG! }, { ...process.env, ...env });
  let gitHost: GitHostStandIn | null = null;
  let config: ControllerConfig = { ...settings.config!, ...options.config };
  if (options.gitHost) {
    const token = new Secret(options.gitHost.token);
    gitHost = await startGitHostStandIn({ kind: 'github', token, repo: 'axelabs/config' });
    await openVault(settings.vault, { AXE_HOME: settings.home }).put({ name: 'GIT_HOST_TOKEN', service: 'controller', customer: 'operator', value: token });
    config = { ...config, git_host: { kind: 'github', api_url: gitHost.apiUrl, repo: gitHost.repo, token_secret: 'GIT_HOST_TOKEN', ...(options.gitHost.targetUrl ? { target_url: options.gitHost.targetUrl } : {}) } };
  }
  const logFile = process.env.AXE_TEST_CONTROLLER_LOG;
  const sink = logFile ? createWriteStream(logFile, { flags: 'a' }) : new Writable({ write: (_c, _e, done) => done() });
  try {
    const running = await openController({
      config,
      vault: settings.vault,
      zone: settings.zone,
      axeHome: settings.home,
      listen: '127.0.0.1:0',
      driftSchedule: false,
      log: createLogger({ destination: sink }),
      timings: { ...LAB_CONTROLLER_TIMINGS, ...options.timings },
    });
    return {
      running,
      gitHost,
      config,
      async stop() {
        await running.stop();
        await gitHost?.close();
      },
    };
  } catch (error) {
    await gitHost?.close();
    throw error;
  }
}
