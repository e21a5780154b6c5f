/**
 * Commit statuses on the config repo's git host, one context per customer
 * (`axe/{customer}`), driven by the controller's events:
 *
 * - `revision` (valid): every customer the revision adds or changes gets
 *   `pending` ("queued") on that commit.
 * - `reconcile-done` for a tracked customer under that revision: `success` when
 *   every resource is Synced and Healthy; `failure` with the trap and reason
 *   (a trapped error first, terminal before transient; a resource Degraded on a
 *   trap, like a foreign DNS record, fails it too); otherwise it stays pending (Progressing, actions left). A failure
 *   stays tracked, so a retry that converges turns it into success. Observe-only
 *   with changes left: failure (nothing is applied); suspended: success, saying so.
 * - `rollout-failed` (a tracked customer failed a release under that revision, its
 *   stack rolled back): `failure` naming the release, the step and the reason; it
 *   stays failure for that commit although the rolled-back customer then converges.
 * - A newer revision that touches the customer replaces what was tracked.
 *
 * Rules:
 * - Best effort and never in the reconcile's way: the event handlers only note
 *   the wanted state; a background loop posts it, newest per (commit, context)
 *   wins, transient errors retried with backoff (1 s · 2ⁿ, 5 tries), terminal ones
 *   logged once and dropped. `axe_commit_status_posts_total{result}` counts
 *   ok, retried, failed, skipped.
 * - The token is read from the vault at the first post (and again after a
 *   terminal error, so a fixed token is picked up without a restart).
 */
import { Counter } from 'prom-client';
import { AxeError, errorLine } from '../core/errors.js';
import type { CustomerResult } from '../reconcilers/engine.js';
import { type CommitState, type GitHost, openGitHost } from '../providers/githost/index.js';
import type { VaultProvider } from '../providers/vault/types.js';
import type { ControllerConfig } from '../schemas/controller-config.js';
import type { Controller } from './manager.js';
import type { RolloutFailure } from './rollout/manager.js';
import type { Logger } from './logger.js';

export type GitHostConfig = NonNullable<ControllerConfig['git_host']>;

export const GITHUB_API = 'https://api.github.com';

/** Healths that do not get better by waiting when they carry a trap. */
const STUCK = new Set(['Degraded', 'Missing', 'Unknown']);

/** The pieces of the controller the reporter reads (a test can fill them in). */
export type StatusSource = Pick<Controller, 'on' | 'off' | 'providers' | 'revision' | 'log' | 'metrics'>;

interface Wanted {
  sha: string;
  context: string;
  state: CommitState;
  description: string;
  targetUrl?: string;
}

/** What a reconcile result means for the commit: a state and its one-line reason, or null (still pending). */
export function verdict(result: CustomerResult): { state: CommitState; description: string } | null {
  if (result.suspended) return { state: 'success', description: 'suspended by policy: axe leaves this customer alone' };
  const shown = result.resources.filter((k) => !k.context);
  // The reason shown is the one a person must act on: a trap (the runbook names its fix) before a plain error,
  // terminal before transient, then the engine's order. A resource that did not fail but is stuck on a trap
  // (Degraded, Missing or Unknown with a trap, e.g. a foreign DNS record) fails the commit too.
  const rank = (k: (typeof shown)[number]): number => {
    if (k.error) return 1 + (k.error.trap ? 2 : 0) + (k.error.class === 'terminal' ? 1 : 0);
    return k.health.trap && STUCK.has(k.health.status) ? 3 : 0;
  };
  const failed = shown.reduce<(typeof shown)[number] | undefined>((best, k) => (rank(k) > (best ? rank(best) : 0) ? k : best), undefined);
  if (failed) {
    const trap = failed.error ? failed.error.trap : failed.health.trap;
    const reason = failed.error ? failed.error.message : `${failed.health.status} ${failed.health.reason}: ${failed.health.message}`;
    return { state: 'failure', description: `${trap ? `trap ${trap.trap} · ` : ''}${failed.kind}: ${reason}` };
  }
  const converged = shown.length > 0 && shown.every((k) => k.sync === 'Synced' && k.health.status === 'Healthy' && k.actions.length === 0);
  if (converged) return { state: 'success', description: `every resource Synced and Healthy (${shown.length} kinds)` };
  if (result.mode === 'observe') {
    const left = shown.reduce((n, k) => n + k.actions.length, 0);
    if (left > 0) return { state: 'failure', description: `observe only: ${left} change(s) not applied (policy.mode observe)` };
  }
  return null;
}

