/**
 * The stack reconciler's pure core: every declared stack service of one
 * customer (frame, blueprint, hive, … — one engine, the manifests differ),
 * desired against what the host shows, into the runbook's deploy steps as
 * actions: clone/checkout at the ref, render the env file (0600), create the
 * external networks and volumes, `compose up --wait` (or, for a blue/green
 * stack, bring up the idle color, switch the proxy, stop the old color).
 *
 * Rules:
 * - Containers are judged by what the host says: our labels (ref and env
 *   hash they were created with) and Compose's own config-hash label against
 *   the hash of the resolved config on the host. The config-hash check counts
 *   only when the checkout and env file already are as desired (otherwise it
 *   compares with the wrong file).
 * - An env file that cannot be rendered (a secret missing from the vault, a
 *   customers.yaml field not set) blocks that service: nothing is planned for
 *   it and its health says why. Blueprint never boots without its SSO secrets.
 * - A blue/green stack never recreates its shared services (proxy, database)
 *   during a deploy: that would drop requests. They are started when stopped;
 *   only the colors move. A color that fails its health gate is removed and
 *   the old one keeps serving (recorded on the host, reported Degraded).
 * - Plans show names, refs and hashes; never a value.
 */
import { type Action, actionId, type Health, type HealthStatus, worstOf } from '../types.js';
import { trap, type Trap } from '../traps.js';
import type { ServiceEnv } from './render.js';
import type { EnvVarSpec } from '../templates.js';
import type { BlueGreenTarget, Color } from '../../providers/host/commands/blue-green.js';
import type { ExecTarget } from '../../providers/host/commands/exec.js';

export interface StackServiceDesired {
  service: string;
  customer: string;
  repo: string;
  ref: string;
  /** Where the repo is checked out on the host (`~/…` or absolute). */
  checkout: string;
  project: string;
  composeFiles: string[];
  /** Relative to the checkout. */
  envFile: string;
  vars: EnvVarSpec[];
  /**
   * Each compose service's own env file (`env.services`), in the env file's
   * directory; null: the compose files' `env_file:` lines decide (every var to
   * each container naming the env file). Part of the env hash.
   */
  serviceEnvs: ServiceEnv[] | null;
  /**
   * Vars whose value axe does not know when observing — what a hook prints and,
   * in pull mode, the secrets the host pulls: excluded from the env hash, checked for presence.
   */
  hookVars: string[];
  /** Deploy-time secret pull on the host (`env.secrets: pull`): the host's bw session renders the env file. */
  pull: { sessionFile: string; vaultUrl: string; secrets: Array<{ name: string; item: string }> } | null;
  beforeHooks: Array<{ name: string; outputEnv: string; exec: ExecTarget }>;
  /** after_healthy hooks that are not per entity (migrate); per-entity ones are the entities kind's. */
  afterHooks: Array<{ name: string; exec: ExecTarget }>;
  /** The after-healthy hooks marked `migrating`: a release that runs them takes a backup snapshot first (the gate). */
  migratingHooks?: string[];
  /** External networks and volumes axe creates when missing. */
  networks: string[];
  volumes: string[];
  blueGreen: (BlueGreenTarget & { switchTemplate: string[] }) | null;
  inside: { container: string; port: number; path: string } | null;
  waitSeconds: number;
  dependsOn: string[];
}

export interface StackDesired {
  customer: string;
  services: StackServiceDesired[];
}

export interface ContainerFact {
  id: string;
  /** Compose service name. */
  service: string;
  state: string;
  health: 'healthy' | 'unhealthy' | 'starting' | null;
  configHash: string;
  ref: string;
  envHash: string;
  /** Attached to a network that no longer exists: it cannot start again, only be recreated. */
  orphaned: boolean;
}

export interface FailureRecord {
  revision: string;
  ref: string;
  /** The blue/green color that failed ('' for a plain stack). */
  color: string;
  /** The deploy step that failed (compose up, health, switch). */
  step?: string;
  /** What serves after the rollback (`v1.0.0`; the old color), null when nothing was restored. */
  serving?: string | null;
  /** What the failed deploy left on the host, in words. */
  left?: string;
  reason: string;
  at: string;
}

