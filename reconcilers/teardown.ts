/**
 * The engine's teardown of one customer (prune): every kind with a `delete`
 * (runtime.ts `Deletion`) observes what it left, plans its own deletion with
 * `after` links, and the engine runs the whole plan in the order of the links
 * (order.ts), stopping at the first failure.
 *
 * Links the engine adds to the kinds' own:
 * - reverse dependency order: an action of a kind goes after every action of
 *   the kinds that depend on it (the tunnel after cloudflared and DNS);
 * - the host first: an action of a kind without a host section (Cloudflare)
 *   goes after every action of the kinds with one, so a host teardown that
 *   stops halfway leaves the customer's DNS and tunnel in place.
 * Among actions free to run, plan order decides: the kinds in reverse
 * dependency order (RECONCILERS reversed), each kind's actions as it planned them.
 *
 * Rules (the safety rules of prune): nothing is planned at all, not even in
 * Cloudflare, when the host cannot be read; kinds without a `delete` (vault
 * items, the customer's Vaultwarden) are never torn down; a second teardown
 * plans nothing; an interrupted one resumes from what is left.
 */
import { errorLine, terminal } from '../core/errors.js';
import { batchEngine } from '../providers/host/engine-api.js';
import { runBatch } from '../providers/host/executor.js';
import { RECONCILERS } from './engine.js';
import { orderActions } from './order.js';
import { PRUNE_CONTAINERS_SECTION, pruneContainersSection } from './prune-containers.js';
import { type AnyResourceReconciler, type CustomerContext, type Deletion, newContext, type ReconcileEnv } from './runtime.js';
import { SCAN_KEYS } from './scan.js';
import type { Action, Kind } from './types.js';

/** What the kinds left: each kind's observation, or why the host could not be read (then nothing is planned). */
export interface TeardownObserved {
  kinds: ReadonlyMap<Kind, unknown>;
  hostError: string | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDeletion = Deletion<any, any>;

/** The kinds that delete, in the order their plans are laid out (reverse dependency order). */
function deleters(): Array<{ r: AnyResourceReconciler; d: AnyDeletion }> {
  return RECONCILERS.flatMap((r) => (r.delete ? [{ r, d: r.delete as AnyDeletion }] : [])).reverse();
}

/** Every kind that depends on `kind`, directly or not. */
function dependents(kind: Kind): Kind[] {
  const out = new Set<Kind>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of RECONCILERS) if (!out.has(r.kind) && r.dependsOn.some((d) => d === kind || out.has(d))) (out.add(r.kind), (grew = true));
  }
  return [...out];
}

/** The teardown in the order it runs (pure); throws when the links form a cycle. */
export function planTeardown(customer: string, observed: TeardownObserved): Action[] {
  if (observed.hostError !== null) return [];
  const kinds = deleters();
  const onHost = kinds.filter(({ d }) => d.hostSection).map(({ r }) => r.kind);
  const plan = kinds.flatMap(({ r, d }) => {
    if (!observed.kinds.has(r.kind)) return [];
    const derived = [...dependents(r.kind), ...(d.hostSection ? [] : onHost)];
    return d.plan(customer, observed.kinds.get(r.kind)).map((a): Action => ({ ...a, after: [...(a.after ?? []), ...derived] }));
  });
  return orderActions(plan);
}

/** Reads what every kind left: the host's sections in one round trip, then each kind's observation. */
export async function observeTeardown(ctx: CustomerContext): Promise<TeardownObserved> {
  const kinds = deleters();
  const sections = kinds.flatMap(({ r, d }) => (d.hostSection ? [{ kind: r.kind, section: d.hostSection(ctx) }] : []));
  let outputs: Map<Kind, string>;
  try {
    const connection = await ctx.env.providers.hosts.connection(ctx.target);
    const engine = batchEngine(connection, ctx.env.providers.hosts.probeMemo.get(SCAN_KEYS.host(ctx.target))?.dockerSocket);
    const batch = await runBatch(connection, [...sections.map((s) => s.section), pruneContainersSection(ctx.env.providers.hosts.toolPaths)], undefined, engine);
    const shared = batch.get(PRUNE_CONTAINERS_SECTION);
    if (!shared) throw new Error('the observation did not come back');
    outputs = new Map(
      sections.map(({ kind, section }) => {
        const got = batch.get(section.name);
        if (!got) throw new Error('the observation did not come back');
        // Each kind reads the one container listing after its own section's facts.
        return [kind, `${got.output}\n${shared.output}`];
      }),
    );
  } catch (error) {
    return { kinds: new Map(), hostError: `the host ${ctx.customer.tailscale_host} could not be observed: ${errorLine(error)}` };
  }
  const observed = await Promise.all(kinds.map(async ({ r, d }) => [r.kind, await d.observe(ctx, outputs.get(r.kind) ?? '')] as const));
  return { kinds: new Map(observed), hostError: null };
}

export interface PruneResult {
  customer: string;
  /** Planned (apply: false), or left after applying. */
  actions: Action[];
  applied: Action[];
  /** The step that failed, with what it left; null when none did. */
  error: string | null;
}

/**
 * Observes, plans and (with `apply`) tears down in order, stopping at the
 * first failure (what is left is then in `actions`); observes again after.
 * The context is the customer as `env`'s revision (the last that declared it) had it.
 */
export async function pruneCustomer(env: ReconcileEnv, id: string, options: { apply: boolean; onAction?: (a: Action) => void }): Promise<PruneResult> {
  const customer = env.state.customers.customers[id];
  if (!customer) throw terminal(`customer ${id} is not in the revision given to prune`, { customer: id, fix: 'prune with the last revision that declared the customer' });
  const ctx = newContext(env, id, customer);
  const byKind = new Map(deleters().map(({ r, d }) => [r.kind, d]));
  let observed = await observeTeardown(ctx);
  if (observed.hostError !== null) return { customer: id, actions: [], applied: [], error: `${observed.hostError}; nothing was pruned (the tunnel and DNS stay until the host is torn down first)` };
  let actions = planTeardown(id, observed);
  const applied: Action[] = [];
  let error: string | null = null;
  if (options.apply && actions.length > 0) {
    for (const a of actions) {
      options.onAction?.(a);
      try {
        await byKind.get(a.kind)!.act(ctx, a);
        applied.push(a);
      } catch (caught) {
        error = `${a.kind} ${a.op} ${a.target}: ${errorLine(caught)}; left: ${actions.length - applied.length} step(s) not done, nothing after this step was touched`;
        break;
      }
    }
    for (const key of [SCAN_KEYS.tunnels, SCAN_KEYS.dns]) env.scan.drop(key);
    const left = actions.slice(applied.length);
    observed = await observeTeardown(ctx);
    actions = observed.hostError === null ? planTeardown(id, observed) : left;
  }
  return { customer: id, actions, applied, error };
}
