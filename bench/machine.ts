/**
 * What the machine a bench ran on is, printed beside its figures so runs on
 * different machines can be compared: CPUs, and what one process start costs
 * (fork and exec of /bin/true from sh, 300 times). The lab's hosts, sshd and
 * the commands they run are process starts, so a scan's or a deploy's time
 * follows this figure as much as the code.
 */
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export async function machineLine(): Promise<string> {
  const n = 300;
  const started = performance.now();
  await exec('/bin/sh', ['-c', `i=0; while [ $i -lt ${n} ]; do /bin/true; i=$((i+1)); done`]);
  const perStart = (performance.now() - started) / n;
  return `machine: ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), one process start (fork+exec) ${perStart.toFixed(2)} ms`;
}
