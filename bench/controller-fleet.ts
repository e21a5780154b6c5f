/**
 * The controller over a fleet of 100 customers in the lab (bench/fleet-lab.ts:
 * real sshd hosts, the Cloudflare emulator and edge, the Tailscale stand-in,
 * the file vault). 50 customers have a lab host (exposure only: host, tunnel,
 * DNS, cloudflared as a container); 50 more name a Mac mini that is not in
 * the tailnet (offline). After converging, 90 are observe-only and 10 apply.
 *
 * Prints:
 * - first convergence of the fleet by the controller (wall);
 * - no-op drift scan of the 50 lab hosts (+ 50 offline), at the configured
 *   concurrency and at 16 (target <= 3 s);
 * - webhook (signed push) to reconcile start, in-process and as a process
 *   (target <= 1 s);
 * - idle RSS and CPU of the controller process with 100 customers, from its
 *   own /metrics over 60 s (target RSS <= 150 MB), run from the build (dist/).
 *
 *   sudo node --expose-gc --import tsx bench/controller-fleet.ts [--hosted 50] [--offline 50] [--idle-seconds 60] [--no-build] [--acct]
 *
 * `--acct` also lists every command that ran over the scans, with its count and
 * CPU (needs acct: accton, sa).
 */
import { execFile, spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { Secret } from '../core/secret.js';
import { createLogger } from '../controller/logger.js';
import { openController } from '../controller/run.js';
import { signBody } from '../controller/webhook.js';
import { configRepoPaths } from '../lab/config-repo.js';
import { operatorPaths } from '../lab/operator.js';
import { openVault } from '../providers/vault/index.js';
import { ControllerConfig } from '../schemas/controller-config.js';
import { startFleetLab } from './fleet-lab.js';
import { machineLine } from './machine.js';
import { freePort } from '../test/helpers.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const arg = (name: string, fallback: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) || fallback : fallback);
const idleSeconds = arg('--idle-seconds', 60);
const build = !argv.includes('--no-build');
const HOSTED = arg('--hosted', 50);
const OFFLINE = arg('--offline', 50);

function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@axe.invalid', ...args], { cwd });
  return stdout.trim();
}


/** 50 hosted + 50 offline customers, exposure only (sovereign: no service slots). */
function fleetYaml(hosted: string[], offline: string[], observe: Set<string>): string {
  const block = (id: string) => ({
    legal_name: `Bench ${id}`,
    primary_domain: `${id}.example.com`,
    public_domain: `${id}.axelabs.ai`,
    entities: [id],
    tailscale_host: `${id}-macmini.tail-lab.ts.net`,
    ...(observe.has(id) ? { policy: { mode: 'observe' } } : {}),
  });
  return `# controller bench: ${hosted.length} hosted + ${offline.length} offline customers\n${stringify({ customers: Object.fromEntries([...hosted, ...offline].map((id) => [id, block(id)])), services: {} })}`;
}

function metric(text: string, name: string): number | null {
  const l = text.split('\n').find((x) => x.startsWith(`${name} `));
  return l ? Number(l.split(' ')[1]) : null;
}

