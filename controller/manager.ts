/**
 * The controller's manager: lifecycle (start, stop), the pid lock, the
 * providers, and the controller's public surface (status, readiness, sync,
 * drift scans, enqueue) for the HTTP server, the CLI and tests. Its parts
 * and their connections are in parts.ts; run.ts starts it with its server.
 *
 * Events (EventEmitter): 'revision' `{ id, valid, diff | issues }`,
 * 'reconcile-start' `{ customer, triggers, queuedAt, at, revision }`,
 * 'reconcile-done' `{ customer, result, triggers, revision }`,
 * 'engine-event' `{ customer, what, at }`, 'drift-scan-done' (the scan's
 * figures), 'alerts' (the notices).
 */
import { EventEmitter } from 'node:events';
import { AxeError, terminal } from '../core/errors.js';
import type { Secret } from '../core/secret.js';
import { openConfiguredProviders, type Providers } from '../providers/index.js';
import { reconcileCustomer } from '../reconcilers/engine.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { DesiredState } from '../schemas/repo.js';
import { Alerter } from './alerts.js';
import type { RuntimeControls } from './controls.js';
import type { EngineEvents } from './engine-events.js';
import { History } from './history.js';
import type { Logger } from './logger.js';
import { ControllerMetrics, providerCounts } from './metrics.js';
import { type ControllerOptions, controllerTimings } from './options.js';
import { buildParts, type Parts } from './parts.js';
import { RolloutManager } from './rollout/manager.js';
import { PidLock } from './pid-lock.js';
import { type Trigger, type WorkItem, type WorkOutcome, WorkQueue } from './queue.js';
import type { ReadinessCheck } from './readiness.js';
import { Recorder } from './recorder.js';
import type { Revisions, SyncOutcome, SyncReason } from './revisions.js';
import type { ScanFigures } from './scans.js';
import type { WarmPlans } from './warm-plan.js';
import { liveStatus, type StatusView, statusFromHistory } from './status.js';

export type { ControllerOptions, ControllerTimings } from './options.js';
export type { ReadinessCheck } from './readiness.js';
export type { SyncOutcome } from './revisions.js';

export class Controller extends EventEmitter {
  readonly metrics: ControllerMetrics;
  readonly history: History;
  readonly queue: WorkQueue;
  readonly alerter: Alerter;
  readonly log: Logger;
  readonly recorder: Recorder;
  /** Staged releases (controller/rollout/). */
  readonly rollout: RolloutManager;
  readonly revisions: Revisions;
  readonly #options: ControllerOptions;
  readonly #reconcile: typeof reconcileCustomer;
  readonly #parts: Parts;
  readonly #lock: PidLock;
  #providers: Providers | null = null;
  #started = false;
  #stopping = false;

