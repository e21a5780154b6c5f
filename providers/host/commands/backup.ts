/**
 * The backup's command lines and files on the host (the restic scripts live in
 * providers/host/scripts/backup/*.sh and are pushed to ~/.axe/backup/bin): backup.conf,
 * which the scripts source, the observation's head, and the command that runs
 * one of the pushed scripts.
 *
 * Rules: backup.conf is shell; every value in it is quoted here and none is a
 * secret. The password never travels in a command: restic reads its file.
 */
import { DEFAULT_TOOL_DIRS } from '../probe.js';
import { line, shellQuote } from './quote.js';

/** Where the backup lives on the host (under the login user's home). */
export const BACKUP_DIR = '.axe/backup';

export type BackupItem =
  | { kind: 'dump'; service: string; project: string; container: string; file: string; command: string[]; load: string[] | null }
  | { kind: 'volume'; service: string; name: string };

/** `~/homebrew/bin` → `$HOME/homebrew/bin` (for a double-quoted list); dirs with shell metacharacters are dropped. */
export function toolDirsWord(extra: readonly string[]): string {
  const dirs = [...extra, ...DEFAULT_TOOL_DIRS].filter((d) => /^(~\/|\/)[A-Za-z0-9._/+@-]*$/.test(d));
  return `"${[...new Set(dirs)].map((d) => (d.startsWith('~/') ? `$HOME/${d.slice(2)}` : d)).join(' ')}"`;
}

export interface BackupConf {
  customer: string;
  items: readonly BackupItem[];
  toolPaths: readonly string[];
  offsite: string | null;
  intervalMinutes: number;
  verifyEveryDays: number;
}

/** backup.conf: what each snapshot holds (an `items` function of `dump`/`load`/`volume` lines) and the settings. */
export function renderConf(input: BackupConf): string {
  const lines = input.items.flatMap((i) =>
    i.kind === 'volume'
      ? [`  volume ${shellQuote(i.name)}`]
      : [`  dump ${line([i.project, i.container, i.file, ...i.command])}`, ...(i.load ? [`  load ${line([i.project, i.container, i.file, ...i.load])}`] : [])],
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

/** The observation section's script: where the backup lives and where tools are, then observe.sh's text. */
export function observeBackupScript(toolPaths: readonly string[], observeSh: string): string {
  return [`DIR="$HOME/${BACKUP_DIR}"`, `TOOL_DIRS=${toolDirsWord(toolPaths)}`, observeSh].join('\n');
}

export type BackupScript = 'backup.sh' | 'verify.sh' | 'schedule.sh';

/** The command line that runs a pushed script with the backup directory and its arguments. */
export function backupScriptCommand(name: BackupScript, args: readonly string[]): string {
  const dir = `"$HOME"/${shellQuote(BACKUP_DIR)}`;
  return `/bin/sh -c ${shellQuote(`exec /bin/sh ${dir}/bin/${name} ${dir} ${line(args)}`)}`;
}
