/**
 * The plan on the pull request, without a CI runner (as Atlantis does): a
 * verified `pull_request` webhook (controller/server.ts) hands the PR here; its
 * head is fetched from the config repo into the controller's own bare repo
 * (`<state>/git/prs.git`), planned against its merge base with the watched
 * branch (controller/plan-revisions.ts, `axe plan --base --head`), and the plan
 * is posted as ONE comment on the PR, found again by its marker and edited on
 * every later push.
 *
 * Rules:
 * - Never in the way of reconciles: a plan runs in the background, one at a
 *   time; a newer push to a PR waiting for its turn replaces the older one.
 * - The head is fetched as the host publishes it (`refs/pull/N/head`, then the
 *   branch); the commit named in the webhook is only compared, never trusted.
 * - Planning never acts (`apply: false`); an invalid head is a comment too
 *   (the errors, so the PR is not merged blind).
 * - Posting is retried on transient errors (3 tries); terminal ones are logged.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter } from 'prom-client';
import { simpleGit } from 'simple-git';
import { AxeError, errorLine } from '../core/errors.js';
import type { GitHost, IssueComment } from '../providers/githost/index.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { DesiredState } from '../schemas/repo.js';
import { type GitHostConfig, openGitHostFromVault } from './commit-status.js';
import type { Controller } from './manager.js';
import type { Logger } from './logger.js';
import { planRevisions, renderRevisionPlan } from './plan-revisions.js';
import { gitEnv, safeUrl } from './source.js';
import type { PullRequestRef } from './webhook.js';

/** The first line of axe's plan comment: how it is found again. */
export const PLAN_MARKER = '<!-- axe-plan: this comment is edited on every push -->';

export interface PullRequestPlannerOptions {
  config: GitHostConfig;
  repoUrl: string;
  stateDir: string;
  log: Logger;
  /** The reconcile environment for a revision's desired state (fresh providers: the plan closes them). */
  openEnv(state: DesiredState, revision: string): Promise<ReconcileEnv>;
  /** Seam for tests: the host client (default: the vault's token). */
  host?: GitHost;
  retryBaseMs?: number;
}

export class PullRequestPlanner {
  readonly #options: PullRequestPlannerOptions;
  readonly #waiting = new Map<number, PullRequestRef>();
  readonly #comments = new Map<number, number>();
  #host: GitHost | null;
  #source: Pick<Controller, 'providers' | 'metrics'> | null = null;
  #counter: Counter<'result'> | null = null;
  #loop: Promise<void> | null = null;
  #ready: Promise<string> | null = null;

  constructor(options: PullRequestPlannerOptions) {
    this.#options = options;
    this.#host = options.host ?? null;
  }

  attach(source: Pick<Controller, 'providers' | 'metrics'>): void {
    this.#source = source;
    const registry = source.metrics.registry;
    this.#counter = (registry.getSingleMetric('axe_pr_plans_total') as Counter<'result'> | undefined) ?? new Counter({ name: 'axe_pr_plans_total', help: 'Pull request plans, by result (created, edited, invalid_head, failed).', labelNames: ['result'], registers: [registry] });
  }

  /** Queues a plan for this pull request (a newer push replaces a waiting one); returns at once. */
  accept(pr: PullRequestRef): void {
    this.#waiting.set(pr.number, pr);
    this.#kick();
  }

