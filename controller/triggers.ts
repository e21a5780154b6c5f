/**
 * What queues work besides a new revision: the poll timer (or the `--watch`
 * watcher), the drift schedule (cron), the alert evaluation timer, and the
 * Docker Engine event streams of the customers' hosts (engine-events.ts): an
 * event drops that host's cached observation and queues the customer at once.
 */
import { CronJob } from 'cron';
import type { Providers } from '../providers/index.js';
import { SCAN_KEYS } from '../reconcilers/scan.js';
import type { DesiredState } from '../schemas/repo.js';
import { checkCron } from './config.js';
import { EngineEvents, eventSources } from './engine-events.js';
import type { Logger } from './logger.js';
import type { ConfigSource } from './source.js';

export interface TriggersDeps {
  source: ConfigSource;
  log: Logger;
  pollIntervalMs: number;
  alertEvalMs: number;
  /** The cron expression of drift scans; null: none. */
  driftSchedule: string | null;
  sync(reason: 'poll' | 'watch'): void;
  driftScan(): void;
  evaluateAlerts(): void;
  state(): DesiredState | null;
  /** An engine event on a customer's host: its cache key is dropped first. */
  engineEvent(customer: string, what: string, hostKey: string): void;
}

export class Triggers {
  readonly #deps: TriggersDeps;
  #timers: NodeJS.Timeout[] = [];
  #cron: CronJob | null = null;
  #stopWatch: (() => Promise<void>) | null = null;
  #events: EngineEvents | null = null;
  #providers: Providers | null = null;
  #stopped = false;

  constructor(deps: TriggersDeps) {
    this.#deps = deps;
  }

  /** Opens the engine event streams' owner (before the first revision, so its sync sees it). */
  open(providers: Providers): void {
    this.#providers = providers;
    this.#events = new EngineEvents({ hosts: providers.hosts, log: this.#deps.log, onEvent: (customer, what) => this.#engineEvent(customer, what) });
  }

  /** The providers were reopened (a Cloudflare token appeared). */
  reopened(providers: Providers): void {
    this.#providers = providers;
  }

  async start(): Promise<void> {
    const d = this.#deps;
    if (d.source.watch) this.#stopWatch = await d.source.watch(() => d.sync('watch'));
    else if (d.pollIntervalMs > 0) this.#every(d.pollIntervalMs, () => d.sync('poll'));
    this.#every(d.alertEvalMs, () => d.evaluateAlerts());
    if (d.driftSchedule !== null) this.#cron = CronJob.from({ cronTime: checkCron(d.driftSchedule), onTick: () => d.driftScan(), start: true, unrefTimeout: true });
  }

  /** Stops the timers, the schedule and the watcher (the event streams: `closeEvents`). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#cron?.stop();
    this.#cron = null;
    await this.#stopWatch?.();
    this.#stopWatch = null;
  }

  closeEvents(): void {
    this.#events?.stop();
  }

  /** The event streams follow the customers not suspended (every revision, and after each pass: a new host's socket). */
  syncEvents(): void {
    const state = this.#deps.state();
    if (!this.#events || !state || !this.#providers || this.#stopped) return;
    this.#events.sync(eventSources(state, this.#providers));
  }

  /** The engine event streams' states, per host (for /status and tests). */
  streams(): ReturnType<EngineEvents['states']> {
    return this.#events?.states() ?? [];
  }

  #engineEvent(customer: string, what: string): void {
    const c = this.#deps.state()?.customers.customers[customer];
    if (!c || this.#stopped || !this.#providers) return;
    this.#deps.engineEvent(customer, what, SCAN_KEYS.host(this.#providers.hosts.target(c.tailscale_host, c.ssh_user)));
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }
}
