/**
 * The controller's firing alerts, mirrored into Alertmanager through its v2
 * API (`POST /api/v2/alerts`, the API Prometheus itself uses), so the
 * operators' routing, silences and inhibitions apply to them too.
 *
 * Rules:
 * - One Alertmanager alert per (alert name, customer, resource kind): a
 *   `CustomerDegraded` of three resources is three alerts, each with labels
 *   `alertname`, `customer`, `kind`, `severity` (plus `source: axe-controller`)
 *   and annotations `summary` and, when a trap or a fix is known, `fix`.
 *   A fleet-wide alert (ConfigInvalid) has no customer or kind label.
 * - Labels never change while an alert holds (they are its identity in
 *   Alertmanager); what changes goes in the annotations.
 * - A firing alert is posted with `endsAt` = now + `ttlMs` and posted again
 *   every `resendMs` while it holds: a controller that dies stops re-posting
 *   and Alertmanager resolves its alerts by itself once `endsAt` passes.
 * - An alert that stopped firing is posted once with `endsAt` = now (resolved).
 * - No secret goes in: summaries and fixes are the status rows' own texts,
 *   which never hold one.
 */
import type { AlertCondition } from './alerts.js';

/** One alert as Alertmanager's v2 API takes it (`postableAlert`). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** A firing alert of the controller, with when it started holding (ms). */
export type FiringAlert = AlertCondition & { since: number };

export interface AlertmanagerOptions {
  /** Base URL, e.g. http://127.0.0.1:9093 (the path /api/v2/alerts is added). */
  url: string;
  /** Re-post firing alerts this often (Prometheus' default resend delay is 1 m). */
  resendMs: number;
  /** `endsAt` this far ahead of each post; a few resends, as Prometheus does. */
  ttlMs: number;
  /** Link shown by Alertmanager for each alert (the controller's /status). */
  generatorURL?: string;
  timeoutMs?: number;
}

interface Posted {
  alert: PostableAlert;
  sentAt: number;
}

/** The Alertmanager alerts of the controller's firing alerts (pure). */
export function postableAlerts(firing: readonly FiringAlert[], now: number, ttlMs: number, generatorURL?: string): Map<string, PostableAlert> {
  const out = new Map<string, PostableAlert>();
  const endsAt = new Date(now + ttlMs).toISOString();
  for (const a of firing) {
    const base: Record<string, string> = { alertname: a.name, severity: a.severity, source: 'axe-controller' };
    if (a.customer) base.customer = a.customer;
    const parts = a.resources?.length ? a.resources : [{ kind: null, summary: a.summary, fix: a.fix ?? null }];
    for (const part of parts) {
      const labels = part.kind ? { ...base, kind: part.kind } : base;
      const annotations: Record<string, string> = { summary: part.kind ? `${a.customer ?? ''} ${part.summary}`.trim() : part.summary };
      if (part.fix) annotations.fix = part.fix;
      const alert: PostableAlert = { labels, annotations, startsAt: new Date(a.since).toISOString(), endsAt };
      if (generatorURL) alert.generatorURL = generatorURL;
      out.set(identity(labels), alert);
    }
  }
  return out;
}

function identity(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Keeps Alertmanager in step with the controller's firing alerts; `sync` is
 * called on every alert evaluation and posts only what is new, due for a
 * resend, or resolved. A failed post is retried on the next sync (nothing is
 * marked sent), and the error is thrown for the caller to count and log.
 */
export class AlertmanagerSender {
  readonly #options: AlertmanagerOptions;
  readonly #posted = new Map<string, Posted>();

  constructor(options: AlertmanagerOptions) {
    this.#options = options;
  }

  /** Posts what changed; returns how many alerts were posted (0: nothing due). */
  async sync(firing: readonly FiringAlert[], now: number): Promise<number> {
    const wanted = postableAlerts(firing, now, this.#options.ttlMs, this.#options.generatorURL);
    const batch: Array<[string, PostableAlert | null, PostableAlert]> = [];
    for (const [key, alert] of wanted) {
      const posted = this.#posted.get(key);
      const changed = !posted || JSON.stringify(posted.alert.annotations) !== JSON.stringify(alert.annotations);
      if (changed || now - posted.sentAt >= this.#options.resendMs) batch.push([key, alert, alert]);
    }
    for (const [key, posted] of this.#posted) {
      if (!wanted.has(key)) batch.push([key, null, { ...posted.alert, endsAt: new Date(now).toISOString() }]);
    }
    if (batch.length === 0) return 0;
    await postAlerts(this.#options.url, batch.map(([, , sent]) => sent), this.#options.timeoutMs);
    for (const [key, alert] of batch) {
      if (alert) this.#posted.set(key, { alert, sentAt: now });
      else this.#posted.delete(key);
    }
    return batch.length;
  }
}

/** POST /api/v2/alerts; throws a one-line error on a non-2xx answer or a timeout. */
export async function postAlerts(url: string, alerts: readonly PostableAlert[], timeoutMs = 5_000): Promise<void> {
  const response = await fetch(new URL('/api/v2/alerts', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text().catch(() => '');
  if (!response.ok) throw new Error(`Alertmanager answered HTTP ${response.status}${text ? `: ${text.split('\n')[0]!.slice(0, 200)}` : ''}`);
}
