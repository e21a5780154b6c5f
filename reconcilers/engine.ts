/**
 * reconcile(customer): every resource kind of one customer, in dependency
 * order, observe → diff (pure) → act (only with apply, and only when the
 * customer's policy is `apply`) → observe again → status. The CLI's `plan`,
 * `onboard`, `apply` and the controller all run this one function.
 *
 * Rules:
 * - A sovereign customer (no service slot) gets the exposure kinds only.
 * - A kind whose dependency failed is not observed: it reports Unknown,
 *   "waiting for {dependency}", instead of acting on a guess.
 * - Kinds outside `only` that a selected kind depends on are observed (never
 *   acted on) so the selected kind has what it needs; they are marked `context`.
 * - A kind whose dependency acted in this pass observes afresh: each of its
 *   declared reads (`reads`) is forgotten, except a host read made after the
 *   last change this pass made on the host (the dependency that acted changed
 *   something else: the vault).
 * - Errors are caught per kind and reported as the kind's status; a transient
 *   error leaves the rest of the customer to the next pass.
 * - A kind acts only on a fresh observation (README "Fresh enough to act on"):
 *   one made in this pass after the last change this pass made to what it
 *   reads. So it is observed again right before it acts (its reads forgotten),
 *   except when it declares reads and every one is a host read made in this
 *   pass after the last change this pass made on the host (`Pass.fresh`: that
 *   observation is already fresh; a kind with a host section is the only kind
 *   that changes the host). A kind declaring no reads is always observed
 *   again. After acting its reads are forgotten and it is observed again,
 *   unless its `again` observed again, alone, each part its actions changed (runAndObserveAgain),
 *   or its `told` tells the observation after them from their output (see runtime.ts).
 * - The pass (pass.ts) holds what the kinds of one reconcile share: the scan,
 *   the results, a scratch area per kind, the host change clock.
 * - A kind's actions run by their `after` links (order.ts `runByLinks`):
 *   independent chains side by side, an action without links after the one
 *   before it (so a plan without links runs in plan order, one at a time), a
 *   cycle an error before anything runs. The stack's plan carries links
 *   (its services side by side), so does the entities kind's (each service's
 *   registrations in order, services side by side).
 * - Prune is the engine's too (teardown.ts): each kind's `delete`, ordered by links.
 */
import { AxeError, errorLine, terminal } from '../core/errors.js';
import { isSovereign } from '../schemas/repo.js';
import { pinnedRefs, withRefs } from '../schemas/rollout.js';
import { backupReconciler } from './backup/index.js';
import { checksReconciler } from './checks/index.js';
import { cloudflaredReconciler } from './cloudflared/index.js';
import { dnsReconciler } from './dns/index.js';
import { hostReconciler } from './host/index.js';
import { ingressReconciler } from './ingress/index.js';
import { endpointsReconciler } from './endpoints/index.js';
import { entitiesReconciler } from './entities/index.js';
import { adminsReconciler } from './admins/index.js';
import { stackReconciler } from './stack/index.js';
import { vaultwardenReconciler } from './vaultwarden/index.js';
import { vaultOrgReconciler } from './vault-org/index.js';
import { runByLinks } from './order.js';
import { type AnyResourceReconciler, type CustomerContext, newContext, type ReconcileEnv, type ResourceReconciler, type ResourceResult } from './runtime.js';
import { trap, type TrapName, TRAPS } from './traps.js';
import { tunnelReconciler } from './tunnel/index.js';
import { type Action, HEALTH_RANK, type HealthStatus, type Kind, type SyncStatus } from './types.js';
import { vaultItemsReconciler } from './vault-items/index.js';

/** Every runtime reconciler, in dependency order. */
export const RECONCILERS: readonly AnyResourceReconciler[] = [hostReconciler, tunnelReconciler, dnsReconciler, cloudflaredReconciler, vaultItemsReconciler, stackReconciler, vaultwardenReconciler, vaultOrgReconciler, entitiesReconciler, adminsReconciler, ingressReconciler, endpointsReconciler, backupReconciler, checksReconciler];

/** What a sovereign customer gets, and what `axe onboard` covers. */
export const EXPOSURE_KINDS: readonly Kind[] = ['host', 'tunnel', 'dns', 'cloudflared'];

/** Every resource kind's name, in the engine's order. */
export const KIND_NAMES: readonly Kind[] = RECONCILERS.map((r) => r.kind);

/** The first of `names` that names no resource kind; undefined when all do. */
export function unknownKind(names: readonly string[]): string | undefined {
  return names.find((name) => !KIND_NAMES.includes(name as Kind));
}

export interface ReconcileOptions {
  apply: boolean;
  /** Limit to these kinds (their dependencies are observed as context). */
  only?: readonly Kind[];
  onProgress?: (event: ProgressEvent) => void;
  /** Of a kind's planned actions, those to hold back this pass (a closed maintenance window): not run, left pending (OutOfSync). */
  hold?: (kind: Kind, actions: readonly Action[]) => readonly Action[];
}