export interface StackHostFacts {
  checkout: { head: string; want: string | null; dirty: number; origin: string } | null;
  env: { mode: string; sha256: string; keys: Map<string, boolean> } | null;
  override: boolean;
  /** Compose services of the checkout (null when they could not be read: no env file yet). */
  services: string[] | null;
  /** Compose's config hash of each service, from the resolved config on the host. */
  hashes: Map<string, string>;
  containers: ContainerFact[];
  active: Color | null;
  failure: FailureRecord | null;
  /** The manifest's inside health check: null when not run (container not running or none declared). */
  inside: 'ok' | 'fail' | null;
  /**
   * Hook-supplied env values (and, in pull mode, pulled secrets): sha256 of the
   * one in the env file and of what the hook prints now / the host's vault holds
   * (checked on the host; the values never leave it). Absent when not checked (no
   * value in the file yet, the hook's container not running, a session that cannot read).
   */
  hookValues: Map<string, { file: string; now: string }>;
  /** Pull mode only: the host's bw session file (its value is never read off the host) and what `bw status` says with it. */
  bwSession: { present: boolean; mode: string; status: string } | null;
}

export type RenderFact =
  | { ok: true; digest: string; revision: string }
  /** Values still missing: secrets a person must push, fields to fill, secrets vault-items will generate. */
  | { ok: false; missingSecrets: string[]; missingFields: string[]; pendingSecrets: string[] };

export interface StackServiceObserved {
  host: StackHostFacts;
  render: RenderFact;
}

export interface StackObserved {
  docker: boolean;
  networks: Set<string>;
  volumes: Set<string>;
  services: Map<string, StackServiceObserved>;
}

export interface StackPayload {
  service: string;
  name?: string;
  services?: string[];
  recreate?: string[];
  from?: Color;
  to?: Color;
  /** It stops or recreates a running container (a swap, an up of a running service): it waits for a maintenance window. */
  disruptive?: boolean;
  /** The first action of its service once its dependencies are done: it starts the service's before-up hooks too, for the render-env after it (they run in another stack's container, so they need not wait for the checkout). */
  early?: boolean;
  /** A render-env run while the service's dependencies deploy: once the env file is written it computes the labels override of the up that follows. */
  prepare?: boolean;
}

function other(color: Color): Color {
  return color === 'blue' ? 'green' : 'blue';
}

function short(hash: string | null | undefined): string {
  return hash ? `sha256:${hash.slice(0, 12)}` : 'none';
}

function isRunning(c: ContainerFact | undefined): boolean {
  return c?.state === 'running';
}

/** Pull mode: why the host's bw session cannot render the env file (the trap), or null when it can. */
function sessionTrap(d: StackServiceDesired, o: StackServiceObserved): Trap | null {
  if (!d.pull) return null;
  const session = o.host.bwSession;
  const vars = { service: d.service, file: d.pull.sessionFile, vault_url: d.pull.vaultUrl };
  if (!session || !session.present) return trap('host-bw-session-missing', vars);
  if (session.mode !== '600') return trap('host-bw-session-mode', { ...vars, mode: session.mode || 'unknown' });
  if (session.status === 'nobw') return trap('host-bw-cli-missing', vars);
  if (session.status !== 'unlocked') return trap('host-bw-session-locked', { ...vars, status: session.status || 'unknown' });
  return null;
}

/** Hook-supplied (and, in pull mode, pulled) values in the env file that differ from their source now (a rotated or wrong token, a hand edit). */
function hookDrift(d: StackServiceDesired, o: StackServiceObserved): string[] {
  return d.hookVars.filter((k) => {
    const v = o.host.hookValues.get(k);
    return v !== undefined && v.file !== v.now;
  });
}

function hookSource(d: StackServiceDesired, name: string): string {
  const hook = d.beforeHooks.find((h) => h.outputEnv === name);
  if (hook) return `${hook.exec.service}'s ${hook.name} hook gives now`;
  const pulled = d.pull?.secrets.find((p) => p.name === name);
  return pulled ? `the host's vault holds for ${pulled.item}` : 'its hook gives now';
}

