/**
 * The backup's host side: the shell files it runs there (real .sh files beside
 * this module, shellcheck-clean: lib, backup, verify, schedule, observe),
 * backup.conf rendered from the service manifests, and the observation parsed.
 *
 * Rules: backup.conf is shell the scripts source; every value in it is
 * shell-quoted and none is a secret. Pure functions, except reading the .sh
 * files once.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TOOL_DIRS } from '../../providers/host/probe.js';
import { shellQuote } from '../../providers/host/ssh.js';
import type { CustomersFile } from '../../schemas/customers.js';
import { durationMs, type ServiceManifest } from '../../schemas/service-manifest.js';
import { serviceOrder } from '../../schemas/repo.js';
import { expandTemplate } from '../templates.js';
import { keyValues } from '../../providers/host/facts/key-values.js';
import { resticPasswordItem } from '../vault-names.js';
import { BACKUP_DIR, type BackupDesired, type BackupItem, type BackupObserved, type FileFact, type HostFile, type OffsiteObserved, type RepoObserved, type Snapshot, type StatusRecord } from './diff.js';

/** Beside this module: the sources, or the build (build/shell-assets.ts copies the .sh files into dist/, which the image ships). */
function scriptDir(): string {
  return dirname(fileURLToPath(import.meta.url));
}

const cache = new Map<string, string>();
export function script(name: 'lib.sh' | 'backup.sh' | 'verify.sh' | 'schedule.sh' | 'observe.sh'): string {
  let text = cache.get(name);
  if (text === undefined) cache.set(name, (text = readFileSync(resolve(scriptDir(), name), 'utf8')));
  return text;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `~/homebrew/bin` → `$HOME/homebrew/bin` (for a double-quoted list); dirs with shell metacharacters are dropped. */
export function toolDirsWord(extra: readonly string[]): string {
  const dirs = [...extra, ...DEFAULT_TOOL_DIRS].filter((d) => /^(~\/|\/)[A-Za-z0-9._/+@-]*$/.test(d));
  return `"${[...new Set(dirs)].map((d) => (d.startsWith('~/') ? `$HOME/${d.slice(2)}` : d)).join(' ')}"`;
}

/** What the customer's manifests say to back up (services in dependency order), or null when none has a `backup:` block. */
export function backupItems(customers: CustomersFile, manifests: Map<string, ServiceManifest>, id: string): { services: string[]; items: BackupItem[]; maxAge: string } | null {
  const customer = customers.customers[id];
  if (!customer) return null;
  const services: string[] = [];
  const items: BackupItem[] = [];
  let maxAge: string | null = null;
  for (const service of serviceOrder(manifests)) {
    const manifest = manifests.get(service);
    if (!manifest?.backup || !customers.services[service]?.[id]) continue;
    const vars = { customer: id, service, publicDomain: customer.public_domain, ref: manifest.kind === 'stack' ? manifest.source.ref : '' };
    const project = manifest.kind === 'stack' ? expandTemplate(manifest.compose.project, vars) : '';
    services.push(service);
    for (const dump of manifest.backup.dumps) {
      items.push({ kind: 'dump', service, project, container: dump.exec.container, file: dump.file, command: dump.exec.command.map((a) => expandTemplate(a, vars)), load: dump.load ? dump.load.command.map((a) => expandTemplate(a, vars)) : null });
    }
    for (const volume of manifest.backup.volumes) items.push({ kind: 'volume', service, name: expandTemplate(volume, vars) });
    if (maxAge === null || durationMs(manifest.backup.max_age) < durationMs(maxAge)) maxAge = manifest.backup.max_age;
  }
  return services.length ? { services, items, maxAge: maxAge! } : null;
}

export function renderConf(input: { customer: string; items: readonly BackupItem[]; toolPaths: readonly string[]; offsite: string | null; intervalMinutes: number; verifyEveryDays: number }): string {
  const q = (words: readonly string[]) => words.map(shellQuote).join(' ');
  const lines = input.items.flatMap((i) =>
    i.kind === 'volume'
      ? [`  volume ${shellQuote(i.name)}`]
      : [`  dump ${q([i.project, i.container, i.file, ...i.command])}`, ...(i.load ? [`  load ${q([i.project, i.container, i.file, ...i.load])}`] : [])],
  );
  return [
    `# Written by axe (backup kind) for ${input.customer}: what each snapshot holds. No secret here; edits are reverted.`,
    `# shellcheck shell=sh disable=SC2034`,
    `CUSTOMER=${shellQuote(input.customer)}`,
    `TOOL_DIRS=${toolDirsWord(input.toolPaths)}`,
    `OFFSITE=${shellQuote(input.offsite ?? '')}`,
    `INTERVAL_SECONDS=${input.intervalMinutes * 60}`,
    `VERIFY_DAYS=${input.verifyEveryDays}`,
    'items() {',
    ...(lines.length ? lines : ['  :']),
    '}',
    '',
  ].join('\n');
}

const SCRIPTS = ['lib.sh', 'backup.sh', 'verify.sh', 'schedule.sh'] as const;

export function desiredBackup(input: { customer: string; customers: CustomersFile; manifests: Map<string, ServiceManifest>; toolPaths: readonly string[]; offsite: string | null; intervalMinutes: number; verifyEveryDays: number }): BackupDesired | null {
  const found = backupItems(input.customers, input.manifests, input.customer);
  if (!found) return null;
  const offsite = input.offsite ? input.offsite.replaceAll('{customer}', input.customer) : null;
  const conf = renderConf({ ...input, items: found.items, offsite });
  const file = (path: string, text: string, mode: number): HostFile => ({ path, text, sha256: sha256(text), mode });
  const files = [file('backup.conf', conf, 0o644), ...SCRIPTS.map((name) => file(`bin/${name}`, script(name), 0o755))];
  return {
    customer: input.customer,
    services: found.services,
    items: found.items,
    maxAge: found.maxAge,
    maxAgeMs: durationMs(found.maxAge),
    passwordItem: resticPasswordItem(input.customer),
    files,
    scheduleHash: sha256(`${script('schedule.sh')}\n${input.intervalMinutes}`).slice(0, 16),
    offsite,
    verifyEveryDays: input.verifyEveryDays,
  };
}

/** The observation section: where the backup lives and where tools are, then observe.sh. */
export function observeScript(toolPaths: readonly string[]): string {
  return [`DIR="$HOME/${BACKUP_DIR}"`, `TOOL_DIRS=${toolDirsWord(toolPaths)}`, script('observe.sh')].join('\n');
}

function record(values: Map<string, string>, prefix: string): StatusRecord | null {
  const at = Number(values.get(`${prefix}.at`));
  if (!Number.isFinite(at) || at <= 0) return null;
  return { at: at * 1000, ok: values.get(`${prefix}.ok`) === '1', detail: values.get(`${prefix}.detail`) ?? '', snapshot: values.get(`${prefix}.snapshot`) || null };
}

function latestSnapshot(json: string): Snapshot | null {
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

/** Parses observe.sh's output (pure); `passwordDigest` comes from the vault listing. */
export function parseObservation(output: string, passwordDigest: string | null): BackupObserved {
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
    passwordDigest,
    schedule: { running: values.get('schedule') === 'running', hash: values.get('schedule_hash') ?? null },
    repo,
    lastRun: record(values, 'last-run'),
    lastCheck: record(values, 'last-check'),
    lastVerify: record(values, 'last-verify'),
    offsite: parseOffsite(values),
    now: Number(values.get('now') ?? 0) * 1000 || Date.now(),
  };
}
