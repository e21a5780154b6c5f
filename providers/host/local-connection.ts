/**
 * For tests: a host connection whose commands run in the local /bin/sh (what
 * the host's sshd would start), recording each command line.
 */
import { execFileSync } from 'node:child_process';
import type { ExecResult, HostConnection } from './ssh.js';

export function localConnection(): HostConnection & { commands: string[] } {
  const commands: string[] = [];
  return {
    commands,
    async exec(command: string, options: { stdin?: string | Buffer } = {}): Promise<ExecResult> {
      commands.push(command);
      try {
        const stdout = execFileSync('/bin/sh', ['-c', command], { input: options.stdin ?? '', stdio: ['pipe', 'pipe', 'pipe'] }).toString();
        return { code: 0, stdout, stderr: '' };
      } catch (error) {
        const e = error as { status: number; stdout: Buffer; stderr: Buffer };
        return { code: e.status, stdout: e.stdout.toString(), stderr: e.stderr.toString() };
      }
    },
  } as unknown as HostConnection & { commands: string[] };
}
