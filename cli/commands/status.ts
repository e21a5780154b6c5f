/**
 * `axe status [customer] [--json] [--url URL]`: every resource's sync and
 * health, from the running controller (`--url`) or from its history database.
 */
import { terminal } from '../../core/errors.js';
import { controllerPaths } from '../../controller/config.js';
import { History } from '../../controller/history.js';
import { type DayPlus7Check, statusFromHistory, type StatusView } from '../../controller/status.js';
import { formatIssue } from '../../schemas/load.js';
import { line, printJson } from '../output.js';
import { loadSettings } from '../settings.js';

export interface StatusCliOptions {
  config?: string;
  json?: boolean;
  url?: string;
}

function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** The status table as lines (exported for tests). */
export function renderStatus(view: StatusView): string[] {
  const out: string[] = [];
  const rev = view.revision ? `${view.revision.id.slice(0, 12)}${view.revision.subject ? ` (${view.revision.subject})` : ''}` : 'none';
  out.push(`revision: ${rev}${view.configValid ? '' : '  CONFIG INVALID'}`);
  if (view.rejected) {
    out.push(`rejected: ${view.rejected.id.slice(0, 12)}${view.rejected.subject ? ` (${view.rejected.subject})` : ''}; the revision above keeps running`);
    for (const issue of view.rejected.issues.slice(0, 10)) out.push(`  ${formatIssue(issue)}`);
  }
  if (view.queue) out.push(`queue: ${view.queue.depth} waiting, ${view.queue.inFlight} running, ${view.queue.delayed} on a timer`);
  for (const s of view.suspensions ?? []) out.push(`suspended: ${s.customer}${s.kind ? `/${s.kind}` : ''} by ${s.by} since ${ago(s.since)}: ${s.reason} (axe resume ${s.customer}${s.kind ? ` --kind ${s.kind}` : ''})`);
  for (const a of view.alerts ?? []) out.push(`alert: ${a.name}${a.customer ? ` ${a.customer}` : ''} (${a.severity}) since ${ago(a.since)}: ${a.summary}`);
  out.push('');
  if (view.customers.length === 0) {
    out.push('no customer has been reconciled yet');
    return out;
  }
  const rows: string[][] = [['CUSTOMER', 'KIND', 'SYNC', 'HEALTH', 'REASON', 'LAST RECONCILE', 'LAST CHANGE', 'MESSAGE']];
  const notes: string[] = [];
  for (const c of view.customers) {
    const flags = [c.mode === 'observe' ? 'observe' : null, c.suspended ? 'suspended' : null].filter(Boolean).join(',');
    for (const r of c.resources) {
      rows.push([`${c.customer}${flags ? ` (${flags})` : ''}`, r.kind, r.sync, r.health, r.reason, ago(r.lastReconcile), ago(r.lastChange), r.message]);
      if (r.trap || r.fix) notes.push(`${c.customer}/${r.kind}: ${r.trap ? `${r.trap}: ` : ''}${r.fix ?? ''}`);
      if (r.drift) notes.push(`${c.customer}/${r.kind}: drift open since ${ago(r.drift.openedAt)}: ${r.drift.summary}`);
      for (const p of r.pending) notes.push(`${c.customer}/${r.kind}: pending ${p}`);
    }
  }
  out.push(...table(rows));
  // The runbook's D+7 checks, one line per customer that has them: backups fresh, the services' checks (frame's audit log).
  const d7 = view.customers.flatMap((c) => {
    if (!c.dayPlus7) return [];
    const part = (label: string, x: DayPlus7Check | null) => (x ? `${label} ${x.health === 'Healthy' ? 'ok' : `${x.health} (${x.reason})`}` : null);
    return [`D+7 ${c.customer}: ${[part('backups fresh', c.dayPlus7.backup), part('service checks', c.dayPlus7.checks)].filter(Boolean).join(', ')}`];
  });
  if (d7.length) out.push('', ...d7);
  if (notes.length) out.push('', ...notes.map((n) => `! ${n}`));
  return out;
}

async function fetchStatus(url: string, customer: string | undefined): Promise<StatusView> {
  const base = url.replace(/\/+$/, '');
  let response: Response;
  try {
    response = await fetch(`${base}/status${customer ? `/${encodeURIComponent(customer)}` : ''}`, { signal: AbortSignal.timeout(10_000) });
  } catch {
    throw terminal(`the controller at ${base} does not answer`, { fix: 'start it (axe controller) or drop --url to read its history database' });
  }
  if (response.status === 404 && customer) throw terminal(`the controller has no status for ${customer}`, { fix: 'check the customer id (axe status lists them)' });
  if (!response.ok) throw terminal(`the controller answered HTTP ${response.status}`, { fix: 'see its log' });
  return (await response.json()) as StatusView;
}

/** The controller's view: from the running controller (`url`) or from its history database. */
export async function readStatus(customer: string | undefined, options: Omit<StatusCliOptions, 'json'>): Promise<StatusView> {
  if (options.url) return fetchStatus(options.url, customer);
  const settings = await loadSettings(options);
  const paths = controllerPaths(settings.config, settings.home);
  const history = History.openReadOnly(paths.history);
  if (!history) throw terminal(`no controller history at ${paths.history}`, { fix: 'run axe controller first, or pass --url of a running controller' });
  let view: StatusView;
  try {
    view = statusFromHistory(history, customer ? { customer } : {});
  } finally {
    history.close();
  }
  if (customer && view.customers.length === 0) throw terminal(`no status for customer ${customer}`, { fix: 'check the customer id (axe status lists them)' });
  return view;
}

export async function status(customer: string | undefined, options: StatusCliOptions): Promise<number> {
  const view = await readStatus(customer, options);
  if (options.json) printJson(view);
  else for (const l of renderStatus(view)) line(l);
  const bad = view.customers.some((c) => c.resources.some((r) => r.health === 'Degraded' || r.health === 'Missing' || r.errorClass !== null));
  return bad || !view.configValid ? 1 : 0;
}
