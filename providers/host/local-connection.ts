/**
 * For tests: a host connection whose commands run in the local /bin/sh (what
 * the host's sshd would start), recording each command line.
 */
import { execFileSync } from 'node:child_process';
import type { ExecOptions, ExecResult, HostConnection, SessionOptions } from './ssh.js';

/** For fakes: `session` as a plain `exec` of `/bin/sh -s` (the kept shell's fallback), so they count it as one. */
export function withExecSession<T extends { exec(command: string, options?: ExecOptions): Promise<ExecResult> }>(connection: T): T & { session(script: string, options?: SessionOptions): Promise<ExecResult> } {
  return Object.assign(connection, {
    session(script: string, options: SessionOptions = {}) {
      return connection.exec('/bin/sh -s', { stdin: script, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
    },
  });
}

export function localConnection(): HostConnection & { commands: string[] } {
  const commands: string[] = [];
  return withExecSession({
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
  }) as unknown as HostConnection & { commands: string[] };
}
