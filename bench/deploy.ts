/**
 * Fresh deploy of the three stand-in stacks (frame blue/green, blueprint,
 * hive) on a lab host, as `axe deploy` does it after onboarding: prints the
 * total wall time and the part spent inside `docker compose up --wait`
 * itself (measured around each compose-up command on the host connection),
 * so the orchestration's own share shows; then the no-op plan of the same
 * kinds (observation only) with its SSH round trips.
 *
 * Services that do not depend on each other deploy side by side, so two
 * compose ups can overlap: the sum of their times then counts the overlap
 * twice. Two more baselines are printed beside the sum: the wall time during
 * which at least one compose up ran, and the same compose-up commands
 * replayed by hand, one after another, on the same host after the stacks
 * were taken down (`docker compose down`; images, external network and
 * volume kept) — what a person running plain compose serially would wait.
 *
 *   sudo node --import tsx bench/deploy.ts
 *
 * Target (issue 5): orchestration <= 10 % on top of the bare compose work.
 * The lab (its own state dir, hosts, emulators) is removed at the end; the
 * stand-in images are shared and kept (built once), so a first run on a
 * machine also pays the image builds inside compose.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openEnv } from '../cli/commands/reconcile.js';
import type { HostConnection } from '../providers/host/ssh.js';
import { EXPOSURE_KINDS, reconcileCustomer, type CustomerResult } from '../reconcilers/engine.js';
import { withFreshScan } from '../reconcilers/env.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { Kind } from '../reconcilers/types.js';
import { bootstrapPack, startTestLab } from '../test/lab-fixture.js';
import { machineLine } from './machine.js';

const DEPLOY_KINDS: Kind[] = ['vault-items', 'stack', 'entities'];

interface ExecTiming {
  start: number;
  end: number;
  /**
   * compose: a `compose up --wait` command (alone, or a blue/green stack's
   * shared services then its color); steps: the steps after a healthy up (switch, health gate,
   * records, after-healthy hooks); hook: a command run in a stack's container alone (MCP token,
   * entity registration); other: checkout, compose config, observation, files.
   */
  what: 'compose' | 'steps' | 'hook' | 'other';
  project: string;
  /** The whole command, to replay the compose ups. */
  command: string;
}

/** When the timed deploy started (verbose timelines are relative to it). */
let t0 = performance.now();