  /** Resolves when no plan is waiting or running. */
  async idle(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  async stop(): Promise<void> {
    this.#waiting.clear();
    await this.idle();
  }

  #kick(): void {
    if (this.#loop) return;
    this.#loop = (async () => {
      while (this.#waiting.size > 0) {
        const [number, pr] = this.#waiting.entries().next().value as [number, PullRequestRef];
        this.#waiting.delete(number);
        await this.#plan(pr).catch((error: unknown) => {
          this.#counter?.inc({ result: 'failed' });
          this.#options.log.warn({ pr: pr.number, head: pr.headSha.slice(0, 12), error: errorLine(error) }, 'pull request plan failed');
        });
      }
    })().finally(() => {
      this.#loop = null;
      if (this.#waiting.size > 0) this.#kick();
    });
  }

  async #plan(pr: PullRequestRef): Promise<void> {
    const t0 = Date.now();
    const gitDir = await this.#fetch(pr);
    const git = simpleGit({ baseDir: gitDir }).env(gitEnv({ GIT_DIR: gitDir }));
    const head = (await git.raw(['rev-parse', `refs/axe/pr/${pr.number}`])).trim();
    const base = (await git.raw(['merge-base', `refs/axe/base/${pr.baseRef}`, head])).trim();
    let body: string;
    let result: 'invalid_head' | 'planned';
    try {
      const plan = await planRevisions({ repo: gitDir, base, head, openEnv: this.#options.openEnv });
      body = renderRevisionPlan(plan);
      result = 'planned';
    } catch (error) {
      if (!(error instanceof AxeError) || error.class !== 'terminal') throw error;
      body = `### axe plan ${base.slice(0, 12)}..${head.slice(0, 12)}\n\n**Cannot plan this pull request:** ${error.oneLine()}\n`;
      result = 'invalid_head';
    }
    const moved = head !== pr.headSha ? ` (the webhook named ${pr.headSha.slice(0, 12)}; the branch is at ${head.slice(0, 12)} now)` : '';
    const text = [PLAN_MARKER, body.trimEnd(), '', `<sub>Planned by the axe controller for ${head.slice(0, 12)} against ${pr.baseRef} at ${base.slice(0, 12)}${moved}, ${new Date().toISOString()}; this comment is updated on every push.</sub>`, ''].join('\n');
    const posted = await this.#post(pr.number, text);
    this.#counter?.inc({ result: result === 'invalid_head' ? 'invalid_head' : posted });
    this.#options.log.info({ pr: pr.number, head: head.slice(0, 12), base: base.slice(0, 12), comment: posted, duration_ms: Date.now() - t0 }, 'pull request planned');
  }

  /** Fetches the PR's head and its base branch into `<state>/git/prs.git`; returns that git dir. */
  async #fetch(pr: PullRequestRef): Promise<string> {
    const gitDir = join(this.#options.stateDir, 'git', 'prs.git');
    this.#ready ??= (async () => {
      if (!(await stat(join(gitDir, 'HEAD')).then(() => true, () => false))) {
        await mkdir(gitDir, { recursive: true });
        await simpleGit({ baseDir: gitDir }).env(gitEnv()).raw(['init', '--bare', '-q']);
      }
      return gitDir;
    })();
    this.#ready.catch(() => (this.#ready = null));
    await this.#ready;
    const git = simpleGit({ baseDir: gitDir }).env(gitEnv({ GIT_DIR: gitDir }));
    const url = this.#options.repoUrl;
    const fetch = (spec: string): Promise<unknown> => git.raw(['-c', 'maintenance.auto=false', 'fetch', '--no-tags', '--quiet', url, spec]);
    await fetch(`+refs/heads/${pr.baseRef}:refs/axe/base/${pr.baseRef}`).catch((error: unknown) => {
      throw new AxeError('transient', `cannot fetch ${pr.baseRef} from the config repo ${safeUrl(url)}`, { resource: 'config-repo', fix: 'check the repo URL and the deploy key', cause: error });
    });
    // GitHub and Gitea publish every PR's head as refs/pull/N/head (a fork's too); a plain git remote has only the branch.
    await fetch(`+refs/pull/${pr.number}/head:refs/axe/pr/${pr.number}`).catch(() =>
      fetch(`+refs/heads/${pr.headRef}:refs/axe/pr/${pr.number}`).catch((error: unknown) => {
        throw new AxeError('terminal', `pull request #${pr.number}'s head (${pr.headRef}) is not in the config repo ${safeUrl(url)}`, { resource: 'config-repo', fix: 'push the branch to the config repo itself (plans of forks need refs/pull/N/head)', cause: error });
      }),
    );
    return gitDir;
  }

  /** Creates the plan comment or edits the one already there; retried on transient errors. */
  async #post(number: number, text: string): Promise<'created' | 'edited'> {
    for (let attempt = 1; ; attempt++) {
      try {
        const host = await this.#openHost();
        const known = this.#comments.get(number) ?? (await host.listComments(number)).find((c: IssueComment) => c.body.startsWith(PLAN_MARKER))?.id;
        if (known !== undefined) {
          await host.editComment(known, text);
          this.#comments.set(number, known);
          return 'edited';
        }
        const created = await host.createComment(number, text);
        this.#comments.set(number, created.id);
        return 'created';
      } catch (error) {
        const terminal = error instanceof AxeError && error.class === 'terminal';
        if (terminal) this.#host = this.#options.host ?? null;
        // An edit of a comment deleted on the host: find or create it again next time.
        this.#comments.delete(number);
        if (terminal || attempt >= 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, (this.#options.retryBaseMs ?? 1_000) * 2 ** (attempt - 1)));
      }
    }
  }

  async #openHost(): Promise<GitHost> {
    if (this.#host) return this.#host;
    const vault = this.#source?.providers?.vault;
    if (!vault) throw new AxeError('transient', 'the controller has not opened the vault yet', { resource: 'git-host', fix: 'wait for the controller to start' });
    this.#host = await openGitHostFromVault(this.#options.config, vault);
    return this.#host;
  }
}
