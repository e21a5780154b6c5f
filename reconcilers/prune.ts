/**
 * Pruning: tearing down what axe made for a customer who left customers.yaml,
 * when that customer's `policy.prune` was on (the controller's rule: off by
 * default, and a removed customer is left in place unless it was on).
 *
 * What goes, in this order (each step needs the one before it gone):
 * 1. on the customer's host: the stacks axe started (every compose project
 *    whose containers carry our customer label: `compose down`, data volumes
 *    and checkouts kept), the rendered env files of the declared stacks and
 *    cloudflared's credentials file (they hold secrets), the cloudflared
 *    service (container or LaunchDaemon), the networks axe created;
 * 2. the DNS records whose comment says axe owns them for this customer;
 * 3. the tunnel (Cloudflare refuses while a connector is up: hence step 1).
 * What stays, always: operator vault items (never pruned), the customer's own
 * Vaultwarden and its data (the customer's passwords: not ours to remove),
 * data volumes, the service checkouts.
 *
 * Rules: observe → pure diff → act → observe again, like every reconciler; a
 * second prune plans nothing. Everything is computed from the desired state
 * the customer had last (the previous revision), since the current one no
 * longer names it.
 */
import { errorLine, terminal, transient } from '../core/errors.js';
import { compose } from '../providers/host/commands/compose.js';
import { docker as dockerCli } from '../providers/host/commands/docker.js';
import { fs } from '../providers/host/commands/fs.js';
import { line, path } from '../providers/host/commands/quote.js';
import { findTool, requireTool } from '../providers/host/commands/tools.js';
import { EXIT, runBatch, runScript } from '../providers/host/executor.js';
import { COMPOSE_PROJECT, containersFact, labelledNetworksFact } from '../providers/host/facts/docker.js';
import { factsSection, readFacts, when } from '../providers/host/facts/fact.js';
import { existingPathsFact } from '../providers/host/facts/files-content.js';
import { systemJobFact } from '../providers/host/facts/launchd.js';
import type { HostSection } from '../providers/host/sections.js';
import type { DesiredState } from '../schemas/repo.js';
import { ownedBy } from './dns/diff.js';
import { LAUNCHD_LABEL, LAUNCHD_PLIST, containerName } from './cloudflared/service.js';
import { CLOUDFLARED_DIR } from './cloudflared/diff.js';
import { type CustomerContext, newContext, type ReconcileEnv } from './runtime.js';
import { SCAN_KEYS } from './scan.js';
import { declaredStacks, desiredService } from './stack/index.js';
import { LABELS } from './stack/host.js';
import { tunnelName } from './tunnel/diff.js';
import type { Action, Kind } from './types.js';

export interface PruneObserved {
  tunnel: { id: string; name: string } | null;
  dns: Array<{ id: string; type: string; name: string }>;
  zoneId: string | null;
  /** null: the host could not be reached (then nothing is deleted in Cloudflare either). */
  host: PruneHostObserved | null;
  hostError: string | null;
}

export interface PruneHostObserved {
  /** Compose projects with a container labelled for the customer. */
  projects: string[];
  /** Files holding secrets that are still on the host. */
  secretFiles: string[];
  cloudflared: 'container' | 'launchd' | null;
  /** Networks labelled for the customer that no one else's container uses. */
  networks: string[];
}

export interface PrunePayload {
  id?: string;
  zoneId?: string;
  path?: string;
}

export type PruneAction = Action<PrunePayload>;

/** A removed customer is pruned when the revision that last declared it says so: `prune` on, mode apply, not suspended. */
export function prunesOnRemoval(state: DesiredState, id: string): boolean {
  const policy = state.customers.customers[id]?.policy;
  return Boolean(policy?.prune && policy.mode === 'apply' && !policy.suspend);
}

/** Paths on the host whose files hold secrets: each declared stack's env file, cloudflared's credentials. */
export function secretPaths(ctx: CustomerContext): string[] {
  const stacks = declaredStacks(ctx).flatMap(([name, manifest]) => {
    try {
      const d = desiredService(ctx, name, manifest);
      return [`${d.checkout.replace(/\/+$/, '')}/${d.envFile}`];
    } catch {
      return []; // A stack whose desired state cannot be computed was never rendered.
    }
  });
  return [...stacks, `~/${CLOUDFLARED_DIR}/credentials.json`];
}