/** Wraps the host connections so every command is timed and classified. */
function timeExecs(env: ReconcileEnv, timings: ExecTiming[]): void {
  const hosts = env.providers.hosts;
  const wrapped = new WeakMap<HostConnection, HostConnection>();
  env.providers = {
    ...env.providers,
    hosts: {
      ...hosts,
      toolPaths: hosts.toolPaths,
      target: hosts.target.bind(hosts),
      stats: hosts.stats.bind(hosts),
      close: hosts.close.bind(hosts),
      async connection(target) {
        const connection = await hosts.connection(target);
        let proxy = wrapped.get(connection);
        if (!proxy) {
          proxy = new Proxy(connection, {
            get(obj, key) {
              if (key === 'exec') {
                return async (command: string, options?: Parameters<HostConnection['exec']>[1]) => {
                  const start = performance.now();
                  const result = await obj.exec(command, options);
                  const end = performance.now();
                  const what = /dc up -d --wait/.test(command) ? 'compose' : /axe-step-failed=/.test(command) ? 'steps' : /exec "\$D" exec "\$c"/.test(command) ? 'hook' : 'other';
                  timings.push({ start, end, what, project: /compose -p '\\''([a-z0-9_-]+)/.exec(command)?.[1] ?? '', command });
                  if (process.env.BENCH_VERBOSE) process.stderr.write(`    ${((start - t0) / 1000).toFixed(2)}–${((end - t0) / 1000).toFixed(2)} s exec ${(end - start).toFixed(0)} ms ${what}: ${command.replace(/\s+/g, ' ').slice(-90)}\n`);
                  return result;
                };
              }
              const value = Reflect.get(obj, key, obj) as unknown;
              return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(obj) : value;
            },
          });
          wrapped.set(connection, proxy);
        }
        return proxy;
      },
    },
  };
}

/** Milliseconds during which at least one of the intervals ran. */
function unionMs(intervals: Array<{ start: number; end: number }>): number {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  let total = 0;
  let from = 0;
  let to = 0;
  for (const [n, i] of sorted.entries()) {
    if (n === 0 || i.start > to) {
      total += to - from;
      from = i.start;
      to = i.end;
    } else to = Math.max(to, i.end);
  }
  return total + (to - from);
}

/**
 * The deploy's compose ups again, by hand: each stack taken down first
 * (containers and its own networks; images, the external network and volume
 * kept), then the same `up --wait` commands one after another (the labels
 * override under its committed name). Returns each command's time.
 */
async function replayComposeUps(connection: HostConnection, ups: ExecTiming[]): Promise<Array<{ project: string; ms: number }>> {
  const script = (command: string) => command.replace(/\.axe-compose\.next\.yml/g, '.axe-compose.yml');
  for (const project of [...new Set(ups.map((u) => u.project))]) {
    const up = ups.find((u) => u.project === project)!;
    // The same header (tools, cd, the dc function) with `down` instead of the ups.
    const body = script(up.command).replace(/'$/, '');
    const down = `${body.replace(/\ndc up -d [^\n]*/g, '')}\ndc down -t 1 >/dev/null 2>&1'`;
    const result = await connection.exec(down, { timeoutMs: 300_000 });
    if (result.code !== 0) throw new Error(`compose down of ${project} failed: ${result.stderr}`);
  }
  const out: Array<{ project: string; ms: number }> = [];
  for (const up of ups) {
    const started = performance.now();
    const result = await connection.exec(script(up.command), { timeoutMs: 600_000 });
    if (result.code !== 0) throw new Error(`the replayed compose up of ${up.project} failed: ${result.stderr}`);
    out.push({ project: up.project, ms: performance.now() - started });
  }
  return out;
}

function pending(result: CustomerResult): string[] {
  return result.resources.filter((k) => !k.context && (k.actions.length > 0 || k.error || k.health.status === 'Degraded')).map((k) => `${k.kind}: ${k.error?.message ?? k.health.message}`);
}

function roundTrips(env: ReconcileEnv): number {
  return Object.values(env.providers.hosts.stats()).reduce((n, s) => n + s.roundTrips, 0);
}

process.stdout.write(`${await machineLine()}\n`);
const lab = await startTestLab({ log: (m) => process.stderr.write(`  lab: ${m}\n`) });
// In-process environments read the operator's home like the CLI: the lab's, never this user's ~/.axe.
process.env.AXE_HOME = lab.env.AXE_HOME;
try {
  const id = lab.ids.demo;
  const pack = bootstrapPack(id, ['bench-blueprint-secret-1', 'bench-vaultwarden-secret-1', 'bench-frame-secret-1']);
  const packPath = join(lab.stateDir, 'pack.json');
  await writeFile(packPath, JSON.stringify(pack), { mode: 0o600 });
  const ingest = await lab.axe(['customers', 'ingest', id, packPath, '--apply']);
  if (ingest.code !== 0) throw new Error(`ingest failed: ${ingest.stderr}`);

  // Onboarding (exposure) is not part of the figure.
  const setup = await openEnv({ config: lab.env.AXE_CONFIG!, repo: lab.repo });
  const onboarded = await reconcileCustomer(setup, id, { apply: true, only: EXPOSURE_KINDS });
  setup.providers.hosts.close();
  if (pending(onboarded).length) throw new Error(`onboarding did not converge: ${pending(onboarded).join('; ')}`);

  const env = await openEnv({ config: lab.env.AXE_CONFIG!, repo: lab.repo });
  const timings: ExecTiming[] = [];
  timeExecs(env, timings);
  let started = performance.now();
  t0 = started;
  const deployed = await reconcileCustomer(env, id, {
    apply: true,
    only: DEPLOY_KINDS,
    ...(process.env.BENCH_VERBOSE ? { onProgress: (e) => process.stderr.write(`  ${((performance.now() - started) / 1000).toFixed(2)} s ${e.phase} ${e.kind} ${e.action?.op ?? ''} ${e.action?.payload && typeof e.action.payload === 'object' && 'service' in e.action.payload ? String(e.action.payload.service) : ''}\n`) } : {}),
  });
  const total = performance.now() - started;
  const trips = roundTrips(env);
  env.providers.hosts.close();
  if (pending(deployed).length) throw new Error(`the deploy did not converge: ${pending(deployed).join('; ')}`);
  const ups = timings.filter((t) => t.what === 'compose');
  const ms = (t: ExecTiming) => t.end - t.start;
  const s = (n: number) => `${(n / 1000).toFixed(2)} s`;
  const pct = (over: number, base: number) => `${((over / base) * 100).toFixed(0)} %`;
  const compose = ups.reduce((n, t) => n + ms(t), 0);
  const composeWall = unionMs(ups);
  const ours = total - compose;
  const sum = (what: ExecTiming['what']) => timings.filter((t) => t.what === what).reduce((n, t) => n + ms(t), 0);
  process.stdout.write(`fresh deploy of frame (blue/green), blueprint, hive on one lab host\n`);
  process.stdout.write(`  total wall            ${s(total)} (${trips} SSH round trips, 1 connection)\n`);
  process.stdout.write(`  inside compose up     ${s(compose)} in ${ups.length} call(s): ${ups.map((t) => `${t.project} ${s(ms(t))}`).join(', ')}\n`);
  process.stdout.write(`  orchestration (rest)  ${s(ours)} = ${pct(ours, compose)} on top of compose (target <= 10 %)\n`);
  process.stdout.write(`  compose up wall       ${s(composeWall)} (at least one compose up running; overlapping ups counted once): rest ${s(total - composeWall)} = ${pct(total - composeWall, composeWall)}\n`);
  process.stdout.write(
    `    time in commands (concurrent ones each counted): steps after a healthy up (switch, health gate, records, hooks) ${s(sum('steps'))}; hooks alone (MCP token, entity registration) ${s(sum('hook'))}; other (observation, checkout, compose config, files) ${s(sum('other'))}\n`,
  );
  process.stdout.write(`    by kind: ${deployed.resources.map((k) => `${k.kind} ${s(k.durationMs)}`).join(', ')}\n`);

  const plan = await openEnv({ config: lab.env.AXE_CONFIG!, repo: lab.repo });
  started = performance.now();
  const noop = await reconcileCustomer(plan, id, { apply: false, only: DEPLOY_KINDS });
  const planWall = performance.now() - started;
  const planTrips = roundTrips(plan);
  const actions = noop.resources.filter((k) => !k.context).reduce((n, k) => n + k.actions.length, 0);
  process.stdout.write(`  no-op plan after it   ${s(planWall)}, ${planTrips} SSH round trip(s), ${actions} action(s)\n`);
  // Again, as the next plan or scan: a fresh observation, with the compose-hash memo the first one left.
  const memoKeys = new Map([...plan.providers.hosts.hashMemo].map(([k, m]) => [k, m.key]));
  started = performance.now();
  const again = await reconcileCustomer(withFreshScan(plan), id, { apply: false, only: DEPLOY_KINDS });
  const againWall = performance.now() - started;
  const againActions = again.resources.filter((k) => !k.context).reduce((n, k) => n + k.actions.length, 0);
  const reused = [...plan.providers.hosts.hashMemo].filter(([k, m]) => memoKeys.get(k) === m.key).length;
  process.stdout.write(`  the next no-op plan   ${s(againWall)}, ${againActions} action(s); ${reused} of ${memoKeys.size} services' inputs unchanged, their compose hashes from the memo (no Compose run)\n`);

  // The bare compose work by hand: the same compose ups, serially, after the stacks were taken down.
  const replay = await replayComposeUps(await plan.providers.hosts.connection(plan.providers.hosts.target(plan.state.customers.customers[id]!.tailscale_host, plan.state.customers.customers[id]!.ssh_user)), ups);
  plan.providers.hosts.close();
  const plain = replay.reduce((n, r) => n + r.ms, 0);
  process.stdout.write(`  plain compose, serial ${s(plain)}: ${replay.map((r) => `${r.project} ${s(r.ms)}`).join(', ')} (the same up commands by hand, one after another, after compose down)\n`);
  process.stdout.write(`  axe on top of it      ${s(total - plain)} = ${pct(total - plain, plain)}\n`);
} finally {
  await lab[Symbol.asyncDispose]();
}
