/**
 * Waiting on a running controller, from outside (the demo, tests): poll its
 * `GET /status/{customer}` until the customer runs the wanted revision with
 * every resource Synced and Healthy.
 *
 * Rules: reads the HTTP status only (what an operator sees); reports each
 * change of a resource's sync/health once, not every poll; gives up at the
 * deadline with the last view, so the caller can show why.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CustomerStatus, StatusView } from './status.js';

export interface WaitOptions {
  /** The revision (full commit id) the customer must have been reconciled at; any when absent. */
  revision?: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Called once per change of a resource's sync/health at the wanted revision (e.g. `tunnel Synced/Healthy`). */
  onChange?: (text: string) => void;
}

export interface WaitResult {
  converged: boolean;
  seconds: number;
  /** The last status seen for the customer (null when the controller never had one). */
  customer: CustomerStatus | null;
  /** Why it is not converged, when it is not. */
  reason: string | null;
}

/** True when every resource is Synced and Healthy at the wanted revision. */
export function isConverged(customer: CustomerStatus | null, revision?: string): boolean {
  if (!customer || customer.resources.length === 0) return false;
  if (revision && customer.revision !== revision) return false;
  return customer.resources.every((r) => r.sync === 'Synced' && r.health === 'Healthy');
}

function why(customer: CustomerStatus | null, revision?: string): string {
  if (!customer) return 'the controller has not reconciled it yet';
  if (revision && customer.revision !== revision) return `still at revision ${customer.revision?.slice(0, 12) ?? 'none'}, waiting for ${revision.slice(0, 12)}`;
  const bad = customer.resources.filter((r) => r.sync !== 'Synced' || r.health !== 'Healthy');
  return bad.map((r) => `${r.kind} ${r.sync}/${r.health}${r.message ? ` (${r.message})` : ''}`).join('; ') || 'no resource reported yet';
}

async function fetchCustomer(url: string, id: string): Promise<CustomerStatus | null> {
  const res = await fetch(`${url.replace(/\/+$/, '')}/status/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(5_000) });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`the controller at ${url} answered HTTP ${res.status}`);
  const view = (await res.json()) as StatusView;
  return view.customers.find((c) => c.customer === id) ?? null;
}

export async function waitConverged(url: string, id: string, options: WaitOptions): Promise<WaitResult> {
  const started = Date.now();
  const seen = new Map<string, string>();
  let last: CustomerStatus | null = null;
  let unreachable: string | null = null;
  for (;;) {
    try {
      last = await fetchCustomer(url, id);
      unreachable = null;
    } catch (error) {
      unreachable = `the controller at ${url} does not answer (${(error as Error).message})`;
    }
    // Changes are shown from the wanted revision on: what it did before the merge is not this wait's story.
    if (last && options.onChange && (!options.revision || last.revision === options.revision)) {
      for (const r of last.resources) {
        const state = `${r.sync}/${r.health}`;
        if (seen.get(r.kind) !== state) {
          seen.set(r.kind, state);
          options.onChange(`${r.kind.padEnd(12)} ${state}${r.message && state !== 'Synced/Healthy' ? `  ${r.message}` : ''}`);
        }
      }
    }
    const seconds = (Date.now() - started) / 1000;
    if (!unreachable && isConverged(last, options.revision)) return { converged: true, seconds, customer: last, reason: null };
    if (Date.now() - started >= options.timeoutMs) return { converged: false, seconds, customer: last, reason: unreachable ?? why(last, options.revision) };
    await sleep(options.intervalMs ?? 500);
  }
}
