/**
 * No-op plan over N lab customers (default 20): converges the fleet first
 * (host, tunnel, DNS, cloudflared, vault items), then times a plan that finds
 * nothing to do: cold (a first-ever run: SSH connects, bw --version and
 * compose version on every host), cli (a new process with the probe memo on
 * disk, as `axe plan` from its second run) and warm (the controller's next
 * scan: connections kept, a fresh observation). Prints wall time, SSH connections and round trips per
 * host, and Cloudflare calls in total (the SDK's count and the emulator's).
 *
 *   sudo node --import tsx bench/plan-noop.ts [N]
 *
 * Targets (issue 4): 1 connection per host, <= 2 round trips per host,
 * Cloudflare calls independent of N, wall <= 3 s.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CustomerResult } from '../reconcilers/engine.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import { withFreshScan } from '../reconcilers/env.js';
import type { Kind } from '../reconcilers/types.js';
import { startFleetLab } from './fleet-lab.js';
import { machineLine } from './machine.js';

const KINDS: Kind[] = ['host', 'tunnel', 'dns', 'cloudflared', 'vault-items'];
const count = Number(process.argv[2] ?? 20);

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

process.stdout.write(`${await machineLine()}\n`);
const lab = await startFleetLab(count, (m) => process.stderr.write(`  ${m}\n`));
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
  await measure('warm', withFreshScan(cli), adminUrl, plan);
  cli.providers.hosts.close();
} finally {
  await lab.close();
}
