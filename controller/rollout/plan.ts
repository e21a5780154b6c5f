/**
 * The rollout planner: given one release (a service's new ref), the fleet,
 * each customer's progress on that release and the clock, which customers may
 * run the new ref now. Pure: no I/O, no clock of its own.
 *
 * Rules:
 * - Waves: the canary (wave 0), then the manifest's waves in order, then
 *   whoever is left. A pinned customer is in no wave and keeps its pin.
 *   Members are ordered by customer id, so wave membership is stable.
 * - Wave k+1 opens when every member of wave k is settled: Healthy (every
 *   resource) for the bake time on the new ref, or failed (the budget not
 *   spent), or pending (offline, or waiting for its maintenance window) for
 *   longer than the offline deadline since it was admitted. A pending customer
 *   stays admitted and gets the release when it is back.
 * - Failures spend the budget; when it is spent the rollout halts: nobody new
 *   starts. Customers already started keep going; a failed customer goes back
 *   to its previous ref.
 * - pause: nobody new starts until resume. abort: nobody new starts, for good
 *   (a new ref starts a new rollout).
 */
import type { FleetShare, ResolvedRollout } from '../../schemas/rollout.js';
import type { RolloutRow } from '../history.js';

export interface Release {
  service: string;
  ref: string;
  /** The operator's control (`axe rollout pause|resume|abort`). */
  control: 'running' | 'paused' | 'aborted';
}

export interface FleetMember {
  id: string;
  labels: readonly string[];
  /** `customers.{id}.pins.{service}`. */
  pin: string | null;
}

export interface CustomerProgress {
  /** When the customer was first reconciled with the new ref (it started the release). */
  admittedAt?: number;
  /** Every resource Synced and Healthy on the new ref since (null/absent: not now). */
  healthySince?: number | null;
  failed?: { at: number; step: string; reason: string };
  /** The last pass could not reach its host. */
  offline?: boolean;
  /** Its disruptive actions are waiting for a maintenance window. */
  waitingWindow?: boolean;
}

export type CustomerState =
  | 'pinned'
  | 'waiting' // its wave has not opened
  | 'held' // its wave opened, but the rollout is halted, paused or aborted before it started
  | 'admitted' // may run the new ref, not yet healthy
  | 'pending' // admitted, but offline or waiting for a window
  | 'baking' // Healthy on the new ref, bake not over
  | 'done'
  | 'failed';

export interface CustomerPlan {
  id: string;
  /** 0 = canary; -1 = pinned. */
  wave: number;
  state: CustomerState;
  /** True when the customer's desired ref for the service is the release's ref. */
  newRef: boolean;
}

export interface WavePlan {
  index: number;
  name: string;
  members: string[];
  state: 'waiting' | 'running' | 'settled';
  /** When the last unsettled member settles by the clock alone (bake end, offline deadline), if known. */
  settlesAt: number | null;
}

export type RolloutState = 'running' | 'halted' | 'paused' | 'aborted' | 'complete';

export interface RolloutPlan {
  state: RolloutState;
  waves: WavePlan[];
  customers: CustomerPlan[];
  budget: number;
  spent: number;
  failures: Array<{ customer: string; at: number; step: string; reason: string }>;
  /** The next instant the plan can change by the clock alone (a bake ends, a deadline passes). */
  nextCheckAt: number | null;
}

/** A service's current rollout (its history row) and its plan now. */
export interface ServicePlan {
  row: RolloutRow;
  plan: RolloutPlan;
}

/** A count, or a share of `of` rounded up (at least 1). */
export function shareOf(share: FleetShare, of: number): number {
  if (typeof share === 'number') return share;
  return Math.max(1, Math.ceil((Number(share.slice(0, -1)) * of) / 100));
}

/** The waves' members: canary first, then the policy's waves, then the rest. */
export function waveMembers(policy: ResolvedRollout, fleet: readonly FleetMember[]): string[][] {
  const free = fleet.filter((m) => m.pin === null).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (free.length === 0) return [];
  const byRule = (label: string): FleetMember[] => free.filter((m) => m.labels.includes(label));
  let canary: FleetMember[];
  if (policy.canary === null) canary = byRule('canary');
  else if ('label' in policy.canary) canary = byRule(policy.canary.label);
  else {
    const named = new Set(policy.canary.customers);
    canary = free.filter((m) => named.has(m.id));
  }
  if (canary.length === 0) canary = [free[0]!];
  const inCanary = new Set(canary.map((m) => m.id));
  const rest = free.filter((m) => !inCanary.has(m.id)).map((m) => m.id);
  const waves = [canary.map((m) => m.id)];
  let at = 0;
  for (const share of policy.waves) {
    if (at >= rest.length) break;
    const size = Math.min(shareOf(share, rest.length), rest.length - at);
    waves.push(rest.slice(at, at + size));
    at += size;
  }
  if (at < rest.length) waves.push(rest.slice(at));
  return waves;
}

