/**
 * The cloudflared kind's teardown (runtime.ts `Deletion`): its credentials
 * file (it holds the tunnel's secret) and the service, a container or a
 * LaunchDaemon, whichever the host runs.
 */
import { fs } from '../../providers/host/commands/fs.js';
import { line, path } from '../../providers/host/commands/quote.js';
import { HAS_LAUNCHCTL, removeContainerScript, removeLaunchDaemonScript } from '../../providers/host/commands/service-manager.js';
import { runScript } from '../../providers/host/executor.js';
import { factsSection, readFacts, when } from '../../providers/host/facts/fact.js';
import { existingPathsFact } from '../../providers/host/facts/files-content.js';
import { systemJobFact } from '../../providers/host/facts/launchd.js';
import type { HostSection } from '../../providers/host/sections.js';
import { pruneContainersFact } from '../prune-containers.js';
import type { Deletion } from '../runtime.js';
import type { Action } from '../types.js';
import { CLOUDFLARED_DIR } from './diff.js';
import { LAUNCHD_LABEL, LAUNCHD_PLIST, containerName } from './service.js';

export const CLOUDFLARED_DELETE_SECTION = 'prune-cloudflared';
/** cloudflared's credentials file on the host. */
export const CREDENTIALS_PATH = `~/${CLOUDFLARED_DIR}/credentials.json`;

/** What the cloudflared kind left on the host for the customer. */
export interface CloudflaredLeft {
  /** The credentials file, when still there. */
  secretFiles: string[];
  service: 'container' | 'launchd' | null;
}

export interface CloudflaredDeletePayload {
  path?: string;
}

function facts() {
  return {
    files: existingPathsFact('files', [CREDENTIALS_PATH]),
    launchd: when(HAS_LAUNCHCTL, systemJobFact('launchd', LAUNCHD_LABEL)),
  };
}

/** The read-only section: one fact each; the containers are the teardown's shared listing (prune-containers.ts). */
export function cloudflaredLeftSection(): HostSection {
  return factsSection(CLOUDFLARED_DELETE_SECTION, facts());
}

/** What is left, from the section's output and the shared container listing after it (pure). */
export function parseCloudflaredLeft(output: string, customer: string): CloudflaredLeft {
  const f = readFacts(output, { ...facts(), containers: pruneContainersFact() });
  const name = containerName(customer);
  const service = f.launchd !== 'missing' ? 'launchd' : f.containers.some((c) => c.names.includes(name)) ? 'container' : null;
  return { secretFiles: f.files, service };
}

/** The cloudflared teardown (pure). */
export function planCloudflaredDelete(customer: string, left: CloudflaredLeft): Action<CloudflaredDeletePayload>[] {
  const out: Action<CloudflaredDeletePayload>[] = left.secretFiles.map((f) => ({ kind: 'cloudflared', op: 'remove-file', target: `file:${f}`, summary: `remove ${f} (it holds secrets)`, payload: { path: f } }));
  if (left.service === 'container') out.push({ kind: 'cloudflared', op: 'remove-service', target: `container:${containerName(customer)}`, summary: `remove the cloudflared container ${containerName(customer)}`, payload: {} });
  if (left.service === 'launchd') out.push({ kind: 'cloudflared', op: 'remove-service', target: `launchd:${LAUNCHD_LABEL}`, summary: `launchctl bootout system/${LAUNCHD_LABEL} and remove ${LAUNCHD_PLIST}`, payload: {} });
  return out;
}

function script(customer: string, a: Action<CloudflaredDeletePayload>, toolPaths: readonly string[]): string {
  switch (a.op) {
    case 'remove-file':
      return line(fs.removeForce(path(a.payload.path!)));
    case 'remove-service':
      if (a.target.startsWith('launchd:')) return removeLaunchDaemonScript(LAUNCHD_LABEL, LAUNCHD_PLIST);
      return removeContainerScript(containerName(customer), toolPaths);
    default:
      throw new Error(`no host script for cloudflared ${a.op}`);
  }
}

export const cloudflaredDeletion: Deletion<CloudflaredLeft, CloudflaredDeletePayload> = {
  hostSection: () => cloudflaredLeftSection(),
  observe: async (ctx, host) => parseCloudflaredLeft(host, ctx.id),
  plan: planCloudflaredDelete,
  async act(ctx, a) {
    const connection = await ctx.env.providers.hosts.connection(ctx.target);
    await runScript(connection, script(ctx.id, a, ctx.env.providers.hosts.toolPaths), { what: a.summary, customer: ctx.id, resource: 'cloudflared', timeoutMs: 120_000, fix: `see the host ${ctx.customer.tailscale_host}` });
  },
};
