/**
 * Revisions: which revision of the config repo the controller runs. It
 * fetches the source, loads a new revision, and keeps the applied one, the
 * newest rejected one, and which customers a new one adds, changes or
 * removes (revision-diff.ts). What follows an applied revision (queueing,
 * removals) is the manager's; writing it down is the recorder's.
 *
 * Rules:
 * - Only a revision that loads cleanly is applied; a rejected one is recorded
 *   with its file:line errors and the last good revision keeps running. At
 *   start (nothing applied yet), a bad or unreachable newest revision falls
 *   back to the last good one from the history.
 * - Syncs are coalesced: at most one runs and one waits; callers share it.
 * - A revision being read by a prune is pinned: kept when old exports go.
 */
import { errorLine } from '../core/errors.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { ConfigIssue } from '../schemas/load.js';
import { type DesiredState, loadRepo } from '../schemas/repo.js';
import type { History } from './history.js';
import type { Logger } from './logger.js';
import { short } from './record-result.js';
import type { Recorder } from './recorder.js';
import { customerDigests, diffRevisions, type RevisionDiff } from './revision-diff.js';
import type { ConfigSource, RevisionRef } from './source.js';

export type SyncReason = 'startup' | 'poll' | 'webhook' | 'watch' | 'manual';

export type SyncOutcome =
  | { result: 'applied'; revision: string; added: string[]; changed: string[]; removed: string[] }
  | { result: 'unchanged'; revision: string }
  | { result: 'rejected'; revision: string; issues: ConfigIssue[] }
  | { result: 'fetch-failed'; error: string };

/** The revision being applied. */
export interface Current {
  id: string;
  subject: string | null;
  state: DesiredState;
  env: ReconcileEnv;
  /** One digest per customer (its block, slots and manifests). */
  digests: Map<string, string>;
  appliedAt: number;
}

export interface Rejected {
  id: string;
  subject: string | null;
  issues: ConfigIssue[];
  at: number;
}

export interface AppliedRevision {
  previous: Current | null;
  current: Current;
  diff: RevisionDiff;
  reason: SyncReason | 'last-good';
}

export interface RevisionsDeps {
  source: ConfigSource;
  history: History;
  recorder: Recorder;
  log: Logger;
  /** The reconcile environment of a desired state at a revision (the providers open now). */
  buildEnv(state: DesiredState, revision: string): ReconcileEnv;
  onApplied(applied: AppliedRevision): void;
  onRejected(ref: RevisionRef, issues: ConfigIssue[]): void;
  /** The newest revision is the applied one again after a rejected one. */
  onRecovered(): void;
}

export class Revisions {
  readonly #deps: RevisionsDeps;
  #current: Current | null = null;
  #rejected: Rejected | null = null;
  #lastFetchError: string | null = null;
  #pending: Promise<SyncOutcome> | null = null;
  #chain: Promise<unknown> = Promise.resolve();
  readonly #pinned = new Set<string>();

  constructor(deps: RevisionsDeps) {
    this.#deps = deps;
  }

  get current(): Current | null {
    return this.#current;
  }

  get rejected(): Rejected | null {
    return this.#rejected;
  }

  /** The last failed fetch's error line, null once a fetch works. */
  get lastFetchError(): string | null {
    return this.#lastFetchError;
  }

  /** Fetches the source and applies a new revision (coalesced). */
  sync(reason: SyncReason): Promise<SyncOutcome> {
    if (this.#pending) return this.#pending;
    const run = this.#chain.then(() => {
      this.#pending = null;
      return this.#sync(reason);
    });
    this.#pending = run;
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Resolves when no sync runs. */
  async idle(): Promise<void> {
    await this.#chain.catch(() => undefined);
  }

  /** The same revision with its environment built again (new providers). */
  rebuildEnv(): void {
    if (this.#current) this.#current = { ...this.#current, env: this.#deps.buildEnv(this.#current.state, this.#current.id) };
  }

  /**
   * The desired state of an older revision (a removed customer's last
   * declaration), pinned while it is read; null when it does not load.
   */
  async load(id: string): Promise<DesiredState | null> {
    this.#pinned.add(id);
    try {
      const load = await loadRepo(await this.#deps.source.materialize(id));
      return load.ok ? load.state : null;
    } finally {
      this.#pinned.delete(id);
    }
  }

  async #sync(reason: SyncReason): Promise<SyncOutcome> {
    const { source, recorder } = this.#deps;
    let ref: RevisionRef;
    const t0 = Date.now();
    try {
      ref = await source.latest();
      recorder.fetched({ ok: true });
      this.#lastFetchError = null;
    } catch (error) {
      this.#lastFetchError = errorLine(error);
      recorder.fetched({ ok: false, reason, error });
      if (!this.#current) await this.#fallbackToLastGood();
      return { result: 'fetch-failed', error: errorLine(error) };
    }
    if (ref.id === this.#current?.id) {
      if (this.#rejected) {
        this.#rejected = null;
        recorder.configValid(true);
        this.#deps.onRecovered();
      }
      return { result: 'unchanged', revision: ref.id };
    }
    if (ref.id === this.#rejected?.id) return { result: 'rejected', revision: ref.id, issues: this.#rejected.issues };
    const t1 = Date.now();
    const dir = await source.materialize(ref.id);
    const t2 = Date.now();
    const load = await loadRepo(dir);
    // Where a new revision's time goes before its customers are queued (logged with 'revision applied').
    const timings = { fetch_ms: t1 - t0, export_ms: t2 - t1, load_ms: Date.now() - t2 };
    if (!load.ok) {
      this.#rejected = { id: ref.id, subject: ref.subject, issues: load.issues, at: Date.now() };
      recorder.revisionRejected(ref, load.issues, this.#current?.id ?? null);
      this.#deps.onRejected(ref, load.issues);
      if (!this.#current) await this.#fallbackToLastGood();
      await source.prune([ref.id, ...(this.#current ? [this.#current.id] : []), ...this.#pinned]).catch(() => undefined);
      return { result: 'rejected', revision: ref.id, issues: load.issues };
    }
    const outcome = this.#apply(ref, load.state, reason, timings);
    await source.prune([ref.id, ...this.#pinned]).catch(() => undefined);
    return outcome;
  }

  async #fallbackToLastGood(): Promise<void> {
    const good = this.#deps.history.lastGoodRevision();
    if (!good) return;
    try {
      const load = await loadRepo(await this.#deps.source.materialize(good.id));
      if (!load.ok) return;
      this.#deps.log.warn({ revision: short(good.id) }, 'running the last good revision');
      this.#apply({ id: good.id, subject: good.subject }, load.state, 'last-good');
    } catch (error) {
      this.#deps.log.error({ revision: short(good.id), err: error }, 'last good revision unavailable');
    }
  }

  #apply(ref: RevisionRef, state: DesiredState, reason: SyncReason | 'last-good', timings: Record<string, number> = {}): SyncOutcome {
    const previous = this.#current;
    const digests = customerDigests(state);
    const diff = diffRevisions(previous?.digests ?? null, digests);
    const current: Current = { id: ref.id, subject: ref.subject, state, env: this.#deps.buildEnv(state, ref.id), digests, appliedAt: Date.now() };
    this.#current = current;
    if (reason !== 'last-good') this.#rejected = null;
    this.#deps.recorder.revisionApplied({ ref, state, diff, reason, timings, stillRejected: this.#rejected });
    this.#deps.onApplied({ previous, current, diff, reason });
    return { result: 'applied', revision: ref.id, added: diff.added, changed: diff.changed, removed: diff.removed };
  }
}
