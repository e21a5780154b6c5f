/**
 * No-op plan over N lab customers (default 50; exposure only: no service
 * slots): converges the fleet first (host, tunnel, DNS, cloudflared, vault
 * items), then times a plan that finds nothing to do, in process: cold (a
 * first-ever run: SSH connects, bw --version and compose version on every
 * host), cli (a new env with the probe memo on disk) and warm (the
 * controller's next scan: connections kept, a fresh observation), with wall
 * time, SSH connections and round trips per host, and Cloudflare calls (the
 * SDK's count and the emulator's). Then, as an operator runs it, a new `axe
 * plan` process (bin/axe.js, the build in dist/) for the same kinds: through
 * a running controller (started here, in this process, over the same lab)
 * and with `--local`, the median of `--runs` (default 5) each, interleaved;
 * and pyinfra's figure for the same hosts when `pyinfra` is on PATH (a
 * `--dry` run reading the same host facts), else a line saying there is none.
 *
 *   npm run build && sudo node --import tsx bench/plan-noop.ts [N] [--runs R] [--profile FILE]
 *
 * `--profile FILE` writes a CPU profile of this process over the warm scan
 * (FILE.cpuprofile, for Chrome's DevTools) and prints its 15 costliest
 * functions by self time.
 *
 * Targets (issue 4): 1 connection per host, <= 2 round trips per host,
 * Cloudflare calls independent of N, wall <= 3 s; (issue 13) a new `axe plan`
 * of 50 hosts at least 5x faster than pyinfra checking the same state.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { loadSettings } from '../cli/settings.js';
import { createLogger } from '../controller/logger.js';
import { openController } from '../controller/run.js';
import { readRegistry } from '../lab/hosts/registry.js';
import type { CustomerResult } from '../reconcilers/engine.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import { withFreshScan } from '../reconcilers/env.js';
import type { Kind } from '../reconcilers/types.js';
import { type FleetLab, startFleetLab } from './fleet-lab.js';
import { machineLine } from './machine.js';

const KINDS: Kind[] = ['host', 'tunnel', 'dns', 'cloudflared', 'vault-items'];
const argv = process.argv.slice(2);
const runsAt = argv.indexOf('--runs');
const RUNS = runsAt >= 0 ? Math.max(1, Number(argv[runsAt + 1]) || 5) : 5;
const count = Number(argv.find((a, i) => /^\d+$/.test(a) && argv[i - 1] !== '--runs') ?? 50);
const profileAt = argv.indexOf('--profile');
const PROFILE = profileAt >= 0 ? argv[profileAt + 1] : undefined;

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }

/** Runs `work` under the V8 CPU profiler; writes FILE.cpuprofile and prints the costliest functions by self time. */
async function profiled<T>(file: string, work: () => Promise<T>): Promise<T> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number } };
    session.disconnect();
    await writeFile(`${file}.cpuprofile`, JSON.stringify(profile));
    const ms = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
    const self = new Map<string, number>();
    for (const node of profile.nodes) {
      const f = node.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|work)\//, '')}:${f.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0) * ms);
    }
    const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 15);
    process.stdout.write(`  profile of the warm scan (${file}.cpuprofile), self time:\n${top.map(([k, v]) => `    ${v.toFixed(0).padStart(6)} ms  ${k}`).join('\n')}\n`);
  }
}

async function emulatorCalls(adminUrl: string): Promise<number> {
  const stats = (await (await fetch(`${adminUrl}/stats`)).json()) as { total: number };
  return stats.total;
}

function pendingList(results: CustomerResult[]): string[] {
  return results.flatMap((r) => r.resources.filter((k) => !k.context && (k.actions.length > 0 || k.error)).map((k) => `${r.customer}/${k.kind}: ${k.error ? k.error.message : k.actions.map((a) => a.op).join(',')}`));
}

function pending(results: CustomerResult[]): number {
  return results.reduce((n, r) => n + r.resources.filter((k) => !k.context).reduce((m, k) => m + k.actions.length + (k.error ? 1 : 0), 0), 0);
}

