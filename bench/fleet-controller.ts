/**
 * The in-process controller the fleet benches run over a fleet lab
 * (bench/rollout.ts, bench/fleet-full.ts): its log dropped, no drift
 * schedule, requeues and backoff short enough for a bench.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../controller/logger.js';
import type { Controller } from '../controller/manager.js';
import { openController } from '../controller/run.js';
import type { FleetLab } from './fleet-lab.js';

/** Opens the controller over `lab` with `config` (the lab's, or it with another concurrency). */
export function openBenchController(lab: FleetLab, config: FleetLab['config'] = lab.config): ReturnType<typeof openController> {
  return openController({
    config,
    vault: lab.config.vault,
    zone: lab.config.cloudflare.zone,
    axeHome: lab.env.AXE_HOME!,
    listen: '127.0.0.1:0',
    driftSchedule: false,
    log: createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) }),
    timings: { pollIntervalMs: 0, progressingRequeueMs: 3_000, backoffBaseMs: 2_000, backoffMaxMs: 10_000 },
  });
}

/** Whether every resource of customer `id` is Synced and Healthy (and it has any). */
export function converged(c: Controller, id: string): boolean {
  const rs = c.status(id).customers[0]?.resources ?? [];
  return rs.length > 0 && rs.every((r) => r.sync === 'Synced' && r.health === 'Healthy');
}
