import { mkdir } from 'node:fs/promises';
import { terminal } from '../../core/errors.js';
import type { LabContext } from '../../lab/component.js';
import { labDir, labDown, labStatus, labUp } from '../../lab/index.js';
import { line, printJson, progress } from '../output.js';

export interface LabOptions {
  json?: boolean;
}

function context(): LabContext {
  if (process.getuid?.() !== 0) throw terminal('the lab needs root (it starts dockerd, sshd hosts and lab users)', { fix: 'rerun with sudo' });
  return { stateDir: labDir(), log: progress };
}

export async function labUpCommand(options: LabOptions): Promise<number> {
  const ctx = context();
  await mkdir(ctx.stateDir, { recursive: true, mode: 0o700 });
  const started = Date.now();
  await labUp(ctx);
  const status = await labStatus(ctx);
  if (options.json) printJson({ stateDir: ctx.stateDir, seconds: (Date.now() - started) / 1000, parts: status });
  else {
    for (const s of status) line(`${s.ready ? 'ready  ' : 'NOT OK '} ${s.name.padEnd(12)} ${s.detail}`);
    line(`lab up in ${((Date.now() - started) / 1000).toFixed(1)} s (state: ${ctx.stateDir})`);
  }
  return status.every((s) => s.ready) ? 0 : 1;
}

export async function labStatusCommand(options: LabOptions): Promise<number> {
  const ctx = context();
  const status = await labStatus(ctx);
  if (options.json) printJson({ stateDir: ctx.stateDir, parts: status });
  else for (const s of status) line(`${s.ready ? 'ready  ' : 'NOT OK '} ${s.name.padEnd(12)} ${s.detail}`);
  return status.every((s) => s.ready) ? 0 : 1;
}

export async function labDownCommand(options: LabOptions): Promise<number> {
  const ctx = context();
  const failures = await labDown(ctx);
  if (options.json) printJson({ stateDir: ctx.stateDir, failures });
  else if (failures.length === 0) line('lab down: nothing of the lab is left');
  else for (const f of failures) process.stderr.write(`axe: lab down: ${f}\n`);
  return failures.length === 0 ? 0 : 1;
}

export async function labResetCommand(options: LabOptions): Promise<number> {
  const ctx = context();
  const failures = await labDown(ctx);
  if (failures.length > 0) {
    for (const f of failures) process.stderr.write(`axe: lab reset: ${f}\n`);
    return 1;
  }
  return labUpCommand(options);
}
