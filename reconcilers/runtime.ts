/**
 * What a reconciler needs at run time, and the contract each resource kind
 * implements on top of the pure `Reconciler` (types.ts).
 *
 * Rules:
 * - All I/O goes through `ReconcileEnv` (providers, scan): no module-level
 *   clients, so tests swap the seam, not our modules.
 * - `desired` is pure: it reads the desired state and the results of the kinds
 *   this one depends on (already reconciled in this pass); null = not for
 *   this customer.
 * - `observe` reads only. It may answer from the scan's bulk observation, and
 *   the kind declares what it reads there (`reads`). Before a kind acts the
 *   engine forgets those reads and observes again, unless every one is a host
 *   read made in this pass after the last change this pass made on the host
 *   (Pass.fresh): nothing acts on an observation older than the pass or than
 *   its own pass's last host change.
 * - Per-pass state lives in `ctx.pass` (pass.ts), never in a module.
 * - `act` performs one action and is idempotent.
 */
import type { Providers } from '../providers/index.js';
import type { HostSection } from '../providers/host/sections.js';
import type { SshTarget } from '../providers/host/ssh.js';
import type { ControllerConfig } from '../schemas/controller-config.js';
import type { Customer } from '../schemas/customers.js';
import type { DesiredState } from '../schemas/repo.js';
import { Pass } from './pass.js';
import type { Read, Scan } from './scan.js';
import type { Action, ActionId, Kind, Reconciler, ResourceResult } from './types.js';

/** Operator-side settings the reconcilers read (from the controller config). */
export interface ReconcileSettings {
  zone: string;
  /** Where public endpoints are reached: null = the real internet; the lab sets its edge stand-in. */
  publicEdgeUrl: string | null;
  /** Vault item of the Cloudflare API token. */
  cloudflareTokenSecret: string;
  /** bw CLI versions above this crash against the Vaultwarden fork. */
  bwMaxVersion: string | null;
  cloudflared: ControllerConfig['cloudflared'];
  /** Backups on the hosts (default when absent: DEFAULT_BACKUP). */
  backup?: ControllerConfig['backup'];
  /** customer id → the bw serve logged in to that customer's own vault (config `customer_vaults`; the `vault-org` kind). */
  customerVaults?: ControllerConfig['customer_vaults'];
  /** Git URL rewrites for service repos (config `git.instead_of`: original prefix → replacement). */
  gitInsteadOf?: Record<string, string>;
}

export type { Providers };

export interface ReconcileEnv {
  state: DesiredState;
  settings: ReconcileSettings;
  providers: Providers;
  scan: Scan;
  /** Config revision being applied, for labels and history. */
  revision: string | null;
  /**
   * Limits the service-level kinds (stack, entities, endpoints) to these
   * services (`axe deploy frame demo`); undefined = every declared service.
   */
  services?: readonly string[];
}

export type { ResourceResult };

export interface CustomerContext {
  id: string;
  customer: Customer;
  env: ReconcileEnv;
  /** This reconcile of the customer: results of the kinds already reconciled, each kind's scratch area, the host change clock. */
  pass: Pass;
  /** How the customer's Mac mini is reached. */
  target: SshTarget;
  /** Every section of the host's one batched observation (from all kinds that apply). */
  hostSections(): HostSection[];
}

/** A customer's context for one new pass (no host sections until the engine names them). */
export function newContext(env: ReconcileEnv, id: string, customer: Customer): CustomerContext {
  return { id, customer, env, pass: new Pass(env.scan), target: env.providers.hosts.target(customer.tailscale_host, customer.ssh_user), hostSections: () => [] };
}

export interface ResourceReconciler<D, O, P = unknown> extends Reconciler<D, O, P> {
  desired(ctx: CustomerContext): D | null;
  observe(ctx: CustomerContext, desired: D): Promise<O | null>;
  act(ctx: CustomerContext, desired: D, action: Action<P>): Promise<void>;
  /**
   * Observing parts of this kind again after acting, instead of the whole
   * once every action ended (absent: the whole). See Reobservation.
   */
  again?: Reobservation<D, O, P, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * The observation after the actions when their own successful output tells
   * it (pure): `planned` (what they were planned on) changed by `actions`, all
   * of which succeeded; null (or absent) and the engine observes again. The
   * entities kind: a register command that exited 0 registered its entity.
   */
  told?(desired: D, planned: O, actions: readonly Action<P>[]): O | null;
  /**
   * What this kind's observation reads from the scan (the customer's host for
   * host reads); forgotten before acting (unless fresh) and after. None: the
   * kind reads nothing from the scan, it is observed again before acting.
   */
  reads: readonly Read[];
  /**
   * A read-only shell section for the host's one batched observation round
   * trip (the kind reads it as `{ hostSection: name }`, or the whole batch as
   * 'host'). It cannot depend on other kinds' results: the host runs it first.
   * A kind with one is a kind that changes the host (the host change clock).
   */
  hostSection?(ctx: CustomerContext): HostSection | null;
  /** Tearing down what this kind made for a customer who left (prune, teardown.ts); absent: the kind leaves nothing to delete. */
  delete?: Deletion<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * The parts of a kind's observation that can be observed again alone (the
 * stack: one service). After acting, the engine observes each part named by
 * `parts` alone, as soon as the actions it names (its `after` links) have
 * succeeded, while the other actions still run; then `merge` makes the
 * observation after the actions from the one they were planned on. A part
 * whose observation failed, or `merge` giving null, and the engine observes
 * the whole again; so it does when `parts` names none.
 */
export interface Reobservation<D, O, P, R> {
  /** The parts these actions change (pure), each with the actions to wait for. */
  parts(desired: D, actions: readonly Action<P>[]): Array<{ part: string; after: ActionId[] }>;
  /** One part observed again (reads only). */
  observe(ctx: CustomerContext, desired: D, part: string): Promise<R>;
  /**
   * The observation after the actions (pure): `planned` (what they were
   * planned on) with each part observed again, in the order they came back;
   * null when that is not the whole picture.
   */
  merge(desired: D, planned: O, again: ReadonlyMap<string, R>): O | null;
}

/**
 * A kind's part of a customer's teardown. The context is the customer as the
 * last revision that declared it had it. Like the rest of the contract:
 * observe reads only, plan is pure and plans nothing once all is gone, act is
 * idempotent (gone already is done).
 */
export interface Deletion<O, P = unknown> {
  /**
   * A read-only section naming what this kind left on the customer's host.
   * The teardown reads every kind's in one round trip, and plans nothing at
   * all (not even in Cloudflare) when the host cannot be read.
   */
  hostSection?(ctx: CustomerContext): HostSection;
  /** What is left of this kind for the customer; `host` is its section's output ('' without a section). */
  observe(ctx: CustomerContext, host: string): Promise<O>;
  /**
   * The actions deleting what `observed` shows (pure), each with `after`
   * links to what must go before it; the engine adds the links of the kinds'
   * reverse dependency order and orders the plan by them (order.ts).
   */
  plan(customer: string, observed: O): Action<P>[];
  act(ctx: CustomerContext, action: Action<P>): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyResourceReconciler = ResourceReconciler<any, any, any>;
