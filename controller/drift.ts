/**
 * When a resource has drifted: the pure decision the controller records.
 *
 * Rules:
 * - Drift is a resource that was last seen Synced under the same desired
 *   state (the customer's digest) and now needs actions (or got them).
 * - "Last seen Synced" survives an observation that told nothing: a failed
 *   observe (a 429/503 from Cloudflare, a host asleep) or a kind waiting on a
 *   failed dependency leaves the resource Unknown, and the last known state
 *   stands until an observation succeeds. So a record deleted by hand while
 *   the API was failing is still drift when the controller corrects it.
 * - A resource seen OutOfSync, a suspended one, or one never seen Synced (a
 *   new customer being brought up) is not "last seen Synced": its actions are
 *   the controller's work, not drift.
 */
import type { KindResult } from '../reconcilers/engine.js';

/** What the drift decision reads of one kind's result. */
export type Observation = Pick<KindResult, 'sync' | 'health' | 'actions' | 'applied' | 'error'>;

/** The desired digest under which the resource counts as last seen Synced (null: not Synced). */
export interface LastKnown {
  synced_desired: string | null;
}

/** True when the observation told nothing about the resource (it failed, or waited on a failed dependency). */
function unobserved(k: Observation): boolean {
  return k.sync === 'Unknown' && k.health.status !== 'Suspended';
}

/** The digest to keep as `synced_desired` after this observation. */
export function syncedUnder(k: Observation, prev: LastKnown | null, digest: string | null): string | null {
  if (k.sync === 'Synced' && !k.error) return digest;
  if (unobserved(k)) return prev?.synced_desired ?? null;
  return null;
}

/** True when this observation is drift (see the rules above). */
export function isDrift(k: Observation, prev: LastKnown | null, digest: string | null): boolean {
  if (k.health.status === 'Suspended' || k.error) return false;
  const changedNow = k.applied.length > 0 || k.actions.length > 0;
  return changedNow && digest !== null && prev?.synced_desired === digest;
}