/** What is read on the host: one fact each (docker's as JSON). */
function facts(customer: string, files: readonly string[]) {
  const docker = '[ -n "$D" ]';
  return {
    files: existingPathsFact('files', files),
    launchd: when('[ -x /bin/launchctl ]', systemJobFact('launchd', LAUNCHD_LABEL)),
    containers: when(docker, containersFact('containers')),
    networks: when(docker, labelledNetworksFact('networks', [`${LABELS.customer}=${customer}`])),
  };
}

/** The read-only section: what axe left on the host for this customer. */
export function observeSection(customer: string, files: readonly string[], toolPaths: readonly string[]): HostSection {
  return factsSection('prune', facts(customer, files), findTool('D', 'docker', toolPaths));
}

/** The observation from the section's output (pure). */
export function parseObservation(output: string, customer: string, files: readonly string[]): PruneHostObserved {
  const f = readFacts(output, facts(customer, files));
  const ours = f.containers.filter((c) => c.labels[LABELS.customer] === customer);
  const projects = [...new Set(ours.map((c) => c.labels[COMPOSE_PROJECT] ?? '').filter(Boolean))].sort();
  const name = containerName(customer);
  const cloudflared = f.launchd !== 'missing' ? 'launchd' : f.containers.some((c) => c.names.includes(name)) ? 'container' : null;
  // A labelled network is ours to remove only when no container of someone else (the customer's own vault) uses it;
  // networks a compose project made go with its `compose down`.
  const networks = f.networks
    .filter((n) => n.labels[LABELS.customer] === customer && !n.labels[COMPOSE_PROJECT])
    .filter((n) => !f.containers.some((c) => c.networks.includes(n.name) && c.labels[LABELS.customer] !== customer))
    .map((n) => n.name);
  return { projects, secretFiles: f.files, cloudflared, networks };
}

function action(kind: Kind, op: string, target: string, summary: string, payload: PrunePayload = {}): PruneAction {
  return { kind, op, target, summary, payload };
}

/** The teardown, in the order it must run (pure). Nothing in Cloudflare goes while the host is unknown. */
export function diffPrune(customer: string, observed: PruneObserved): PruneAction[] {
  const host = observed.host;
  if (!host) return [];
  const out: PruneAction[] = [];
  for (const p of host.projects) out.push(action('stack', 'compose-down', `stack:${p}`, `docker compose -p ${p} down (containers and the project's own networks; data volumes and the checkout stay)`));
  for (const f of host.secretFiles) out.push(action(f.includes(CLOUDFLARED_DIR) ? 'cloudflared' : 'stack', 'remove-file', `file:${f}`, `remove ${f} (it holds secrets)`, { path: f }));
  if (host.cloudflared === 'container') out.push(action('cloudflared', 'remove-service', `container:${containerName(customer)}`, `remove the cloudflared container ${containerName(customer)}`));
  if (host.cloudflared === 'launchd') out.push(action('cloudflared', 'remove-service', `launchd:${LAUNCHD_LABEL}`, `launchctl bootout system/${LAUNCHD_LABEL} and remove ${LAUNCHD_PLIST}`));
  for (const n of host.networks) out.push(action('stack', 'remove-network', `network:${n}`, `remove the docker network ${n}`));
  const zone = observed.zoneId ? { zoneId: observed.zoneId } : {};
  for (const r of observed.dns) out.push(action('dns', 'delete', `dns:${r.name}`, `delete ${r.type} ${r.name} (its comment says axe owns it for ${customer})`, { id: r.id, ...zone }));
  const t = observed.tunnel;
  if (t) out.push(action('tunnel', 'delete', `tunnel:${t.name}`, `delete tunnel ${t.name} (${t.id}); its credentials stay in the vault (vault items are never pruned)`, { id: t.id }));
  return out;
}

export async function observePrune(env: ReconcileEnv, id: string): Promise<PruneObserved> {
  const customer = env.state.customers.customers[id];
  if (!customer) throw terminal(`customer ${id} is not in the revision given to prune`, { customer: id, fix: 'prune with the last revision that declared the customer' });
  // The customer as the previous revision declared it.
  const ctx = newContext(env, id, customer);
  const [tunnels, records, zoneId] = env.providers.cloudflare ? await Promise.all([env.scan.tunnels(), env.scan.dns(), env.scan.zoneId()]) : [[], [], null];
  const tunnel = tunnels.filter((t) => t.name === tunnelName(id)).sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''))[0] ?? null;
  let host: PruneHostObserved | null = null;
  let hostError: string | null = null;
  try {
    const connection = await env.providers.hosts.connection(ctx.target);
    const files = secretPaths(ctx);
    const batch = await runBatch(connection, [observeSection(id, files, env.providers.hosts.toolPaths)]);
    const section = batch.get('prune');
    if (!section) throw new Error('the observation did not come back');
    host = parseObservation(section.output, id, files);
  } catch (error) {
    hostError = `the host ${customer.tailscale_host} could not be observed: ${errorLine(error)}`;
  }
  return {
    tunnel: tunnel ? { id: tunnel.id, name: tunnel.name } : null,
    dns: records.filter((r) => ownedBy(r, id)).map((r) => ({ id: r.id, type: r.type, name: r.name })),
    zoneId,
    host,
    hostError,
  };
}

