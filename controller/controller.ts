/**
 * The pull-based controller: source → validated revision → per-customer
 * queue → the engine's reconcile → status, history, metrics, alerts.
 *
 * Rules:
 * - Only a revision that loads cleanly is applied; a rejected one is recorded
 *   with its file:line errors, `axe_config_valid` drops to 0, and the last
 *   good revision keeps running. At start, when the newest revision is bad,
 *   the last good one from the history is applied instead.
 * - After a new revision, the customers whose desired state changed are
 *   reconciled first (high priority), the others after (low).
 * - The controller always reconciles with `apply: true`; the engine applies
 *   the customer's policy (`observe` never acts, `suspend` is left alone).
 * - Drift is a resource that was last seen Synced under the same desired state
 *   and now needs actions; a failed observation in between does not reset
 *   what was last seen (controller/drift.ts). It is opened once, and closed
 *   when the resource is Synced again (`corrected` when the controller's own
 *   actions did it).
 * - A customer removed from the desired state is forgotten (status, metrics,
 *   queue); its resources are left in place: nothing is torn down.
 * - One controller per state directory (a pid lock); actions are written as
 *   intents before they run, so a restart after a kill reconciles those
 *   customers first, observing before acting again (no duplicate).
 */
import { EventEmitter } from 'node:events';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { CronJob } from 'cron';
import { AxeError, errorLine, terminal } from '../core/errors.js';
import type { Secret } from '../core/secret.js';
import { type CustomerResult, type KindResult, prefetchCustomer, type ProgressEvent, reconcileCustomer } from '../reconcilers/engine.js';
import { buildEnv, openEnvProviders, withFreshScan } from '../reconcilers/env.js';
import { SCAN_KEYS } from '../reconcilers/scan.js';
import { checkOperatorBw, type OperatorBwCheck } from '../providers/vault/operator-bw.js';
import { pruneCustomer, prunesOnRemoval } from '../reconcilers/prune.js';
import type { Providers, ReconcileEnv } from '../reconcilers/runtime.js';
import { expandName } from '../schemas/common.js';
import type { ControllerConfig, VaultConfig } from '../schemas/controller-config.js';
import { formatIssue, type ConfigIssue } from '../schemas/load.js';
import { type DesiredState, loadRepo } from '../schemas/repo.js';
import { type AlertCondition, Alerter, type AlertNotice, sendNotices } from './alerts.js';
import { AlertmanagerSender } from './alertmanager.js';
import { EngineEvents, type EventSource } from './engine-events.js';
import { tryLease } from './lease.js';
import { checkCron, type ControllerPaths, parseDuration } from './config.js';
import { isDrift, syncedUnder } from './drift.js';
import { type EventType, History, type ResourceRow } from './history.js';
import type { Logger } from './logger.js';
import { ControllerMetrics, type ProviderCounts, type ReconcileResult } from './metrics.js';
import { type Trigger, type WorkItem, type WorkOutcome, WorkQueue } from './queue.js';
import { customerDigests, diffRevisions } from './revision-diff.js';
import type { ConfigSource, RevisionRef } from './source.js';
import { type StatusView, statusFromHistory } from './status.js';

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

export type SyncOutcome =
  | { result: 'applied'; revision: string; added: string[]; changed: string[]; removed: string[] }
  | { result: 'unchanged'; revision: string }
  | { result: 'rejected'; revision: string; issues: ConfigIssue[] }
  | { result: 'fetch-failed'; error: string };

interface Current {
  id: string;
  subject: string | null;
  state: DesiredState;
  env: ReconcileEnv;
  digests: Map<string, string>;
  appliedAt: number;
}

interface ScanPass {
  startedAt: number;
  keys: Set<string>;
  errors: number;
  resolve: (figures: { durationMs: number; customers: number; errors: number }) => void;
}

/** One `/readyz` check; a failing one may carry the runbook trap and its fix. */
export interface ReadinessCheck {
  ok: boolean;
  detail: string;
  trap?: string;
  fix?: string;
}

const SHORT = 12;
/** How long a verdict on the operator's bw stands before `/readyz` runs `bw --version` again. */
const BW_RECHECK_MS = 10 * 60_000;
/** Customers whose host observation a drift scan fetches at once, ahead of the queue's workers. */
const SCAN_PREFETCH = 16;
/** The intent kind of a prune in progress (history intents survive a restart). */
const PRUNE_KIND = 'prune';
/** A customer a CLI command is changing is looked at again this soon. */
const LOCKED_REQUEUE_MS = 5_000;

function short(id: string): string {
  return /^[0-9a-f]{40,64}$/.test(id) ? id.slice(0, SHORT) : id;
}

function kindResultLabel(k: KindResult): ReconcileResult {
  if (k.health.status === 'Suspended') return 'suspended';
  if (k.error) return 'error';
  if (k.health.reason === 'DependencyFailed') return 'waiting';
  if (k.actions.length > 0) return 'out_of_sync';
  if (k.applied.length > 0) return 'applied';
  return 'synced';
}

function pendingLines(k: KindResult): string {
  return k.actions.map((a) => `${a.op} ${a.target}`).join('\n');
}

export class Controller extends EventEmitter {
  readonly metrics: ControllerMetrics;
  readonly history: History;
  readonly queue: WorkQueue;
  readonly alerter: Alerter;
  readonly log: Logger;
  readonly #options: ControllerOptions;
  readonly #timings: ControllerTimings;
  readonly #reconcile: typeof reconcileCustomer;
  #providers: Providers | null = null;
  #current: Current | null = null;
  #rejected: { id: string; subject: string | null; issues: ConfigIssue[]; at: number } | null = null;
  #scan: { env: ReconcileEnv; at: number } | null = null;
  #pendingSync: Promise<SyncOutcome> | null = null;
  readonly #background = new Set<Promise<void>>();
  /** Revisions a prune is reading: kept when old exports are removed. */
  readonly #pinned = new Set<string>();
  #syncChain: Promise<unknown> = Promise.resolve();
  #timers: NodeJS.Timeout[] = [];
  #cron: CronJob | null = null;
  #stopWatch: (() => Promise<void>) | null = null;
  #interrupted = new Set<string>();
  #pass: ScanPass | null = null;
  #webhookSecret: { value: Secret | null; at: number } | null = null;
  #notifyUrl: string | null | undefined;
  #alertmanager: AlertmanagerSender | null;
  #alertmanagerBusy = false;
  #events: EngineEvents | null = null;
  #lastFetchError: string | null = null;
  #vaultCheck: { ok: boolean; at: number; error: string | null } | null = null;
  /** The operator's bw (`bw serve`) version check: started at start, redone by /readyz when stale. */
  #bwCheck: { result: Promise<OperatorBwCheck | null>; at: number } | null = null;
  #bwLast: OperatorBwCheck | null = null;
  #started = false;
  #stopping = false;
  #lockHeld = false;