async function measure(label: string, env: ReconcileEnv, adminUrl: string, run: (env: ReconcileEnv) => Promise<CustomerResult[]>): Promise<void> {
  const sshBefore = env.providers.hosts.stats();
  const cfBefore = env.providers.cloudflare?.stats.calls ?? 0;
  const emuBefore = await emulatorCalls(adminUrl);
  const started = performance.now();
  const results = await run(env);
  const wall = performance.now() - started;
  const ssh = env.providers.hosts.stats();
  const perHost = Object.entries(ssh).map(([key, s]) => ({ connections: s.connections - (sshBefore[key]?.connections ?? 0) + (sshBefore[key] ? 0 : 0), trips: s.roundTrips - (sshBefore[key]?.roundTrips ?? 0) }));
  const newConnections = Object.keys(ssh).filter((k) => !sshBefore[k]).length + Object.entries(ssh).filter(([k, s]) => sshBefore[k] && s.connections > sshBefore[k]!.connections).length;
  const maxTrips = Math.max(...perHost.map((p) => p.trips));
  const emu = (await emulatorCalls(adminUrl)) - emuBefore;
  process.stdout.write(
    `${label.padEnd(6)} wall ${(wall / 1000).toFixed(2)} s | hosts ${Object.keys(ssh).length}, SSH connections opened ${newConnections} (max 1 per host), round trips per host max ${maxTrips} | Cloudflare calls: SDK ${(env.providers.cloudflare?.stats.calls ?? 0) - cfBefore}, emulator saw ${emu} | pending actions ${pending(results)}\n`,
  );
}

const ROOT = join(import.meta.dirname, '..');

/** Runs a command to its end: exit code, stderr, wall ms (stdout dropped). */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Promise<{ code: number; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr, ms: performance.now() - started }));
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** `axe plan` as new processes: through a controller started here over the lab (its warm connections), and --local; medians, interleaved. */
async function planProcesses(fleet: FleetLab, args: string[], runs: number): Promise<{ warm: number; local: number }> {
  const settings = await loadSettings({ config: fleet.env.AXE_CONFIG! }, { ...process.env, ...fleet.env });
  const quiet = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
  const running = await openController({ config: settings.config!, vault: settings.vault, zone: settings.zone, axeHome: settings.home, listen: '127.0.0.1:0', driftSchedule: false, log: quiet, timings: { pollIntervalMs: 0 } });
  try {
    await running.controller.queue.idle();
    const axe = (extra: string[]) => timed(process.execPath, [join(ROOT, 'bin', 'axe.js'), ...args, ...extra], fleet.env);
    const warm: number[] = [];
    const local: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      const w = await axe([]);
      if (!/^plan: by the running controller/m.test(w.stderr) || w.code !== 0) throw new Error(`axe plan did not plan through the controller (exit ${w.code}): ${w.stderr.trim()}`);
      warm.push(w.ms);
      const l = await axe(['--local']);
      if (l.code !== 0) throw new Error(`axe plan --local: exit ${l.code}: ${l.stderr.trim()}`);
      local.push(l.ms);
    }
    return { warm: median(warm), local: median(local) };
  } finally {
    await running.stop();
  }
}

