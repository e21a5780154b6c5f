/**
 * The stack kind's teardown (runtime.ts `Deletion`): every compose project
 * whose containers carry the customer's label goes down (its containers and
 * its own networks; data volumes and the checkout stay), the declared stacks'
 * rendered env files go (they hold secrets), then the networks axe labelled
 * for the customer that no one else's container uses.
 *
 * Links: an env file and a network go after the projects are down; a network
 * after the cloudflared service (its container sits on the customer's network).
 */
import { composeDownScript, removeFileScript, removeNetworkScript } from '../../providers/host/commands/stack.js';
import { findTool, toolPresent } from '../../providers/host/commands/tools.js';
import { runScript } from '../../providers/host/executor.js';
import { COMPOSE_PROJECT, labelledNetworksFact } from '../../providers/host/facts/docker.js';
import { factsSection, readFacts, when } from '../../providers/host/facts/fact.js';
import { existingPathsFact } from '../../providers/host/facts/files-content.js';
import type { HostSection } from '../../providers/host/sections.js';
import { pruneContainersFact } from '../prune-containers.js';
import type { CustomerContext, Deletion } from '../runtime.js';
import { declaredStacks, desiredService } from '../services.js';
import type { Action } from '../types.js';
import { LABELS } from './override.js';

export const STACK_DELETE_SECTION = 'prune-stack';

/** What the stack kind left on the host for the customer. */
export interface StackLeft {
  /** Compose projects with a container labelled for the customer. */
  projects: string[];
  /** The declared stacks' env files still on the host. */
  secretFiles: string[];
  /** Networks labelled for the customer that no one else's container uses. */
  networks: string[];
}

export interface StackDeletePayload {
  path?: string;
}

/** The declared stacks' env files (they hold secrets). */
export function stackSecretPaths(ctx: CustomerContext): string[] {
  return declaredStacks(ctx).flatMap(([name, manifest]) => {
    try {
      const d = desiredService(ctx, name, manifest);
      return [`${d.checkout.replace(/\/+$/, '')}/${d.envFile}`];
    } catch {
      return []; // A stack whose desired state cannot be computed was never rendered.
    }
  });
}

function facts(customer: string, files: readonly string[]) {
  return {
    files: existingPathsFact('files', files),
    networks: when(toolPresent('docker'), labelledNetworksFact('networks', [`${LABELS.customer}=${customer}`])),
  };
}

/** The read-only section: one fact each (docker's as JSON); the containers are the teardown's shared listing (prune-containers.ts). */
export function stackLeftSection(customer: string, files: readonly string[], toolPaths: readonly string[]): HostSection {
  return factsSection(STACK_DELETE_SECTION, facts(customer, files), findTool('D', 'docker', toolPaths));
}

/** What is left, from the section's output and the shared container listing after it (pure). */
export function parseStackLeft(output: string, customer: string, files: readonly string[]): StackLeft {
  const f = readFacts(output, { ...facts(customer, files), containers: pruneContainersFact() });
  const ours = f.containers.filter((c) => c.labels[LABELS.customer] === customer);
  const projects = [...new Set(ours.map((c) => c.labels[COMPOSE_PROJECT] ?? '').filter(Boolean))].sort();
  // A labelled network is ours to remove only when no container of someone else (the customer's own vault) uses it;
  // networks a compose project made go with its `compose down`.
  const networks = f.networks
    .filter((n) => n.labels[LABELS.customer] === customer && !n.labels[COMPOSE_PROJECT])
    .filter((n) => !f.containers.some((c) => c.networks.includes(n.name) && c.labels[LABELS.customer] !== customer))
    .map((n) => n.name);
  return { projects, secretFiles: f.files, networks };
}

/** The stack's teardown (pure). */
export function planStackDelete(left: StackLeft): Action<StackDeletePayload>[] {
  const down = left.projects.map((p): Action<StackDeletePayload> => ({ kind: 'stack', op: 'compose-down', target: `stack:${p}`, summary: `docker compose -p ${p} down (containers and the project's own networks; data volumes and the checkout stay)`, payload: {} }));
  const files = left.secretFiles.map((f): Action<StackDeletePayload> => ({ kind: 'stack', op: 'remove-file', target: `file:${f}`, summary: `remove ${f} (it holds secrets)`, payload: { path: f }, after: ['stack:compose-down'] }));
  const networks = left.networks.map((n): Action<StackDeletePayload> => ({ kind: 'stack', op: 'remove-network', target: `network:${n}`, summary: `remove the docker network ${n}`, payload: {}, after: ['stack:compose-down', 'cloudflared:remove-service'] }));
  return [...down, ...files, ...networks];
}

function script(a: Action<StackDeletePayload>, toolPaths: readonly string[]): string {
  switch (a.op) {
    case 'compose-down':
      return composeDownScript(a.target.slice('stack:'.length), toolPaths);
    case 'remove-file':
      return removeFileScript(a.payload.path!);
    case 'remove-network':
      return removeNetworkScript(a.target.slice('network:'.length), toolPaths);
    default:
      throw new Error(`no host script for stack ${a.op}`);
  }
}

export const stackDeletion: Deletion<StackLeft, StackDeletePayload> = {
  hostSection: (ctx) => stackLeftSection(ctx.id, stackSecretPaths(ctx), ctx.env.providers.hosts.toolPaths),
  observe: async (ctx, host) => parseStackLeft(host, ctx.id, stackSecretPaths(ctx)),
  plan: (_customer, left) => planStackDelete(left),
  async act(ctx, a) {
    const connection = await ctx.env.providers.hosts.connection(ctx.target);
    await runScript(connection, script(a, ctx.env.providers.hosts.toolPaths), { what: a.summary, customer: ctx.id, resource: 'stack', timeoutMs: 120_000, fix: `see the host ${ctx.customer.tailscale_host}` });
  },
};
