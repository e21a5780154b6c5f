/**
 * The backup's observation on the host, parsed (pure): observe.sh prints
 * `key=value` lines (`file=PATH SHA256 MODE` per pushed file, restic's JSON
 * for the newest snapshot, the last runs' records as `last-run.at=…`).
 */
import { keyValues } from './key-values.js';

export interface FileFact {
  sha256: string;
  mode: string;
}

export interface StatusRecord {
  /** Epoch ms on the host's clock. */
  at: number;
  ok: boolean;
  detail: string;
  snapshot: string | null;
}

export interface Snapshot {
  id: string;
  /** Epoch ms. */
  time: number;
  tags: string[];
}

export type RepoObserved = { state: 'absent' } | { state: 'unreadable'; error: string } | { state: 'ok'; latest: Snapshot | null; count: number; sizeBytes: number };

/** The off-box repository as the host sees it (backup.conf's OFFSITE), with its last run's record. */
export interface OffsiteObserved {
  /** The repository backup.conf on the host names (it may lag the desired one until the files are pushed). */
  repository: string;
  repo: RepoObserved;
  /** The last run's `restic check` (structure) of it, with its size (`last-offsite-check`). */
  lastCheck: StatusRecord | null;
  sizeBytes: number | null;
}

/** What observe.sh reports. */
export interface BackupHostFacts {
  /** restic's absolute path on the host, null when it is not installed. */
  restic: string | null;
  manager: 'launchd' | 'loop';
  files: Record<string, FileFact>;
  schedule: { running: boolean; hash: string | null };
  repo: RepoObserved;
  lastRun: StatusRecord | null;
  lastCheck: StatusRecord | null;
  lastVerify: StatusRecord | null;
  /** The off-box repository, when backup.conf on the host names one (absent: none configured). */
  offsite?: OffsiteObserved | null;
  /** The host's clock when observed (epoch ms). */
  now: number;
}

function record(values: Map<string, string>, prefix: string): StatusRecord | null {
  const at = Number(values.get(`${prefix}.at`));
  if (!Number.isFinite(at) || at <= 0) return null;
  return { at: at * 1000, ok: values.get(`${prefix}.ok`) === '1', detail: values.get(`${prefix}.detail`) ?? '', snapshot: values.get(`${prefix}.snapshot`) || null };
}

/** The newest of `restic snapshots --json` (null when none or unreadable). */
export function latestSnapshot(json: string): Snapshot | null {
  try {
    const list = JSON.parse(json) as Array<{ short_id?: string; id?: string; time?: string; tags?: string[] }>;
    const times = list.map((s) => ({ id: s.short_id ?? s.id?.slice(0, 8) ?? '', time: Date.parse((s.time ?? '').replace(/(\.\d{3})\d+/, '$1')), tags: s.tags ?? [] })).filter((s) => Number.isFinite(s.time));
    return times.sort((a, b) => b.time - a.time)[0] ?? null;
  } catch {
    return null;
  }
}

function parseOffsite(values: Map<string, string>): OffsiteObserved | null {
  const repository = values.get('offsite');
  if (!repository) return null;
  let repo: RepoObserved;
  const error = values.get('offsite_error');
  if (error !== undefined) {
    // restic's word for a path with no repository (sftp: `Lstat: file does not exist`).
    repo = /does not exist|no such file/i.test(error) ? { state: 'absent' } : { state: 'unreadable', error: error.trim() || 'restic failed without a message' };
  } else {
    repo = { state: 'ok', latest: latestSnapshot(values.get('offsite_latest') ?? '[]'), count: Number(values.get('offsite_snapshots') ?? 0), sizeBytes: Number(values.get('last-offsite-check.size') ?? 0) };
  }
  const size = Number(values.get('last-offsite-check.size'));
  return { repository, repo, lastCheck: record(values, 'last-offsite-check'), sizeBytes: Number.isFinite(size) && values.has('last-offsite-check.size') ? size : null };
}

/** Parses observe.sh's output (pure). */
export function parseBackupObservation(output: string): BackupHostFacts {
  const values = keyValues(output);
  const files: Record<string, FileFact> = {};
  for (const line of output.split('\n')) {
    const m = /^file=(\S+) ([0-9a-f]{64}) ([0-7]{3,4})$/.exec(line.trim());
    if (m) files[m[1]!] = { sha256: m[2]!, mode: m[3]! };
  }
  let repo: RepoObserved = { state: 'absent' };
  if (values.has('repo_error')) repo = { state: 'unreadable', error: values.get('repo_error')!.trim() || 'restic failed without a message' };
  else if (values.has('latest')) repo = { state: 'ok', latest: latestSnapshot(values.get('latest')!), count: Number(values.get('snapshots') ?? 0), sizeBytes: Number(values.get('size_kb') ?? 0) * 1024 };
  else if (!values.has('repo') && values.has('size_kb')) repo = { state: 'unreadable', error: 'restic is not installed' };
  return {
    restic: values.get('restic') || null,
    manager: values.get('manager') === 'launchd' ? 'launchd' : 'loop',
    files,
    schedule: { running: values.get('schedule') === 'running', hash: values.get('schedule_hash') ?? null },
    repo,
    lastRun: record(values, 'last-run'),
    lastCheck: record(values, 'last-check'),
    lastVerify: record(values, 'last-verify'),
    offsite: parseOffsite(values),
    now: Number(values.get('now') ?? 0) * 1000 || Date.now(),
  };
}

/** What backup.sh printed: the snapshot it made (`snapshot=ID`), null when none. */
export function snapshotMade(stdout: string): string | null {
  return /^snapshot=([0-9a-f]+)$/m.exec(stdout)?.[1] ?? null;
}

/** What verify.sh printed: the steps it started (`step=…`) and its result line, when ok. */
export function verifyReport(stdout: string): { steps: string[]; ok: { snapshot: string; volumes: number; dumps: number } | null } {
  const steps = [...stdout.matchAll(/^step=(.+)$/gm)].map((m) => m[1]!);
  const ok = /^result=ok snapshot=([0-9a-f]+) volumes=(\d+) dumps=(\d+)$/m.exec(stdout);
  return { steps, ok: ok ? { snapshot: ok[1]!, volumes: Number(ok[2]), dumps: Number(ok[3]) } : null };
}
