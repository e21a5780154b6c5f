/**
 * How cloudflared runs on a host, for both service managers: a LaunchDaemon
 * in launchd's system domain on macOS (a gui/ LaunchAgent fails over SSH
 * without a GUI login: the runbook's trap), or a container on a host with
 * Docker and no launchd (the lab's hosts). What is read of it are facts
 * (providers/host/facts/), what (re)starts it is a script file
 * (providers/host/scripts/cloudflared-*.sh) with its arguments.
 *
 * Rules:
 * - Pure functions of their inputs; no secret is ever in a script: the
 *   credentials file is written separately, over stdin.
 * - Tools are called by absolute path (the non-login PATH trap).
 */
import { docker } from '../../providers/host/commands/docker.js';
import { path } from '../../providers/host/commands/quote.js';
import { chooseManager, managerIs } from '../../providers/host/commands/service-manager.js';
import { requireTool } from '../../providers/host/commands/tools.js';
import { containerFact, type ContainerFact } from '../../providers/host/facts/container.js';
import { factsSection, type FactValues, readFacts, when } from '../../providers/host/facts/fact.js';
import { filesFact, type HostFileSums, inDir } from '../../providers/host/facts/files.js';
import { managerFact } from '../../providers/host/facts/host.js';
import { guiJobFact, httpOkFact, systemJobFact, textFileFact } from '../../providers/host/facts/launchd.js';
import type { HostSection } from '../../providers/host/sections.js';
import { withArgv } from '../../providers/host/scripts.js';
import { CLOUDFLARED_DIR, type ServiceManager } from './diff.js';

export const LAUNCHD_LABEL = 'ai.axelabs.cloudflared';
export const LAUNCHD_PLIST = `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;
export const LOADED_FILE = '.loaded';

export function containerName(customer: string): string {
  return `axe-cloudflared-${customer}`;
}

export const SERVICE_HASH_LABEL = 'ai.axelabs.axe.service-hash';

/** The files axe pushes into the cloudflared directory (CLOUDFLARED_DIR). */
const PUSHED_FILES = ['config.yml', 'credentials.json'] as const;

/** What is read of cloudflared on a host: one fact each (the guards choose by the manager the prelude found). */
function facts(customer: string, metricsPort: number, sums?: HostFileSums) {
  const launchd = managerIs('launchd');
  return {
    manager: managerFact('manager'),
    files: filesFact('files', path(`~/${CLOUDFLARED_DIR}`), PUSHED_FILES, inDir(sums, `~/${CLOUDFLARED_DIR}`)),
    job: when(launchd, systemJobFact('job', LAUNCHD_LABEL)),
    ready: when(launchd, httpOkFact('ready', `http://127.0.0.1:${metricsPort}/ready`, 3)),
    loaded: when(launchd, textFileFact('loaded', path(`~/${CLOUDFLARED_DIR}/${LOADED_FILE}`))),
    gui: when(launchd, guiJobFact('gui', LAUNCHD_LABEL)),
    container: when(managerIs('container'), containerFact('container', containerName(customer))),
  };
}
type CloudflaredFacts = FactValues<ReturnType<typeof facts>>;

/** The read-only section of the host's batch: file hashes and modes, the manager, the service state and its hash. */
export function observeSection(name: string, customer: string, manager: 'auto' | ServiceManager, metricsPort: number, toolPaths: readonly string[], sums?: HostFileSums): HostSection {
  return factsSection(name, facts(customer, metricsPort, sums), chooseManager(manager, toolPaths));
}

export interface ServiceObservation {
  manager: ServiceManager | 'none';
  config: { sha256: string; mode: string } | null;
  credentials: { sha256: string; mode: string } | null;
  state: 'running' | 'stopped' | 'missing';
  ready: boolean | null;
  hash: string | null;
  guiDomain: boolean;
}

function fromContainer(c: ContainerFact | null): Pick<ServiceObservation, 'state' | 'ready' | 'hash'> {
  if (!c) return { state: 'missing', ready: null, hash: null };
  return { state: c.state === 'running' ? 'running' : 'stopped', ready: c.health ? c.health === 'healthy' : null, hash: c.labels[SERVICE_HASH_LABEL] || null };
}