/** pyinfra reading the same hosts' facts (`--dry`: nothing changed), when it is on PATH: the median wall, or why there is no figure. */
async function pyinfraCheck(fleet: FleetLab, runs: number): Promise<{ ms: number; why?: undefined } | { ms: null; why: string }> {
  const found = await timed('pyinfra', ['--version'], {}).catch(() => null);
  if (!found || found.code !== 0) return { ms: null, why: 'pyinfra is not on PATH (it cannot be installed here: PyPI is not reachable and Debian does not package it)' };
  const registry = await readRegistry(fleet.stateDir);
  const hosts = registry.hosts.map((h) => `    (${JSON.stringify(h.name)}, {"ssh_hostname": ${JSON.stringify(h.address)}, "ssh_port": ${h.port}, "ssh_user": ${JSON.stringify(h.user)}, "axe_home": ${JSON.stringify(`${h.home}/.axe`)}})`);
  const inventory = join(fleet.stateDir, 'pyinfra-inventory.py');
  const deploy = join(fleet.stateDir, 'pyinfra-deploy.py');
  await writeFile(inventory, `hosts = (\n  [\n${hosts.join(',\n')}\n  ],\n  {"ssh_key": ${JSON.stringify(registry.keyFile)}, "ssh_known_hosts_file": ${JSON.stringify(registry.knownHosts)}},\n)\n`);
  // What axe's exposure check reads on a host: docker and its containers (cloudflared among them), the ~/.axe tree.
  await writeFile(deploy, 'from pyinfra import host\nfrom pyinfra.facts.docker import DockerContainers\nfrom pyinfra.facts.server import Which\nfrom pyinfra.operations import files\n\nhost.get_fact(Which, command="docker")\nhost.get_fact(DockerContainers)\nfiles.directory(name="axe home", path=host.data.axe_home, present=True)\n');
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const r = await timed('pyinfra', ['-y', '--dry', inventory, deploy], {}, fleet.stateDir);
    if (r.code !== 0) return { ms: null, why: `pyinfra failed (exit ${r.code}): ${r.stderr.trim().split('\n').at(-1)}` };
    times.push(r.ms);
  }
  return { ms: median(times) };
}

/** A new `axe plan` process through the running controller and with --local, then pyinfra's figure (or why there is none). */
async function processes(fleet: FleetLab): Promise<void> {
  const args = ['plan', '--only', KINDS.join(','), '--concurrency', '32'];
  const figures = await planProcesses(fleet, args, RUNS);
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  process.stdout.write(`axe plan process (${args.join(' ')}), median of ${RUNS}: through the running controller ${s(figures.warm)}, --local ${s(figures.local)} (${(figures.local / figures.warm).toFixed(1)}x)\n`);
  const py = await pyinfraCheck(fleet, RUNS);
  process.stdout.write(py.ms === null ? `pyinfra: no figure: ${py.why}\n` : `pyinfra --dry (the same hosts' facts), median of ${RUNS}: ${s(py.ms)}; axe plan through the controller is ${(py.ms / figures.warm).toFixed(1)}x faster, --local ${(py.ms / figures.local).toFixed(1)}x\n`);
}

process.stdout.write(`${await machineLine()}\n`);
if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('the CLI is not built: run npm run build first (the bench runs bin/axe.js)');
const lab = await startFleetLab(count, (m) => process.stderr.write(`  ${m}\n`), { services: [] });
try {
  process.stdout.write(`fleet of ${count} lab customers (state ${lab.stateDir})\n`);
  const setup = await lab.openEnv();
  let started = performance.now();
  const converged = await lab.pass(setup, { apply: true, only: KINDS });
  setup.providers.hosts.close();
  process.stdout.write(`converge (apply) wall ${((performance.now() - started) / 1000).toFixed(1)} s, pending after: ${pending(converged)}\n`);
  for (const line of pendingList(converged).slice(0, 10)) process.stdout.write(`  pending: ${line}\n`);
  started = performance.now();

  const adminUrl = lab.config.cloudflare.api_base_url.replace('/client/v4', '/__lab');
  const cache = join(lab.stateDir, 'operator-cache');
  const plan = (e: ReconcileEnv) => lab.pass(e, { apply: false, only: KINDS, concurrency: 32 });
  // cold: a first-ever run (no probe memo: bw --version and compose version run on every host).
  const cold = await lab.openEnv(cache);
  await measure('cold', cold, adminUrl, plan);
  cold.providers.hosts.close(); // saves the memo, as `axe plan` does on exit
  // cli: a new process (new SSH connections) with the memo on disk: what `axe plan` costs from the second run on.
  const cli = await lab.openEnv(cache);
  await measure('cli', cli, adminUrl, plan);
  // warm: the controller's next scan: connections kept, a fresh observation.
  const warm = () => measure('warm', withFreshScan(cli), adminUrl, plan);
  await (PROFILE ? profiled(PROFILE, warm) : warm());
  cli.providers.hosts.close();
  await processes(lab);
} finally {
  await lab.close();
}