function envOk(d: StackServiceDesired, o: StackServiceObserved): boolean {
  const env = o.host.env;
  return o.render.ok && env !== null && env.mode === '600' && env.sha256 === o.render.digest && d.hookVars.every((k) => env.keys.get(k) === true) && hookDrift(d, o).length === 0;
}

function envWhy(d: StackServiceDesired, o: StackServiceObserved): string {
  const env = o.host.env;
  if (!env) return 'new file';
  if (o.render.ok && env.sha256 !== o.render.digest) return `on the host ${short(env.sha256)}, rendered ${short(o.render.digest)}`;
  const hook = d.hookVars.find((k) => env.keys.get(k) !== true);
  if (hook) return `${hook} missing or empty`;
  const drift = hookDrift(d, o);
  if (drift.length) return drift.map((k) => `${k} is not the value ${hookSource(d, k)} (value masked)`).join(', ');
  if (env.mode !== '600') return `mode ${env.mode}`;
  return 'values to generate first';
}

/** Whether a container runs exactly the desired config (labels, and compose's hash when it can be trusted). */
function current(c: ContainerFact, d: StackServiceDesired, o: StackServiceObserved, trustHash: boolean): boolean {
  if (c.orphaned) return false;
  if (c.ref !== d.ref) return false;
  if (!o.render.ok || c.envHash !== o.render.digest) return false;
  if (trustHash) {
    const want = o.host.hashes.get(c.service);
    if (want && want !== c.configHash) return false;
  }
  return true;
}

function staleWhy(c: ContainerFact | undefined, d: StackServiceDesired, o: StackServiceObserved): string {
  if (!c) return 'not created';
  if (c.orphaned) return 'its network was removed';
  if (c.ref !== d.ref) return c.ref ? `runs ${c.ref}` : 'not deployed by axe';
  if (!o.render.ok || c.envHash !== o.render.digest) return 'env changed';
  return 'config changed';
}

function hookNote(d: StackServiceDesired): string {
  return d.afterHooks.length ? `; then hooks: ${d.afterHooks.map((h) => h.name).join(', ')}` : '';
}

/**
 * The gate: a release (`up`, `swap`) of a service with a migrating hook starts
 * with a backup snapshot, so a failed snapshot stops it before anything
 * changes (the first deploy, `initial`, has no data to protect).
 */
function diffService(d: StackServiceDesired, o: StackServiceObserved, observed: StackObserved, planned: Set<string>): Action<StackPayload>[] {
  const actions = diffRelease(d, o, observed, planned);
  const hooks = d.migratingHooks ?? [];
  if (hooks.length === 0 || !actions.some((a) => a.op === 'up' || a.op === 'swap')) return actions;
  const gate: Action<StackPayload> = { kind: 'stack', op: 'snapshot', target: `stack:${d.service}`, summary: `${d.service}: take a backup snapshot and wait for it (the release runs the migrating hook ${hooks.join(', ')}; a failed snapshot stops it here)`, payload: { service: d.service } };
  return [gate, ...actions];
}

