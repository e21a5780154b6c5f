/**
 * A full-stack fleet in the lab (bench/fleet-lab.ts with `deployable`: N lab hosts
 * with real sshd, Docker and Compose, the Cloudflare emulator and edge, the
 * Tailscale stand-in, the file vault, the service repos): every customer runs the
 * whole stack — host, tunnel, DNS, cloudflared, vault items, frame (postgres, a
 * colour, the proxy), blueprint, hive, its own vault (vaultwarden), entities,
 * ingress, endpoints, backup (restic), checks — converged by the controller
 * in-process (no drift timer). The stand-ins' healthchecks back off once healthy
 * (lab/images/probe.sh), so the converged fleet idles on two CPUs.
 *
 * Prints the machine first (bench/machine.ts), then:
 * - lab up; first convergence (wall, how many customers Synced and Healthy, what is stuck);
 * - the no-op scan of the N customers warm: the controller's drift scan over its kept
 *   connections, RUNS times (each and the median; a scan that acted is named), and
 *   where its time goes: the engine's per-kind timing (mean per customer, from the
 *   controller's axe_reconcile_duration_seconds over those scans);
 * - inside the host kind's time (the host's one batched round trip, which the engine
 *   counts to the first kind that reads it): one customer's sections, each run alone
 *   over a kept connection, and the whole batch (median of RUNS each);
 * - the same as a new `axe plan --local` process (the dist CLI, new SSH connections):
 *   a first run (probe memo not yet on disk), then RUNS more (each and the median);
 * - idle: the health probes' `docker exec`s per container per minute and the
 *   machine's CPU over IDLE seconds with the fleet converged and nothing else of axe running.
 *
 *   flock /tmp/axe-heavy.lock flock /tmp/axe-lab.lock node --import tsx bench/fleet-full.ts [--customers 20] [--concurrency 4] [--runs 3] [--idle-seconds 60] [--no-build]
 *
 * As root (the lab makes its hosts' users). Record (issue 13): the warm scan and the new process of 20.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Controller } from '../controller/manager.js';
import { runBatch } from '../providers/host/executor.js';
import type { HostSection } from '../providers/host/sections.js';
import type { SshTarget } from '../providers/host/ssh.js';
import { reconcileCustomer } from '../reconcilers/engine.js';
import { withFreshScan } from '../reconcilers/env.js';
import { type FleetLab, startFleetLab } from './fleet-lab.js';
import { converged as isConverged, openBenchController } from './fleet-controller.js';
import { machineLine } from './machine.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const arg = (name: string, fallback: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) || fallback : fallback);
const COUNT = arg('--customers', 20);
const CONCURRENCY = arg('--concurrency', 4);
const RUNS = Math.max(3, arg('--runs', 3));
const IDLE_S = arg('--idle-seconds', 60);
const CONVERGE_MS = arg('--converge-minutes', 45) * 60_000;
const build = !argv.includes('--no-build');
const line = (text: string): void => void process.stdout.write(`${text}\n`);
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Histogram = { get(): Promise<{ values: Array<{ metricName?: string; labels: Record<string, string | number>; value: number }> }> };

/** Sum and count of the engine's per-kind reconcile time so far (all results). */
async function kindTotals(c: Controller): Promise<Map<string, { sum: number; count: number }>> {
  const h = c.metrics.registry.getSingleMetric('axe_reconcile_duration_seconds') as unknown as Histogram;
  const out = new Map<string, { sum: number; count: number }>();
  for (const v of (await h.get()).values) {
    const kind = String(v.labels.kind);
    const t = out.get(kind) ?? { sum: 0, count: 0 };
    if (v.metricName?.endsWith('_sum')) t.sum += v.value;
    if (v.metricName?.endsWith('_count')) t.count += v.value;
    out.set(kind, t);
  }
  return out;
}

/** Mean ms per customer and kind between two totals, slowest first. */
function kindSplit(before: Map<string, { sum: number; count: number }>, after: Map<string, { sum: number; count: number }>): string {
  const rows = [...after].map(([kind, a]) => {
    const b = before.get(kind) ?? { sum: 0, count: 0 };
    const n = a.count - b.count;
    return { kind, ms: n > 0 ? ((a.sum - b.sum) / n) * 1000 : 0, n };
  });
  return rows.filter((r) => r.n > 0).sort((x, y) => y.ms - x.ms).map((r) => `${r.kind} ${Math.round(r.ms)} ms`).join(', ');
}

