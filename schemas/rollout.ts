/**
 * How a service's releases reach the fleet (`rollout:` in a manifest, or the
 * fleet default `rollout:` at the top of customers.yaml), and the per-customer
 * `pins` and `maintenance` windows. The planner that reads them is
 * controller/rollout/plan.ts; the defaults are written out here so that the
 * behaviour without any `rollout:` is never "everyone at once".
 */
import { z } from 'zod';
import { CustomerId, ServiceName } from './common.js';

/** `500ms`, `90s`, `10m`, `2h`, `1d`. */
export const RolloutDuration = z.string().regex(/^\d+(ms|s|m|h|d)$/, { message: 'must be a duration like 90s, 10m, 2h or 1d' });

/** A count of customers (`2`) or a share of them (`"25%"`, rounded up, at least one). */
export const FleetShare = z.union([
  z.number().int().min(1, { message: 'must be at least 1' }),
  z.string().regex(/^(100|[1-9][0-9]?)%$/, { message: 'must be a count like 2 or a percentage like "25%" (1-100)' }),
]);
export type FleetShare = z.infer<typeof FleetShare>;

export const Label = z.string().regex(/^[a-z][a-z0-9_.-]{0,62}$/, { message: 'must be a label: lowercase letters, digits, "_", "." or "-", starting with a letter' });

export const Canary = z.union([
  z.strictObject({ customers: z.array(CustomerId).min(1) }),
  z.strictObject({ label: Label }),
]);
export type Canary = z.infer<typeof Canary>;

export const RolloutPolicy = z.strictObject({
  /** The first customers to get a release: named ones, or every customer with a label. Default: label `canary`, else the first customer by id. */
  canary: Canary.optional(),
  /** The waves after the canary, each a count or a share of the customers left after the canary; whoever is left forms a last wave. */
  waves: z.array(FleetShare).min(1).optional(),
  /** Every resource of every customer of a wave Healthy for this long before the next wave starts. */
  bake: RolloutDuration.optional(),
  /** The rollout halts when this many customers (or this share of the fleet) have failed the release. */
  failure_budget: FleetShare.optional(),
  /** An offline customer (host not reachable) holds its wave at most this long after it was admitted; it gets the release when back. */
  offline_deadline: RolloutDuration.optional(),
});
export type RolloutPolicy = z.infer<typeof RolloutPolicy>;

/** What applies when neither the manifest nor customers.yaml says otherwise (README "Releases in stages"). */
export const DEFAULT_ROLLOUT = {
  canary: { label: 'canary' } as Canary,
  waves: ['25%'] as FleetShare[],
  bake: '10m',
  failure_budget: 1 as FleetShare,
  offline_deadline: '30m',
} as const;

export interface ResolvedRollout {
  canary: Canary | null;
  waves: FleetShare[];
  bakeMs: number;
  failureBudget: FleetShare;
  offlineDeadlineMs: number;
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A `RolloutDuration` in milliseconds (the schema already checked it). */
export function rolloutMs(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text)!;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** Field by field: the manifest's, else the fleet default's, else DEFAULT_ROLLOUT. `canary: null` = the default rule (label, else first by id). */
export function resolveRollout(manifest: RolloutPolicy | undefined, fleet: RolloutPolicy | undefined): ResolvedRollout {
  const pick = <K extends keyof RolloutPolicy>(key: K): RolloutPolicy[K] => manifest?.[key] ?? fleet?.[key];
  return {
    canary: pick('canary') ?? null,
    waves: pick('waves') ?? [...DEFAULT_ROLLOUT.waves],
    bakeMs: rolloutMs(pick('bake') ?? DEFAULT_ROLLOUT.bake),
    failureBudget: pick('failure_budget') ?? DEFAULT_ROLLOUT.failure_budget,
    offlineDeadlineMs: rolloutMs(pick('offline_deadline') ?? DEFAULT_ROLLOUT.offline_deadline),
  };
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const HOURS = /^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$/;

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const MaintenanceWindow = z.strictObject({
  /** Days the window starts on (a window crossing midnight ends the next day). */
  days: z.array(z.enum(WEEKDAYS)).min(1),
  /** Local start-end, `HH:MM-HH:MM`; an end before the start crosses midnight. */
  hours: z.string().regex(HOURS, { message: 'must be local hours like "02:00-05:00" (an end before the start crosses midnight)' }).refine((h) => {
    const m = HOURS.exec(h);
    return !m || (`${m[1]}:${m[2]}` !== `${m[3]}:${m[4]}` && (m[3] !== '24' || m[4] === '00'));
  }, { message: 'start and end must differ, and 24:00 is the latest end (a whole day is "00:00-24:00")' }),
});
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

export const Maintenance = z.strictObject({
  /** An IANA time zone, e.g. Europe/Paris (daylight saving time follows it). */
  timezone: z.string().refine(validTimeZone, { message: 'must be an IANA time zone like Europe/Paris or UTC' }),
  windows: z.array(MaintenanceWindow).min(1),
});
export type Maintenance = z.infer<typeof Maintenance>;

/** `customers.{id}.pins`: service → the ref the customer stays on, whatever the manifest says. */
export const Pins = z.record(ServiceName, z.string().min(1, { message: 'must be a ref (a tag, branch or commit)' }));

/**
 * The desired state with some stack services' `source.ref` replaced (a pin,
 * or a customer the rollout has not admitted yet keeping its previous ref).
 * Returns `state` itself when nothing changes.
 */
export function withRefs<S extends { manifests: Map<string, { kind: string; source?: { repo: string; ref: string } }> }>(state: S, refs: ReadonlyMap<string, string>): S {
  let manifests: S['manifests'] | null = null;
  for (const [service, ref] of refs) {
    const m = state.manifests.get(service);
    if (!m || m.kind !== 'stack' || !m.source || m.source.ref === ref) continue;
    manifests ??= new Map(state.manifests) as S['manifests'];
    manifests.set(service, { ...m, source: { ...m.source, ref } });
  }
  return manifests ? { ...state, manifests } : state;
}

/** `customers.{id}.pins` as refs for `withRefs`. */
export function pinnedRefs(pins: Record<string, string> | undefined): Map<string, string> {
  return new Map(Object.entries(pins ?? {}));
}
