/**
 * Entities: every entity in `customers.{id}.entities` is registered in each
 * stack service that declares a per-entity hook (`foreach: entity`: frame and
 * hive), through that hook. The hook's `list` command runs first (in the
 * host's batched observation); only the missing entities are registered.
 *
 * Rules: pure; an entity given as a bare id takes the customer's legal name
 * and the runbook's defaults (`corporate`, `ksme`).
 */
import { entityId, type Customer, type Entity } from '../../schemas/customers.js';
import type { EntityValues } from '../templates.js';
import type { ExecTarget } from '../../providers/host/commands/exec.js';
import { type Action, actionId, type Health } from '../types.js';

export interface EntityHookDesired {
  service: string;
  hook: string;
  /** The list command and where it runs. */
  list: ExecTarget;
  /** Where the register command runs; its command is built per entity. */
  register: ExecTarget;
  /** One register command per entity id. */
  commands: Map<string, string[]>;
}

export interface EntitiesDesired {
  customer: string;
  entities: EntityValues[];
  hooks: EntityHookDesired[];
}

/** Per hook (`service/hook`): the registered ids, or why they could not be listed. */
export type HookListing = { state: 'listed'; ids: Set<string> } | { state: 'down' } | { state: 'error'; message: string };

export type EntitiesObserved = Map<string, HookListing>;

export interface EntityPayload {
  service: string;
  hook: string;
  entity: string;
}

export function hookKey(h: { service: string; hook: string }): string {
  return `${h.service}/${h.hook}`;
}

export function entityValues(customer: Customer, entity: Entity): EntityValues {
  const id = entityId(entity);
  const obj: Partial<Exclude<Entity, string>> = typeof entity === 'string' ? {} : entity;
  return { id, legal_name: obj.legal_name ?? customer.legal_name, kind: obj.kind ?? 'corporate', accounting_standard: obj.accounting_standard ?? 'ksme' };
}

/** The ids a list command printed: a JSON array of ids or of objects with `id`. */
export function parseListing(output: string): Set<string> {
  const parsed = JSON.parse(output.trim() || '[]') as unknown;
  if (!Array.isArray(parsed)) throw new Error('the list command did not print a JSON array');
  const ids = parsed.map((e) => (typeof e === 'string' ? e : e && typeof e === 'object' && typeof (e as { id?: unknown }).id === 'string' ? (e as { id: string }).id : null));
  return new Set(ids.filter((id): id is string => id !== null));
}

export function diffEntities(desired: EntitiesDesired, observed: EntitiesObserved | null): Action<EntityPayload>[] {
  const actions: Action<EntityPayload>[] = [];
  for (const h of desired.hooks) {
    const listing = observed?.get(hookKey(h));
    if (listing?.state === 'error') continue;
    const have = listing?.state === 'listed' ? listing.ids : new Set<string>();
    for (const e of desired.entities) {
      if (have.has(e.id)) continue;
      const when = listing?.state === 'listed' ? '' : ` (once ${h.service} runs)`;
      actions.push({ kind: 'entities', op: 'register', target: `entity:${h.service}/${e.id}`, summary: `register ${e.id} (${e.legal_name}) in ${h.service} with its ${h.hook} hook${when}`, payload: { service: h.service, hook: h.hook, entity: e.id } });
    }
  }
  return linkEntities(actions);
}

/**
 * The plan's `after` links: each service registers its entities in plan order
 * (its own containers, one at a time); different services side by side. An
 * action is linked after the closest one before it of its service naming
 * another entity (two hooks of a service registering the same entity one
 * after the other share a name: they are not linked to each other).
 */
export function linkEntities(actions: readonly Action<EntityPayload>[]): Action<EntityPayload>[] {
  return actions.map((a, i) => {
    const id = actionId(a);
    const before = actions
      .slice(0, i)
      .reverse()
      .find((b) => b.payload.service === a.payload.service && actionId(b) !== id);
    return { ...a, after: before ? [actionId(before)] : [] };
  });
}

export function healthEntities(desired: EntitiesDesired, observed: EntitiesObserved | null): Health {
  if (desired.hooks.length === 0) return { status: 'Healthy', reason: 'NoHooks', message: 'no declared service registers entities' };
  if (!observed) return { status: 'Unknown', reason: 'NotObserved', message: 'the host could not be observed' };
  const errors = desired.hooks.map((h) => [h, observed.get(hookKey(h))] as const).filter(([, l]) => l?.state === 'error');
  if (errors.length) return { status: 'Degraded', reason: 'ListFailed', message: errors.map(([h, l]) => `${h.service}: ${(l as { message: string }).message}`).join('; ') };
  const down = desired.hooks.filter((h) => observed.get(hookKey(h))?.state !== 'listed');
  if (down.length) return { status: 'Missing', reason: 'ServiceDown', message: `${down.map((h) => h.service).join(', ')} not running: entities cannot be listed` };
  const missing = diffEntities(desired, observed);
  if (missing.length) return { status: 'Missing', reason: 'NotRegistered', message: missing.map((a) => `${a.payload.entity} in ${a.payload.service}`).join(', ') };
  return { status: 'Healthy', reason: 'Registered', message: `${desired.entities.length} entit${desired.entities.length === 1 ? 'y' : 'ies'} registered in ${desired.hooks.map((h) => h.service).join(', ')}` };
}