export interface ProgressEvent {
  customer: string;
  kind: Kind;
  phase: 'observe' | 'act' | 'done';
  action?: Action;
  result?: ResourceResult;
}

export interface KindResult extends ResourceResult {
  /** Observed only because a selected kind depends on it. */
  context: boolean;
}

export interface CustomerResult {
  customer: string;
  mode: 'apply' | 'observe';
  suspended: boolean;
  resources: KindResult[];
  sync: SyncStatus;
  health: HealthStatus;
}

export function worstHealth(statuses: HealthStatus[]): HealthStatus {
  return statuses.reduce<HealthStatus>((worst, s) => (HEALTH_RANK[s] > HEALTH_RANK[worst] ? s : worst), 'Healthy');
}

function needed(selected: readonly Kind[]): Set<Kind> {
  const out = new Set<Kind>(selected);
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of RECONCILERS) {
      if (!out.has(r.kind)) continue;
      for (const dep of r.dependsOn) if (!out.has(dep)) (out.add(dep), (grew = true));
    }
  }
  return out;
}

function errorInfo(error: unknown): NonNullable<ResourceResult['error']> {
  if (error instanceof AxeError) {
    const known = error.trap !== undefined && error.trap in TRAPS ? { trap: { trap: error.trap as TrapName, fix: error.fix ?? TRAPS[error.trap as TrapName] } } : {};
    return { class: error.class, message: error.message, ...(error.fix ? { fix: error.fix } : {}), ...known };
  }
  return { class: 'transient', message: errorLine(error) };
}

/** What a pass over one customer works with: its policy, the kinds to run and the context they share. */
function prepare(env: ReconcileEnv, id: string, only: readonly Kind[] | undefined) {
  const customer = env.state.customers.customers[id];
  if (!customer) {
    const t = trap('customer-entry-missing', { customer: id });
    throw terminal(`customer ${id} is not in customers.yaml`, { customer: id, fix: t.fix });
  }
  const policy = customer.policy ?? { mode: 'apply' as const, suspend: false, suspend_kinds: [], prune: false };
  const sovereign = isSovereign(env.state.customers, id);
  const allowed = RECONCILERS.filter((r) => !sovereign || EXPOSURE_KINDS.includes(r.kind));
  const selected = new Set<Kind>(only ?? allowed.map((r) => r.kind));
  const run = needed([...selected]);
  const kinds = allowed.filter((r) => run.has(r.kind));
  // A pinned service runs its pin, whatever the manifest says (customers.{id}.pins).
  const pinned = withRefs(env.state, pinnedRefs(customer.pins));
  const ctx = newContext(pinned === env.state ? env : { ...env, state: pinned }, id, customer);
  // The host's one batched round trip carries the section of every kind that has one.
  ctx.hostSections = () =>
    kinds.flatMap((r) => {
      const section = r.hostSection?.(ctx) ?? null;
      return section ? [section] : [];
    });
  return { policy, selected, kinds, ctx };
}

/**
 * Warms the scan with what a pass over the customer reads first: the tailnet
 * and the host's one batched round trip (the host kind's observation, made
 * exactly as `reconcileCustomer` makes it, so the pass finds it in the scan).
 * Reads only; nothing for a suspended customer or host kind. Never throws.
 */
export async function prefetchCustomer(env: ReconcileEnv, id: string): Promise<void> {
  try {
    const { policy, kinds, ctx } = prepare(env, id, undefined);
    if (policy.suspend || policy.suspend_kinds.includes('host') || !kinds.includes(hostReconciler)) return;
    const desired = hostReconciler.desired(ctx);
    if (desired) await hostReconciler.observe(ctx, desired);
  } catch {
    // The pass observes again and reports what failed.
  }
}

/**
 * Runs a kind's actions by their links; when the kind observes parts again
 * (`again`), each part is observed as soon as the actions it waits for have
 * succeeded, beside the others; when their output tells the observation
 * after them (`told`), that is it. The observation after the actions, or
 * undefined when the whole must be observed again.
 */
export async function runAndObserveAgain<D, O, P>(ctx: CustomerContext, r: Pick<ResourceReconciler<D, O, P>, 'again' | 'told'>, desired: D, actions: Action<P>[], run: (action: Action<P>) => Promise<void>, observed: O | null): Promise<O | undefined> {
  const again = r.again;
  if (!again || observed === null) {
    await runByLinks(actions, run);
    return observed !== null && r.told ? (r.told(desired, observed, actions) ?? undefined) : undefined;
  }
  const seen = new Map<string, unknown>();
  let complete = true;
  const followUps = again.parts(desired, actions).map(({ part, after }) => ({
    after,
    run: () =>
      again.observe(ctx, desired, part).then(
        (o) => void seen.set(part, o),
        () => void (complete = false),
      ),
  }));
  await runByLinks(actions, run, followUps);
  return complete && seen.size > 0 ? (again.merge(desired, observed, seen) ?? undefined) : undefined;
}

