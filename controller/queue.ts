/**
 * The controller's work queue: one key per customer, deduplicated, worked on
 * by a bounded number of workers (controller-runtime's workqueue, in our words).
 *
 * Rules:
 * - A key is never worked on twice at the same time. Adding a key that is
 *   waiting merges into it (higher priority wins, triggers are united); adding
 *   a key that is being worked on marks it dirty: it runs once more after the
 *   current run ends, with the merged triggers.
 * - Waiting keys run by priority (`high` before `normal` before `low`), first
 *   come first served within a priority.
 * - A transient outcome retries the key after an exponential backoff
 *   (base · 2^(failures-1), capped, with optional jitter); a terminal outcome
 *   is not retried; a success clears the failure count. `requeueAfterMs`
 *   schedules a periodic check.
 * - An explicit `add` of a key that waits on a timer runs it now (the timer
 *   is dropped); `addAfter` keeps the earliest of two timers.
 * - `highReserve` extra workers take only `high` keys, so a customer changed
 *   by a merge starts at once even while a drift scan fills every worker.
 */

export type Priority = 'high' | 'normal' | 'low';

/** Why a key was queued; the worker sees every trigger merged since it last ran. */
export type Trigger = 'startup' | 'revision' | 'drift-scan' | 'retry' | 'requeue' | 'interrupted' | 'manual' | 'engine-event' | 'rollout';

export interface WorkItem {
  key: string;
  priority: Priority;
  triggers: Set<Trigger>;
  /** Consecutive transient failures so far (0 on the first try). */
  failures: number;
  /** When the key was first queued (ms since epoch), for latency figures. */
  queuedAt: number;
}

export interface WorkOutcome {
  result: 'ok' | 'transient' | 'terminal';
  /** Run the key again after this long (periodic check), when nothing else queues it sooner. */
  requeueAfterMs?: number;
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay added or removed at random (0 = none). */
  jitter: number;
}

export interface QueueOptions {
  concurrency: number;
  /** Workers beyond `concurrency` reserved for `high` keys (default 0). */
  highReserve?: number;
  worker: (item: WorkItem) => Promise<WorkOutcome>;
  backoff?: Partial<BackoffOptions>;
  /** Called when a worker throws (the key is then treated as transient). */
  onWorkerError?: (key: string, error: unknown) => void;
  /** Called when a key starts running (after dequeue). */
  onStart?: (item: WorkItem) => void;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 300_000, jitter: 0.1 };

const RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

/** The delay before retry number `failures` (1 = first retry). */
export function backoffDelay(failures: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exp = options.baseMs * 2 ** Math.max(0, failures - 1);
  const capped = Math.min(options.maxMs, exp);
  if (options.jitter <= 0) return capped;
  const spread = capped * options.jitter;
  return Math.max(0, Math.round(capped - spread + random() * 2 * spread));
}

function higher(a: Priority, b: Priority): Priority {
  return RANK[a] <= RANK[b] ? a : b;
}

export class WorkQueue {
  readonly #options: QueueOptions;
  readonly #backoff: BackoffOptions;
  /** Waiting keys, in arrival order; picked by priority. */
  readonly #waiting = new Map<string, WorkItem>();
  readonly #running = new Map<string, WorkItem>();
  /** Keys queued again while running: run once more after. */
  readonly #dirty = new Map<string, WorkItem>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout; item: Omit<WorkItem, 'key' | 'queuedAt'> }>();
  readonly #failures = new Map<string, number>();
  #idleWaiters: Array<() => void> = [];
  #closed = false;

