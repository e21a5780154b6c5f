/**
 * The customer's backup, as a resource: a restic repository on the host
 * (`~/.axe/backup/repo`), its password (a generated vault item, pushed 0600
 * and read by restic from that file), the host's own schedule (a LaunchDaemon
 * on macOS, a detached loop on the lab hosts), and fresh snapshots of what the
 * service manifests' `backup:` blocks name (dumps and data volumes).
 *
 * Rules:
 * - Pure: what to do and how healthy it is follow from the desired state and
 *   one observation; the snapshot's age is measured on the host's clock.
 * - A repository that exists but cannot be read is never initialised again:
 *   that would lose every old snapshot. It is Degraded with the fix.
 * - The password is compared by digest (the vault's unkeyed `sha256:` prefix
 *   against the file's sha256), never by value.
 */
import { BACKUP_DIR, type BackupItem } from '../../providers/host/commands/backup.js';
import type { BackupHostFacts, RepoObserved, StatusRecord } from '../../providers/host/facts/backup.js';
import { trap } from '../traps.js';
import type { Action, Health } from '../types.js';

export { BACKUP_DIR, type BackupItem } from '../../providers/host/commands/backup.js';
export type { FileFact, OffsiteObserved, RepoObserved, Snapshot, StatusRecord } from '../../providers/host/facts/backup.js';
export interface HostFile {
  /** Relative to the backup directory: `backup.conf`, `bin/backup.sh`. */
  path: string;
  text: string;
  sha256: string;
  mode: number;
}

export interface BackupDesired {
  customer: string;
  /** The services whose manifests have a `backup:` block (dependency order). */
  services: string[];
  items: BackupItem[];
  /** The strictest `max_age` among those manifests. */
  maxAge: string;
  maxAgeMs: number;
  passwordItem: string;
  /** backup.conf and the scripts, as they must be on the host. */
  files: HostFile[];
  /** Hash of how the schedule runs (its script, manager and interval): a change reinstalls it. */
  scheduleHash: string;
  offsite: string | null;
  /** How often the host's schedule runs a restore drill; one older than twice that is overdue. */
  verifyEveryDays: number;
}

/** What the host reports (providers/host/facts/backup.ts), the password's digest and the max_age. */
export interface BackupObserved extends BackupHostFacts {
  /** The vault's content digest of the password (`sha256:` + 12 hex), null when not in the vault yet. */
  passwordDigest: string | null;
  /** The max_age it is judged against (from the desired state; for the metrics). */
  maxAgeMs?: number;
}

export interface BackupPayload {
  reason?: string;
}

