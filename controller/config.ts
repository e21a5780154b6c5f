/**
 * The controller's settings resolved from the operator config: durations in
 * milliseconds, the state directory and the files in it.
 */
import { join, resolve } from 'node:path';
import { validateCronExpression } from 'cron';
import { terminal } from '../core/errors.js';
import type { ControllerConfig } from '../schemas/controller-config.js';

/** `500ms`, `60s`, `5m`, `8h` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw terminal(`invalid duration "${text}"`, { fix: 'write a duration like 500ms, 60s, 5m or 8h' });
  const n = Number(match[1]);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return n * unit;
}

export interface ControllerPaths {
  stateDir: string;
  history: string;
  lock: string;
  /** Probe memo shared with the CLI (`$AXE_HOME/cache`: tool versions and stamps only). */
  cache: string;
  /** AXE_HOME (the install's fingerprint key). */
  home: string;
}

/** `state_dir` from the config, else `$AXE_HOME/controller`. */
export function controllerPaths(config: ControllerConfig | null, axeHome: string): ControllerPaths {
  const raw = config?.state_dir;
  const stateDir = raw ? resolve(raw.startsWith('~/') ? join(process.env.HOME ?? axeHome, raw.slice(2)) : raw) : join(axeHome, 'controller');
  return { stateDir, history: join(stateDir, 'history.sqlite'), lock: join(stateDir, 'controller.pid'), cache: join(axeHome, 'cache'), home: axeHome };
}

/** Checks a cron expression, throwing a terminal error naming the config key. */
export function checkCron(expression: string): string {
  const check = validateCronExpression(expression);
  if (!check.valid) throw terminal(`drift_schedule "${expression}" is not a cron expression`, { fix: 'use five or six cron fields, e.g. "*/5 * * * *"' });
  return expression;
}

/** host:port → { host, port } (IPv6 in brackets allowed). */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:\s]+):(\d+)$/.exec(listen);
  if (!match) throw terminal(`listen "${listen}" is not host:port`, { fix: 'write e.g. 127.0.0.1:9464' });
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}