  constructor(options: QueueOptions) {
    this.#options = options;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  /** Queue `key` now (deduplicated). */
  add(key: string, options: { priority?: Priority; trigger?: Trigger } = {}): void {
    if (this.#closed) return;
    const priority = options.priority ?? 'normal';
    const triggers = new Set<Trigger>(options.trigger ? [options.trigger] : []);
    const timer = this.#timers.get(key);
    if (timer) {
      clearTimeout(timer.timer);
      this.#timers.delete(key);
      for (const t of timer.item.triggers) triggers.add(t);
    }
    this.#enqueue(key, priority, triggers);
    this.#pump();
  }

  /** Queue `key` after `delayMs` unless it is queued sooner. */
  addAfter(key: string, delayMs: number, options: { priority?: Priority; trigger?: Trigger } = {}): void {
    if (this.#closed) return;
    const at = Date.now() + delayMs;
    const existing = this.#timers.get(key);
    const triggers = new Set<Trigger>(options.trigger ? [options.trigger] : []);
    if (existing) {
      for (const t of existing.item.triggers) triggers.add(t);
      if (existing.at <= at) {
        existing.item.triggers = triggers;
        return;
      }
      clearTimeout(existing.timer);
    }
    const item = { priority: options.priority ?? 'normal', triggers, failures: this.#failures.get(key) ?? 0 };
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.#enqueue(key, item.priority, item.triggers);
      this.#pump();
    }, Math.max(0, delayMs));
    timer.unref();
    this.#timers.set(key, { at, timer, item });
  }

  /** Keys waiting to run (not counting running or timed ones). */
  depth(): number {
    return this.#waiting.size;
  }

  inFlight(): number {
    return this.#running.size;
  }

  /** Keys waiting on a backoff or requeue timer. */
  delayed(): number {
    return this.#timers.size;
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Pending retry time of a key (ms since epoch), or null. */
  retryAt(key: string): number | null {
    return this.#timers.get(key)?.at ?? null;
  }

  /** Forget a key entirely (a customer removed from the desired state). */
  forget(key: string): void {
    this.#waiting.delete(key);
    this.#dirty.delete(key);
    const timer = this.#timers.get(key);
    if (timer) clearTimeout(timer.timer);
    this.#timers.delete(key);
    this.#failures.delete(key);
  }

  /** Resolves when nothing waits and nothing runs (timers are not waited for). */
  idle(): Promise<void> {
    if (this.#waiting.size === 0 && this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops taking work, drops timers and waiting keys, and waits for running ones. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
    this.#waiting.clear();
    this.#dirty.clear();
    await this.idle();
  }

  #enqueue(key: string, priority: Priority, triggers: Set<Trigger>): void {
    const running = this.#running.get(key);
    if (running) {
      const dirty = this.#dirty.get(key);
      if (dirty) {
        dirty.priority = higher(dirty.priority, priority);
        for (const t of triggers) dirty.triggers.add(t);
      } else {
        this.#dirty.set(key, { key, priority, triggers, failures: this.#failures.get(key) ?? 0, queuedAt: Date.now() });
      }
      return;
    }
    const waiting = this.#waiting.get(key);
    if (waiting) {
      waiting.priority = higher(waiting.priority, priority);
      for (const t of triggers) waiting.triggers.add(t);
      return;
    }
    this.#waiting.set(key, { key, priority, triggers, failures: this.#failures.get(key) ?? 0, queuedAt: Date.now() });
  }

  #next(onlyHigh: boolean): WorkItem | null {
    let best: WorkItem | null = null;
    for (const item of this.#waiting.values()) {
      if (!best || RANK[item.priority] < RANK[best.priority]) best = item;
      if (best.priority === 'high') break;
    }
    if (!best || (onlyHigh && best.priority !== 'high')) return null;
    this.#waiting.delete(best.key);
    return best;
  }

  #pump(): void {
    const limit = this.#options.concurrency;
    const reserve = this.#options.highReserve ?? 0;
    while (!this.#closed && this.#running.size < limit + reserve) {
      const item = this.#next(this.#running.size >= limit);
      if (!item) break;
      this.#running.set(item.key, item);
      void this.#run(item);
    }
    this.#checkIdle();
  }

  async #run(item: WorkItem): Promise<void> {
    let outcome: WorkOutcome;
    try {
      this.#options.onStart?.(item);
      outcome = await this.#options.worker(item);
    } catch (error) {
      this.#options.onWorkerError?.(item.key, error);
      outcome = { result: 'transient' };
    }
    this.#running.delete(item.key);
    if (!this.#closed) this.#settle(item.key, outcome);
    const dirty = this.#dirty.get(item.key);
    if (dirty && !this.#closed) {
      this.#dirty.delete(item.key);
      // The newer request supersedes a pending retry timer.
      const timer = this.#timers.get(item.key);
      if (timer) {
        clearTimeout(timer.timer);
        this.#timers.delete(item.key);
        for (const t of timer.item.triggers) dirty.triggers.add(t);
      }
      this.#enqueue(item.key, dirty.priority, dirty.triggers);
    }
    this.#pump();
  }

  #settle(key: string, outcome: WorkOutcome): void {
    if (outcome.result === 'transient') {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      this.addAfter(key, backoffDelay(failures, this.#backoff), { trigger: 'retry' });
      return;
    }
    this.#failures.delete(key);
    if (outcome.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs, { priority: 'low', trigger: 'requeue' });
  }

  #checkIdle(): void {
    if (this.#waiting.size > 0 || this.#running.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