/** `3m`, `5h 12m`, `2d 4h`. */
export function formatAge(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** What stands between the off-box repository and fresh: null when it is fresh, or none is configured. */
export function offsiteLag(desired: BackupDesired, observed: BackupObserved): { state: 'unreadable'; error: string } | { state: 'stale'; age: string } | { state: 'check-failed'; detail: string } | null {
  if (!desired.offsite) return null;
  const o = observed.offsite;
  if (!o || o.repository !== desired.offsite || o.repo.state === 'absent') return { state: 'stale', age: 'no snapshot in the off-box repository yet' };
  if (o.repo.state === 'unreadable') return { state: 'unreadable', error: o.repo.error };
  if (!o.repo.latest) return { state: 'stale', age: 'the off-box repository holds no snapshot' };
  const age = observed.now - o.repo.latest.time;
  if (age > desired.maxAgeMs) return { state: 'stale', age: `the newest off-box snapshot is ${formatAge(age)} old` };
  if (o.lastCheck && !o.lastCheck.ok) return { state: 'check-failed', detail: o.lastCheck.detail };
  return null;
}

/** The newest snapshot's age on the host's clock, null when there is none. */
export function snapshotAge(observed: BackupObserved): number | null {
  return observed.repo.state === 'ok' && observed.repo.latest ? observed.now - observed.repo.latest.time : null;
}

function passwordMatches(observed: BackupObserved): boolean {
  const want = observed.passwordDigest?.replace(/^sha256:/, '');
  const file = observed.files['password'];
  return Boolean(want && file && file.sha256.startsWith(want) && file.mode === '600');
}

function staleFiles(desired: BackupDesired, observed: BackupObserved): HostFile[] {
  return desired.files.filter((f) => observed.files[f.path]?.sha256 !== f.sha256 || observed.files[f.path]?.mode !== f.mode.toString(8));
}

export function diffBackup(desired: BackupDesired, observed: BackupObserved | null): Action<BackupPayload>[] {
  if (!observed || !observed.restic) return [];
  const target = `backup:${desired.customer}`;
  const actions: Action<BackupPayload>[] = [];
  const add = (op: string, summary: string, payload: BackupPayload = {}): void => void actions.push({ kind: 'backup', op, target, summary, payload });
  const stale = staleFiles(desired, observed);
  if (stale.length) add('push-files', `push ${stale.map((f) => f.path).join(', ')} to ~/${BACKUP_DIR}`);
  if (!passwordMatches(observed)) {
    const file = observed.files['password'];
    const why = !observed.passwordDigest ? 'generated in the vault first' : !file ? 'missing on the host' : file.mode !== '600' ? `mode ${file.mode} on the host` : 'differs on the host';
    add('push-password', `push the restic password from the vault (${desired.passwordItem}; ${why}), mode 0600`);
  }
  if (observed.repo.state === 'absent') add('init-repo', `initialise the restic repository ~/${BACKUP_DIR}/repo`);
  if (!observed.schedule.running || observed.schedule.hash !== desired.scheduleHash) {
    const how = observed.manager === 'launchd' ? 'LaunchDaemon' : 'detached loop (the lab stand-in for launchd)';
    add('install-schedule', `${observed.schedule.running ? 'reinstall' : 'install'} the backup schedule as a ${how} (${observed.schedule.running ? 'settings changed' : 'not running'})`);
  }
  const age = snapshotAge(observed);
  const offsite = offsiteLag(desired, observed);
  if (observed.repo.state === 'absent' || (observed.repo.state === 'ok' && (age === null || age > desired.maxAgeMs))) {
    const why = age === null ? 'none in the repository' : `the newest is ${formatAge(age)} old, max_age ${desired.maxAge}`;
    // `first` only for a repository that never had a run; a catch-up (forgotten or too old) is `stale`.
    const reason = observed.repo.state === 'absent' || (age === null && !observed.lastRun) ? 'first' : 'stale';
    add('snapshot', `take a snapshot of ${describeItems(desired.items)} (${why})`, { reason });
  } else if (observed.repo.state === 'ok' && offsite?.state === 'stale') {
    // Each snapshot also goes off-box (backup.sh): a new one catches the off-box repository up.
    add('snapshot', `take a snapshot of ${describeItems(desired.items)} (off-box: ${offsite.age}, max_age ${desired.maxAge})`, { reason: 'offsite' });
  }
  return actions;
}

export function describeItems(items: readonly BackupItem[]): string {
  return items.map((i) => (i.kind === 'dump' ? `dump ${i.file}` : `volume ${i.name}`)).join(', ');
}

export function healthBackup(desired: BackupDesired, observed: BackupObserved | null): Health {
  if (!observed) return { status: 'Unknown', reason: 'NotObserved', message: 'the host could not be observed' };
  const vars = { customer: desired.customer, max_age: desired.maxAge, item: desired.passwordItem };
  if (!observed.restic) return { status: 'Degraded', reason: 'ResticMissing', message: 'restic is not installed on the host', trap: trap('host-restic-missing') };
  if (observed.repo.state === 'unreadable') {
    return { status: 'Degraded', reason: 'RepoUnreadable', message: `restic cannot read ~/${BACKUP_DIR}/repo: ${observed.repo.error}`, trap: trap('backup-repo-unreadable', { ...vars, detail: observed.repo.error }) };
  }
  if (staleFiles(desired, observed).length) return { status: 'Missing', reason: 'FilesNotPushed', message: `the backup scripts or backup.conf are not on the host as rendered` };
  if (!passwordMatches(observed)) return { status: 'Missing', reason: 'PasswordNotPushed', message: `the restic password file is missing, not 0600 or not ${desired.passwordItem}` };
  if (observed.repo.state === 'absent') return { status: 'Missing', reason: 'NoRepository', message: `no restic repository at ~/${BACKUP_DIR}/repo yet` };
  if (!observed.schedule.running) return { status: 'Degraded', reason: 'ScheduleMissing', message: 'the backup schedule is not installed or not running: snapshots depend on the controller' };
  const latest = observed.repo.latest;
  if (!latest) return { status: 'Degraded', reason: 'BackupStale', message: 'the repository holds no snapshot', trap: trap('backup-stale', { ...vars, age: 'no snapshot in the repository' }) };
  const age = observed.now - latest.time;
  const facts = `newest snapshot ${latest.id} ${formatAge(age)} old (max_age ${desired.maxAge}), ${observed.repo.count} snapshot(s), ${(observed.repo.sizeBytes / 1_048_576).toFixed(1)} MiB`;
  if (age > desired.maxAgeMs) return { status: 'Degraded', reason: 'BackupStale', message: facts, trap: trap('backup-stale', { ...vars, age: `the newest snapshot is ${formatAge(age)} old` }) };
  if (observed.lastCheck && !observed.lastCheck.ok) {
    return { status: 'Degraded', reason: 'CheckFailed', message: `restic check failed: ${observed.lastCheck.detail}`, trap: trap('backup-repo-unreadable', { ...vars, detail: observed.lastCheck.detail }) };
  }
  const offsite = offsiteLag(desired, observed);
  if (offsite) {
    const ovars = { ...vars, repository: desired.offsite! };
    if (offsite.state === 'unreadable') return { status: 'Degraded', reason: 'OffsiteUnreadable', message: `${facts}; restic cannot read the off-box repository ${desired.offsite}: ${offsite.error}`, trap: trap('backup-offsite-unreadable', { ...ovars, detail: offsite.error }) };
    if (offsite.state === 'check-failed') return { status: 'Degraded', reason: 'OffsiteCheckFailed', message: `${facts}; restic check of the off-box repository failed: ${offsite.detail}`, trap: trap('backup-offsite-unreadable', { ...ovars, detail: offsite.detail }) };
    return { status: 'Degraded', reason: 'OffsiteStale', message: `${facts}; off-box: ${offsite.age}`, trap: trap('backup-offsite-stale', { ...ovars, age: offsite.age }) };
  }
  if (observed.lastVerify && !observed.lastVerify.ok) {
    return { status: 'Degraded', reason: 'RestoreDrillFailed', message: `the last restore drill failed: ${observed.lastVerify.detail}`, trap: trap('restore-drill-failed', vars) };
  }
  const drillAge = observed.lastVerify ? observed.now - observed.lastVerify.at : null;
  if (drillAge !== null && drillAge > 2 * desired.verifyEveryDays * 86_400_000) {
    return { status: 'Degraded', reason: 'RestoreDrillOverdue', message: `${facts}; the last restore drill was ${formatAge(drillAge)} ago (every ${desired.verifyEveryDays}d): the schedule does not run it`, trap: trap('restore-drill-failed', vars) };
  }
  const drill = drillAge !== null ? `; restore drill ok ${formatAge(drillAge)} ago` : '; no restore drill yet';
  const off = observed.offsite?.repo.state === 'ok' && observed.offsite.repo.latest && desired.offsite ? `; off-box newest ${observed.offsite.repo.latest.id} ${formatAge(observed.now - observed.offsite.repo.latest.time)} old, ${observed.offsite.repo.count} snapshot(s)` : '';
  return { status: 'Healthy', reason: 'Fresh', message: `${facts}${off}${drill}` };
}
