/**
 * Alerts without spam: the controller states which conditions hold now
 * (a customer degraded, drift open, the config invalid, a reconcile failing)
 * and the alerter turns that into notifications on transitions only.
 *
 * Rules:
 * - One alert per (alert name, customer): every resource of a customer that is
 *   degraded is one `CustomerDegraded` alert, whose summary lists them.
 * - A condition must hold for `forMs` before it fires (pending first); if it
 *   clears while pending, it never fired and nothing is sent.
 * - A firing alert is repeated every `repeatMs` while it holds, never more often.
 * - A firing alert resolves only after its condition stayed clear for
 *   `keepFiringForMs`: a flapping resource stays one firing alert.
 * - `evaluate` is pure bookkeeping over the time it is given; sending is the
 *   notifier's job.
 */

export type AlertName = 'CustomerDegraded' | 'DriftOpen' | 'ReconcileFailing' | 'ConfigInvalid' | 'OperatorBwUnusable' | 'RolloutHalted';
export type Severity = 'warning' | 'critical';

export interface AlertCondition {
  name: AlertName;
  /** null for fleet-wide alerts (ConfigInvalid, OperatorBwUnusable). */
  customer: string | null;
  severity: Severity;
  /** One line, no secret: what holds now (resources, reasons, traps). */
  summary: string;
  /** The resources it is about, one line each, with the fix when known (Alertmanager gets one alert per kind). */
  resources?: Array<{ kind: string; summary: string; fix: string | null }>;
  /** The fix of a fleet-wide alert, when known. */
  fix?: string | null;
}

export interface AlertNotice extends AlertCondition {
  status: 'firing' | 'resolved';
  /** When the condition started holding (ms). */
  since: number;
  /** True for a repeat of an alert already sent. */
  repeat: boolean;
}

export interface AlertTimings {
  forMs: number;
  repeatMs: number;
  keepFiringForMs: number;
}

interface AlertState {
  condition: AlertCondition;
  since: number;
  firing: boolean;
  lastSent: number;
  clearSince: number | null;
}

export function alertKey(c: Pick<AlertCondition, 'name' | 'customer'>): string {
  return `${c.name}/${c.customer ?? '*'}`;
}

export class Alerter {
  readonly #timings: AlertTimings;
  readonly #states = new Map<string, AlertState>();

  constructor(timings: AlertTimings) {
    this.#timings = timings;
  }

  /** Feeds the conditions holding at `now`; returns what to notify. */
  evaluate(active: readonly AlertCondition[], now: number): AlertNotice[] {
    const out: AlertNotice[] = [];
    const seen = new Set<string>();
    for (const condition of active) {
      const key = alertKey(condition);
      seen.add(key);
      const state = this.#states.get(key);
      if (!state) {
        this.#states.set(key, { condition, since: now, firing: false, lastSent: 0, clearSince: null });
        if (this.#timings.forMs <= 0) out.push(this.#fire(key, now));
        continue;
      }
      state.condition = condition;
      state.clearSince = null;
      if (!state.firing) {
        if (now - state.since >= this.#timings.forMs) out.push(this.#fire(key, now));
      } else if (now - state.lastSent >= this.#timings.repeatMs) {
        state.lastSent = now;
        out.push({ ...condition, status: 'firing', since: state.since, repeat: true });
      }
    }
    for (const [key, state] of this.#states) {
      if (seen.has(key)) continue;
      if (!state.firing) {
        this.#states.delete(key);
        continue;
      }
      state.clearSince ??= now;
      if (now - state.clearSince >= this.#timings.keepFiringForMs) {
        this.#states.delete(key);
        out.push({ ...state.condition, status: 'resolved', since: state.since, repeat: false });
      }
    }
    return out;
  }

  /** Alerts firing now (for /status and the alerts gauge). */
  firing(): Array<AlertCondition & { since: number }> {
    return [...this.#states.values()].filter((s) => s.firing).map((s) => ({ ...s.condition, since: s.since }));
  }

  /** Alerts whose condition holds but whose `for` has not passed yet. */
  pending(): Array<AlertCondition & { since: number }> {
    return [...this.#states.values()].filter((s) => !s.firing).map((s) => ({ ...s.condition, since: s.since }));
  }

  #fire(key: string, now: number): AlertNotice {
    const state = this.#states.get(key)!;
    state.firing = true;
    state.lastSent = now;
    return { ...state.condition, status: 'firing', since: state.since, repeat: false };
  }
}

/** The generic JSON sent to a notification webhook; `text` makes it a Slack and Teams message too. */
export function noticePayload(notices: readonly AlertNotice[], context: { revision: string | null }): Record<string, unknown> {
  const lines = notices.map((n) => {
    const icon = n.status === 'resolved' ? '✅' : n.severity === 'critical' ? '🔴' : '🟠';
    const who = n.customer ? ` ${n.customer}` : '';
    return `${icon} [${n.status}${n.repeat ? ', still' : ''}] ${n.name}${who}: ${n.summary}`;
  });
  return {
    text: lines.join('\n'),
    source: 'axe-controller',
    revision: context.revision,
    alerts: notices.map((n) => ({
      status: n.status,
      name: n.name,
      customer: n.customer,
      severity: n.severity,
      summary: n.summary,
      since: new Date(n.since).toISOString(),
      repeat: n.repeat,
    })),
  };
}

/**
 * POSTs notices to the webhook. Throws on a non-2xx answer or a timeout; the
 * caller counts and logs it (the URL itself may hold a token: never logged).
 */
export async function sendNotices(url: string, notices: readonly AlertNotice[], context: { revision: string | null }, timeoutMs = 5_000): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(noticePayload(notices, context)),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`notification webhook answered HTTP ${response.status}`);
}