/** Mean reconcile time per kind from the controller's own histogram (all passes so far). */
async function kindTimes(c: { metrics: { registry: { getSingleMetric(n: string): unknown } } }): Promise<string> {
  const h = c.metrics.registry.getSingleMetric('axe_reconcile_duration_seconds') as { get(): Promise<{ values: Array<{ metricName?: string; labels: Record<string, string>; value: number }> }> };
  const { values } = await h.get();
  const sum = new Map<string, number>();
  const count = new Map<string, number>();
  for (const v of values) {
    const kind = v.labels.kind!;
    if (v.metricName?.endsWith('_sum')) sum.set(kind, (sum.get(kind) ?? 0) + v.value);
    if (v.metricName?.endsWith('_count')) count.set(kind, (count.get(kind) ?? 0) + v.value);
  }
  return [...sum].map(([k, s]) => `${k} ${Math.round((s / (count.get(k) || 1)) * 1000)} ms`).join(', ');
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CPU seconds (own + reaped children) of every live process, by pid, with a label. */
async function cpuSnapshot(): Promise<Map<number, { label: string; seconds: number }>> {
  const out = new Map<number, { label: string; seconds: number }>();
  const { readdir } = await import('node:fs/promises');
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      let label = comm;
      // A process in a container (the stand-ins' healthchecks and services) is the lab's, not a host session's.
      const cgroup = await readFile(`/proc/${entry}/cgroup`, 'utf8').catch(() => '');
      if (Number(entry) === process.pid) label = 'controller (this process)';
      else if (/\/docker[/-]/.test(cgroup)) label = 'processes inside lab containers (healthchecks, services)';
      else if (comm === 'node') {
        const cmd = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ');
        label = cmd.includes('/app/') ? 'node in lab containers' : cmd.includes('/lab/') ? 'lab stand-ins (node)' : 'node (other)';
      } else if (/^(sshd|sh|bash|dash)$/.test(comm)) label = 'sshd sessions (with their commands)';
      else if (/^(containerd-shim|runc|containerd)/.test(comm)) label = 'containerd, shims, runc';
      out.set(Number(entry), { label, seconds: ticks / 100 });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * `--acct`: the kernel's process accounting (acct's accton and sa, as root)
 * over the scans: every process that exited, its CPU summed by command name,
 * so the hosts' side of a scan (sshd, sh, docker, git...) is broken down.
 */
async function startAccounting(): Promise<{ stop(): Promise<string> }> {
  const file = join(tmpdir(), `axe-bench-pacct-${process.pid}`);
  await writeFile(file, '', { mode: 0o600 });
  await exec('accton', [file]);
  return {
    async stop() {
      await exec('accton', ['off']);
      const { stdout } = await exec('sa', ['-a', '--print-seconds', '--dont-read-summary-files', '--separate-times', file]);
      await rm(file, { force: true });
      // Lines: calls, real, user, sys, avio, mem, command (the first line is the total).
      const rows = stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).map((f) => ({ calls: Number(f[0]), cpu: parseFloat(f[2]!) + parseFloat(f[3]!), name: f.slice(6).join(' ') }));
      // Every command, most started first: the counts are the figure (sa's CPU is coarse); `name*`: forked, no exec.
      return rows.sort((a, b) => b.calls - a.calls || b.cpu - a.cpu).map((r) => `${r.name} ${r.cpu.toFixed(1)} s/${r.calls}`).join(', ');
    },
  };
}

/** Where the machine's CPU went between two snapshots, by label (largest first). */
function cpuBreakdown(before: Map<number, { label: string; seconds: number }>, after: Map<number, { label: string; seconds: number }>): string {
  const by = new Map<string, number>();
  for (const [pid, a] of after) by.set(a.label, (by.get(a.label) ?? 0) + a.seconds - (before.get(pid)?.seconds ?? 0));
  return [...by].filter(([, s]) => s >= 0.05).sort((x, y) => y[1] - x[1]).slice(0, 8).map(([l, s]) => `${l} ${s.toFixed(1)} s`).join(', ');
}

interface PhaseContext {
  configPath: string;
  home: string;
  path: string;
  push(text: string, message: string): Promise<string>;
  hosted: string[];
  offline: string[];
  secret: Secret;
  round: string;
}

