/**
 * Which customers a new revision changes: each customer's desired state is
 * reduced to one digest, and two revisions are compared digest by digest.
 *
 * Rules:
 * - A customer's digest covers its block in customers.yaml, its service slots,
 *   and the manifests it runs: the services it has a slot for and their
 *   dependencies (blueprint's frame). A manifest change therefore changes
 *   every customer that runs it. A sovereign customer's
 *   digest covers its block only.
 * - Comments and key order do not change a digest (parsed values, keys sorted).
 */
import { createHash } from 'node:crypto';
import { isSovereign, type DesiredState } from '../schemas/repo.js';

export interface RevisionDiff {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
}

/** JSON with object keys sorted, so equal values give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v as Record<string, unknown>).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
    }
    return v;
  });
}

function servicesOf(state: DesiredState, id: string): string[] {
  if (isSovereign(state.customers, id)) return [];
  const out = new Set<string>();
  const visit = (name: string): void => {
    if (out.has(name)) return;
    out.add(name);
    for (const dep of state.manifests.get(name)?.depends_on ?? []) visit(dep);
  };
  for (const [service, slots] of Object.entries(state.customers.services)) if (slots && id in slots) visit(service);
  return [...out].sort();
}

/** The desired state of one customer, as the value its digest is taken of. */
export function customerDesired(state: DesiredState, id: string): unknown {
  const services = servicesOf(state, id);
  return {
    customer: state.customers.customers[id] ?? null,
    slots: Object.fromEntries(Object.entries(state.customers.services).flatMap(([svc, slots]) => (slots && id in slots ? [[svc, slots[id]]] : []))),
    manifests: Object.fromEntries(services.map((svc) => [svc, state.manifests.get(svc) ?? null])),
  };
}

/** Every customer's digest (`sha256:` + 16 hex) in a revision. */
export function customerDigests(state: DesiredState): Map<string, string> {
  const out = new Map<string, string>();
  for (const id of Object.keys(state.customers.customers).sort()) {
    out.set(id, `sha256:${createHash('sha256').update(stableJson(customerDesired(state, id))).digest('hex').slice(0, 16)}`);
  }
  return out;
}

/** Compares two revisions' digests; `previous` null = everything is added. */
export function diffRevisions(previous: ReadonlyMap<string, string> | null, next: ReadonlyMap<string, string>): RevisionDiff {
  const out: RevisionDiff = { added: [], changed: [], removed: [], unchanged: [] };
  for (const [id, digest] of next) {
    const before = previous?.get(id);
    if (before === undefined) out.added.push(id);
    else if (before !== digest) out.changed.push(id);
    else out.unchanged.push(id);
  }
  for (const id of previous?.keys() ?? []) if (!next.has(id)) out.removed.push(id);
  return out;
}