function hostScript(customer: string, a: PruneAction, toolPaths: readonly string[]): string {
  const docker = requireTool('docker', toolPaths);
  switch (a.op) {
    case 'compose-down':
      return `${docker}\n${line(compose(a.target.slice('stack:'.length), []).down(false, 20))}`;
    case 'remove-file':
      return line(fs.removeForce(path(a.payload.path!)));
    case 'remove-service':
      if (a.target.startsWith('launchd:')) {
        return [
          `/usr/bin/sudo -n /bin/launchctl bootout system/${LAUNCHD_LABEL} 2>/dev/null || true`,
          `/usr/bin/sudo -n /bin/rm -f ${LAUNCHD_PLIST} || { echo "sudo without a password is needed to remove ${LAUNCHD_PLIST}" >&2; exit ${EXIT.sudoPassword.code}; }`,
        ].join('\n');
      }
      return `${docker}\n${line(dockerCli.removeForce(containerName(customer)))} >/dev/null`;
    case 'remove-network': {
      // Gone already is done.
      const n = a.target.slice('network:'.length);
      const rm = line(dockerCli.removeObject('network', n));
      return `${docker}\n${rm} >/dev/null 2>&1 || ! ${line(dockerCli.inspectObject('network', n))} >/dev/null 2>&1 || ${rm}`;
    }
    default:
      throw new Error(`no host script for ${a.op}`);
  }
}

export async function actPrune(env: ReconcileEnv, id: string, a: PruneAction): Promise<void> {
  const customer = env.state.customers.customers[id]!;
  if (a.kind === 'dns' || a.kind === 'tunnel') {
    const cloudflare = env.providers.cloudflare;
    if (!cloudflare) throw transient(`Cloudflare is not configured: cannot ${a.summary}`, { customer: id, resource: a.kind });
    if (a.kind === 'dns') await cloudflare.deleteDnsRecord(a.payload.zoneId!, a.payload.id!);
    else await cloudflare.deleteTunnel(a.payload.id!);
    return;
  }
  const connection = await env.providers.hosts.connection(env.providers.hosts.target(customer.tailscale_host, customer.ssh_user));
  const fix = `see the host ${customer.tailscale_host}`;
  await runScript(connection, hostScript(id, a, env.providers.hosts.toolPaths), { what: a.summary, customer: id, resource: a.kind, timeoutMs: 120_000, fix });
}

export interface PruneResult {
  customer: string;
  /** Planned (apply: false), or left after applying. */
  actions: PruneAction[];
  applied: PruneAction[];
  /** The step that failed, with what it left; null when none did. */
  error: string | null;
}

/**
 * Observes, plans and (with `apply`) tears down in order, stopping at the
 * first failure (what is left is then in `actions`); observes again after.
 */
export async function pruneCustomer(env: ReconcileEnv, id: string, options: { apply: boolean; onAction?: (a: PruneAction) => void }): Promise<PruneResult> {
  let observed = await observePrune(env, id);
  if (!observed.host) return { customer: id, actions: [], applied: [], error: `${observed.hostError}; nothing was pruned (the tunnel and DNS stay until the host is torn down first)` };
  let actions = diffPrune(id, observed);
  const applied: PruneAction[] = [];
  let error: string | null = null;
  if (options.apply && actions.length > 0) {
    for (const a of actions) {
      options.onAction?.(a);
      try {
        await actPrune(env, id, a);
        applied.push(a);
      } catch (caught) {
        error = `${a.kind} ${a.op} ${a.target}: ${errorLine(caught)}; left: ${actions.length - applied.length} step(s) not done, nothing after this step was touched`;
        break;
      }
    }
    for (const key of [SCAN_KEYS.tunnels, SCAN_KEYS.dns]) env.scan.drop(key);
    observed = await observePrune(env, id);
    actions = observed.host ? diffPrune(id, observed) : actions.slice(applied.length);
  }
  return { customer: id, actions, applied, error };
}