  constructor(options: ControllerOptions) {
    super();
    this.#options = options;
    const t = controllerTimings(options.config, options.timings);
    this.#reconcile = options.reconcile ?? reconcileCustomer;
    this.log = options.log;
    this.#lock = new PidLock(options.paths.lock, options.paths.stateDir);
    this.history = History.open(options.paths.history);
    this.alerter = new Alerter({ forMs: t.alertForMs, repeatMs: t.alertRepeatMs, keepFiringForMs: t.alertKeepFiringMs });
    this.queue = new WorkQueue({
      concurrency: options.config.concurrency,
      highReserve: 1,
      backoff: { baseMs: t.backoffBaseMs, maxMs: t.backoffMaxMs },
      worker: (item) => this.#work(item),
      onStart: (item) => this.#onStart(item),
      onWorkerError: (key, error) => this.log.error({ customer: key, err: error }, 'reconcile crashed'),
    });
    this.metrics = new ControllerMetrics(
      {
        queue: () => ({ depth: this.queue.depth(), inFlight: this.queue.inFlight(), delayed: this.queue.delayed() }),
        openDrift: () => this.history.openDrifts().map((d) => ({ customer: d.customer, kind: d.kind, openedAt: d.opened_at })),
        providers: () => providerCounts(this.#providers),
        alerts: () => this.alerter.firing().map((a) => ({ name: a.name, severity: a.severity })),
      },
      { version: options.version ?? 'dev' },
    );
    this.metrics.configValid.set(0);
    this.recorder = new Recorder({ history: this.history, metrics: this.metrics, log: this.log });
    this.rollout = new RolloutManager({ history: this.history, log: this.log, tickMs: t.rolloutTickMs, registry: this.metrics.registry, enqueue: (c) => this.queue.add(c, { priority: 'high', trigger: 'rollout' }), onFailed: (e) => this.emit('rollout-failed', e) });
    this.#parts = buildParts(this, options, t, this.#reconcile);
    this.revisions = this.#parts.revisions;
  }

  /** The revision being applied, or null before the first good one. */
  get revision(): string | null {
    return this.revisions.current?.id ?? null;
  }

  get desiredState(): DesiredState | null {
    return this.revisions.current?.state ?? null;
  }

  get providers(): Providers | null {
    return this.#providers;
  }

  /** Runtime controls (reconcile, suspend, resume), asked through the authenticated API. */
  get controls(): RuntimeControls {
    return this.#parts.controls;
  }

  /** Read-only plans over the controller's warm connections (warm-plan.ts), asked through the authenticated API. */
  get plans(): WarmPlans {
    return this.#parts.plans;
  }

  get branch(): string {
    return this.#options.config.repo.branch;
  }

  /** Takes the lock, opens the providers, loads the newest (or last good) revision and starts polling, watching and the drift schedule. */
  async start(): Promise<SyncOutcome> {
    if (this.#started) throw terminal('the controller is already started');
    this.#started = true;
    await this.#lock.acquire();
    this.#providers = this.#options.providers ?? (await this.#openProviders());
    this.#parts.triggers.open(this.#providers);
    this.#parts.interrupted = this.recorder.interrupted();
    void this.#parts.readiness.checkBw();
    const first = await this.sync('startup');
    await this.#parts.triggers.start();
    this.rollout.start();
    this.log.info({ source: this.#options.source.description, revision: this.revision, concurrency: this.#options.config.concurrency, drift_schedule: this.#options.config.drift_schedule }, 'controller started');
    return first;
  }

  /** Stops timers, the watcher and the queue (waiting for running reconciles), then closes everything. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.rollout.stop();
    await this.#parts.triggers.stop();
    await this.revisions.idle();
    this.#parts.triggers.closeEvents();
    await this.settled();
    await this.#parts.readiness.idle();
    await this.queue.close();
    this.#providers?.hosts.close();
    this.history.close();
    await this.#lock.release();
    this.log.info({}, 'controller stopped');
  }

  /** Fetches the source and applies a new revision (coalesced: at most one runs and one waits). */
  sync(reason: SyncReason): Promise<SyncOutcome> {
    return this.revisions.sync(reason);
  }

  /** Queues every customer with a fresh scan; resolves when each of them has been reconciled once (the scan's figures). */
  driftScan(): Promise<ScanFigures> {
    if (!this.revisions.current) return Promise.resolve({ durationMs: 0, customers: 0, errors: 0 });
    if (this.#parts.scans.running) return new Promise((resolve) => this.once('drift-scan-done', resolve));
    return (async () => {
      await this.#refreshProviders();
      const current = this.revisions.current!;
      const ids = Object.keys(current.state.customers.customers);
      const prefetch = this.#reconcile === reconcileCustomer ? { view: (env: ReconcileEnv) => this.#parts.view(env), going: () => !this.#stopping, track: (w: Promise<void>) => this.#parts.track(w) } : null;
      return this.#parts.scans.start(current.env, ids, (id) => this.queue.add(id, { priority: 'normal', trigger: 'drift-scan' }), prefetch);
    })();
  }

  /** Queues one customer now. */
  enqueue(customer: string, trigger: Trigger = 'manual'): void {
    this.queue.add(customer, { priority: 'high', trigger });
  }

  /** Status from the history, plus the live queue, alerts and the rejected revision's details. */
  status(customer?: string): StatusView {
    return liveStatus(statusFromHistory(this.history, customer ? { customer } : {}), {
      source: this.#options.source.description,
      queue: this.queue,
      firing: this.alerter.firing(),
      current: this.revisions.current,
      rejected: this.revisions.rejected,
    });
  }

  /** `/readyz` (readiness.ts). */
  readiness(): Promise<{ ready: boolean; checks: Record<string, ReadinessCheck> }> {
    return this.#parts.readiness.check({ running: this.revision, rejected: this.revisions.rejected !== null, providers: this.#providers, lastFetchError: this.revisions.lastFetchError });
  }

  /** The webhook's HMAC secret from the vault (cached for a minute; null when missing). */
  webhookSecret(): Promise<Secret | null> {
    return this.#parts.vaultReads.webhookSecret();
  }

  /** The engine event streams' states, per host (for /status and tests). */
  engineEventStreams(): ReturnType<EngineEvents['states']> {
    return this.#parts.triggers.streams();
  }

  /** Resolves when the background work started so far (pruning, prefetching) is done. */
  async settled(): Promise<void> {
    const background = this.#parts.background;
    while (background.size > 0) await Promise.allSettled([...background]);
  }

  // ---------------------------------------------------------------- internals

  #openProviders(): Promise<Providers> {
    const { config, vault, paths } = this.#options;
    return openConfiguredProviders(config, vault, { cacheDir: paths.cache, home: paths.home });
  }

  /** A Cloudflare token pushed to the vault after start is picked up at the next drift scan. */
  async #refreshProviders(): Promise<void> {
    if (this.#options.providers || !this.#providers || this.#providers.cloudflare || !this.revisions.current) return;
    try {
      const fresh = await this.#openProviders();
      if (!fresh.cloudflare) return;
      this.#providers.hosts.close();
      this.#providers = fresh;
      this.#parts.triggers.reopened(fresh);
      this.revisions.rebuildEnv();
      this.log.info({}, 'providers reopened');
    } catch (error) {
      this.log.warn({ err: error }, 'providers reopen failed');
    }
  }

  #onStart(item: WorkItem): void {
    this.recorder.started(item, this.revision);
    this.emit('reconcile-start', { customer: item.key, triggers: [...item.triggers], queuedAt: item.queuedAt, at: Date.now(), revision: this.revision });
  }

  /** The queue's worker: the customer reconciler's Result or error, as the queue's outcome. */
  async #work(item: WorkItem): Promise<WorkOutcome> {
    try {
      const outcome = await this.#parts.reconciler.reconcile(item);
      return { result: 'ok', ...outcome };
    } catch (error) {
      if (error instanceof AxeError) return { result: error.class };
      throw error;
    }
  }
}