function diffRelease(d: StackServiceDesired, o: StackServiceObserved, observed: StackObserved, planned: Set<string>): Action<StackPayload>[] {
  const actions: Action<StackPayload>[] = [];
  const target = `stack:${d.service}`;
  const add = (op: string, summary: string, payload: Omit<StackPayload, 'service'> = {}): void => {
    actions.push({ kind: 'stack', op, target, summary: `${d.service}: ${summary}`, payload: { service: d.service, ...payload } });
  };
  const render = o.render;
  if (!render.ok && (render.missingSecrets.length > 0 || render.missingFields.length > 0)) return [];
  const h = o.host;

  const clone = h.checkout === null;
  const checkout = !clone && (h.checkout!.want === null || h.checkout!.head !== h.checkout!.want || h.checkout!.dirty > 0);
  if (clone) add('clone', `clone ${d.repo} at ${d.ref} into ${d.checkout}`);
  else if (checkout) {
    const c = h.checkout!;
    const why = c.dirty > 0 && c.head === c.want ? `${c.dirty} local change(s) discarded` : `now ${c.head.slice(0, 8) || 'nothing'}`;
    add('checkout', `fetch and check out ${d.ref} (${why})`);
  }
  const env = envOk(d, o);
  // Pull mode: the env file can only be rendered with a usable host session; nothing is half-done without one.
  if (!env && sessionTrap(d, o)) return [];
  if (!env) {
    const hooks = d.beforeHooks.length ? `; ${d.beforeHooks.map((b) => `${b.outputEnv} from ${b.exec.service}'s ${b.name} hook`).join(', ')}` : '';
    const pending = !render.ok && render.pendingSecrets.length ? ` after vault-items generates ${render.pendingSecrets.join(', ')}` : '';
    const source = d.pull ? `on the host with its bw session (${d.pull.secrets.length} secret(s) pulled there) and customers.yaml` : 'from the vault and customers.yaml';
    const split = d.serviceEnvs ? ` and its ${d.serviceEnvs.length} compose services' own files (${d.serviceEnvs.map((e) => `${e.service}: ${e.vars.length}`).join(', ')})` : '';
    add('render-env', `render ${d.envFile} (${d.vars.length} vars, mode 0600)${split} ${source}${hooks} (${envWhy(d, o)})${pending}`);
  }
  for (const name of d.networks) {
    if (observed.networks.has(name) || planned.has(`network:${name}`)) continue;
    planned.add(`network:${name}`);
    add('create-network', `create the external docker network ${name} (compose needs it to exist)`, { name });
  }
  for (const name of d.volumes) {
    if (observed.volumes.has(name) || planned.has(`volume:${name}`)) continue;
    planned.add(`volume:${name}`);
    add('create-volume', `create the external docker volume ${name} (compose needs it to exist)`, { name });
  }

  const trustHash = !clone && !checkout && env && h.override;
  const byService = new Map(h.containers.map((c) => [c.service, c]));
  // A rotated hook value (the frame MCP token): the containers run with the old one until compose recreates them.
  const drifted = hookDrift(d, o);
  if (!d.blueGreen) {
    const expected = h.services ?? [...byService.keys()];
    const stale = expected.filter((s) => {
      const c = byService.get(s);
      return !c || !isRunning(c) || !current(c, d, o, trustHash) || drifted.length > 0;
    });
    const extra = h.services ? h.containers.filter((c) => !h.services!.includes(c.service)).map((c) => c.service) : [];
    const unknown = h.services === null && (expected.length === 0 || clone || checkout || !env);
    if (stale.length > 0 || extra.length > 0 || unknown) {
      const recreate = h.containers.filter((c) => c.orphaned).map((c) => c.service);
      const why = (s: string): string => {
        const c = byService.get(s);
        if (!c) return 'not created';
        if (c.orphaned) return `${c.state}, recreated: its network was removed`;
        if (isRunning(c) && current(c, d, o, trustHash) && drifted.length) return `${drifted.join(', ')} changed`;
        return isRunning(c) ? staleWhy(c, d, o) : c.state;
      };
      const what = stale.length ? stale.map((s) => `${s} (${why(s)})`).join(', ') : extra.length ? `remove ${extra.join(', ')}` : 'every service';
      const disruptive = stale.some((svc) => isRunning(byService.get(svc))) || extra.length > 0;
      add('up', `compose up --wait (project ${d.project}, ${d.ref}): ${what}${hookNote(d)}`, { recreate, disruptive });
    }
    return actions;
  }

  const bg = d.blueGreen;
  const colorService = (c: Color): string => (c === 'blue' ? bg.blue : bg.green);
  const shared = (h.services ?? [...byService.keys()]).filter((s) => s !== bg.blue && s !== bg.green);
  const running = (['blue', 'green'] as const).filter((c) => isRunning(byService.get(colorService(c))));
  const active: Color | null = h.active ?? (running.length === 1 ? running[0]! : null);
  if (!active || h.containers.length === 0) {
    const first = h.services ? shared.join(', ') : 'the shared services';
    add('initial', `compose up --wait (project ${d.project}, ${d.ref}): ${first}, then ${bg.blue}; switch ${bg.proxy} to blue${hookNote(d)}`, { to: 'blue' });
    return actions;
  }
  const activeCtr = byService.get(colorService(active));
  const configChanged = clone || checkout || !env;
  const activeStale = activeCtr !== undefined && (!current(activeCtr, d, o, trustHash) || drifted.length > 0);
  const activeUnknownConfig = activeCtr === undefined && configChanged;
  if (activeStale || activeUnknownConfig) {
    const to = other(active);
    add('swap', `blue/green: bring up ${colorService(to)} at ${d.ref}, health-gate it, switch ${bg.proxy} to ${to}, stop ${colorService(active)} (${staleWhy(activeCtr, d, o)})${hookNote(d)}`, { from: active, to, disruptive: true });
  }
  const toStart = shared.filter((s) => !isRunning(byService.get(s)));
  if (!activeStale && !activeUnknownConfig && !isRunning(activeCtr)) toStart.push(colorService(active));
  if (toStart.length > 0) {
    const recreate = toStart.filter((s) => byService.get(s)?.orphaned);
    add('start', `start ${toStart.map((s) => `${s} (${byService.get(s)?.state ?? 'not created'}${recreate.includes(s) ? ', recreated: its network was removed' : ''})`).join(', ')} without recreating the running ones`, { services: toStart, recreate });
  }
  const idle = other(active);
  if (!activeStale && !activeUnknownConfig && isRunning(byService.get(colorService(idle)))) {
    add('stop-idle', `stop the idle color ${colorService(idle)} (${active} is live)`, { name: colorService(idle) });
  }
  return actions;
}

