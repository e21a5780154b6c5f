/**
 * The controller's manager: lifecycle (start, stop), the pid lock, the
 * providers, timers (poll, alert evaluation, the drift schedule), the engine
 * event streams, and the wiring of the parts, in controller-runtime's seams:
 *
 *   source ─► revisions.ts ─► queue.ts ─► customer-reconciler.ts ─► the engine
 *                 │                              │
 *                 └──────────► recorder.ts ◄─────┘   (history, drift, metrics, ship log)
 *
 * plus scans.ts (the scan a pass reads, drift scans), removals.ts (customers
 * that left, prune intents), alerting.ts and readiness.ts. The HTTP server
 * (server.ts) reads this class; run.ts starts both.
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
import { buildEnv } from '../reconcilers/env.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { DesiredState } from '../schemas/repo.js';
import { AlertDispatch } from './alerting.js';
import { Alerter } from './alerts.js';
import { AlertmanagerSender } from './alertmanager.js';
import { parseDuration } from './config.js';
import { CustomerReconciler } from './customer-reconciler.js';
import type { EngineEvents } from './engine-events.js';
import { History } from './history.js';
import type { Logger } from './logger.js';
import { ControllerMetrics, providerCounts } from './metrics.js';
import { type ControllerOptions, controllerTimings } from './options.js';
import { PidLock } from './pid-lock.js';
import { type Trigger, type WorkItem, type WorkOutcome, WorkQueue } from './queue.js';
import { Readiness, type ReadinessCheck } from './readiness.js';
import { Recorder } from './recorder.js';
import { Removals } from './removals.js';
import { type AppliedRevision, Revisions, type SyncOutcome, type SyncReason } from './revisions.js';
import { type ScanFigures, Scans } from './scans.js';
import { liveStatus, type StatusView, statusFromHistory } from './status.js';
import { Triggers } from './triggers.js';
import { VaultReads } from './vault-reads.js';

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
  readonly revisions: Revisions;
  readonly #options: ControllerOptions;
  readonly #reconcile: typeof reconcileCustomer;
  readonly #scans: Scans;
  readonly #removals: Removals;
  readonly #alerts: AlertDispatch;
  readonly #readiness: Readiness;
  readonly #reconciler: CustomerReconciler;
  readonly #lock: PidLock;
  readonly #triggers: Triggers;
  #providers: Providers | null = null;
  readonly #background = new Set<Promise<void>>();
  #interrupted = new Set<string>();
  readonly #vaultReads: VaultReads;
  #started = false;
  #stopping = false;

  constructor(options: ControllerOptions) {
    super();
    this.#options = options;
    const n = options.config.notifications;
    const t = controllerTimings(options.config, options.timings);
    this.#reconcile = options.reconcile ?? reconcileCustomer;
    this.log = options.log;
    this.#lock = new PidLock(options.paths.lock, options.paths.stateDir);
    this.#vaultReads = new VaultReads(options.config, () => this.#providers, this.log);
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
    const recorder = (this.recorder = new Recorder({ history: this.history, metrics: this.metrics, log: this.log }));
    const env = (state: DesiredState, revision: string | null): ReconcileEnv => buildEnv({ config: options.config, zone: options.zone, state, providers: this.#providers!, revision });
    this.revisions = new Revisions({
      source: options.source,
      history: this.history,
      recorder,
      log: this.log,
      buildEnv: env,
      onApplied: (applied) => this.#applied(applied),
      onRejected: (ref, issues) => {
        this.emit('revision', { id: ref.id, valid: false, issues });
        this.#alerts.evaluate();
      },
      onRecovered: () => this.#alerts.evaluate(),
    });
    this.#scans = new Scans({ maxAgeMs: t.scanMaxAgeMs, recorder, customers: () => Object.keys(this.desiredState?.customers.customers ?? {}).length, onDone: (figures) => this.emit('drift-scan-done', figures) });
    this.#removals = new Removals({
      history: this.history,
      recorder,
      revision: () => this.revision,
      load: (id) => this.revisions.load(id),
      buildEnv: env,
      forget: (id) => {
        this.queue.forget(id);
        this.#scans.done(id, ['drift-scan'], false);
      },
      track: (work) => this.#track(work),
    });
    this.#alerts = new AlertDispatch({
      alerter: this.alerter,
      recorder,
      alertmanager: n.alertmanager ? new AlertmanagerSender({ url: n.alertmanager.url, resendMs: parseDuration(n.alertmanager.resend), ttlMs: 4 * parseDuration(n.alertmanager.resend) }) : null,
      inputs: () => ({ rejected: this.revisions.rejected, running: this.revision, bw: this.#readiness.bw, resources: this.history.resources(), drifts: this.history.openDrifts() }),
      notificationUrl: () => this.#vaultReads.notificationUrl(),
      onNotices: (notices) => this.emit('alerts', notices),
    });
    this.#readiness = new Readiness({ vault: options.vault, bwMaxVersion: options.config.bw_max_version, log: this.log, onBwUnusable: () => this.#alerts.evaluate() });
    this.#reconciler = new CustomerReconciler({
      current: () => this.revisions.current,
      env: (current) => this.#scans.env(current.env),
      history: this.history,
      recorder,
      reconcile: this.#reconcile,
      timings: t,
      zone: options.zone,
      done: (event) => {
        this.#interrupted.delete(event.customer);
        this.emit('reconcile-done', event);
      },
      scanDone: (id, triggers, failed) => this.#scans.done(id, triggers, failed),
      afterPass: () => {
        this.#alerts.evaluate();
        // A host reached for the first time has its engine socket known now (the probe's memo).
        this.#triggers.syncEvents();
      },
    });
    this.#triggers = new Triggers({
      source: options.source,
      log: this.log,
      pollIntervalMs: t.pollIntervalMs,
      alertEvalMs: t.alertEvalMs,
      driftSchedule: options.driftSchedule === false ? null : options.config.drift_schedule,
      sync: (reason) => void this.sync(reason),
      driftScan: () => void this.driftScan(),
      evaluateAlerts: () => this.#alerts.evaluate(),
      state: () => this.desiredState,
      engineEvent: (customer, what, hostKey) => {
        this.#scans.drop(hostKey);
        this.log.info({ customer, event: what }, 'engine event');
        this.emit('engine-event', { customer, what, at: Date.now() });
        this.queue.add(customer, { priority: 'high', trigger: 'engine-event' });
      },
    });
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

  get branch(): string {
    return this.#options.config.repo.branch;
  }

  /** Takes the lock, opens the providers, loads the newest (or last good) revision and starts polling, watching and the drift schedule. */
  async start(): Promise<SyncOutcome> {
    if (this.#started) throw terminal('the controller is already started');
    this.#started = true;
    await this.#lock.acquire();
    this.#providers = this.#options.providers ?? (await this.#openProviders());
    this.#triggers.open(this.#providers);
    this.#interrupted = this.recorder.interrupted();
    void this.#readiness.checkBw();
    const first = await this.sync('startup');
    await this.#triggers.start();
    this.log.info({ source: this.#options.source.description, revision: this.revision, concurrency: this.#options.config.concurrency, drift_schedule: this.#options.config.drift_schedule }, 'controller started');
    return first;
  }

  /** Stops timers, the watcher and the queue (waiting for running reconciles), then closes everything. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#triggers.stop();
    await this.revisions.idle();
    this.#triggers.closeEvents();
    await this.settled();
    await this.#readiness.idle();
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
    if (this.#scans.running) return new Promise((resolve) => this.once('drift-scan-done', resolve));
    return (async () => {
      await this.#refreshProviders();
      const current = this.revisions.current!;
      const ids = Object.keys(current.state.customers.customers);
      const prefetch = this.#reconcile === reconcileCustomer ? { view: (env: ReconcileEnv) => env, going: () => !this.#stopping, track: (w: Promise<void>) => this.#track(w) } : null;
      return this.#scans.start(current.env, ids, (id) => this.queue.add(id, { priority: 'normal', trigger: 'drift-scan' }), prefetch);
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
    return this.#readiness.check({ running: this.revision, rejected: this.revisions.rejected !== null, providers: this.#providers, lastFetchError: this.revisions.lastFetchError });
  }

  /** The webhook's HMAC secret from the vault (cached for a minute; null when missing). */
  webhookSecret(): Promise<Secret | null> {
    return this.#vaultReads.webhookSecret();
  }

  /** The engine event streams' states, per host (for /status and tests). */
  engineEventStreams(): ReturnType<EngineEvents['states']> {
    return this.#triggers.streams();
  }

  /** Resolves when the background work started so far (pruning, prefetching) is done. */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  // ---------------------------------------------------------------- internals

  #openProviders(): Promise<Providers> {
    const { config, vault, paths } = this.#options;
    return openConfiguredProviders(config, vault, { cacheDir: paths.cache, home: paths.home });
  }

  #track(work: Promise<void>): void {
    this.#background.add(work);
    void work.finally(() => this.#background.delete(work));
  }

  /** A Cloudflare token pushed to the vault after start is picked up at the next drift scan. */
  async #refreshProviders(): Promise<void> {
    if (this.#options.providers || !this.#providers || this.#providers.cloudflare || !this.revisions.current) return;
    try {
      const fresh = await this.#openProviders();
      if (!fresh.cloudflare) return;
      this.#providers.hosts.close();
      this.#providers = fresh;
      this.#triggers.reopened(fresh);
      this.revisions.rebuildEnv();
      this.log.info({}, 'providers reopened');
    } catch (error) {
      this.log.warn({ err: error }, 'providers reopen failed');
    }
  }

  /** After a revision is applied: removals, then the customers it concerns are queued. */
  #applied({ previous, current, diff }: AppliedRevision): void {
    this.#scans.reset(current.env);
    this.emit('revision', { id: current.id, valid: true, diff });
    this.#removals.afterRevision(current.digests, diff.removed, previous ? { id: previous.id, state: previous.state } : null);
    if (!previous) {
      // Customers whose actions a restart interrupted go first.
      const interrupted = this.#interrupted;
      const ids = [...current.digests.keys()].sort((a, b) => Number(interrupted.has(b)) - Number(interrupted.has(a)));
      for (const id of ids) this.queue.add(id, { priority: interrupted.has(id) ? 'high' : 'normal', trigger: interrupted.has(id) ? 'interrupted' : 'startup' });
    } else {
      // Only the customers the revision changes: an unchanged customer's desired state is what it was
      // (its digest covers its block, slots and manifests); the drift scan keeps checking its actual state.
      for (const id of [...diff.added, ...diff.changed]) this.queue.add(id, { priority: 'high', trigger: 'revision' });
    }
    this.#alerts.evaluate();
    this.#triggers.syncEvents();
  }

  #onStart(item: WorkItem): void {
    this.recorder.started(item, this.revision);
    this.emit('reconcile-start', { customer: item.key, triggers: [...item.triggers], queuedAt: item.queuedAt, at: Date.now(), revision: this.revision });
  }

  /** The queue's worker: the customer reconciler's Result or error, as the queue's outcome. */
  async #work(item: WorkItem): Promise<WorkOutcome> {
    try {
      const outcome = await this.#reconciler.reconcile(item);
      return { result: 'ok', ...outcome };
    } catch (error) {
      if (error instanceof AxeError) return { result: error.class };
      throw error;
    }
  }
}