/** CPU seconds of the whole machine (all CPUs, user + system) from /proc/stat. */
async function machineCpu(): Promise<number> {
  const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const f = cpu!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** The fleet's containers (their names carry the lab tag: `{customer}-{service}-…`, cloudflared's too). */
async function fleetContainers(tag: string): Promise<Array<{ name: string; status: string }>> {
  const out = await docker('ps', '--filter', `name=${tag}`, '--format', '{{.Names}}\t{{.Status}}');
  return out.split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string]).map(([name, status]) => ({ name, status }));
}

/**
 * The host's batched round trip taken apart: the sections one customer's plan sends (caught
 * from its scan), each run alone over one kept connection, then all together; median of `runs`.
 */
async function sectionSplit(lab: FleetLab, id: string, runs: number): Promise<string> {
  const env = await lab.openEnv();
  try {
    const fresh = withFreshScan(env);
    let caught: { target: SshTarget; sections: HostSection[] } | null = null;
    const host = fresh.scan.host.bind(fresh.scan);
    fresh.scan.host = (target, sections, only) => {
      caught ??= { target, sections: sections() };
      return host(target, sections, only);
    };
    await reconcileCustomer(fresh, id, { apply: false });
    if (!caught) return 'no host sections were read';
    const { target, sections } = caught as { target: SshTarget; sections: HostSection[] };
    const connection = await env.providers.hosts.connection(target);
    const time = async (batch: HostSection[]): Promise<number> => {
      const ms: number[] = [];
      for (let i = 0; i < runs; i += 1) {
        const t = performance.now();
        await runBatch(connection, batch);
        ms.push(performance.now() - t);
      }
      return Math.round(median(ms));
    };
    const each: Array<[string, number]> = [];
    for (const section of sections) each.push([section.name, await time([section])]);
    const all = await time(sections);
    return `${each.sort((a, b) => b[1] - a[1]).map(([n, ms]) => `${n} ${ms} ms`).join(', ')}; all ${sections.length} in one round trip ${all} ms`;
  } finally {
    env.providers.hosts.close();
  }
}