/** Every service's actions, in the services' dependency order, linked (linkServices). */
export function diffStack(desired: StackDesired, observed: StackObserved | null): Action<StackPayload>[] {
  if (!observed || !observed.docker) return [];
  const planned = new Set<string>();
  return linkServices(
    desired,
    desired.services.flatMap((d) => {
      const o = observed.services.get(d.service);
      return o ? diffService(d, o, observed, planned) : [];
    }),
  );
}

function isShared(a: Action<StackPayload>): boolean {
  return a.op === 'create-network' || a.op === 'create-volume';
}

/** The declared services `d` depends on, directly or not, among those of the customer. */
export function dependencies(desired: StackDesired, d: StackServiceDesired): StackServiceDesired[] {
  const byName = new Map(desired.services.map((s) => [s.service, s]));
  const out = new Map<string, StackServiceDesired>();
  const visit = (s: StackServiceDesired): void => {
    for (const name of s.dependsOn) {
      const dep = byName.get(name);
      if (dep && !out.has(name)) (out.set(name, dep), visit(dep));
    }
  };
  visit(d);
  return [...out.values()];
}

/** A service's own actions (not the external networks and volumes), in plan order. */
export function chainOf(actions: readonly Action<StackPayload>[], service: string): Action<StackPayload>[] {
  return actions.filter((a) => a.payload.service === service && !isShared(a));
}

/**
 * The links of a stack plan (pure; the engine runs it by them, order.ts):
 * - the external networks and volumes first, one after another (a service
 *   may need one planned under another);
 * - each service's own actions in plan order, one after another;
 * - a service's deploy after every action of the services it depends on, so
 *   services that do not depend on each other (blueprint and hive, after
 *   frame) deploy side by side; one whose dependency failed is not started;
 * - a fresh service (its actions start with the clone) prepares while its
 *   dependencies deploy: the clone, and the env file when no before-up hook
 *   (a value from a dependency) feeds it, that render-env then computing the
 *   labels override for the up (`prepare`);
 * - a service with before-up hooks whose render-env is not its first action
 *   once its dependencies are done starts the hooks with that first action
 *   (`early`).
 * The plan's order and summaries are unchanged: only `after` and those two flags.
 */
