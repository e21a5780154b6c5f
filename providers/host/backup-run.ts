/**
 * Running the backup's scripts on the host (pushed by the backup kind into
 * ~/.axe/backup/bin): one snapshot now, a restore drill, the repository's
 * init and the schedule's install. Shared by the backup kind, `axe backup`
 * and the stack's gate before a migrating hook.
 *
 * Rules: the password never travels here (restic reads its file on the
 * host); a failure is the script's own one-line reason (`backup: ` dropped).
 * The scripts' exit codes are their own (scripts/backup/lib.sh): this file
 * is where they are classified — 2 or 127 (the script is not there) is
 * terminal, anything else transient.
 */
import { terminal, transient } from '../../core/errors.js';
import { backupScriptCommand } from './commands/backup.js';
import { lastLine } from './executor.js';
import { snapshotMade, verifyReport } from './facts/backup.js';
import type { HostConnection } from './ssh.js';

/** The script's last stderr line without its `backup: ` prefix. */
const reason = (stderr: string) => lastLine(stderr).replace(/^backup: /, '');

export interface SnapshotResult {
  id: string;
  durationMs: number;
}

/** Takes one snapshot now (`reason` becomes a restic tag: first, stale, now, pre-release, schedule). */
export async function runSnapshot(connection: HostConnection, customer: string, tag: string, timeoutMs = 30 * 60_000): Promise<SnapshotResult> {
  const started = Date.now();
  const result = await connection.exec(backupScriptCommand('backup.sh', [tag]), { timeoutMs });
  const id = snapshotMade(result.stdout);
  if (result.code !== 0 || !id) {
    const detail = reason(result.stderr) || `exit ${result.code}`;
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
  const result = await connection.exec(backupScriptCommand('verify.sh', [snapshot ?? 'latest', by]), { timeoutMs });
  const { steps, ok } = verifyReport(result.stdout);
  if (result.code === 0 && ok) {
    return { ok: true, snapshot: ok.snapshot, steps, detail: `restic check ok, restored ${ok.snapshot}, ${ok.volumes} volume(s) read back, ${ok.dumps} dump(s) loaded into a throwaway container; scratch removed`, durationMs: Date.now() - started };
  }
  return { ok: false, snapshot, steps, detail: reason(result.stderr) || `exit ${result.code}`, durationMs: Date.now() - started };
}

/** Initialises the repository when it does not exist (never over one that does). */
export async function runInit(connection: HostConnection, customer: string): Promise<void> {
  const result = await connection.exec(backupScriptCommand('backup.sh', ['init']), { timeoutMs: 120_000 });
  if (result.code !== 0) throw transient(`restic init failed: ${reason(result.stderr)}`, { customer, resource: 'backup', fix: 'see the message; axe retries' });
}

/** (Re)installs the host's schedule (a LaunchDaemon, or the lab's detached loop). */
export async function runInstallSchedule(connection: HostConnection, customer: string, hash: string): Promise<void> {
  const result = await connection.exec(backupScriptCommand('schedule.sh', ['install', hash]), { timeoutMs: 60_000 });
  if (result.code !== 0) throw transient(`installing the backup schedule failed: ${lastLine(result.stderr) || `exit ${result.code}`}`, { customer, resource: 'backup', fix: 'see the message; axe retries' });
}
