/**
 * Fresh deploy of the three stand-in stacks (frame blue/green, blueprint,
 * hive) on a lab host, as `axe deploy` does it after onboarding: prints the
 * total wall time and the part spent inside `docker compose up --wait`
 * itself (measured around each compose-up command on the host connection),
 * so the orchestration's own share shows; then the no-op plan of the same
 * kinds (observation only) with its SSH round trips.
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
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { Kind } from '../reconcilers/types.js';
import { startTestLab } from '../test/lab-fixture.js';

const DEPLOY_KINDS: Kind[] = ['vault-items', 'stack', 'entities'];

interface ComposeTiming {
  ms: number;
  project: string;
  /** compose: `compose up --wait`; hook: a command run in a stack's container (migrate, MCP token, register, proxy switch). */
  what: 'compose' | 'hook';
}

/** Wraps the host connections so every `compose up --wait` command is timed. */
function timeComposeUps(env: ReconcileEnv, timings: ComposeTiming[]): void {
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
                  const started = performance.now();
                  const result = await obj.exec(command, options);
                  const ms = performance.now() - started;
                  if (/dc up -d --wait/.test(command)) timings.push({ ms, what: 'compose', project: /compose -p '\\''([a-z0-9_-]+)/.exec(command)?.[1] ?? '?' });
                  else if (/exec "\$D" exec "\$c"/.test(command)) timings.push({ ms, what: 'hook', project: '' });
                  if (process.env.BENCH_VERBOSE) process.stderr.write(`    exec ${(performance.now() - started).toFixed(0)} ms: ${command.replace(/\s+/g, ' ').slice(-90)}\n`);
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

function pending(result: CustomerResult): string[] {
  return result.resources.filter((k) => !k.context && (k.actions.length > 0 || k.error || k.health.status === 'Degraded')).map((k) => `${k.kind}: ${k.error?.message ?? k.health.message}`);
}

function roundTrips(env: ReconcileEnv): number {
  return Object.values(env.providers.hosts.stats()).reduce((n, s) => n + s.roundTrips, 0);
}

const lab = await startTestLab({ log: (m) => process.stderr.write(`  lab: ${m}\n`) });
try {
  const id = lab.ids.demo;
  const base = `https://${id}.axelabs.ai`;
  const pack = {
    schema: 'axelabs-bootstrap/v1',
    customer: id,
    tenant_id: '0d3a1e2f-5b6c-4d7e-8f90-a1b2c3d4e5f6',
    apps: {
      blueprint: { client_id: '7c1d2e3f-0000-4000-8000-0000000000b1', client_secret: 'bench-blueprint-secret-1' },
      vaultwarden: { client_id: '7c1d2e3f-0000-4000-8000-0000000000a1', client_secret: 'bench-vaultwarden-secret-1' },
      frame_mcp: { client_id: '7c1d2e3f-0000-4000-8000-0000000000f1', client_secret: 'bench-frame-secret-1', application_id_uri: `${base}/frame/mcp`, scope: `${base}/frame/mcp/mcp.access`, redirect_uris: ['https://claude.ai/api/mcp/auth_callback'] },
    },
  };
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
  const timings: ComposeTiming[] = [];
  timeComposeUps(env, timings);
  let started = performance.now();
  const deployed = await reconcileCustomer(env, id, {
    apply: true,
    only: DEPLOY_KINDS,
    ...(process.env.BENCH_VERBOSE ? { onProgress: (e) => process.stderr.write(`  ${((performance.now() - started) / 1000).toFixed(2)} s ${e.phase} ${e.kind} ${e.action?.op ?? ''}\n`) } : {}),
  });
  const total = performance.now() - started;
  const trips = roundTrips(env);
  env.providers.hosts.close();
  if (pending(deployed).length) throw new Error(`the deploy did not converge: ${pending(deployed).join('; ')}`);
  const ups = timings.filter((t) => t.what === 'compose');
  const compose = ups.reduce((n, t) => n + t.ms, 0);
  const hooks = timings.filter((t) => t.what === 'hook').reduce((n, t) => n + t.ms, 0);
  const ours = total - compose;
  process.stdout.write(`fresh deploy of frame (blue/green), blueprint, hive on one lab host\n`);
  process.stdout.write(`  total wall            ${(total / 1000).toFixed(2)} s (${trips} SSH round trips, 1 connection)\n`);
  process.stdout.write(`  inside compose up     ${(compose / 1000).toFixed(2)} s in ${ups.length} call(s): ${ups.map((t) => `${t.project} ${(t.ms / 1000).toFixed(2)} s`).join(', ')}\n`);
  process.stdout.write(`  orchestration (rest)  ${(ours / 1000).toFixed(2)} s = ${((ours / compose) * 100).toFixed(0)} % on top of compose (target <= 10 %)\n`);
  process.stdout.write(`    of which the services' own hooks (migrate, MCP token, register, proxy switch) ${(hooks / 1000).toFixed(2)} s; axe's own (observation, git, env, files, checks) ${((ours - hooks) / 1000).toFixed(2)} s\n`);

  const plan = await openEnv({ config: lab.env.AXE_CONFIG!, repo: lab.repo });
  started = performance.now();
  const noop = await reconcileCustomer(plan, id, { apply: false, only: DEPLOY_KINDS });
  const planWall = performance.now() - started;
  const planTrips = roundTrips(plan);
  plan.providers.hosts.close();
  const actions = noop.resources.filter((k) => !k.context).reduce((n, k) => n + k.actions.length, 0);
  process.stdout.write(`  no-op plan after it   ${(planWall / 1000).toFixed(2)} s, ${planTrips} SSH round trip(s), ${actions} action(s)\n`);
} finally {
  await lab[Symbol.asyncDispose]();
}