export function linkServices(desired: StackDesired, actions: readonly Action<StackPayload>[]): Action<StackPayload>[] {
  const links = new Map<Action<StackPayload>, { after: string[]; early?: boolean; prepare?: boolean }>();
  let previousShared: string | null = null;
  for (const a of actions.filter(isShared)) {
    links.set(a, { after: previousShared ? [previousShared] : [] });
    previousShared = actionId(a);
  }
  const sharedLinks = previousShared ? ['stack:create-network', 'stack:create-volume'] : [];
  for (const d of desired.services) {
    const chain = chainOf(actions, d.service);
    if (chain.length === 0) continue;
    const deps = dependencies(desired, d);
    const direct = d.dependsOn.some((name) => desired.services.some((s) => s.service === name));
    const waitFor = deps.flatMap((dep) => chainOf(actions, dep.service).map(actionId));
    const prep = !direct || chain[0]!.op !== 'clone' ? 0 : chain[1]?.op === 'render-env' && d.beforeHooks.length === 0 ? 2 : 1;
    chain.forEach((a, i) => {
      const after = i === 0 ? [...sharedLinks] : [actionId(chain[i - 1]!)];
      if (i === prep) after.push(...waitFor);
      links.set(a, { after, ...(i === 1 && prep === 2 ? { prepare: true } : {}) });
    });
    const rest = chain.slice(prep);
    if (d.beforeHooks.length > 0 && rest.length > 0 && rest[0]!.op !== 'render-env' && rest.some((a) => a.op === 'render-env')) links.get(rest[0]!)!.early = true;
  }
  return actions.map((a) => {
    const link = links.get(a);
    if (!link) return a;
    const flags = { ...(link.early ? { early: true } : {}), ...(link.prepare ? { prepare: true } : {}) };
    return { ...a, after: link.after, ...(Object.keys(flags).length ? { payload: { ...a.payload, ...flags } } : {}) };
  });
}


interface ServiceHealth {
  status: HealthStatus;
  reason: string;
  message: string;
  trap?: Trap;
}

