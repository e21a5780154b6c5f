/**
 * The scan a reconcile reads its bulk observations from, and drift scans.
 *
 * Rules:
 * - A pass reuses the scan's observations for `maxAgeMs`; after that, or on
 *   a new revision, the next reconcile starts a fresh scan.
 * - A drift scan queues every customer with a fresh scan and first fetches
 *   the hosts' observations (the tailnet, each host's one batched round
 *   trip) PREFETCH customers at a time, ahead of the queue's workers: its
 *   wall time follows the hosts' round trips in parallel, not the number of
 *   workers. It resolves when every customer was reconciled once (or left).
 */
import { prefetchCustomer } from '../reconcilers/engine.js';
import { withFreshScan } from '../reconcilers/env.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { Recorder } from './recorder.js';

/** Customers whose host observation a drift scan fetches at once, ahead of the queue's workers. */
const PREFETCH = 16;

export interface ScanFigures {
  durationMs: number;
  customers: number;
  errors: number;
}

interface Pass {
  startedAt: number;
  keys: Set<string>;
  errors: number;
  resolve: (figures: ScanFigures) => void;
}

export class Scans {
  readonly #maxAgeMs: number;
  readonly #recorder: Recorder;
  readonly #onDone: (figures: ScanFigures) => void;
  readonly #customers: () => number;
  #scan: { env: ReconcileEnv; at: number } | null = null;
  #pass: Pass | null = null;

  /** `customers`: how many the applied revision has (the scan's figure); `onDone` after each drift scan. */
  constructor(options: { maxAgeMs: number; recorder: Recorder; customers(): number; onDone(figures: ScanFigures): void }) {
    this.#maxAgeMs = options.maxAgeMs;
    this.#customers = options.customers;
    this.#recorder = options.recorder;
    this.#onDone = options.onDone;
  }

  /** A new revision's environment: its scan is the current one. */
  reset(env: ReconcileEnv): void {
    this.#scan = { env, at: Date.now() };
  }

  /** The environment of a reconcile of `revision`: the current scan while fresh, else a fresh one. */
  env(base: ReconcileEnv): ReconcileEnv {
    const now = Date.now();
    if (!this.#scan || now - this.#scan.at > this.#maxAgeMs || this.#scan.env.revision !== base.revision) this.#scan = { env: withFreshScan(base), at: now };
    return this.#scan.env;
  }

  /** Forgets one cached observation (an engine event on that host). */
  drop(key: string): void {
    this.#scan?.env.scan.drop(key);
  }

  get running(): boolean {
    return this.#pass !== null;
  }

  /**
   * Starts a drift scan over `ids` with a fresh scan of `base`; `queue` adds
   * them to the work queue. With `prefetch`, the hosts are read ahead
   * (through `view`, the environment the reconciles will see; `track` keeps
   * the work for the manager's `settled()`).
   */
  start(base: ReconcileEnv, ids: string[], queue: (id: string) => void, prefetch: { view: (env: ReconcileEnv) => ReconcileEnv; going: () => boolean; track: (work: Promise<void>) => void } | null): Promise<ScanFigures> {
    const env = withFreshScan(base);
    this.#scan = { env, at: Date.now() };
    this.#recorder.driftScanStarted(ids.length, base.revision ?? '');
    let pass: Pass | null = null;
    const figures = new Promise<ScanFigures>((resolve) => {
      pass = this.#pass = { startedAt: Date.now(), keys: new Set(ids), errors: 0, resolve };
    });
    if (ids.length === 0) this.#finish();
    for (const id of ids) queue(id);
    if (prefetch) prefetch.track(this.#prefetch(prefetch.view(env), ids, () => this.#pass === pass && prefetch.going()));
    return figures;
  }

  /** A customer of the running drift scan is done (or gone). */
  done(id: string, triggers: readonly string[], failed: boolean): void {
    const pass = this.#pass;
    if (!pass || !triggers.includes('drift-scan') || !pass.keys.has(id)) return;
    pass.keys.delete(id);
    if (failed) pass.errors += 1;
    if (pass.keys.size === 0) this.#finish();
  }

  #finish(): void {
    const pass = this.#pass;
    if (!pass) return;
    this.#pass = null;
    const figures = { durationMs: Date.now() - pass.startedAt, customers: this.#customers(), errors: pass.errors };
    this.#recorder.driftScanFinished(figures);
    pass.resolve(figures);
    this.#onDone(figures);
  }

  async #prefetch(env: ReconcileEnv, ids: string[], going: () => boolean): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length && going()) await prefetchCustomer(env, ids[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(PREFETCH, ids.length) }, worker));
  }
}