  constructor(options: ControllerOptions) {
    super();
    this.#options = options;
    const n = options.config.notifications;
    this.#timings = {
      pollIntervalMs: parseDuration(options.config.repo.poll_interval),
      progressingRequeueMs: 15_000,
      degradedRequeueMs: 60_000,
      scanMaxAgeMs: 30_000,
      alertForMs: parseDuration(n.for),
      alertRepeatMs: parseDuration(n.repeat),
      alertKeepFiringMs: parseDuration(n.keep_firing_for),
      alertEvalMs: 15_000,
      backoffBaseMs: 2_000,
      backoffMaxMs: 300_000,
      ...options.timings,
    };
    this.#reconcile = options.reconcile ?? reconcileCustomer;
    this.log = options.log;
    this.history = History.open(options.paths.history);
    this.alerter = new Alerter({ forMs: this.#timings.alertForMs, repeatMs: this.#timings.alertRepeatMs, keepFiringForMs: this.#timings.alertKeepFiringMs });
    const am = n.alertmanager;
    this.#alertmanager = am ? new AlertmanagerSender({ url: am.url, resendMs: parseDuration(am.resend), ttlMs: 4 * parseDuration(am.resend) }) : null;
    this.queue = new WorkQueue({
      concurrency: options.config.concurrency,
      highReserve: 1,
      backoff: { baseMs: this.#timings.backoffBaseMs, maxMs: this.#timings.backoffMaxMs },
      worker: (item) => this.#work(item),
      onStart: (item) => this.#onStart(item),
      onWorkerError: (key, error) => this.log.error({ customer: key, err: error }, 'reconcile crashed'),
    });
    this.metrics = new ControllerMetrics(
      {
        queue: () => ({ depth: this.queue.depth(), inFlight: this.queue.inFlight(), delayed: this.queue.delayed() }),
        openDrift: () => this.history.openDrifts().map((d) => ({ customer: d.customer, kind: d.kind, openedAt: d.opened_at })),
        providers: () => this.#providerCounts(),
        alerts: () => this.alerter.firing().map((a) => ({ name: a.name, severity: a.severity })),
      },
      { version: options.version ?? 'dev' },
    );
    this.metrics.configValid.set(0);
  }

  /** The revision being applied, or null before the first good one. */
  get revision(): string | null {
    return this.#current?.id ?? null;
  }

  get desiredState(): DesiredState | null {
    return this.#current?.state ?? null;
  }

  get providers(): Providers | null {
    return this.#providers;
  }

  /**
   * Takes the lock, opens the providers, loads the newest (or last good)
   * revision and starts polling, watching and the drift schedule.
   */
  async start(): Promise<SyncOutcome> {
    if (this.#started) throw terminal('the controller is already started');
    this.#started = true;
    await this.#lock();
    this.#providers = this.#options.providers ?? (await openEnvProviders(this.#options.config, this.#options.vault, this.#options.paths.cache, this.#options.paths.home));
    const hosts = this.#providers.hosts;
    this.#events = new EngineEvents({ hosts, log: this.log, onEvent: (customer, what) => this.#engineEvent(customer, what) });
    for (const intent of this.history.intents()) {
      this.#interrupted.add(intent.customer);
      this.history.event({ type: 'interrupted', customer: intent.customer, kind: intent.kind, revision: intent.revision, op: intent.op, target: intent.target, message: `the controller stopped during ${intent.op} ${intent.target}; it observes again before acting` });
      this.log.warn({ customer: intent.customer, kind: intent.kind, op: intent.op, target: intent.target }, 'action interrupted by a restart');
    }
    void this.#checkBw();
    const first = await this.sync('startup');
    const source = this.#options.source;
    if (source.watch) this.#stopWatch = await source.watch(() => void this.sync('watch'));
    else if (this.#timings.pollIntervalMs > 0) this.#every(this.#timings.pollIntervalMs, () => void this.sync('poll'));
    this.#every(this.#timings.alertEvalMs, () => this.#evaluateAlerts());
    if (this.#options.driftSchedule !== false) {
      const schedule = checkCron(this.#options.config.drift_schedule);
      this.#cron = CronJob.from({ cronTime: schedule, onTick: () => void this.driftScan(), start: true, unrefTimeout: true });
    }
    this.log.info({ source: source.description, revision: this.revision, concurrency: this.#options.config.concurrency, drift_schedule: this.#options.config.drift_schedule }, 'controller started');
    return first;
  }

  /** Stops timers, the watcher and the queue (waiting for running reconciles), then closes everything. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#cron?.stop();
    this.#cron = null;
    await this.#stopWatch?.();
    this.#stopWatch = null;
    await this.#syncChain.catch(() => undefined);
    this.#events?.stop();
    await this.settled();
    await this.#bwCheck?.result;
    await this.queue.close();
    this.#providers?.hosts.close();
    this.history.close();
    await this.#unlock();
    this.log.info({}, 'controller stopped');
  }

  /**
   * Fetches the source and applies a new revision. Calls are coalesced: at
   * most one sync runs and one waits; callers share the waiting one.
   */
  sync(reason: 'startup' | 'poll' | 'webhook' | 'watch' | 'manual'): Promise<SyncOutcome> {
    if (this.#pendingSync) return this.#pendingSync;
    const run = this.#syncChain.then(() => {
      this.#pendingSync = null;
      return this.#doSync(reason);
    });
    this.#pendingSync = run;
    this.#syncChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Queues every customer with a fresh scan; resolves when each of them has
   * been reconciled once (the scan's figures).
   */
  driftScan(): Promise<{ durationMs: number; customers: number; errors: number }> {
    const current = this.#current;
    if (!current) return Promise.resolve({ durationMs: 0, customers: 0, errors: 0 });
    if (this.#pass) return new Promise((resolve) => this.once('drift-scan-done', resolve));
    return (async () => {
      await this.#refreshProviders();
      const ids = Object.keys(this.#current!.state.customers.customers);
      this.#scan = { env: withFreshScan(this.#current!.env), at: Date.now() };
      this.history.prune(30);
      let pass: ScanPass | null = null;
      const figures = new Promise<{ durationMs: number; customers: number; errors: number }>((resolve) => {
        pass = this.#pass = { startedAt: Date.now(), keys: new Set(ids), errors: 0, resolve };
      });
      this.log.info({ customers: ids.length, revision: short(this.#current!.id) }, 'drift scan started');
      if (ids.length === 0) this.#finishPass();
      for (const id of ids) this.queue.add(id, { priority: 'normal', trigger: 'drift-scan' });
      if (this.#reconcile === reconcileCustomer) this.#track(this.#prefetch(this.#scan.env, ids, () => this.#pass === pass && !this.#stopping));
      return figures;
    })();
  }

  /** Queues one customer now. */
  enqueue(customer: string, trigger: Trigger = 'manual'): void {
    this.queue.add(customer, { priority: 'high', trigger });
  }

  /** Status from the history, plus the live queue, alerts and the rejected revision's details. */
  status(customer?: string): StatusView {
    const view = statusFromHistory(this.history, customer ? { customer } : {});
    view.source = this.#options.source.description;
    view.queue = { depth: this.queue.depth(), inFlight: this.queue.inFlight(), delayed: this.queue.delayed() };
    view.alerts = this.alerter.firing().map((a) => ({ name: a.name, customer: a.customer, severity: a.severity, summary: a.summary, since: new Date(a.since).toISOString() }));
    if (this.#current) view.revision = { id: this.#current.id, subject: this.#current.subject, at: new Date(this.#current.appliedAt).toISOString(), appliedAt: new Date(this.#current.appliedAt).toISOString() };
    view.configValid = this.#rejected === null;
    view.rejected = this.#rejected ? { id: this.#rejected.id, subject: this.#rejected.subject, at: new Date(this.#rejected.at).toISOString(), issues: this.#rejected.issues } : null;
    return view;
  }

  /**
   * `/readyz`: a good revision loaded, the providers reachable, and (vault
   * provider `vaultwarden`) the operator's bw outside the crash range against
   * the OIDCWarden fork (a failing check carries its trap and fix).
   */
  async readiness(): Promise<{ ready: boolean; checks: Record<string, ReadinessCheck> }> {
    const checks: Record<string, ReadinessCheck> = {};
    checks.revision = this.#current ? { ok: true, detail: short(this.#current.id) } : { ok: false, detail: this.#rejected ? 'newest revision rejected and no good one yet' : 'no revision loaded yet' };
    const providers = this.#providers;
    if (!providers) {
      checks.providers = { ok: false, detail: 'not opened' };
    } else {
      checks.cloudflare = providers.cloudflare ? { ok: true, detail: 'configured' } : { ok: false, detail: providers.cloudflareError ? errorLine(providers.cloudflareError) : 'not configured' };
      const now = Date.now();
      if (!this.#vaultCheck || now - this.#vaultCheck.at > 30_000) {
        try {
          await Promise.race([providers.vault.list(), new Promise((_, reject) => setTimeout(() => reject(new Error('vault did not answer within 5 s')), 5_000).unref())]);
          this.#vaultCheck = { ok: true, at: now, error: null };
        } catch (error) {
          this.#vaultCheck = { ok: false, at: now, error: errorLine(error) };
        }
      }
      checks.vault = { ok: this.#vaultCheck.ok, detail: this.#vaultCheck.error ?? `${providers.vault.kind} answers` };
    }
    if (this.#lastFetchError) checks.git = { ok: this.#current !== null, detail: this.#lastFetchError };
    const bw = await (this.#bwCheck && Date.now() - this.#bwCheck.at <= BW_RECHECK_MS ? this.#bwCheck.result : this.#checkBw());
    if (bw) checks.bw = { ok: bw.ok, detail: bw.detail, ...(bw.trap ? { trap: bw.trap.trap } : {}), ...(bw.fix ? { fix: bw.fix } : {}) };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  /** Runs the operator's bw version check; warns (and raises OperatorBwUnusable) once per bad version. */
  #checkBw(): Promise<OperatorBwCheck | null> {
    const result = checkOperatorBw(this.#options.vault, this.#options.config.bw_max_version).catch((error: unknown) => {
      this.log.warn({ err: error }, 'operator bw check failed');
      return null;
    });
    this.#bwCheck = { result, at: Date.now() };
    void result.then((check) => {
      const before = this.#bwLast;
      this.#bwLast = check;
      if (!check) return;
      if (check.ok) {
        if (before && !before.ok) this.log.info({ bw: check.path, version: check.version }, 'operator bw fixed');
        return;
      }
      if (before && !before.ok && before.version === check.version) return;
      this.log.warn({ bw: check.path, version: check.version, trap: check.trap?.trap ?? null, fix: check.fix }, 'operator bw unusable');
      this.#evaluateAlerts();
    });
    return result;
  }

  /** The webhook's HMAC secret from the vault (cached for a minute; null when missing). */
  async webhookSecret(): Promise<Secret | null> {
    const now = Date.now();
    if (this.#webhookSecret && now - this.#webhookSecret.at < 60_000) return this.#webhookSecret.value;
    let value: Secret | null = null;
    try {
      value = (await this.#providers?.vault.get(this.#options.config.repo.webhook_secret)) ?? null;
    } catch (error) {
      this.log.warn({ secret: this.#options.config.repo.webhook_secret, err: error }, 'webhook secret unreadable');
    }
    this.#webhookSecret = { value, at: now };
    return value;
  }

  get branch(): string {
    return this.#options.config.repo.branch;
  }

  // ---------------------------------------------------------------- internals

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }

  async #lock(): Promise<void> {
    const path = this.#options.paths.lock;
    await mkdir(this.#options.paths.stateDir, { recursive: true, mode: 0o700 });
    const held = await readFile(path, 'utf8').catch(() => null);
    const pid = held ? Number(held.trim()) : NaN;
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (error) {
        alive = (error as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive) throw terminal(`another controller (pid ${pid}) uses ${this.#options.paths.stateDir}`, { fix: 'stop it first, or give this one another state_dir' });
    }
    await writeFile(path, `${process.pid}\n`, { mode: 0o600 });
    this.#lockHeld = true;
  }

  async #unlock(): Promise<void> {
    if (!this.#lockHeld) return;
    const held = await readFile(this.#options.paths.lock, 'utf8').catch(() => null);
    if (held?.trim() === String(process.pid)) await rm(this.#options.paths.lock, { force: true });
    this.#lockHeld = false;
  }

  async #refreshProviders(): Promise<void> {
    // A Cloudflare token pushed to the vault after start is picked up at the next scan.
    if (this.#options.providers || !this.#providers || this.#providers.cloudflare || !this.#current) return;
    try {
      const fresh = await openEnvProviders(this.#options.config, this.#options.vault, this.#options.paths.cache, this.#options.paths.home);
      if (!fresh.cloudflare) return;
      this.#providers.hosts.close();
      this.#providers = fresh;
      const env = buildEnv({ config: this.#options.config, zone: this.#options.zone, state: this.#current.state, providers: fresh, revision: this.#current.id });
      this.#current = { ...this.#current, env };
      this.log.info({}, 'providers reopened');
    } catch (error) {
      this.log.warn({ err: error }, 'providers reopen failed');
    }
  }

  #providerCounts(): ProviderCounts[] {
    const p = this.#providers;
    if (!p) return [];
    const out: ProviderCounts[] = [];
    if (p.cloudflare) out.push({ provider: 'cloudflare', calls: p.cloudflare.stats.calls, errors: p.cloudflare.stats.errors });
    const ssh = Object.values(p.hosts.stats());
    out.push({ provider: 'ssh', calls: ssh.reduce((n, s) => n + s.roundTrips, 0), errors: null });
    return out;
  }

  async #doSync(reason: string): Promise<SyncOutcome> {
    const source = this.#options.source;
    let ref: RevisionRef;
    const t0 = Date.now();
    try {
      ref = await source.latest();
      this.metrics.gitFetch.inc({ result: 'ok' });
      this.metrics.gitLastSync.set(Date.now() / 1000);
      this.#lastFetchError = null;
    } catch (error) {
      this.metrics.gitFetch.inc({ result: 'error' });
      this.#lastFetchError = errorLine(error);
      this.log.warn({ reason, err: error }, 'config fetch failed');
      if (!this.#current) await this.#fallbackToLastGood();
      return { result: 'fetch-failed', error: errorLine(error) };
    }
    if (ref.id === this.#current?.id) {
      if (this.#rejected) this.#clearRejected();
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
      this.#reject(ref, load.issues);
      if (!this.#current) await this.#fallbackToLastGood();
      await source.prune([ref.id, ...(this.#current ? [this.#current.id] : []), ...this.#pinned]).catch(() => undefined);
      return { result: 'rejected', revision: ref.id, issues: load.issues };
    }
    const outcome = this.#apply(ref, load.state, reason, timings);
    await source.prune([ref.id, ...this.#pinned]).catch(() => undefined);
    return outcome;
  }

  async #fallbackToLastGood(): Promise<void> {
    const good = this.history.lastGoodRevision();
    if (!good) return;
    try {
      const dir = await this.#options.source.materialize(good.id);
      const load = await loadRepo(dir);
      if (!load.ok) return;
      this.log.warn({ revision: short(good.id) }, 'running the last good revision');
      this.#apply({ id: good.id, subject: good.subject }, load.state, 'last-good');
    } catch (error) {
      this.log.error({ revision: short(good.id), err: error }, 'last good revision unavailable');
    }
  }

  #reject(ref: RevisionRef, issues: ConfigIssue[]): void {
    this.#rejected = { id: ref.id, subject: ref.subject, issues, at: Date.now() };
    this.history.recordRevision({ id: ref.id, valid: false, subject: ref.subject, issues });
    const keeps = this.#current ? `; ${short(this.#current.id)} keeps running` : '; no good revision yet';
    this.history.event({ type: 'rejected', revision: ref.id, message: `revision ${short(ref.id)} rejected: ${issues.length} error(s), first ${issues[0] ? formatIssue(issues[0]) : 'unknown'}${keeps}` });
    this.metrics.configValid.set(0);
    this.metrics.configRejected.set(Date.now() / 1000);
    this.log.error({ revision: short(ref.id), subject: ref.subject, errors: issues.length, issues: issues.slice(0, 10).map(formatIssue), running: this.#current ? short(this.#current.id) : null }, 'revision rejected');
    this.emit('revision', { id: ref.id, valid: false, issues });
    this.#evaluateAlerts();
  }

  #clearRejected(): void {
    this.#rejected = null;
    this.metrics.configValid.set(1);
    this.#evaluateAlerts();
  }

  #apply(ref: RevisionRef, state: DesiredState, reason: string, timings: Record<string, number> = {}): SyncOutcome {
    const previous = this.#current;
    const digests = customerDigests(state);
    const diff = diffRevisions(previous?.digests ?? null, digests);
    const providers = this.#providers!;
    const env = buildEnv({ config: this.#options.config, zone: this.#options.zone, state, providers, revision: ref.id });
    this.#current = { id: ref.id, subject: ref.subject, state, env, digests, appliedAt: Date.now() };
    this.#scan = { env, at: Date.now() };
    if (reason !== 'last-good') this.#rejected = null;
    this.history.recordRevision({ id: ref.id, valid: true, subject: ref.subject });
    this.history.markApplied(ref.id);
    if (reason === 'last-good' && this.#rejected) this.history.recordRevision({ id: this.#rejected.id, valid: false, subject: this.#rejected.subject, issues: this.#rejected.issues });
    const summary = `${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed, ${diff.unchanged.length} unchanged`;
    this.history.event({ type: 'revision', revision: ref.id, message: `revision ${short(ref.id)} applied${ref.subject ? ` (${ref.subject})` : ''}: ${summary}` });
    this.metrics.configValid.set(this.#rejected ? 0 : 1);
    this.metrics.setRevision(short(ref.id));
    this.metrics.customers.reset();
    for (const c of Object.values(state.customers.customers)) {
      const policy = c.policy ?? { mode: 'apply', suspend: false };
      this.metrics.customers.inc({ mode: policy.mode, suspended: String(policy.suspend) });
    }
    this.log.info({ revision: short(ref.id), subject: ref.subject, reason, added: diff.added, changed: diff.changed, removed: diff.removed, unchanged: diff.unchanged.length, ...timings }, 'revision applied');
    this.emit('revision', { id: ref.id, valid: true, diff });

    // Prunes a restart cut short (before the removals below write their own intents).
    const resumed = new Set<string>();
    for (const intent of this.history.intents()) {
      if (intent.kind !== PRUNE_KIND || digests.has(intent.customer) || diff.removed.includes(intent.customer) || resumed.has(intent.customer)) continue;
      resumed.add(intent.customer);
      this.#track(this.#pruneRemoved(intent.customer, intent.revision, null));
    }
    for (const id of diff.removed) this.#removeCustomer(id, previous ? { id: previous.id, state: previous.state } : null);
    // Customers known to the history but not in this revision (removed while the controller was down).
    for (const id of this.history.customersWithStatus()) if (!digests.has(id) && !diff.removed.includes(id) && !resumed.has(id)) this.#removeCustomer(id, null);
    if (!previous) {
      // Customers whose actions a restart interrupted go first.
      const ids = [...digests.keys()].sort((a, b) => Number(this.#interrupted.has(b)) - Number(this.#interrupted.has(a)));
      for (const id of ids) this.queue.add(id, { priority: this.#interrupted.has(id) ? 'high' : 'normal', trigger: this.#interrupted.has(id) ? 'interrupted' : 'startup' });
    } else {
      // Only the customers the revision changes: an unchanged customer's desired state is what it was
      // (its digest covers its block, slots and manifests); the drift scan keeps checking its actual state.
      for (const id of [...diff.added, ...diff.changed]) this.queue.add(id, { priority: 'high', trigger: 'revision' });
    }
    this.#evaluateAlerts();
    this.#syncEvents();
    return { result: 'applied', revision: ref.id, added: diff.added, changed: diff.changed, removed: diff.removed };
  }

  #removeCustomer(id: string, previous: { id: string; state: DesiredState } | null): void {
    // The revision that last declared the customer: the previous one, or (removed while the controller was down) its status rows'.
    const declaredIn = previous?.id ?? this.history.resources(id).find((r) => r.revision)?.revision ?? null;
    this.queue.forget(id);
    this.metrics.removeCustomer(id);
    for (const d of this.history.openDrifts(id)) this.history.closeDrift(id, d.kind, false);
    this.history.dropResources(id);
    this.history.clearIntents(id);
    this.#passDone(id, ['drift-scan'], false);
    if (declaredIn) this.history.intend({ customer: id, kind: PRUNE_KIND, op: 'prune', target: `customer:${id}`, revision: declaredIn });
    this.#track(this.#pruneRemoved(id, declaredIn, previous?.state ?? null));
  }

  #track(work: Promise<void>): void {
    this.#background.add(work);
    void work.finally(() => this.#background.delete(work));
  }

  /** Resolves when the background work started so far (pruning) is done. */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  /**
   * A customer left customers.yaml: tear it down when the revision that last
   * declared it had `policy.prune` on (and mode apply, not suspended); else
   * leave everything in place. Recorded in history either way. An intent row
   * makes a prune cut short by a restart start again.
   */
  async #pruneRemoved(id: string, declaredIn: string | null, known: DesiredState | null): Promise<void> {
    const revision = this.#current?.id ?? null;
    const done = (message: string, type: EventType = 'removed'): void => {
      this.history.event({ type, customer: id, revision, message });
      this.history.clearIntents(id, PRUNE_KIND);
    };
    try {
      let state = known;
      if (!state && declaredIn) {
        this.#pinned.add(declaredIn);
        try {
          const load = await loadRepo(await this.#options.source.materialize(declaredIn));
          if (!load.ok) return done(`customer ${id} left customers.yaml; the revision that last declared it (${short(declaredIn)}) does not load, so its policy is unknown: nothing torn down`);
          state = load.state;
        } finally {
          this.#pinned.delete(declaredIn);
        }
      }
      const policy = state?.customers.customers[id]?.policy;
      const at = declaredIn ? ` (as declared at ${short(declaredIn)})` : '';
      this.log.warn({ customer: id, prune: Boolean(policy?.prune) }, 'customer removed from the desired state');
      if (!state || !policy?.prune) return done(`customer ${id} left customers.yaml; its tunnel, DNS, stacks and vault items are left in place (pruning is off${declaredIn ? ` in ${short(declaredIn)}` : ''})`);
      if (!prunesOnRemoval(state, id)) {
        return done(`customer ${id} left customers.yaml; pruning is on but the customer was ${policy.suspend ? 'suspended' : 'observe-only'}${at}: nothing torn down`);
      }
      const env = buildEnv({ config: this.#options.config, zone: this.#options.zone, state, providers: this.#providers!, revision: declaredIn });
      const result = await pruneCustomer(env, id, {
        apply: true,
        onAction: (a) => {
          this.log.info({ customer: id, kind: a.kind, op: a.op, target: a.target }, 'prune');
        },
      });
      for (const a of result.applied) this.history.event({ type: 'action', customer: id, kind: a.kind, revision, op: `prune:${a.op}`, target: a.target, message: a.summary });
      if (result.error) {
        this.log.error({ customer: id, error: result.error }, 'prune failed');
        this.history.event({ type: 'error', customer: id, revision, op: 'prune', message: `pruning ${id} stopped: ${result.error}` });
        return; // The intent stays: the next start tries again.
      }
      done(`customer ${id} left customers.yaml and was pruned${at}: ${result.applied.length} step(s) (stacks down, cloudflared removed, DNS and tunnel deleted); vault items, its own vault and data volumes stay`);
    } catch (error) {
      this.log.error({ customer: id, err: error }, 'prune failed');
      this.history.event({ type: 'error', customer: id, revision, op: 'prune', message: `pruning ${id} failed: ${errorLine(error)}` });
    }
  }

  /**
   * Fetches the scan's host observations (tailnet, each host's one batched
   * round trip) SCAN_PREFETCH at a time, ahead of the queue's workers, which
   * then read them from the scan: the scan's wall time is bounded by the
   * hosts' round trips in parallel, not by the number of reconcile workers.
   */
  async #prefetch(env: ReconcileEnv, ids: string[], going: () => boolean): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length && going()) await prefetchCustomer(env, ids[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(SCAN_PREFETCH, ids.length) }, worker));
  }

  #envFor(): ReconcileEnv {
    const now = Date.now();
    if (!this.#scan || now - this.#scan.at > this.#timings.scanMaxAgeMs || this.#scan.env.revision !== this.#current!.id) {
      this.#scan = { env: withFreshScan(this.#current!.env), at: now };
    }
    return this.#scan.env;
  }

  #onStart(item: WorkItem): void {
    this.metrics.queueLatency.observe((Date.now() - item.queuedAt) / 1000);
    const triggers = [...item.triggers];
    const quiet = triggers.every((t) => t === 'drift-scan' || t === 'requeue');
    this.log[quiet ? 'debug' : 'info']({ customer: item.key, triggers, revision: this.#current ? short(this.#current.id) : null, waited_ms: Date.now() - item.queuedAt }, 'reconcile started');
    this.emit('reconcile-start', { customer: item.key, triggers, queuedAt: item.queuedAt, at: Date.now() });
  }

  async #work(item: WorkItem): Promise<WorkOutcome> {
    const current = this.#current;
    if (!current) return { result: 'ok' };
    const id = item.key;
    const triggers = [...item.triggers];
    if (!(id in current.state.customers.customers)) {
      this.#passDone(id, triggers, false);
      return { result: 'ok' };
    }
    // One writer per customer: a CLI command acting on it now goes first; this reconcile comes back after it.
    const taken = tryLease({ history: this.history, holder: 'controller', command: `reconcile (${triggers.join(', ') || 'queued'})` }, id);
    if ('held' in taken) {
      this.log.info({ customer: id, holder: taken.held.holder, pid: taken.held.pid, host: taken.held.host, command: taken.held.command }, 'customer locked by another writer');
      this.#passDone(id, triggers, false);
      return { result: 'ok', requeueAfterMs: LOCKED_REQUEUE_MS };
    }
    const env = this.#envFor();
    const digest = current.digests.get(id) ?? null;
    const revision = current.id;
    const recId = this.history.beginReconcile(id, revision, triggers);
    const onProgress = (event: ProgressEvent): void => this.#progress(event, revision);
    let result: CustomerResult;
    try {
      result = await this.#reconcile(env, id, { apply: true, onProgress });
    } catch (error) {
      taken.lease.release();
      const cls = error instanceof AxeError ? error.class : 'transient';
      this.history.finishReconcile(recId, { sync: 'Unknown', health: 'Unknown', applied: 0, pending: 0, errors: 1 });
      this.history.event({ type: 'error', customer: id, revision, message: errorLine(error) });
      this.log.error({ customer: id, err: error }, 'reconcile failed');
      this.metrics.customerReconcileTotal.inc({ result: 'error' });
      this.#passDone(id, triggers, true);
      return { result: cls === 'terminal' ? 'terminal' : 'transient' };
    }
    taken.lease.release();
    const outcome = this.#record(id, result, digest, revision);
    this.history.finishReconcile(recId, outcome.summary);
    this.history.clearIntents(id);
    this.#interrupted.delete(id);
    this.emit('reconcile-done', { customer: id, result, triggers, revision }); // [git-host]
    this.#passDone(id, triggers, outcome.summary.errors > 0);
    this.#evaluateAlerts();
    // A host reached for the first time has its engine socket known now (the probe's memo).
    this.#syncEvents();
    return outcome.work;
  }

  /** The engine event streams (engine-events.ts) for every customer not suspended. */
  #syncEvents(): void {
    const current = this.#current;
    const providers = this.#providers;
    if (!this.#events || !current || !providers || this.#stopping) return;
    const { customers, services } = current.state.customers;
    const sources: EventSource[] = [];
    for (const [id, customer] of Object.entries(customers)) {
      if (customer.policy?.suspend) continue;
      const networks: string[] = [];
      const volumes: string[] = [];
      for (const [name, manifest] of current.state.manifests) {
        if (!services[name]?.[id] || manifest.kind !== 'stack') continue;
        networks.push(...manifest.networks.map((n) => expandName(n.name, { customer: id, service: name })));
        volumes.push(...manifest.volumes.map((v) => expandName(v.name, { customer: id, service: name })));
      }
      sources.push({ customer: id, target: providers.hosts.target(customer.tailscale_host, customer.ssh_user), networks, volumes });
    }
    this.#events.sync(sources);
  }

  /** An engine event on a customer's host: observe that host afresh and reconcile the customer now. */
  #engineEvent(customer: string, what: string): void {
    const current = this.#current;
    const c = current?.state.customers.customers[customer];
    if (!current || !c || this.#stopping) return;
    this.#scan?.env.scan.drop(SCAN_KEYS.host(this.#providers!.hosts.target(c.tailscale_host, c.ssh_user)));
    this.log.info({ customer, event: what }, 'engine event');
    this.emit('engine-event', { customer, what, at: Date.now() });
    this.queue.add(customer, { priority: 'high', trigger: 'engine-event' });
  }

  /** The engine event streams' states, per host (for /status and tests). */
  engineEventStreams(): ReturnType<EngineEvents['states']> {
    return this.#events?.states() ?? [];
  }

  #progress(event: ProgressEvent, revision: string): void {
    if (event.phase === 'act' && event.action) {
      this.history.intend({ customer: event.customer, kind: event.kind, op: event.action.op, target: event.action.target, revision });
      this.log.info({ customer: event.customer, kind: event.kind, op: event.action.op, target: event.action.target, summary: event.action.summary, revision: short(revision) }, 'action started');
      return;
    }
    if (event.phase === 'done' && event.result) {
      this.log.debug({ customer: event.customer, kind: event.kind, duration_ms: event.result.durationMs, sync: event.result.sync, health: event.result.health.status }, 'kind done');
      for (const a of event.result.applied) {
        this.history.event({ type: 'action', customer: event.customer, kind: event.kind, revision, op: a.op, target: a.target, message: a.summary });
        this.metrics.actionsTotal.inc({ kind: event.kind, op: a.op });
        this.log.info({ customer: event.customer, kind: event.kind, op: a.op, target: a.target, summary: a.summary, revision: short(revision) }, 'action applied');
      }
      this.history.clearIntents(event.customer, event.kind);
    }
  }

  #record(id: string, result: CustomerResult, digest: string | null, revision: string): { work: WorkOutcome; summary: { sync: string; health: string; applied: number; pending: number; errors: number } } {
    const now = Date.now();
    const shown = result.resources.filter((k) => !k.context);
    let applied = 0;
    let pending = 0;
    let transientErrors = 0;
    let terminalErrors = 0;
    let progressing = false;
    let unhealthy = false;
    const kinds = new Set<string>();
    for (const k of shown) {
      kinds.add(k.kind);
      const label = kindResultLabel(k);
      this.metrics.reconcileTotal.inc({ kind: k.kind, result: label });
      this.metrics.reconcileDuration.observe({ kind: k.kind, result: label }, k.durationMs / 1000);
      applied += k.applied.length;
      pending += k.actions.length;
      if (k.health.status === 'Progressing') progressing = true;
      if (k.health.status === 'Degraded' || k.health.status === 'Missing') unhealthy = true;
      if (k.error) {
        this.metrics.reconcileErrors.inc({ kind: k.kind, class: k.error.class });
        if (k.error.class === 'transient') transientErrors += 1;
        else terminalErrors += 1;
      }
      const prev = this.history.resource(id, k.kind);
      this.#drift(id, k, prev, digest, revision, now);
      const trap = k.health.trap ?? k.error?.trap ?? null;
      const row: ResourceRow = {
        customer: id,
        kind: k.kind,
        sync: k.sync,
        health: k.health.status,
        reason: k.health.reason,
        message: k.health.message,
        trap: trap?.trap ?? null,
        fix: trap?.fix ?? k.error?.fix ?? null,
        error_class: k.error?.class ?? null,
        mode: result.mode,
        suspended: k.health.status === 'Suspended' ? 1 : 0,
        revision,
        desired: digest,
        synced_desired: syncedUnder(k, prev, digest),
        last_reconcile: now,
        last_change: prev && prev.sync === k.sync && prev.health === k.health.status && prev.reason === k.health.reason ? prev.last_change : now,
        pending: pendingLines(k),
      };
      this.history.putResource(row);
      this.metrics.setResource({ customer: id, kind: k.kind, sync: k.sync, health: k.health.status, suspended: row.suspended === 1 });
      if (k.error && (!prev || prev.error_class === null || prev.message !== k.health.message)) {
        this.history.event({ type: 'error', customer: id, kind: k.kind, revision, message: `${k.error.message}${k.error.fix ? ` (fix: ${k.error.fix})` : ''}` });
        this.log.warn({ customer: id, kind: k.kind, class: k.error.class, error: k.error.message, fix: k.error.fix, trap: trap?.trap }, 'reconcile error');
      }
    }
    for (const row of this.history.resources(id)) {
      if (kinds.has(row.kind)) continue;
      this.history.closeDrift(id, row.kind, false);
      this.history.db.prepare('DELETE FROM resources WHERE customer = ? AND kind = ?').run(id, row.kind);
      this.metrics.removeResource(id, row.kind);
    }
    this.metrics.lastReconcile.set({ customer: id }, now / 1000);
    const errors = transientErrors + terminalErrors;
    if (result.sync === 'Synced' && errors === 0) this.metrics.lastSynced.set({ customer: id }, now / 1000);
    this.metrics.customerReconcileTotal.inc({ result: errors > 0 ? 'error' : result.sync === 'Synced' ? 'synced' : 'out_of_sync' });
    if (applied > 0) this.history.markConverging(id);
    this.#maybeShip(id, result, revision);
    const line = { customer: id, sync: result.sync, health: result.health, applied, pending, errors, revision: short(revision) };
    if (applied > 0 || errors > 0) this.log.info(line, 'reconcile finished');
    else this.log.debug(line, 'reconcile finished');

    let work: WorkOutcome = { result: 'ok' };
    if (transientErrors > 0) work = { result: 'transient' };
    else if (terminalErrors > 0) work = { result: 'terminal' };
    else if (progressing || (result.mode === 'apply' && !result.suspended && pending > 0)) work = { result: 'ok', requeueAfterMs: this.#timings.progressingRequeueMs };
    // While the controller is bringing a customer up (it acted, no ship line yet), check it again soon;
    // otherwise a Degraded customer (an offline Mac mini, observe-only drift) waits for the next drift scan.
    else if (unhealthy && result.mode === 'apply' && this.history.isConverging(id)) work = { result: 'ok', requeueAfterMs: this.#timings.degradedRequeueMs };
    return { work, summary: { sync: result.sync, health: result.health, applied, pending, errors } };
  }

  #drift(id: string, k: KindResult, prev: ResourceRow | null, digest: string | null, revision: string, now: number): void {
    if (k.health.status === 'Suspended' || k.error) return;
    if (isDrift(k, prev, digest)) {
      const what = [...k.applied, ...k.actions].map((a) => `${a.op} ${a.target}`).join(', ');
      if (this.history.openDrift(id, k.kind, revision, what, now)) {
        this.metrics.driftDetected.inc({ customer: id, kind: k.kind });
        this.history.event({ type: 'drift', customer: id, kind: k.kind, revision, message: `drift: ${what}` });
        this.log.warn({ customer: id, kind: k.kind, mode: k.applied.length > 0 ? 'apply' : 'observe', actions: what }, 'drift detected');
      }
    }
    if (k.actions.length === 0) {
      const closed = this.history.closeDrift(id, k.kind, k.applied.length > 0, now);
      if (closed) {
        const how = k.applied.length > 0 ? 'corrected by the controller' : 'gone (corrected outside the controller)';
        this.history.event({ type: 'drift-closed', customer: id, kind: k.kind, revision, message: `drift ${how} after ${Math.round((now - closed.opened_at) / 1000)} s` });
        this.log.info({ customer: id, kind: k.kind, corrected: k.applied.length > 0, open_s: Math.round((now - closed.opened_at) / 1000) }, 'drift closed');
      }
    }
  }

  #maybeShip(id: string, result: CustomerResult, revision: string): void {
    if (!this.history.isConverging(id)) return;
    const shown = result.resources.filter((k) => !k.context);
    if (shown.length === 0 || shown.some((k) => k.sync !== 'Synced' || k.health.status !== 'Healthy')) return;
    const customer = this.#current?.state.customers.customers[id];
    const line = `ship: ${id} converged by the controller at ${short(revision)} — ${shown.map((k) => k.kind).join(', ')} Synced and Healthy; https://${customer?.public_domain ?? `${id}.${this.#options.zone}`}`;
    if (this.history.ship(id, revision, line)) this.log.info({ customer: id, revision: short(revision), line }, 'ship log');
  }

  #passDone(id: string, triggers: string[], failed: boolean): void {
    const pass = this.#pass;
    if (!pass || !triggers.includes('drift-scan') || !pass.keys.has(id)) return;
    pass.keys.delete(id);
    if (failed) pass.errors += 1;
    if (pass.keys.size === 0) this.#finishPass();
  }

  #finishPass(): void {
    const pass = this.#pass;
    if (!pass) return;
    this.#pass = null;
    const figures = { durationMs: Date.now() - pass.startedAt, customers: 0, errors: pass.errors };
    figures.customers = Object.keys(this.#current?.state.customers.customers ?? {}).length;
    this.metrics.driftScans.inc({ result: pass.errors > 0 ? 'errors' : 'ok' });
    this.metrics.driftScanDuration.set(figures.durationMs / 1000);
    this.log.info({ duration_ms: figures.durationMs, customers: figures.customers, errors: figures.errors }, 'drift scan finished');
    pass.resolve(figures);
    this.emit('drift-scan-done', figures);
  }

  #conditions(): AlertCondition[] {
    const out: AlertCondition[] = [];
    if (this.#rejected) {
      const first = this.#rejected.issues[0];
      out.push({ name: 'ConfigInvalid', customer: null, severity: 'critical', summary: `revision ${short(this.#rejected.id)} rejected (${this.#rejected.issues.length} error(s)${first ? `, first ${formatIssue(first)}` : ''}); ${this.#current ? `${short(this.#current.id)} keeps running` : 'no good revision'}`, fix: 'fix the file:line above in the config repo and push; axe validate shows every error' });
    }
    const bw = this.#bwLast;
    if (bw && !bw.ok) out.push({ name: 'OperatorBwUnusable', customer: null, severity: 'critical', summary: `${bw.detail}; fix: ${bw.fix ?? 'see /readyz'}` });
    const byCustomer = new Map<string, ResourceRow[]>();
    for (const row of this.history.resources()) byCustomer.set(row.customer, [...(byCustomer.get(row.customer) ?? []), row]);
    for (const [customer, rows] of byCustomer) {
      const degraded = rows.filter((r) => (r.health === 'Degraded' || r.health === 'Missing') && r.suspended === 0);
      if (degraded.length) {
        const resources = degraded.map((r) => ({ kind: r.kind, summary: `${r.kind} ${r.health}: ${r.reason}${r.trap ? ` (${r.trap})` : ''}`, fix: r.fix }));
        out.push({ name: 'CustomerDegraded', customer, severity: 'critical', summary: resources.map((r) => r.summary).join('; '), resources });
      }
      const failing = rows.filter((r) => r.error_class !== null);
      if (failing.length) {
        const resources = failing.map((r) => ({ kind: r.kind, summary: `${r.kind}: ${r.error_class} error, ${r.reason}`, fix: r.fix }));
        out.push({ name: 'ReconcileFailing', customer, severity: 'warning', summary: resources.map((r) => r.summary).join('; '), resources });
      }
    }
    const drift = new Map<string, string[]>();
    for (const d of this.history.openDrifts()) drift.set(d.customer, [...(drift.get(d.customer) ?? []), d.kind]);
    for (const [customer, kinds] of drift) {
      const resources = [...new Set(kinds)].map((kind) => ({ kind, summary: `drift open on ${kind}`, fix: null }));
      out.push({ name: 'DriftOpen', customer, severity: 'warning', summary: `drift open on ${kinds.join(', ')}`, resources });
    }
    return out;
  }

  #evaluateAlerts(): void {
    let notices: AlertNotice[];
    try {
      notices = this.alerter.evaluate(this.#conditions(), Date.now());
    } catch (error) {
      this.log.error({ err: error }, 'alert evaluation failed');
      return;
    }
    this.#syncAlertmanager();
    if (notices.length === 0) return;
    for (const n of notices) {
      this.history.event({ type: 'alert', customer: n.customer, revision: this.#current?.id ?? null, op: n.status, target: n.name, message: `${n.name} ${n.status}${n.repeat ? ' (repeat)' : ''}: ${n.summary}` });
      this.log.warn({ alert: n.name, status: n.status, customer: n.customer, severity: n.severity, summary: n.summary, repeat: n.repeat }, n.status === 'firing' ? 'alert firing' : 'alert resolved');
    }
    this.emit('alerts', notices);
    void this.#notify(notices);
  }

  /** Mirrors the firing alerts into Alertmanager (when configured) on every evaluation; see alertmanager.ts. */
  #syncAlertmanager(): void {
    const sender = this.#alertmanager;
    if (!sender || this.#alertmanagerBusy) return;
    this.#alertmanagerBusy = true;
    sender
      .sync(this.alerter.firing(), Date.now())
      .then((posted) => {
        if (posted > 0) this.metrics.alertmanagerPosts.inc({ result: 'sent' });
      })
      .catch((error: unknown) => {
        this.metrics.alertmanagerPosts.inc({ result: 'failed' });
        this.log.warn({ error: error instanceof Error ? error.message.split('\n')[0] : 'error' }, 'alertmanager post failed');
      })
      .finally(() => {
        this.#alertmanagerBusy = false;
      });
  }

  async #notify(notices: AlertNotice[]): Promise<void> {
    const url = await this.#notificationUrl();
    if (!url) return;
    try {
      await sendNotices(url, notices, { revision: this.#current ? short(this.#current.id) : null });
      this.metrics.notifications.inc({ result: 'sent' });
    } catch (error) {
      this.metrics.notifications.inc({ result: 'failed' });
      // The URL may carry a token: log the error line only.
      this.log.warn({ error: error instanceof Error ? error.message.split('\n')[0] : 'error' }, 'notification failed');
    }
  }

  async #notificationUrl(): Promise<string | null> {
    if (this.#notifyUrl !== undefined) return this.#notifyUrl;
    const n = this.#options.config.notifications;
    if (n.webhook_url) this.#notifyUrl = n.webhook_url;
    else if (n.webhook_url_secret) this.#notifyUrl = (await this.#providers?.vault.get(n.webhook_url_secret).catch(() => null))?.reveal() ?? null;
    else this.#notifyUrl = null;
    return this.#notifyUrl;
  }
}
