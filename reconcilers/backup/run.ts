/**
 * Running the backup's scripts on the host (pushed by the backup kind into
 * ~/.axe/backup/bin): one snapshot now, a restore drill, the repository's
 * init and the schedule's install. Shared by the reconciler, `axe backup`
 * and the stack's gate before a migrating hook.
 *
 * Rules: the password never travels here (restic reads its file on the
 * host); a failure is the script's own one-line reason.
 */
import { terminal, transient } from '../../core/errors.js';
import type { HostConnection } from '../../providers/host/ssh.js';
import { shellQuote } from '../../providers/host/ssh.js';
import { BACKUP_DIR } from './diff.js';

const DIR = `"$HOME"/${shellQuote(BACKUP_DIR)}`;

function scriptCommand(name: 'backup.sh' | 'verify.sh' | 'schedule.sh', args: readonly string[]): string {
  return `/bin/sh -c ${shellQuote(`exec /bin/sh ${DIR}/bin/${name} ${DIR} ${args.map(shellQuote).join(' ')}`)}`;
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}

export interface SnapshotResult {
  id: string;
  durationMs: number;
}

/** Takes one snapshot now (`reason` becomes a restic tag: first, stale, now, pre-release, schedule). */
export async function runSnapshot(connection: HostConnection, customer: string, reason: string, timeoutMs = 30 * 60_000): Promise<SnapshotResult> {
  const started = Date.now();
  const result = await connection.exec(scriptCommand('backup.sh', [reason]), { timeoutMs });
  const id = /^snapshot=([0-9a-f]+)$/m.exec(result.stdout)?.[1];
  if (result.code !== 0 || !id) {
    const detail = lastLine(result.stderr).replace(/^backup: /, '') || `exit ${result.code}`;
    if (result.code === 2 || result.code === 127) throw terminal(`the backup of ${customer} is not set up on the host: ${detail}`, { customer, resource: 'backup', fix: `set it up first: axe apply ${customer} (the backup kind pushes its scripts and password)` });
    throw transient(`snapshot failed: ${detail}`, { customer, resource: 'backup', fix: 'see ~/.axe/backup/last-run on the host; axe backup now retries' });
  }
  return { id, durationMs: Date.now() - started };
}

export interface VerifyResult {
  ok: boolean;
  snapshot: string | null;
  /** The steps the drill started, in order. */
  steps: string[];
  /** ok: what was checked; failed: the reason. */
  detail: string;
  durationMs: number;
}

/** The restore drill on the host (restic check, restore into scratch, volumes read, dumps loaded, scratch removed). */
export async function runVerify(connection: HostConnection, snapshot: string | null, by: string, timeoutMs = 60 * 60_000): Promise<VerifyResult> {
  const started = Date.now();
  const result = await connection.exec(scriptCommand('verify.sh', [snapshot ?? 'latest', by]), { timeoutMs });
  const steps = [...result.stdout.matchAll(/^step=(.+)$/gm)].map((m) => m[1]!);
  const ok = /^result=ok snapshot=([0-9a-f]+) volumes=(\d+) dumps=(\d+)$/m.exec(result.stdout);
  if (result.code === 0 && ok) {
    return { ok: true, snapshot: ok[1]!, steps, detail: `restic check ok, restored ${ok[1]}, ${ok[2]} volume(s) read back, ${ok[3]} dump(s) loaded into a throwaway container; scratch removed`, durationMs: Date.now() - started };
  }
  return { ok: false, snapshot, steps, detail: lastLine(result.stderr).replace(/^backup: /, '') || `exit ${result.code}`, durationMs: Date.now() - started };
}

/** Initialises the repository when it does not exist (never over one that does). */
export async function runInit(connection: HostConnection, customer: string): Promise<void> {
  const result = await connection.exec(scriptCommand('backup.sh', ['init']), { timeoutMs: 120_000 });
  if (result.code !== 0) throw transient(`restic init failed: ${lastLine(result.stderr).replace(/^backup: /, '')}`, { customer, resource: 'backup', fix: 'see the message; axe retries' });
}

/** (Re)installs the host's schedule (a LaunchDaemon, or the lab's detached loop). */
export async function runInstallSchedule(connection: HostConnection, customer: string, hash: string): Promise<void> {
  const result = await connection.exec(scriptCommand('schedule.sh', ['install', hash]), { timeoutMs: 60_000 });
  if (result.code !== 0) throw transient(`installing the backup schedule failed: ${lastLine(result.stderr) || `exit ${result.code}`}`, { customer, resource: 'backup', fix: 'see the message; axe retries' });
}
