/**
 * One frame release rolled out by the controller to 20 lab customers in waves
 * (bench/fleet-lab.ts: real sshd hosts, Docker and Compose, the Cloudflare
 * emulator and edge, the Tailscale stand-in, the file vault). The customers
 * carry frame only; its manifest is test/rollout-lab.test.ts's (calmer stand-in
 * healthchecks, every 5 s here: `--health-interval`; no migrating hook) with the rollout: canary (1 customer), waves
 * of 25 % and 50 % of the rest, then the rest; bake 20 s (`--bake`).
 * v1.0.0 is the baseline (first convergence, every customer); then v1.1.0 is
 * merged and the bench waits until every customer is done.
 *
 * Prints the machine first, then:
 * - the first convergence (baseline, every customer at once, concurrency 4);
 * - the release: wall (merge applied -> last customer done) against the sum over
 *   waves of (slowest deploy in the wave + bake), a deploy being admitted ->
 *   Healthy on the new ref; the difference is what the controller adds between
 *   waves (the bake noticed at its next tick, the queue picking the next wave,
 *   a customer's first pass before its deploy);
 * - the controller's own CPU over the release (this process: the controller
 *   runs in it) against the whole machine's.
 *
 *   flock /tmp/axe-heavy.lock flock /tmp/axe-lab.lock node --import tsx bench/rollout.ts [--customers 20] [--bake 20] [--health-interval 5]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { rolloutFrameManifest, startFleetLab } from './fleet-lab.js';
import { converged as isConverged, openBenchController } from './fleet-controller.js';
import { machineLine } from './machine.js';

const exec = promisify(execFile);
const argv = process.argv.slice(2);
const arg = (name: string, fallback: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) || fallback : fallback);
const COUNT = arg('--customers', 20);
const BAKE_S = arg('--bake', 20);
/** The stand-in's healthcheck interval: 100 containers probed every 3 s are 33 execs a second on two CPUs. */
const HEALTH_S = arg('--health-interval', 5);
const line = (text: string): void => void process.stdout.write(`${text}\n`);
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@axe.invalid', ...args], { cwd });
  return stdout.trim();
}

/** CPU seconds of the whole machine (all CPUs, user + system) from /proc/stat. */
async function machineCpu(): Promise<number> {
  const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const f = cpu!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}

async function main(): Promise<void> {
  line(await machineLine());
  const t0 = Date.now();
  const policy = `rollout:\n  canary: { customers: [CANARY] }\n  waves: ["25%", "50%"]\n  bake: ${BAKE_S}s\n  failure_budget: 1\n  offline_deadline: 10m\n`;
  const lab = await startFleetLab(COUNT, (m) => process.stderr.write(`  lab: ${m}\n`), {
    services: ['frame'],
    deployable: true,
    async seed(dir, ids) {
      const path = join(dir, 'services', 'frame.yaml');
      await writeFile(path, rolloutFrameManifest(await readFile(path, 'utf8'), policy.replace('CANARY', ids[0]!), `${HEALTH_S}s`));
    },
  });
  try {
    line(`lab up: ${COUNT} hosts in ${s(Date.now() - t0)}`);
    const running = await openBenchController(lab);
    const c = running.controller;
    try {
      const converged = (id: string): boolean => isConverged(c, id);
      let t = Date.now();
      while (!lab.ids.every(converged) && Date.now() - t < 1_800_000) await sleep(1_000);
      await c.queue.idle();
      line(`first convergence (baseline v1.0.0, ${COUNT} customers, concurrency ${lab.config.concurrency}): ${s(Date.now() - t)}, ${lab.ids.filter(converged).length}/${COUNT} Synced and Healthy`);

      // The release.
      const manifest = join(lab.repo, 'services', 'frame.yaml');
      await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(/^( {2}ref: ).*$/m, '$1v1.1.0'));
      await git(lab.repo, 'commit', '-qam', 'frame v1.1.0');
      await git(lab.repo, 'push', '-q', 'origin', 'HEAD:main');
      const cpu0 = process.cpuUsage();
      const m0 = await machineCpu();
      t = Date.now();
      await c.sync('manual');
      const row = c.history.currentRollout('frame')!;
      const rows = () => c.history.rolloutCustomers(row.id);
      while (!(rows().length === COUNT && rows().every((r) => r.done_at !== null || r.failed_at !== null)) && Date.now() - t < 3_600_000) await sleep(500);
      const wall = Date.now() - t;
      const cpu = process.cpuUsage(cpu0);
      const machine = (await machineCpu()) - m0;
      const final = rows();
      const failed = final.filter((r) => r.failed_at !== null);
      line(`release v1.1.0: ${c.history.currentRollout('frame')!.state}, ${final.filter((r) => r.done_at !== null).length} done, ${failed.length} failed${failed.length ? ` (${failed.map((r) => `${r.customer} at ${r.step}: ${r.reason}`).join('; ')})` : ''}`);
      const waves = [...new Set(final.map((r) => r.wave))].sort((a, b) => a - b);
      let sum = 0;
      let prevEnd = t;
      for (const w of waves) {
        const members = final.filter((r) => r.wave === w);
        const deploys = members.map((r) => (r.healthy_since ?? r.failed_at ?? r.admitted_at!) - r.admitted_at!);
        const slowest = Math.max(...deploys);
        const start = Math.min(...members.map((r) => r.admitted_at!));
        const end = Math.max(...members.map((r) => (r.healthy_since ?? r.admitted_at!) + BAKE_S * 1000));
        sum += slowest + BAKE_S * 1000;
        line(`  ${w === 0 ? 'canary' : `wave ${w}`} (${members.length}): started ${s(start - prevEnd)} after the previous wave settled, deploys ${s(Math.min(...deploys))}..${s(slowest)}, slowest + bake ${s(slowest + BAKE_S * 1000)}`);
        prevEnd = end;
      }
      line(`  wall ${s(wall)} vs sum over waves of (slowest deploy + bake) ${s(sum)}: the controller adds ${s(wall - sum)} (${(((wall - sum) / wall) * 100).toFixed(1)} % of the wall)`);
      line(`  controller CPU over the release (this process): ${s((cpu.user + cpu.system) / 1000)} (${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(1)} % of one CPU); the machine's: ${machine.toFixed(1)} s of ${cpus().length} CPUs × ${s(wall)}`);
    } finally {
      await running.stop();
    }
  } finally {
    await lab.close();
  }
}

await main();
