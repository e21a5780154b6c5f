/**
 * Alert dispatch: the conditions read from the history and the controller's
 * own state, judged by the Alerter (alerts.ts: `for`, repeat, keep-firing),
 * recorded, mirrored to Alertmanager when configured and sent to the
 * notification webhook.
 */
import type { OperatorBwCheck } from '../providers/vault/operator-bw.js';
import { formatIssue } from '../schemas/load.js';
import { type AlertCondition, Alerter, type AlertNotice, sendNotices } from './alerts.js';
import type { AlertmanagerSender } from './alertmanager.js';
import type { DriftRow, ResourceRow } from './history.js';
import { short } from './record-result.js';
import type { Recorder } from './recorder.js';
import type { Rejected } from './revisions.js';

/** What the alerts are judged on. */
export interface AlertInputs {
  rejected: Pick<Rejected, 'id' | 'issues'> | null;
  /** The applied revision's id. */
  running: string | null;
  bw: OperatorBwCheck | null;
  resources: readonly ResourceRow[];
  drifts: readonly DriftRow[];
}

/** Every alert condition that holds now (pure). */
export function alertConditions(input: AlertInputs): AlertCondition[] {
  const out: AlertCondition[] = [];
  const { rejected, running, bw } = input;
  if (rejected) {
    const first = rejected.issues[0];
    out.push({ name: 'ConfigInvalid', customer: null, severity: 'critical', summary: `revision ${short(rejected.id)} rejected (${rejected.issues.length} error(s)${first ? `, first ${formatIssue(first)}` : ''}); ${running ? `${short(running)} keeps running` : 'no good revision'}`, fix: 'fix the file:line above in the config repo and push; axe validate shows every error' });
  }
  if (bw && !bw.ok) out.push({ name: 'OperatorBwUnusable', customer: null, severity: 'critical', summary: `${bw.detail}; fix: ${bw.fix ?? 'see /readyz'}` });
  const byCustomer = new Map<string, ResourceRow[]>();
  for (const row of input.resources) byCustomer.set(row.customer, [...(byCustomer.get(row.customer) ?? []), row]);
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
  for (const d of input.drifts) drift.set(d.customer, [...(drift.get(d.customer) ?? []), d.kind]);
  for (const [customer, kinds] of drift) {
    const resources = [...new Set(kinds)].map((kind) => ({ kind, summary: `drift open on ${kind}`, fix: null }));
    out.push({ name: 'DriftOpen', customer, severity: 'warning', summary: `drift open on ${kinds.join(', ')}`, resources });
  }
  return out;
}

export interface AlertDispatchDeps {
  alerter: Alerter;
  recorder: Recorder;
  alertmanager: AlertmanagerSender | null;
  inputs(): AlertInputs;
  /** The notification webhook's URL (null: none). */
  notificationUrl(): Promise<string | null>;
  onNotices(notices: AlertNotice[]): void;
}

export class AlertDispatch {
  readonly #deps: AlertDispatchDeps;
  #alertmanagerBusy = false;

  constructor(deps: AlertDispatchDeps) {
    this.#deps = deps;
  }

  /** Judges the conditions now; records and sends what changed. */
  evaluate(): void {
    const { alerter, recorder } = this.#deps;
    let notices: AlertNotice[];
    let inputs: AlertInputs;
    try {
      inputs = this.#deps.inputs();
      notices = alerter.evaluate(alertConditions(inputs), Date.now());
    } catch (error) {
      recorder.log.error({ err: error }, 'alert evaluation failed');
      return;
    }
    this.#syncAlertmanager();
    if (notices.length === 0) return;
    recorder.alertNotices(notices, inputs.running);
    this.#deps.onNotices(notices);
    void this.#notify(notices, inputs.running);
  }

  /** Mirrors the firing alerts into Alertmanager (when configured) on every evaluation; see alertmanager.ts. */
  #syncAlertmanager(): void {
    const sender = this.#deps.alertmanager;
    if (!sender || this.#alertmanagerBusy) return;
    this.#alertmanagerBusy = true;
    sender
      .sync(this.#deps.alerter.firing(), Date.now())
      .then((posted) => {
        if (posted > 0) this.#deps.recorder.delivery('alertmanager', true);
      })
      .catch((error: unknown) => this.#deps.recorder.delivery('alertmanager', false, error))
      .finally(() => {
        this.#alertmanagerBusy = false;
      });
  }

  async #notify(notices: AlertNotice[], running: string | null): Promise<void> {
    const url = await this.#deps.notificationUrl();
    if (!url) return;
    try {
      await sendNotices(url, notices, { revision: running ? short(running) : null });
      this.#deps.recorder.delivery('webhook', true);
    } catch (error) {
      this.#deps.recorder.delivery('webhook', false, error);
    }
  }
}