/** Runs the controller as a process, measures webhook latency from its log, then idle RSS and CPU from its /metrics; stops it. */
async function processPhase(label: string, args: string[], ctx: PhaseContext): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const lines: Array<{ msg: string; time: string; customer?: string; fetch_ms?: number; export_ms?: number; load_ms?: number }> = [];
  const child = spawn(process.execPath, [...args, 'controller', '--config', ctx.configPath, '--listen', `127.0.0.1:${port}`], { env: { ...process.env, AXE_HOME: ctx.home }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let buffer = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const l = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          lines.push(JSON.parse(l));
        } catch {
          /* not JSON */
        }
      }
    });
    const deadline = Date.now() + 300_000;
    for (;;) {
      const s = (await fetch(`${base}/status`).then((r) => r.json()).catch(() => null)) as { queue?: { depth: number; inFlight: number } } | null;
      if (s?.queue && s.queue.depth === 0 && s.queue.inFlight === 0 && lines.some((l) => l.msg === 'controller started')) break;
      if (Date.now() > deadline) throw new Error('the controller process did not settle');
      await sleep(500);
    }
    const plat: number[] = [];
    const parts: Array<{ fetch: number; exp: number; load: number; queue: number }> = [];
    for (let i = 0; i < 5; i += 1) {
      const target = ctx.hosted[(5 + i) % ctx.hosted.length]!;
      const text = (await readFile(ctx.path, 'utf8')).replace(new RegExp(`legal_name: Bench ${target}( \\S+)?\n`), `legal_name: Bench ${target} ${ctx.round}${i}\n`);
      const head = await ctx.push(text, `rename ${target}`);
      const body = JSON.stringify({ ref: 'refs/heads/main', after: head });
      const from = lines.length;
      const sent = Date.now();
      await fetch(`${base}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signBody(ctx.secret, body) }, body });
      for (;;) {
        const hit = lines.slice(from).find((l) => l.msg === 'reconcile started' && l.customer === target);
        if (hit) {
          plat.push(Date.parse(hit.time) - sent);
          const applied = lines.slice(from).find((l) => l.msg === 'revision applied');
          if (applied) parts.push({ fetch: applied.fetch_ms ?? 0, exp: applied.export_ms ?? 0, load: applied.load_ms ?? 0, queue: Date.parse(hit.time) - Date.parse(applied.time) });
          break;
        }
        if (Date.now() - sent > 10_000) throw new Error('no reconcile start within 10 s');
        await sleep(5);
      }
      await sleep(1500);
    }
    line(`[${label}] webhook → reconcile start (process, from its log): ${plat.map((l) => `${l} ms`).join(', ')} (median ${median(plat)} ms)`);
    if (parts.length) line(`  median: git fetch ${median(parts.map((p) => p.fetch))} ms, export ${median(parts.map((p) => p.exp))} ms, load and validate ${median(parts.map((p) => p.load))} ms, applied → reconcile start ${median(parts.map((p) => p.queue))} ms`);
    await sleep(5_000);
    const m0 = await (await fetch(`${base}/metrics`)).text();
    const t1 = Date.now();
    await sleep(idleSeconds * 1000);
    const m1 = await (await fetch(`${base}/metrics`)).text();
    const wall = (Date.now() - t1) / 1000;
    const cpu = (metric(m1, 'process_cpu_seconds_total')! - metric(m0, 'process_cpu_seconds_total')!) / wall;
    const rss = metric(m1, 'process_resident_memory_bytes')! / 1024 / 1024;
    const heap = metric(m1, 'nodejs_heap_size_used_bytes')! / 1024 / 1024;
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    const vmHwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    line(`[${label}] idle over ${wall.toFixed(0)} s with ${ctx.hosted.length + ctx.offline.length} customers (90 observe-only, 50 offline): RSS ${rss.toFixed(1)} MB (peak ${vmHwm.toFixed(1)} MB; target <= 150 MB), heap used ${heap.toFixed(1)} MB, CPU ${(cpu * 100).toFixed(2)} %${build ? ' (from dist/)' : ' (under tsx)'}`);
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const lab = await startFleetLab(HOSTED, (m) => process.stderr.write(`  lab: ${m}\n`));
  try {
    line(await machineLine());
    line(`lab up: ${HOSTED} hosts in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const hosted = lab.ids;
    const offline = Array.from({ length: OFFLINE }, (_, i) => `${hosted[0]!.slice(0, 5)}off${String(i + 1).padStart(2, '0')}`);
    const clone = configRepoPaths(lab.stateDir).clone;
    const path = join(clone, 'customers.yaml');
    const push = async (text: string, message: string): Promise<string> => {
      await writeFile(path, text);
      await git(clone, 'commit', '-qam', message);
      await git(clone, 'push', '-q', 'origin', 'HEAD:main');
      return git(clone, 'rev-parse', 'HEAD');
    };
    await push(fleetYaml(hosted, offline, new Set()), 'bench fleet: every customer in apply');

    const configPath = operatorPaths(lab.stateDir).config;
    const config = ControllerConfig.parse({ ...(parse(await readFile(configPath, 'utf8')) as object), drift_schedule: '0 0 1 1 *' });
    await writeFile(configPath, stringify(config), { mode: 0o600 });
    const secret = new Secret('bench-webhook-secret-0123456789');
    await openVault(config.vault, {}).put({ name: config.repo.webhook_secret, service: 'controller', customer: 'operator', value: secret });
    const home = operatorPaths(lab.stateDir).home;
    const sink = new Writable({ write: (_c, _e, done) => done() });

    // ---- in-process: convergence, no-op scans, webhook latency
    const running = await openController({ config, vault: config.vault, zone: config.cloudflare.zone, axeHome: home, listen: '127.0.0.1:0', driftSchedule: false, log: createLogger({ destination: sink }) });
    const c = running.controller;
    let t = Date.now();
    const healthy = (): number => c.status().customers.filter((x) => x.resources.every((r) => r.sync === 'Synced' && r.health === 'Healthy')).length;
    const converge = Date.now() + 600_000;
    while (healthy() < HOSTED && Date.now() < converge) await sleep(1000);
    line(`first convergence (${hosted.length + offline.length} customers, concurrency ${config.concurrency}): ${((Date.now() - t) / 1000).toFixed(1)} s until ${healthy()} of the ${HOSTED} hosted customers were Synced and Healthy (the ${OFFLINE} offline ones cannot be)`);
    const stuck = new Map<string, number>();
    for (const x of c.status().customers.filter((y) => hosted.includes(y.customer))) {
      for (const r of x.resources) {
        if (r.sync === 'Synced' && r.health === 'Healthy') continue;
        const key = `${r.kind} ${r.sync}/${r.health} ${r.reason}: ${r.message.replaceAll(x.customer, '{id}').slice(0, 160)}`;
        stuck.set(key, (stuck.get(key) ?? 0) + 1);
      }
    }
    if (stuck.size) line(`  not converged: ${[...stuck].map(([k, n]) => `${n}× ${k}`).join('; ')}`);
    await c.queue.idle();

    const observe = new Set([...hosted.slice(10), ...offline]);
    await push(fleetYaml(hosted, offline, observe), 'bench fleet: 90 observe-only');
    await c.sync('manual');
    await c.queue.idle();
    const scans: number[] = [];
    const acct = argv.includes('--acct') ? await startAccounting() : null;
    const cpu0 = await cpuSnapshot();
    for (let i = 0; i < 3; i += 1) {
      const actions = c.history.events({ types: ['action'], limit: 100_000 }).length;
      const scan = await c.driftScan();
      const after = c.history.events({ types: ['action'], limit: 100_000 }).length;
      scans.push(scan.durationMs);
      if (after !== actions) line(`  (scan ${i + 1} acted: ${after - actions} action(s) — not a no-op)`);
    }
    const cpuScans = cpuBreakdown(cpu0, await cpuSnapshot());
    line(`no-op drift scan, ${HOSTED} lab hosts + ${OFFLINE} offline, concurrency ${config.concurrency}: ${scans.map((s) => `${s} ms`).join(', ')} (median ${median(scans)} ms; target <= 3000 ms)`);
    line(`  CPU of the machine over those 3 scans (2 CPUs): ${cpuScans}`);
    if (acct) line(`  CPU by command over those 3 scans (process accounting, processes that exited): ${await acct.stop()}`);
    const perKind = await kindTimes(c);
    const tail: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const ts = Date.now();
      await c.providers!.tailnet();
      tail.push(Date.now() - ts);
    }
    line(`  where a scan's time goes (mean per customer): ${perKind}; the Tailscale stand-in answers in ${tail.join(', ')} ms (a node process; the real CLI answers in ~20 ms)`);

    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      const before = process.memoryUsage().rss;
      c.providers!.hosts.close();
      await sleep(1_000);
      gc();
      line(`  the ${HOSTED} pooled SSH connections held ${((before - process.memoryUsage().rss) / 1048576).toFixed(1)} MB of RSS (measured by closing them)`);
    }

    const latencies: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const target = hosted[i]!;
      const text = (await readFile(path, 'utf8')).replace(`legal_name: Bench ${target}\n`, `legal_name: Bench ${target} v${i}\n`);
      const head = await push(text, `rename ${target}`);
      const started = new Promise<number>((resolve) => {
        const on = (e: { customer: string; at: number }) => {
          if (e.customer !== target) return;
          c.off('reconcile-start', on);
          resolve(e.at);
        };
        c.on('reconcile-start', on);
      });
      const body = JSON.stringify({ ref: 'refs/heads/main', after: head });
      const sent = Date.now();
      await fetch(`${running.url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signBody(secret, body) }, body });
      latencies.push((await started) - sent);
      await c.queue.idle();
    }
    line(`webhook → reconcile start (in-process): ${latencies.map((l) => `${l} ms`).join(', ')} (median ${median(latencies)} ms; target <= 1000 ms)`);
    await running.stop();

    // ---- the same at concurrency 16
    const config16 = ControllerConfig.parse({ ...config, concurrency: 16 });
    const r16 = await openController({ config: config16, vault: config.vault, zone: config.cloudflare.zone, axeHome: home, listen: '127.0.0.1:0', driftSchedule: false, log: createLogger({ destination: sink }) });
    await r16.controller.queue.idle();
    const scans16: number[] = [];
    for (let i = 0; i < 3; i += 1) scans16.push((await r16.controller.driftScan()).durationMs);
    line(`no-op drift scan at concurrency 16: ${scans16.map((s) => `${s} ms`).join(', ')} (median ${median(scans16)} ms)`);
    await r16.stop();

    // ---- as a process (from the build): idle RSS and CPU, webhook latency from its log
    if (build) {
      t = Date.now();
      await exec('npm', ['run', '--silent', 'build'], { cwd: ROOT });
      line(`build (npm run build: tsc and the SDK bundle → dist/): ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    const entry = build ? [join(ROOT, 'dist', 'cli', 'main.js')] : [...process.execArgv, join(ROOT, 'cli', 'main.ts')];
    for (const [label, flags] of [['node defaults', []], ['as shipped (NODE_OPTIONS=--max-semi-space-size=2)', ['--max-semi-space-size=2']]] as Array<[string, string[]]>) {
      await processPhase(label, [...flags, ...entry], { configPath, home, path, push, hosted, offline, secret, round: label.startsWith('node') ? 'p' : 'q' });
    }
  } finally {
    await lab.close();
  }
}

await main();