async function main(): Promise<void> {
  line(await machineLine());
  if (build) {
    const t = performance.now();
    await exec('npm', ['run', '--silent', 'build'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    line(`build (npm run build → dist/, for the CLI runs): ${s(performance.now() - t)}`);
  }
  const t0 = performance.now();
  const lab = await startFleetLab(COUNT, (m) => process.stderr.write(`  lab: ${m}\n`), { deployable: true });
  const tag = lab.ids[0]!.slice(0, 5);
  try {
    line(`lab up: ${COUNT} full-stack customers (frame, blueprint, hive, vaultwarden) in ${s(performance.now() - t0)}`);
    const running = await openBenchController(lab, { ...lab.config, concurrency: CONCURRENCY });
    const c = running.controller;
    try {
      const converged = (id: string): boolean => isConverged(c, id);
      let t = performance.now();
      while (!lab.ids.every(converged) && performance.now() - t < CONVERGE_MS) await sleep(1_000);
      await c.queue.idle();
      const kinds = new Set(lab.ids.flatMap((id) => (c.status(id).customers[0]?.resources ?? []).map((r) => r.kind)));
      line(`first convergence (controller, concurrency ${CONCURRENCY}): ${s(performance.now() - t)}, ${lab.ids.filter(converged).length}/${COUNT} customers Synced and Healthy in every kind (${[...kinds].join(', ')})`);
      const stuck = new Map<string, number>();
      for (const id of lab.ids) {
        for (const r of c.status(id).customers[0]?.resources ?? []) {
          if (r.sync === 'Synced' && r.health === 'Healthy') continue;
          const key = `${r.kind} ${r.sync}/${r.health} ${r.reason}: ${r.message.replaceAll(id, '{id}').slice(0, 200)}`;
          stuck.set(key, (stuck.get(key) ?? 0) + 1);
        }
      }
      if (stuck.size) line(`  not converged: ${[...stuck].map(([k, n]) => `${n}× ${k}`).join('; ')}`);
      const containers = await fleetContainers(tag);
      line(`  ${containers.length} containers running for the fleet, ${containers.filter((x) => x.status.includes('(healthy)')).length} healthy, ${containers.filter((x) => x.status.includes('unhealthy')).length} unhealthy`);

      // Warm: the controller's drift scan over its kept connections.
      const k0 = await kindTotals(c);
      const scans: number[] = [];
      for (let i = 0; i < RUNS; i += 1) {
        const actions = c.history.events({ types: ['action'], limit: 100_000 }).length;
        const scan = await c.driftScan();
        const acted = c.history.events({ types: ['action'], limit: 100_000 }).length - actions;
        scans.push(scan.durationMs);
        if (acted || scan.errors) line(`  (scan ${i + 1}: ${acted} action(s), ${scan.errors} error(s): not a no-op)`);
      }
      line(`no-op scan, ${COUNT} full-stack customers, warm (the controller's drift scan, concurrency ${CONCURRENCY}): ${scans.map((x) => `${x} ms`).join(', ')} (median ${median(scans)} ms)`);
      line(`  per kind (the engine's timing, mean per customer over those scans): ${kindSplit(k0, await kindTotals(c))}`);
    } finally {
      await running.stop();
    }
    const split = await sectionSplit(lab, lab.ids[0]!, RUNS).catch((error: Error) => `failed: ${error.message}`);
    line(`  the host's batched round trip, ${lab.ids[0]}'s sections each alone over a kept connection (median of ${RUNS}): ${split}`);

    // A new `axe plan --local` process: new SSH connections, a fresh observation.
    const cli = join(ROOT, 'dist', 'cli', 'main.js');
    const plan = async (): Promise<{ ms: number; code: number; out: string }> => {
      const t = performance.now();
      const r = await exec(process.execPath, [cli, 'plan', '--local'], { env: { ...process.env, ...lab.env }, maxBuffer: 64 * 1024 * 1024 }).then(
        (x) => ({ code: 0, out: x.stdout }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
      );
      return { ms: performance.now() - t, ...r };
    };
    const first = await plan();
    const plans: Array<{ ms: number; code: number; out: string }> = [];
    for (let i = 0; i < RUNS; i += 1) plans.push(await plan());
    const codes = [first, ...plans].map((p) => p.code);
    line(`no-op plan, ${COUNT} full-stack customers, a new \`axe plan --local\` process (dist): first ${s(first.ms)} (exit ${first.code}), then ${plans.map((p) => `${s(p.ms)}`).join(', ')} (median ${s(median(plans.map((p) => p.ms)))}; exit codes ${codes.join(', ')}: 0 = in sync)`);
    const odd = [first, ...plans].find((p) => p.code !== 0);
    if (odd) line(`  a plan that was not in sync (exit ${odd.code}), its last lines:\n${odd.out.trim().split('\n').slice(-15).map((l) => `    ${l}`).join('\n')}`);

    // Idle: the health probes with the fleet converged.
    const since = Math.floor(Date.now() / 1000);
    const m0 = await machineCpu();
    await sleep(IDLE_S * 1000);
    const until = Math.floor(Date.now() / 1000);
    const cpu = (await machineCpu()) - m0;
    const execs = (await docker('events', '--since', String(since), '--until', String(until), '--filter', 'event=exec_start', '--format', '{{.Actor.Attributes.name}}')).split('\n').filter((n) => n.includes(tag)).length;
    const running2 = (await fleetContainers(tag)).length;
    line(`idle ${until - since} s, fleet converged (${running2} containers): ${execs} docker execs in the fleet's containers (${((execs / Math.max(1, running2)) * (60 / (until - since))).toFixed(1)} per container per minute: the health probes); the machine's CPU ${cpu.toFixed(1)} s of ${cpus().length} CPUs × ${until - since} s (everything on the machine, other work included)`);
  } finally {
    await lab.close();
  }
}

await main();
