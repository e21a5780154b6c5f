/**
 * The controller's Prometheus metrics (prom-client, own registry), named by
 * the Prometheus conventions: `_total` counters, `_seconds` units,
 * `_timestamp_seconds` times, `_info` series with value 1.
 *
 * Rules:
 * - Labels are bounded: customer ids (from the config repo), kinds, sync and
 *   health states, result and class names, provider names, alert names. Never
 *   an error message, a URL, a target or a secret.
 * - One `axe_resource_info` series per (customer, kind): the old series is
 *   removed when its state changes, and a removed customer's series go.
 * - External API counters are read from the providers' own counters at scrape
 *   time (deltas, so a reopened provider never makes a counter go down).
 */
import { BackupMetrics } from './backup-metrics.js';
import { CheckMetrics } from './check-metrics.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Providers } from '../providers/index.js';

export interface ResourceState {
  customer: string;
  kind: string;
  sync: string;
  health: string;
  suspended: boolean;
}

export interface ProviderCounts {
  provider: string;
  calls: number;
  /** null when the provider does not count its failures (SSH round trips). */
  errors: number | null;
}

export interface MetricSources {
  queue(): { depth: number; inFlight: number; delayed: number };
  /** Open drift: when each opened (ms). */
  openDrift(): Array<{ customer: string; kind: string; openedAt: number }>;
  providers(): ProviderCounts[];
  alerts(): Array<{ name: string; severity: string }>;
}