/** The observation from the facts (pure). */
export function observation(f: CloudflaredFacts): ServiceObservation {
  const manager = f.manager;
  const service =
    manager === 'launchd'
      ? f.job === 'missing'
        ? { state: 'missing' as const, ready: null, hash: null }
        : { state: f.job, ready: f.ready, hash: f.loaded }
      : fromContainer(f.container);
  return { manager, config: f.files.get('config.yml') ?? null, credentials: f.files.get('credentials.json') ?? null, ...service, guiDomain: manager === 'launchd' && f.gui };
}

/** Parses the section's output (pure). */
export function parseObservation(output: string, customer: string, metricsPort: number, sums?: HostFileSums): ServiceObservation {
  return observation(readFacts(output, facts(customer, metricsPort, sums)));
}

export interface StartSpec {
  customer: string;
  manager: ServiceManager;
  serviceHash: string;
  tunnelId: string;
  image: string;
  publish: readonly string[];
  metricsPort: number;
  toolPaths: readonly string[];
}

/** What decides how the service runs (part of its hash): a change restarts it. */
export function serviceSpec(manager: string, image: string, publish: readonly string[], metricsPort: number): string {
  return JSON.stringify({ manager, image, publish, metricsPort });
}

/** The `docker run -d` of the cloudflared container. */
export function runArgv(spec: StartSpec) {
  return docker.runDetached({
    name: containerName(spec.customer),
    restart: 'unless-stopped',
    labels: [`ai.axelabs.axe.customer=${spec.customer}`, 'ai.axelabs.axe.service=cloudflared', `ai.axelabs.axe.tunnel=${spec.tunnelId}`, `${SERVICE_HASH_LABEL}=${spec.serviceHash}`],
    network: `axe-${spec.customer}`,
    publish: spec.publish,
    volumes: [path(`~/${CLOUDFLARED_DIR}:/etc/cloudflared:ro`)],
    image: spec.image,
    args: ['tunnel', '--no-autoupdate', '--config', '/etc/cloudflared/config.yml', '--credentials-file', '/etc/cloudflared/credentials.json', '--metrics', '0.0.0.0:2000', 'run'],
  });
}

/** (Re)starts cloudflared with the files in ~/.axe/cloudflared; waits up to `waitSeconds` for readiness. */
export function startScript(spec: StartSpec, waitSeconds = 30): string {
  if (spec.manager === 'launchd') {
    const args = [LAUNCHD_LABEL, LAUNCHD_PLIST, launchdPlist('@CLOUDFLARED@', '@HOME@', '@USER@', spec.metricsPort), spec.serviceHash, String(spec.metricsPort), String(waitSeconds)];
    return `${requireTool('cloudflared', spec.toolPaths)}\n${withArgv('cloudflared-launchd.sh', args)}`;
  }
  const args = [containerName(spec.customer), `axe-${spec.customer}`, spec.customer, String(waitSeconds)];
  return `${requireTool('docker', spec.toolPaths)}\n${withArgv('cloudflared-container.sh', [...args, ...runArgv(spec)])}`;
}

/** The LaunchDaemon plist (system domain, runs as the axe user). */
export function launchdPlist(cloudflared: string, home: string, user: string, metricsPort: number): string {
  const dir = `${home}/${CLOUDFLARED_DIR}`;
  const args = [cloudflared, 'tunnel', '--no-autoupdate', '--config', `${dir}/config.yml`, '--credentials-file', `${dir}/credentials.json`, '--metrics', `127.0.0.1:${metricsPort}`, 'run'];
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0"><dict>',
    `  <key>Label</key><string>${LAUNCHD_LABEL}</string>`,
    '  <key>ProgramArguments</key><array>',
    ...args.map((a) => `    <string>${esc(a)}</string>`),
    '  </array>',
    `  <key>UserName</key><string>${esc(user)}</string>`,
    '  <key>RunAtLoad</key><true/>',
    '  <key>KeepAlive</key><true/>',
    `  <key>StandardErrorPath</key><string>${esc(home)}/${CLOUDFLARED_DIR}/cloudflared.log</string>`,
    '</dict></plist>',
    '',
  ].join('\n');
}