interface Judged {
  state: CustomerState;
  settled: boolean;
  settlesAt: number | null;
}

function judge(p: CustomerProgress | undefined, policy: ResolvedRollout, now: number): Judged {
  if (!p || p.admittedAt === undefined) return { state: 'admitted', settled: false, settlesAt: null };
  if (p.failed) return { state: 'failed', settled: true, settlesAt: null };
  if (p.healthySince !== undefined && p.healthySince !== null && !p.offline) {
    const until = p.healthySince + policy.bakeMs;
    return until <= now ? { state: 'done', settled: true, settlesAt: null } : { state: 'baking', settled: false, settlesAt: until };
  }
  if (p.offline || p.waitingWindow) {
    const deadline = p.admittedAt + policy.offlineDeadlineMs;
    return { state: 'pending', settled: deadline <= now, settlesAt: deadline <= now ? null : deadline };
  }
  return { state: 'admitted', settled: false, settlesAt: null };
}

export function planRollout(input: {
  release: Release;
  policy: ResolvedRollout;
  fleet: readonly FleetMember[];
  progress: ReadonlyMap<string, CustomerProgress>;
  now: number;
}): RolloutPlan {
  const { release, policy, fleet, progress, now } = input;
  const members = waveMembers(policy, fleet);
  const total = members.reduce((n, w) => n + w.length, 0);
  const budget = shareOf(policy.failureBudget, Math.max(1, total));
  const failures = members
    .flat()
    .flatMap((id) => {
      const f = progress.get(id)?.failed;
      return f ? [{ customer: id, ...f }] : [];
    })
    .sort((a, b) => a.at - b.at);
  const spent = failures.length;
  const halted = spent >= budget;
  const stopped = halted || release.control !== 'running';

  const customers: CustomerPlan[] = fleet.filter((m) => m.pin !== null).map((m) => ({ id: m.id, wave: -1, state: 'pinned', newRef: false }));
  const waves: WavePlan[] = [];
  let open = true;
  let nextCheckAt: number | null = null;
  const soonest = (t: number | null): void => {
    if (t !== null && (nextCheckAt === null || t < nextCheckAt)) nextCheckAt = t;
  };
  members.forEach((ids, index) => {
    const name = index === 0 ? 'canary' : `wave ${index}`;
    if (!open) {
      for (const id of ids) customers.push({ id, wave: index, state: 'waiting', newRef: false });
      waves.push({ index, name, members: ids, state: 'waiting', settlesAt: null });
      return;
    }
    let settled = true;
    let settlesAt: number | null = 0;
    for (const id of ids) {
      const p = progress.get(id);
      const started = p?.admittedAt !== undefined;
      const j = judge(p, policy, now);
      if (!started && stopped) {
        customers.push({ id, wave: index, state: 'held', newRef: false });
        settled = false;
        settlesAt = null;
        continue;
      }
      customers.push({ id, wave: index, state: j.state, newRef: j.state !== 'failed' });
      if (!j.settled) {
        settled = false;
        settlesAt = j.settlesAt === null || settlesAt === null ? null : Math.max(settlesAt, j.settlesAt);
        soonest(j.settlesAt);
      }
    }
    waves.push({ index, name, members: ids, state: settled ? 'settled' : 'running', settlesAt: settled ? null : settlesAt });
    open = settled;
  });
  const complete = waves.length > 0 && waves.every((w) => w.state === 'settled') && customers.every((c) => c.state === 'done' || c.state === 'pinned' || c.state === 'failed' || c.state === 'pending');
  const state: RolloutState = halted ? 'halted' : release.control === 'aborted' ? 'aborted' : release.control === 'paused' ? 'paused' : complete || waves.length === 0 ? 'complete' : 'running';
  return { state, waves, customers, budget, spent, failures, nextCheckAt };
}