function healthService(d: StackServiceDesired, o: StackServiceObserved): ServiceHealth {
  const render = o.render;
  if (!render.ok && (render.missingSecrets.length || render.missingFields.length)) {
    const sso = render.missingSecrets.find((s) => /^AZURE_.*_CLIENT_SECRET$/.test(s));
    const parts = [
      render.missingSecrets.length ? `missing from the vault: ${render.missingSecrets.join(', ')}` : '',
      render.missingFields.length ? `not set in customers.yaml: ${render.missingFields.map((f) => `customers.${d.customer}.${f}`).join(', ')}` : '',
    ].filter(Boolean);
    const ssoField = render.missingFields.some((f) => f.startsWith('sso.'));
    return {
      status: 'Degraded',
      reason: 'EnvBlocked',
      message: `${d.service}: not deployed until its env can be rendered (${parts.join('; ')})`,
      ...(sso || ssoField ? { trap: trap('blueprint-sso-missing', { customer: d.customer }) } : {}),
    };
  }
  const h = o.host;
  const session = sessionTrap(d, o);
  if (session) {
    const what = envOk(d, o) ? 'the next deploy cannot pull its secrets' : 'not deployed until the host can pull its secrets';
    return { status: 'Degraded', reason: 'HostSessionUnusable', message: `${d.service}: ${what} (${session.trap})`, trap: session };
  }
  if (h.failure && render.ok && h.failure.revision === render.revision) {
    const f = h.failure;
    const step = f.step ? `, step ${f.step}` : '';
    const left = f.left ? `; ${f.left}` : '';
    const fix = `; fix the release or its env in services/${d.service}.yaml (docker compose -p ${d.project} logs on the host), then axe deploy ${d.service} ${d.customer} --apply`;
    if (f.color) {
      const live = h.active ? `${h.active} keeps serving` : 'nothing serves';
      return { status: 'Degraded', reason: 'RolledBack', message: `${d.service}: ${f.color} at ${f.ref} never became healthy (${f.reason}${step}); rolled back, ${live}${left}${fix}` };
    }
    return {
      status: 'Degraded',
      reason: f.serving ? 'RolledBack' : 'DeployFailed',
      message: `${d.service}: step ${f.step ?? 'compose up'} failed for ${f.ref} (${f.reason})${left}${fix}`,
    };
  }
  if (h.containers.length === 0) return { status: 'Missing', reason: 'NotDeployed', message: `${d.service}: not deployed (no containers in project ${d.project})` };
  const byService = new Map(h.containers.map((c) => [c.service, c]));
  const expected = d.blueGreen
    ? (h.services ?? [...byService.keys()]).filter((s) => s !== d.blueGreen!.blue && s !== d.blueGreen!.green).concat(h.active ? [h.active === 'blue' ? d.blueGreen.blue : d.blueGreen.green] : [])
    : (h.services ?? [...byService.keys()]);
  const down = expected.filter((s) => !isRunning(byService.get(s)));
  if (down.length) return { status: 'Degraded', reason: 'NotRunning', message: `${d.service}: ${down.map((s) => `${s} ${byService.get(s)?.state ?? 'missing'}`).join(', ')}` };
  const unhealthy = expected.filter((s) => byService.get(s)?.health === 'unhealthy');
  if (unhealthy.length) return { status: 'Degraded', reason: 'Unhealthy', message: `${d.service}: ${unhealthy.join(', ')} unhealthy` };
  const starting = expected.filter((s) => byService.get(s)?.health === 'starting');
  if (starting.length) return { status: 'Progressing', reason: 'Starting', message: `${d.service}: ${starting.join(', ')} starting` };
  if (h.inside === 'fail' && d.inside) return { status: 'Degraded', reason: 'HealthCheckFailed', message: `${d.service}: ${d.inside.container}:${d.inside.port}${d.inside.path} does not answer 200` };
  const color = d.blueGreen && h.active ? `, ${h.active} live` : '';
  const refs = [...new Set(expected.map((s) => byService.get(s)?.ref).filter(Boolean))];
  return { status: 'Healthy', reason: 'Running', message: `${d.service}: ${expected.length} container(s) running ${refs.join('/') || 'unlabelled'}${color}` };
}

export function healthStack(desired: StackDesired, observed: StackObserved | null): Health {
  if (desired.services.length === 0) return { status: 'Healthy', reason: 'NoStacks', message: 'no stack service is declared for this customer' };
  if (!observed) return { status: 'Unknown', reason: 'NotObserved', message: 'the host could not be observed' };
  if (!observed.docker) return { status: 'Degraded', reason: 'DockerMissing', message: 'docker was not found by absolute path on the host' };
  const each = desired.services.map((d) => {
    const o = observed.services.get(d.service);
    return o ? healthService(d, o) : { status: 'Unknown' as const, reason: 'NotObserved', message: `${d.service}: not observed` };
  });
  const worst = worstOf(each);
  const trapFound = each.find((e) => e.trap)?.trap;
  return {
    status: worst.status,
    reason: worst.reason,
    message: each.map((e) => e.message).join('; '),
    ...(trapFound ? { trap: trapFound } : {}),
  };
}

/**
 * After acting (pure): the services to observe again, each alone, once its
 * own actions and those of the services it depends on have succeeded: every
 * service that acted, or depends on one that did. The others keep what the
 * actions were planned on (nothing in this pass changed them).
 */
export function reobservedServices(desired: StackDesired, actions: readonly Action<StackPayload>[]): Array<{ part: string; after: string[] }> {
  const changed = new Set<string>();
  const out: Array<{ part: string; after: string[] }> = [];
  for (const d of desired.services) {
    const deps = dependencies(desired, d);
    const own = chainOf(actions, d.service);
    if (own.length === 0 && !deps.some((dep) => changed.has(dep.service))) continue;
    changed.add(d.service);
    out.push({ part: d.service, after: [...deps.flatMap((dep) => chainOf(actions, dep.service)), ...own].map(actionId) });
  }
  return out;
}
