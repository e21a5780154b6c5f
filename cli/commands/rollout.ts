/**
 * `axe rollout status [SERVICE] [--json]`: each service's current release,
 * its waves and every customer's progress (started, healthy since, failed at
 * which step and why, offline, waiting for its window), from the
 * controller's history.
 * `axe rollout pause|resume|abort SERVICE`: the operator's control over the
 * current release, written to the history (the controller reads it at its
 * next plan, within seconds) and recorded as a `rollout` event.
 */
import { hostname, userInfo } from 'node:os';
import { terminal } from '../../core/errors.js';
import { controllerPaths } from '../../controller/config.js';
import { History, type RolloutCustomerRow, type RolloutRow } from '../../controller/history.js';
import { line, printJson } from '../output.js';
import { loadSettings } from '../settings.js';

export interface RolloutCliOptions {
  config?: string;
  json?: boolean;
}

export interface RolloutCustomerView {
  customer: string;
  wave: number;
  state: string;
  admitted_at: string | null;
  healthy_since: string | null;
  done_at: string | null;
  failed: { at: string; step: string | null; reason: string | null } | null;
  offline: boolean;
  waiting_window: boolean;
}

export interface RolloutView {
  service: string;
  ref: string;
  from: string | null;
  state: string;
  control: string;
  started_at: string;
  customers: RolloutCustomerView[];
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function customerState(r: RolloutCustomerRow, rollout: RolloutRow): string {
  if (r.wave < 0) return 'pinned';
  if (r.failed_at !== null) return 'failed';
  if (r.done_at !== null) return 'done';
  if (r.healthy_since !== null) return 'baking';
  if (r.admitted_at !== null) return r.offline ? 'pending (offline)' : r.waiting_window ? 'pending (maintenance window)' : 'started';
  return rollout.state === 'running' || rollout.state === 'complete' ? 'waiting' : 'held';
}

export function rolloutView(rollout: RolloutRow, rows: RolloutCustomerRow[]): RolloutView {
  return {
    service: rollout.service,
    ref: rollout.ref,
    from: rollout.from_ref,
    state: rollout.state,
    control: rollout.control,
    started_at: iso(rollout.started_at)!,
    customers: rows.map((r) => ({
      customer: r.customer,
      wave: r.wave,
      state: customerState(r, rollout),
      admitted_at: iso(r.admitted_at),
      healthy_since: iso(r.healthy_since),
      done_at: iso(r.done_at),
      failed: r.failed_at === null ? null : { at: iso(r.failed_at)!, step: r.step, reason: r.reason },
      offline: r.offline === 1,
      waiting_window: r.waiting_window === 1,
    })),
  };
}

export function renderRollout(v: RolloutView): string[] {
  const from = v.from === null ? 'baseline' : `from ${v.from}`;
  const control = v.control === 'running' ? '' : ` (${v.control} by an operator)`;
  const out = [`${v.service} ${v.ref} (${from}): ${v.state}${control}, started ${v.started_at}`];
  for (const c of v.customers) {
    const wave = c.wave < 0 ? 'pinned' : c.wave === 0 ? 'canary' : `wave ${c.wave}`;
    const why = c.failed ? `: at ${c.failed.step}: ${c.failed.reason}` : c.healthy_since && !c.done_at ? ` since ${c.healthy_since}` : '';
    out.push(`  ${wave.padEnd(8)} ${c.customer.padEnd(24)} ${c.state}${why}`);
  }
  return out;
}

async function historyPath(options: RolloutCliOptions): Promise<string> {
  const settings = await loadSettings(options);
  return controllerPaths(settings.config, settings.home).history;
}

/** The current rollout of one service, or of every service the controller has seen, from its history. */
export async function readRollouts(service: string | undefined, options: RolloutCliOptions): Promise<RolloutView[]> {
  const path = await historyPath(options);
  const db = History.openReadOnly(path);
  if (!db) throw terminal(`no controller history at ${path}`, { fix: 'run axe controller first' });
  try {
    const rows = service ? [db.currentRollout(service)].filter((r): r is RolloutRow => r !== null) : db.currentRollouts();
    if (service && rows.length === 0) throw terminal(`no rollout of ${service} yet`, { fix: 'axe rollout status lists the services the controller has seen' });
    return rows.map((r) => rolloutView(r, db.rolloutCustomers(r.id)));
  } finally {
    db.close();
  }
}

export async function rolloutStatus(service: string | undefined, options: RolloutCliOptions): Promise<number> {
  const views = await readRollouts(service, options);
  if (options.json) printJson(views);
  else if (views.length === 0) line('no rollout yet');
  else for (const v of views) for (const l of renderRollout(v)) line(l);
  return views.some((v) => v.state === 'halted') ? 1 : 0;
}

const NEXT: Record<'pause' | 'resume' | 'abort', RolloutRow['control']> = { pause: 'paused', resume: 'running', abort: 'aborted' };

export async function rolloutControl(verb: 'pause' | 'resume' | 'abort', service: string, options: RolloutCliOptions): Promise<number> {
  const path = await historyPath(options);
  const db = History.openReadOnly(path);
  if (!db) throw terminal(`no controller history at ${path}`, { fix: 'run axe controller first' });
  db.close();
  const history = History.open(path);
  try {
    const row = history.currentRollout(service);
    if (!row) throw terminal(`no rollout of ${service}`, { fix: 'axe rollout status lists the services the controller has seen' });
    if (row.from_ref === null || row.state === 'complete') throw terminal(`${service} ${row.ref} is not rolling out (${row.from_ref === null ? 'baseline' : 'complete'}): nothing to ${verb}`, { fix: 'a new ref in the manifest starts a rollout' });
    if (row.control === 'aborted') throw terminal(`${service} ${row.ref} was aborted: it stays stopped`, { fix: `merge a new ref for ${service} to start a new rollout` });
    const control = NEXT[verb];
    if (row.control === control) {
      line(`${service} ${row.ref}: already ${control}`);
      return 0;
    }
    history.setRolloutControl(row.id, control);
    const who = `${userInfo().username}@${hostname()}`;
    history.event({ type: 'rollout', op: verb, target: service, message: `${service} ${row.ref}: ${control} by axe rollout ${verb} (${who})` });
    line(`${service} ${row.ref}: ${control}${verb === 'abort' ? ' (customers that started keep the release; nobody else starts it)' : verb === 'pause' ? ' (nobody new starts it until axe rollout resume)' : ''}`);
    return 0;
  } finally {
    history.close();
  }
}