export type ReconcileResult = 'synced' | 'applied' | 'out_of_sync' | 'error' | 'suspended' | 'waiting';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<'kind' | 'result'>;
  readonly reconcileDuration: Histogram<'kind' | 'result'>;
  readonly reconcileErrors: Counter<'kind' | 'class'>;
  readonly actionsTotal: Counter<'kind' | 'op'>;
  readonly customerReconcileTotal: Counter<'result'>;
  readonly resourceInfo: Gauge<'customer' | 'kind' | 'sync' | 'health' | 'suspended'>;
  readonly lastReconcile: Gauge<'customer'>;
  readonly lastSynced: Gauge<'customer'>;
  readonly driftDetected: Counter<'customer' | 'kind'>;
  readonly driftOpen: Gauge<'customer' | 'kind'>;
  readonly driftAge: Gauge<'customer' | 'kind'>;
  readonly driftScans: Counter<'result'>;
  readonly driftScanDuration: Gauge;
  readonly configValid: Gauge;
  readonly configRevision: Gauge<'revision'>;
  readonly configRejected: Gauge;
  readonly gitFetch: Counter<'result'>;
  readonly gitLastSync: Gauge;
  readonly externalRequests: Counter<'provider'>;
  readonly externalErrors: Counter<'provider'>;
  readonly queueDepth: Gauge;
  readonly queueInFlight: Gauge;
  readonly queueDelayed: Gauge;
  readonly queueLatency: Histogram;
  readonly webhookRequests: Counter<'result'>;
  readonly alertsFiring: Gauge<'alertname' | 'severity'>;
  readonly notifications: Counter<'result'>;
  readonly alertmanagerPosts: Counter<'result'>;
  readonly customers: Gauge<'mode' | 'suspended'>;
  /** axe_backup_* (controller/backup-metrics.ts). */
  readonly backup = new BackupMetrics(this.registry);
  /** axe_service_check_ok (controller/check-metrics.ts). */
  readonly checks = new CheckMetrics(this.registry);
  readonly #resourceLabels = new Map<string, ResourceState>();
  readonly #seenProviders = new Map<string, { calls: number; errors: number }>();

  constructor(sources: MetricSources, options: { defaultMetrics?: boolean; version?: string } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'axe_build_info', help: 'Build information (value 1).', labelNames: ['version'], registers }).set({ version: options.version ?? 'dev' }, 1);
    this.reconcileTotal = new Counter({ name: 'axe_reconcile_total', help: 'Resource reconciles, by kind and result.', labelNames: ['kind', 'result'], registers });
    this.reconcileDuration = new Histogram({
      name: 'axe_reconcile_duration_seconds',
      help: 'Time to observe (and act on) one resource kind of one customer.',
      labelNames: ['kind', 'result'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.reconcileErrors = new Counter({ name: 'axe_reconcile_errors_total', help: 'Resource reconciles that failed, by kind and error class (transient, terminal).', labelNames: ['kind', 'class'], registers });
    this.actionsTotal = new Counter({ name: 'axe_actions_total', help: 'Actions applied, by kind and operation.', labelNames: ['kind', 'op'], registers });
    this.customerReconcileTotal = new Counter({ name: 'axe_customer_reconciles_total', help: 'Whole-customer reconcile passes, by outcome.', labelNames: ['result'], registers });
    this.resourceInfo = new Gauge({ name: 'axe_resource_info', help: 'One series per customer resource with its current sync and health (value 1).', labelNames: ['customer', 'kind', 'sync', 'health', 'suspended'], registers });
    this.lastReconcile = new Gauge({ name: 'axe_customer_last_reconcile_timestamp_seconds', help: 'When the customer was last reconciled.', labelNames: ['customer'], registers });
    this.lastSynced = new Gauge({ name: 'axe_customer_last_synced_timestamp_seconds', help: 'When every resource of the customer was last Synced (the last successful sync).', labelNames: ['customer'], registers });
    this.driftDetected = new Counter({ name: 'axe_drift_detected_total', help: 'Drift found on a resource that was in sync.', labelNames: ['customer', 'kind'], registers });
    const drift = (): void => {
      this.driftAge.reset();
      this.driftOpen.reset();
      const now = Date.now();
      for (const d of sources.openDrift()) {
        this.driftAge.set({ customer: d.customer, kind: d.kind }, Math.max(0, (now - d.openedAt) / 1000));
        this.driftOpen.set({ customer: d.customer, kind: d.kind }, 1);
      }
    };
    this.driftOpen = new Gauge({ name: 'axe_drift_open', help: 'Open drift (1 while the resource has drifted and is not corrected).', labelNames: ['customer', 'kind'], registers, collect: drift });
    this.driftAge = new Gauge({ name: 'axe_drift_open_age_seconds', help: 'How long open drift has been open.', labelNames: ['customer', 'kind'], registers, collect: drift });
    this.driftScans = new Counter({ name: 'axe_drift_scans_total', help: 'Drift scans run, by result.', labelNames: ['result'], registers });
    this.driftScanDuration = new Gauge({ name: 'axe_drift_scan_last_duration_seconds', help: 'How long the last drift scan took to reconcile every customer.', registers });
    this.configValid = new Gauge({ name: 'axe_config_valid', help: '1 when the newest revision of the config repo is valid, 0 when it was rejected.', registers });
    this.configRevision = new Gauge({ name: 'axe_config_revision_info', help: 'The config revision being applied (value 1).', labelNames: ['revision'], registers });
    this.configRejected = new Gauge({ name: 'axe_config_last_rejected_timestamp_seconds', help: 'When a revision was last rejected as invalid.', registers });
    this.gitFetch = new Counter({ name: 'axe_git_fetch_total', help: 'Fetches of the config repo, by result.', labelNames: ['result'], registers });
    this.gitLastSync = new Gauge({ name: 'axe_git_last_sync_timestamp_seconds', help: 'When the config repo was last fetched successfully.', registers });
    const pull = (): void => this.#pullProviders(sources);
    this.externalRequests = new Counter({ name: 'axe_external_requests_total', help: 'Requests to external APIs, by provider (cloudflare: API calls; ssh: round trips).', labelNames: ['provider'], registers, collect: pull });
    this.externalErrors = new Counter({ name: 'axe_external_errors_total', help: 'Failed requests to external APIs, by provider.', labelNames: ['provider'], registers, collect: pull });
    this.queueDepth = new Gauge({ name: 'axe_queue_depth', help: 'Customers waiting in the work queue.', registers, collect: () => this.queueDepth.set(sources.queue().depth) });
    this.queueInFlight = new Gauge({ name: 'axe_queue_in_flight', help: 'Customers being reconciled now.', registers, collect: () => this.queueInFlight.set(sources.queue().inFlight) });
    this.queueDelayed = new Gauge({ name: 'axe_queue_delayed', help: 'Customers waiting on a backoff or requeue timer.', registers, collect: () => this.queueDelayed.set(sources.queue().delayed) });
    this.queueLatency = new Histogram({ name: 'axe_queue_wait_seconds', help: 'Time from queueing a customer to starting its reconcile.', buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120], registers });
    this.webhookRequests = new Counter({ name: 'axe_webhook_requests_total', help: 'Git webhook requests, by result (accepted, ignored, ping, unauthorized, invalid, too_large).', labelNames: ['result'], registers });
    this.alertsFiring = new Gauge({
      name: 'axe_alerts_firing',
      help: 'Controller alerts firing now, by alert name and severity.',
      labelNames: ['alertname', 'severity'],
      registers,
      collect: () => {
        this.alertsFiring.reset();
        for (const a of sources.alerts()) this.alertsFiring.inc({ alertname: a.name, severity: a.severity });
      },
    });
    this.notifications = new Counter({ name: 'axe_notifications_total', help: 'Alert notifications sent to the webhook, by result.', labelNames: ['result'], registers });
    this.alertmanagerPosts = new Counter({ name: 'axe_alertmanager_posts_total', help: 'Posts of the firing and resolved alerts to Alertmanager (POST /api/v2/alerts), by result.', labelNames: ['result'], registers });
    this.customers = new Gauge({ name: 'axe_customers', help: 'Customers in the applied revision, by policy mode and suspension.', labelNames: ['mode', 'suspended'], registers });
  }

  /** Sets the one info series of a resource, removing its previous one. */
  setResource(state: ResourceState): void {
    const key = `${state.customer}/${state.kind}`;
    const before = this.#resourceLabels.get(key);
    if (before && (before.sync !== state.sync || before.health !== state.health || before.suspended !== state.suspended)) this.resourceInfo.remove(infoLabels(before));
    this.resourceInfo.set(infoLabels(state), 1);
    this.#resourceLabels.set(key, state);
  }

  /** Removes every series of a customer that left the desired state. */
  removeCustomer(customer: string): void {
    for (const [key, state] of this.#resourceLabels) {
      if (state.customer !== customer) continue;
      this.resourceInfo.remove(infoLabels(state));
      this.#resourceLabels.delete(key);
    }
    this.lastReconcile.remove({ customer });
    this.lastSynced.remove({ customer });
    this.backup.remove(customer);
    this.checks.remove(customer);
  }

  /** Removes one kind's series (a kind no longer reconciled for the customer). */
  removeResource(customer: string, kind: string): void {
    if (kind === 'checks') this.checks.remove(customer);
    const state = this.#resourceLabels.get(`${customer}/${kind}`);
    if (!state) return;
    this.resourceInfo.remove(infoLabels(state));
    this.#resourceLabels.delete(`${customer}/${kind}`);
  }

  setRevision(revision: string): void {
    this.configRevision.reset();
    this.configRevision.set({ revision }, 1);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  #pullProviders(sources: MetricSources): void {
    for (const p of sources.providers()) {
      const seen = this.#seenProviders.get(p.provider) ?? { calls: 0, errors: 0 };
      // A reopened provider starts from zero: count its new total, never go down.
      const dc = p.calls >= seen.calls ? p.calls - seen.calls : p.calls;
      this.externalRequests.inc({ provider: p.provider }, dc);
      if (p.errors !== null) {
        const de = p.errors >= seen.errors ? p.errors - seen.errors : p.errors;
        this.externalErrors.inc({ provider: p.provider }, de);
      }
      this.#seenProviders.set(p.provider, { calls: p.calls, errors: p.errors ?? 0 });
    }
  }
}

function infoLabels(s: ResourceState): Record<'customer' | 'kind' | 'sync' | 'health' | 'suspended', string> {
  return { customer: s.customer, kind: s.kind, sync: s.sync, health: s.health, suspended: String(s.suspended) };
}

/** The providers' own call and error counters (read at scrape time). */
export function providerCounts(p: Providers | null): ProviderCounts[] {
  if (!p) return [];
  const out: ProviderCounts[] = [];
  if (p.cloudflare) out.push({ provider: 'cloudflare', calls: p.cloudflare.stats.calls, errors: p.cloudflare.stats.errors });
  const ssh = Object.values(p.hosts.stats());
  out.push({ provider: 'ssh', calls: ssh.reduce((n, s) => n + s.roundTrips, 0), errors: null });
  return out;
}
