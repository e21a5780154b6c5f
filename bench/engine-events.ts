/**
 * Drift in seconds: `docker kill` of a demo stack container while the
 * controller runs with no drift schedule, and the time until the container is
 * running and healthy again, brought back by the reconcile that the host's
 * Docker Engine event stream (dockerode over the host's SSH connection)
 * started. Ten kills; prints each, the median, and the event's latency (kill
 * to reconcile start).
 *
 *   sudo node --import tsx bench/engine-events.ts [KILLS]
 *
 * Target (issue 13): kill -> healthy <= 10 s median. The lab (its own state
 * dir, hosts, emulators) is removed at the end.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { loadSettings } from '../cli/settings.js';
import { createLogger } from '../controller/logger.js';
import { openController } from '../controller/run.js';
import { vaultwardenComposeFile } from '../lab/images/vaultwarden-compose.js';
import { labSshCredentials, sshTarget } from '../lab/hosts/index.js';
import { onboardBranch } from '../onboarding/apply.js';
import { openConfigRepo } from '../providers/git/config-repo.js';
import { connect } from '../providers/host/ssh.js';
import { until } from '../test/helpers.js';
import { bootstrapPack, startTestLab } from '../test/lab-fixture.js';
import { machineLine } from './machine.js';

const exec = promisify(execFile);
const kills = Number(process.argv[2] ?? 10);

async function hiveStatus(project: string): Promise<{ id: string; status: string } | null> {
  const { stdout } = await exec('docker', ['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=hive-mcp', '--format', '{{.ID}}\t{{.Status}}']);
  const [line] = stdout.trim().split('\n').filter(Boolean);
  if (!line) return null;
  const [id, status] = line.split('\t');
  return { id: id!, status: status! };
}

process.stdout.write(`${await machineLine()}\n`);
const lab = await startTestLab({ log: (m) => process.stderr.write(`  lab: ${m}\n`) });
process.env.AXE_HOME = lab.env.AXE_HOME;
let stop: (() => Promise<void>) | null = null;
try {
  const id = lab.ids.demo;
  const labHost = lab.hosts.find((h) => h.name === id)!;
  const host = await connect(sshTarget(labHost), await labSshCredentials(lab.stateDir));
  await host.writeFile('~/.axe/vault/docker-compose.yml', vaultwardenComposeFile({ domain: `https://${id}.axelabs.ai`, withKeys: false, network: `axe-${id}` }), 0o644);
  host.close();
  const packPath = join(lab.stateDir, 'pack.json');
  await writeFile(packPath, JSON.stringify(bootstrapPack(id, ['bench-blueprint-secret-1', 'bench-vaultwarden-secret-1', 'bench-frame-secret-1'])), { mode: 0o600 });
  const ingest = await lab.axe(['customers', 'ingest', id, packPath, '--apply']);
  if (ingest.code !== 0) throw new Error(`ingest failed: ${ingest.stderr}`);
  if (!(await openConfigRepo(lab.repo).mergeAndPush(onboardBranch(id), 'main'))) throw new Error('the merge failed');

  const settings = await loadSettings({ config: lab.env.AXE_CONFIG! }, { ...process.env, ...lab.env });
  const running = await openController({
    config: settings.config!,
    vault: settings.vault,
    zone: settings.zone,
    axeHome: settings.home,
    listen: '127.0.0.1:0',
    driftSchedule: false,
    // BENCH_LOG=file keeps the controller's JSON log (AXE_LOG_LEVEL=debug adds each kind's duration).
    log: createLogger({ destination: process.env.BENCH_LOG ? createWriteStream(process.env.BENCH_LOG, { flags: 'a' }) : new Writable({ write: (_c, _e, done) => done() }) }),
    timings: { pollIntervalMs: 0, progressingRequeueMs: 3_000, backoffBaseMs: 1_000, backoffMaxMs: 10_000 },
  });
  stop = () => running.stop();
  const c = running.controller;
  await until('demo converged by the controller', async () => c.history.events({ customer: id, types: ['ship'] })[0], 600_000);
  await until('the engine event stream', async () => c.engineEventStreams().find((s) => s.customers.includes(id) && s.state === 'connected'), 60_000);
  await c.queue.idle();
  process.stdout.write(`controller converged ${id}; engine event stream connected; drift schedule off\n`);

  const project = `${id}-hive`;
  const figures: number[] = [];
  const latencies: number[] = [];
  for (let i = 1; i <= kills; i += 1) {
    const before = await until('hive-mcp healthy', async () => {
      const s = await hiveStatus(project);
      return s && /\(healthy\)/.test(s.status) ? s : null;
    }, 120_000);
    await c.queue.idle();
    const started = new Promise<number>((resolve) => {
      const on = (e: { customer: string; triggers: string[]; at: number }): void => {
        if (e.customer !== id || !e.triggers.includes('engine-event')) return;
        c.off('reconcile-start', on);
        resolve(e.at);
      };
      c.on('reconcile-start', on);
    });
    const killedAt = Date.now();
    await exec('docker', ['kill', before.id]);
    await until('hive-mcp running and healthy again', async () => {
      const s = await hiveStatus(project);
      return s && /^Up .*\(healthy\)/.test(s.status) ? s : null;
    }, 120_000);
    const ms = Date.now() - killedAt;
    const latency = (await started) - killedAt;
    figures.push(ms);
    latencies.push(latency);
    process.stdout.write(`  kill ${String(i).padStart(2)}: healthy again after ${(ms / 1000).toFixed(2)} s (reconcile started ${latency} ms after the kill)\n`);
    await c.queue.idle();
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const drifts = c.history.events({ customer: id, types: ['drift'], limit: 1000 }).filter((e) => e.kind === 'stack').length;
  process.stdout.write(`docker kill -> healthy: median ${(median(figures) / 1000).toFixed(2)} s over ${figures.length} (min ${(Math.min(...figures) / 1000).toFixed(2)}, max ${(Math.max(...figures) / 1000).toFixed(2)}); target <= 10 s\n`);
  process.stdout.write(`kill -> reconcile start (the event): median ${median(latencies)} ms; stack drift events recorded: ${drifts}\n`);
} finally {
  await stop?.();
  await lab[Symbol.asyncDispose]();
}
