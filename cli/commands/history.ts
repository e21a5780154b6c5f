/**
 * `axe history [customer] [--limit N] [--type T] [--json]`: what the controller
 * did and saw (revisions, actions, drift, errors, alerts, the ship log), newest
 * last, from its history database.
 */
import { terminal } from '../../core/errors.js';
import { controllerPaths } from '../../controller/config.js';
import { type EventType, History, type HistoryEvent } from '../../controller/history.js';
import { line, printJson } from '../output.js';
import { loadSettings } from '../settings.js';

export interface HistoryCliOptions {
  config?: string;
  json?: boolean;
  limit?: string;
  type?: string[];
}

export const TYPES: EventType[] = ['revision', 'rejected', 'reconcile', 'action', 'drift', 'drift-closed', 'error', 'ship', 'interrupted', 'removed', 'alert', 'control'];

export function renderHistory(events: HistoryEvent[]): string[] {
  if (events.length === 0) return ['no history yet'];
  return events.map((e) => {
    const when = new Date(e.at).toISOString().replace('T', ' ').slice(0, 19);
    const where = [e.customer, e.kind].filter(Boolean).join('/') || '-';
    const rev = e.revision ? e.revision.slice(0, 12) : '-';
    return `${when}  ${e.type.padEnd(12)} ${where.padEnd(24)} ${rev.padEnd(12)}  ${e.message}`;
  });
}

/** The controller's history events, newest last, from its database. */
export async function readHistory(customer: string | undefined, options: Omit<HistoryCliOptions, 'json'>): Promise<HistoryEvent[]> {
  const limit = options.limit === undefined ? 50 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) throw terminal(`--limit ${options.limit} is not a positive number`, { fix: 'pass e.g. --limit 100' });
  const types = (options.type ?? []) as EventType[];
  const bad = types.find((t) => !TYPES.includes(t));
  if (bad) throw terminal(`unknown event type "${bad}"`, { fix: `use ${TYPES.join(', ')}` });
  const settings = await loadSettings(options);
  const paths = controllerPaths(settings.config, settings.home);
  const db = History.openReadOnly(paths.history);
  if (!db) throw terminal(`no controller history at ${paths.history}`, { fix: 'run axe controller first' });
  try {
    return db.events({ ...(customer ? { customer } : {}), limit, ...(types.length ? { types } : {}) });
  } finally {
    db.close();
  }
}

export async function history(customer: string | undefined, options: HistoryCliOptions): Promise<number> {
  const events = await readHistory(customer, options);
  if (options.json) printJson(events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })));
  else for (const l of renderHistory(events)) line(l);
  return 0;
}