/** Reconciles one customer. Throws only when the customer is not in the desired state. */
export async function reconcileCustomer(env: ReconcileEnv, id: string, options: ReconcileOptions): Promise<CustomerResult> {
  const { policy, selected, kinds, ctx } = prepare(env, id, options.only);
  const { pass } = ctx;
  const results = pass.results;
  const out: KindResult[] = [];
  for (const r of kinds) {
    const started = Date.now();
    const context = !selected.has(r.kind);
    const base = { kind: r.kind, actions: [], applied: [], observed: null, context };
    if (policy.suspend || policy.suspend_kinds.includes(r.kind)) {
      const result: KindResult = { ...base, sync: 'Unknown', health: { status: 'Suspended', reason: 'Suspended', message: 'suspended by policy' }, durationMs: 0 };
      results.set(r.kind, result);
      out.push(result);
      continue;
    }
    const failedDep = r.dependsOn.find((dep) => results.get(dep)?.error);
    if (failedDep) {
      const result: KindResult = { ...base, sync: 'Unknown', health: { status: 'Unknown', reason: 'DependencyFailed', message: `waiting for ${failedDep}` }, durationMs: 0 };
      results.set(r.kind, result);
      out.push(result);
      continue;
    }
    const desired = r.desired(ctx);
    if (desired === null) continue;
    const applied: Action[] = [];
    let observed: unknown = null;
    let actions: Action[] = [];
    let error: ResourceResult['error'];
    try {
      options.onProgress?.({ customer: id, kind: r.kind, phase: 'observe' });
      // A dependency that acted in this pass may have changed what this kind reads: not from the pass's batched view,
      // except a host section read in this pass after the last change this pass made on the host (a dependency
      // without a host section, e.g. vault-items, changes only what this kind reads through other keys).
      if (r.dependsOn.some((dep) => (results.get(dep)?.applied.length ?? 0) > 0)) for (const read of r.reads) if (!pass.fresh(ctx.target, read)) env.scan.forget(ctx.target, read);
      observed = await r.observe(ctx, desired);
      actions = r.diff(desired, observed);
      if (actions.length > 0 && options.apply && !context && policy.mode === 'apply') {
        // Observe right before acting: never act on the scan's cached view (a host section
        // read moments ago in this pass, after every change this pass made there, is not cached).
        const reads = r.reads;
        const target = ctx.target;
        if (reads.length === 0 || !reads.every((read) => pass.fresh(target, read))) {
          for (const read of reads) env.scan.forget(target, read);
          observed = await r.observe(ctx, desired);
          actions = r.diff(desired, observed);
        }
        const held = options.hold?.(r.kind, actions) ?? [];
        const runnable = actions.filter((a) => !held.includes(a));
        let attempted = 0;
        const run = async (action: Action): Promise<void> => {
          options.onProgress?.({ customer: id, kind: r.kind, phase: 'act', action });
          attempted++;
          await r.act(ctx, desired, action);
          applied.push(action);
        };
        let after: unknown = undefined;
        try {
          if (runnable.length === 0) after = observed;
          else after = await runAndObserveAgain(ctx, r, desired, runnable, run, observed);
        } finally {
          // Even a failed action may have changed the host.
          if (r.hostSection && attempted > 0) pass.hostChanged();
        }
        if (runnable.length > 0) for (const read of reads) env.scan.forget(target, read);
        // A kind that observed what it changed after its last action (or whose actions' own output tells) returns it.
        observed = after ?? (await r.observe(ctx, desired));
        actions = r.diff(desired, observed);
      }
    } catch (caught) {
      error = errorInfo(caught);
    }
    const health = error
      ? { status: 'Unknown' as const, reason: error.class === 'transient' ? 'TransientError' : 'Error', message: error.message, ...(error.trap ? { trap: error.trap } : {}) }
      : r.health(desired, observed);
    const sync: SyncStatus = error ? 'Unknown' : actions.length > 0 ? 'OutOfSync' : 'Synced';
    const result: KindResult = { ...base, sync, health, actions, applied, observed, durationMs: Date.now() - started, ...(error ? { error } : {}) };
    results.set(r.kind, result);
    out.push(result);
    options.onProgress?.({ customer: id, kind: r.kind, phase: 'done', result });
  }
  const shown = out.filter((r) => !r.context);
  return {
    customer: id,
    mode: policy.mode,
    suspended: policy.suspend,
    resources: out,
    sync: shown.some((r) => r.sync === 'OutOfSync') ? 'OutOfSync' : shown.some((r) => r.sync === 'Unknown') ? 'Unknown' : 'Synced',
    health: worstHealth(shown.map((r) => r.health.status)),
  };
}
