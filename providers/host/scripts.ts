/**
 * The shell axe runs on hosts that has to stay shell lives in real files,
 * providers/host/scripts/*.sh, and the backup's (pushed to the host's
 * ~/.axe/backup/bin, and its observation) in scripts/backup/*.sh (checked
 * by shellcheck in the tests; copied into dist/ by build/shell-assets.ts).
 * This reads them, once each.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Argv, line } from './commands/quote.js';

const DIR = join(import.meta.dirname, 'scripts');
const cache = new Map<string, string>();

/** The backup's shell files (scripts/backup/): lib, backup, verify and schedule are pushed to the host, observe is its observation. */
export type BackupScriptFile = 'lib.sh' | 'backup.sh' | 'verify.sh' | 'schedule.sh' | 'observe.sh';

export type ScriptName = 'lib.sh' | 'axe-env-pull.sh' | 'cloudflared-container.sh' | 'cloudflared-launchd.sh' | 'side-by-side.sh' | 'checkout.sh' | 'steps.sh' | `backup/${BackupScriptFile}`;

/** The text of a script file. */
export function scriptText(name: ScriptName): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(join(DIR, name), 'utf8');
    cache.set(name, text);
  }
  return text;
}

/**
 * A script file run as `/bin/sh -s` with its arguments set first (`set --`,
 * each quoted by the caller): the file itself is never edited per call.
 */
export function withArgs(name: ScriptName, quotedArgs: readonly string[]): string {
  return `set -- ${quotedArgs.join(' ')}\n${scriptText(name)}`;
}

/** A script file run with these arguments (`set --` of the argv; a ShellWord such as "$D" expands there). */
export function withArgv(name: ScriptName, argv: Argv): string {
  return withArgs(name, [line(argv)]);
}
