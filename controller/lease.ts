/**
 * One writer per customer: the controller and every CLI command that acts
 * take the same per-customer lease, kept in the controller's history
 * database (an atomic compare-and-set there), so two writers never change
 * one customer at once (two blue/green swaps, two compose ups).
 *
 * Rules:
 * - A lease has a holder (controller or cli), its pid, host and command, and
 *   an expiry; the holder renews it every third of its time to live while it
 *   works, so a holder that crashed loses it when it expires.
 * - A lease whose holder runs on this host and is gone (its pid no longer
 *   exists) is free at once: a crashed CLI does not block for the expiry.
 * - Only the token that took a lease renews or releases it.
 * - A refusal names the holder, since when, and the fix.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { terminal } from '../core/errors.js';
import type { History, LeaseRow } from './history.js';

export interface LeaseOptions {
  history: History;
  holder: LeaseRow['holder'];
  /** What holds it, for the refusal message: `axe apply demo --apply`, `reconcile`. */
  command: string;
  /** Time to live; renewed every third of it (default 2 min). */
  ttlMs?: number;
}

export interface CustomerLease {
  readonly customer: string;
  /** False once the lease was lost (it expired and another writer took it). */
  readonly held: boolean;
  release(): void;
}

/** `the controller (pid 41, host ops-mac, reconcile) since 2026-12-04T10:00:00Z, until …`. */
export function describeHolder(row: LeaseRow): string {
  const who = row.holder === 'controller' ? 'the controller' : `a CLI command (${row.command})`;
  return `${who} (pid ${row.pid} on ${row.host}${row.holder === 'controller' ? `, ${row.command}` : ''}) since ${new Date(row.acquired_at).toISOString()}, lease until ${new Date(row.expires_at).toISOString()}`;
}

function gone(row: LeaseRow): boolean {
  if (row.host !== hostname()) return false;
  try {
    process.kill(row.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Takes the lease if it is free, expired or its holder on this host is gone; otherwise returns who holds it. */
export function tryLease(options: LeaseOptions, customer: string): { lease: CustomerLease } | { held: LeaseRow } {
  const ttl = options.ttlMs ?? 120_000;
  const token = randomBytes(12).toString('hex');
  const base = { customer, token, holder: options.holder, pid: process.pid, host: hostname(), command: options.command };
  let taken = options.history.acquireLease({ ...base, now: Date.now(), expires_at: Date.now() + ttl });
  if (!taken.ok && gone(taken.held)) {
    // The holder crashed on this host: its lease is free now (an expired time is the same as a free one).
    taken = options.history.acquireLease({ ...base, now: taken.held.expires_at, expires_at: Date.now() + ttl });
  }
  if (!taken.ok) return { held: taken.held };
  let held = true;
  const timer = setInterval(() => {
    if (!options.history.renewLease(customer, token, Date.now() + ttl)) {
      held = false;
      clearInterval(timer);
    }
  }, Math.max(1_000, Math.floor(ttl / 3)));
  timer.unref();
  return {
    lease: {
      customer,
      get held() {
        return held;
      },
      release() {
        clearInterval(timer);
        if (held) options.history.releaseLease(customer, token);
        held = false;
      },
    },
  };
}

/**
 * Takes the lease, waiting up to `waitMs` for its holder to finish
 * (polling every `pollMs`); then a terminal error naming the holder.
 */
export async function waitLease(options: LeaseOptions, customer: string, waitMs: number, onWait?: (held: LeaseRow) => void, pollMs = 500): Promise<CustomerLease> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    const got = tryLease(options, customer);
    if ('lease' in got) return got.lease;
    if (Date.now() >= deadline) {
      throw terminal(`locked by ${describeHolder(got.held)}`, {
        customer,
        fix: waitMs > 0 ? 'wait for it to finish, or pass a longer --lock-wait (e.g. --lock-wait 10m)' : 'wait for it to finish, or pass --lock-wait 10m to wait for it',
      });
    }
    if (!told) onWait?.(got.held);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
  }
}