export interface CommitStatusReporterOptions {
  config: GitHostConfig;
  log: Logger;
  /** Seam for tests: the host client (default: opened with the vault's token). */
  host?: GitHost;
  retryBaseMs?: number;
  attempts?: number;
}

export class CommitStatusReporter {
  readonly #options: CommitStatusReporterOptions;
  readonly #tracked = new Map<string, { sha: string; last: CommitState | null; release?: boolean }>();
  readonly #wanted = new Map<string, Wanted>();
  #host: GitHost | null;
  #source: StatusSource | null = null;
  #posts: Counter<'result'> | null = null;
  #loop: Promise<void> | null = null;
  #stopped = false;
  /** Ends a retry's wait at once (stop). */
  #cancelWait: (() => void) | null = null;
  readonly #listeners: Array<[string, (e: never) => void]> = [];

  constructor(options: CommitStatusReporterOptions) {
    this.#options = options;
    this.#host = options.host ?? null;
  }

  /** Listens to the controller's events; call once, after the controller is built. */
  attach(source: StatusSource): void {
    this.#source = source;
    const registry = source.metrics.registry;
    this.#posts = (registry.getSingleMetric('axe_commit_status_posts_total') as Counter<'result'> | undefined) ?? new Counter({ name: 'axe_commit_status_posts_total', help: 'Commit statuses posted to the git host, by result (ok, retried, failed, skipped).', labelNames: ['result'], registers: [registry] });
    const on = <T>(event: string, fn: (e: T) => void): void => {
      const guarded = (e: T): void => {
        try {
          fn(e);
        } catch (error) {
          this.#options.log.warn({ event, err: error }, 'commit status: event not handled');
        }
      };
      source.on(event, guarded);
      this.#listeners.push([event, guarded as (e: never) => void]);
    };
    on<{ id: string; valid: boolean; diff?: { added: string[]; changed: string[] } }>('revision', (e) => this.#onRevision(e));
    on<{ customer: string; result: CustomerResult; revision?: string }>('reconcile-done', (e) => this.#onDone(e));
    on<RolloutFailure>('rollout-failed', (e) => this.#onReleaseFailed(e));
  }

  /** Posts what is still wanted (bounded by the retries), then stops listening. */
  async stop(): Promise<void> {
    for (const [event, fn] of this.#listeners) this.#source?.off(event, fn as (...args: unknown[]) => void);
    this.#stopped = true;
    this.#cancelWait?.();
    while (this.#loop) await this.#loop;
  }

  /** Resolves when nothing is left to post (tests). */
  async idle(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  #onRevision(e: { id: string; valid: boolean; diff?: { added: string[]; changed: string[] } }): void {
    if (!e.valid || !e.diff) return;
    if (!/^[0-9a-f]{40,64}$/.test(e.id)) return; // --watch: not a commit.
    for (const customer of [...e.diff.added, ...e.diff.changed]) {
      this.#tracked.set(customer, { sha: e.id, last: 'pending' });
      this.#want(customer, e.id, 'pending', `queued: axe applies ${e.id.slice(0, 12)} to ${customer}`);
    }
  }

  /** The release failed for this customer under the tracked revision: failure, kept although the rollback converges. */
  #onReleaseFailed(e: RolloutFailure): void {
    const tracked = this.#tracked.get(e.customer);
    if (!tracked || this.#source?.revision !== tracked.sha) return;
    tracked.last = 'failure';
    tracked.release = true;
    const back = e.from ? ` (rolled back, ${e.from} serves)` : '';
    this.#want(e.customer, tracked.sha, 'failure', `release ${e.service} ${e.ref} failed at ${e.step}${back}: ${e.reason}`.slice(0, 140));
  }

  #onDone(e: { customer: string; result: CustomerResult; revision?: string }): void {
    const tracked = this.#tracked.get(e.customer);
    const revision = e.revision ?? this.#source?.revision ?? null;
    if (!tracked || revision !== tracked.sha || tracked.release) return;
    const v = verdict(e.result);
    if (!v || (v.state === tracked.last && v.state !== 'failure')) return;
    tracked.last = v.state;
    if (v.state === 'success') this.#tracked.delete(e.customer);
    this.#want(e.customer, tracked.sha, v.state, v.description);
  }

  #want(customer: string, sha: string, state: CommitState, description: string): void {
    const target = this.#options.config.target_url?.replace('{customer}', encodeURIComponent(customer));
    const context = `axe/${customer}`;
    this.#wanted.set(`${sha}:${context}`, { sha, context, state, description, ...(target ? { targetUrl: target } : {}) });
    this.#kick();
  }

  #kick(): void {
    if (this.#loop) return;
    this.#loop = this.#run().finally(() => {
      this.#loop = null;
      if (this.#wanted.size > 0) this.#kick();
    });
  }

  async #run(): Promise<void> {
    while (this.#wanted.size > 0) {
      const [key, wanted] = this.#wanted.entries().next().value as [string, Wanted];
      this.#wanted.delete(key);
      await this.#post(key, wanted);
    }
  }

  async #post(key: string, wanted: Wanted): Promise<void> {
    const attempts = this.#options.attempts ?? 5;
    const base = this.#options.retryBaseMs ?? 1_000;
    for (let attempt = 1; ; attempt++) {
      try {
        const host = await this.#openHost();
        if (!host) return void this.#posts?.inc({ result: 'skipped' });
        await host.setStatus(wanted.sha, wanted);
        this.#posts?.inc({ result: 'ok' });
        this.#options.log.info({ context: wanted.context, state: wanted.state, revision: wanted.sha.slice(0, 12) }, 'commit status posted');
        return;
      } catch (error) {
        const terminal = error instanceof AxeError && error.class === 'terminal';
        if (terminal) this.#host = this.#options.host ?? null;
        if (terminal || attempt >= attempts || this.#stopped) {
          this.#posts?.inc({ result: 'failed' });
          this.#options.log.warn({ context: wanted.context, state: wanted.state, revision: wanted.sha.slice(0, 12), attempts: attempt, error: errorLine(error) }, 'commit status not posted');
          return;
        }
        this.#posts?.inc({ result: 'retried' });
        // A stop cuts the wait short (one last try).
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, base * 2 ** (attempt - 1));
          this.#cancelWait = () => (clearTimeout(t), resolve());
        });
        this.#cancelWait = null;
        // A newer state for the same commit and context replaced this one meanwhile: post that instead.
        const newer = this.#wanted.get(key);
        if (newer) {
          this.#wanted.delete(key);
          wanted = newer;
        }
      }
    }
  }

  async #openHost(): Promise<GitHost | null> {
    if (this.#host) return this.#host;
    const vault = this.#source?.providers?.vault;
    if (!vault) return null;
    this.#host = await openGitHostFromVault(this.#options.config, vault);
    return this.#host;
  }
}

/** The git host client with its token read from the vault now (a terminal error with the fix when it is missing). */
export async function openGitHostFromVault(config: GitHostConfig, vault: Pick<VaultProvider, 'get'>): Promise<GitHost> {
  const token = await vault.get(config.token_secret);
  if (!token) throw new AxeError('terminal', `the git host token (${config.token_secret}) is not in the vault`, { resource: 'git-host', fix: `put a token with commit-status and pull-request write access in the vault item ${config.token_secret}` });
  return openGitHost({ kind: config.kind, apiUrl: config.api_url ?? GITHUB_API, repo: config.repo, token, tokenSecret: config.token_secret });
}
