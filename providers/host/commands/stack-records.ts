/**
 * A stack's env file and records in its checkout, on the host: each compose
 * service's own env file split from the env file, the last good state (saved
 * after every successful up or swap, restored by a failed deploy), and the
 * pull wrapper that renders the env file from the host's own bw session.
 * No script here ever holds a secret: values are read by the host from the
 * files, never put on a command line.
 */
import { EXIT } from '../exit-codes.js';
import { commandDetail as lastLine } from '../facts/compose-up.js';
import { scriptText } from '../scripts.js';
import type { ExecResult } from '../ssh.js';
import { dockerGitPrelude as tools } from './project.js';
import { hostPath, shellQuote } from './quote.js';
import { findTool } from './tools.js';

/**
 * The last good state of a stack (written after every successful up or swap):
 * `commit=` and `ref=` lines, and a 0600 copy of the env file it ran with. A
 * failed deploy restores the checkout and the env file from them.
 */
export const GOOD_FILE = '.axe-good';
export const GOOD_ENV_FILE = '.axe-good.env';

/** The prefix of the compose services' own env files (`env.services`), beside the env file. */
export const SERVICE_ENV_PREFIX = '.env.axe.';

/** Where a stack's env file is: its checkout (`~/` is the home) and the file relative to it. */
export interface EnvFileTarget {
  checkout: string;
  envFile: string;
}

/** One compose service's own env file (`env.services`): where (relative to the checkout), its header line and the vars it gets. */
export interface OwnEnvFile {
  file: string;
  header: string;
  vars: readonly string[];
}

/**
 * Writes each compose service's own env file from the env file, on the host
 * (`env.services`): its header, then the env file's lines of its vars, as
 * renderServiceEnvFile does (grep reads the file: no value is ever on a
 * command line, and a hook's or a pulled value never leaves the host). Each
 * 0600 through a temp file and a rename; other `.env.axe.*` files beside it
 * (a compose service no longer listed) are removed. Exit 9 without an env file.
 */
export function splitEnvScript(t: EnvFileTarget, envs: readonly OwnEnvFile[]): string {
  const dir = hostPath(t.checkout);
  const envDir = t.envFile.includes('/') ? `${dir}/${shellQuote(t.envFile.slice(0, t.envFile.lastIndexOf('/')))}` : dir;
  const env = `${dir}/${shellQuote(t.envFile)}`;
  const keep = envs.map((e) => shellQuote(e.file.slice(e.file.lastIndexOf('/') + 1))).join('|');
  return [
    'set -e',
    'umask 077',
    `if [ ! -f ${env} ]; then echo ${shellQuote(`no ${t.envFile} to split`)} >&2; exit ${EXIT.noEnvFile.code}; fi`,
    ...envs.map((e) => {
      const to = `${dir}/${shellQuote(e.file)}`;
      const pick = e.vars.length ? `grep -E ${shellQuote(`^(${e.vars.join('|')})=`)} ${env} || [ $? = 1 ]` : ':';
      return `{ printf '%s\\n' ${shellQuote(e.header)}; ${pick}; } > ${to}.tmp\nchmod 600 ${to}.tmp\nmv -f ${to}.tmp ${to}`;
    }),
    `for g in ${envDir}/${SERVICE_ENV_PREFIX}*; do [ -e "$g" ] || continue; case "\${g##*/}" in ${keep ? `${keep}) ;; *) ` : '*) '}rm -f "$g";; esac; done`,
  ].join('\n');
}

/** The shell words of a stack's checkout, env file and last-good records. */
function goodPaths(t: EnvFileTarget): { dir: string; env: string; good: string; goodEnv: string } {
  const dir = hostPath(t.checkout);
  return { dir, env: `${dir}/${shellQuote(t.envFile)}`, good: `${dir}/${shellQuote(GOOD_FILE)}`, goodEnv: `${dir}/${shellQuote(GOOD_ENV_FILE)}` };
}

/** Copies a file 0600 through a temp file and a rename (a half-written env file is never seen). */
function copy0600(from: string, to: string): string {
  return `cp ${from} ${to}.tmp && chmod 600 ${to}.tmp && mv -f ${to}.tmp ${to}`;
}

/** Records the checkout's HEAD, the ref and a 0600 copy of the env file as the stack's last good state. */
export function saveGoodScript(t: EnvFileTarget & { ref: string }, toolPaths: readonly string[]): string {
  const { dir, env, good, goodEnv } = goodPaths(t);
  return [
    'set -e',
    tools(toolPaths),
    'umask 077',
    `c=$("$G" -C ${dir} rev-parse HEAD)`,
    copy0600(env, goodEnv),
    `printf 'commit=%s\\nref=%s\\n' "$c" ${shellQuote(t.ref)} > ${good}.tmp && mv -f ${good}.tmp ${good}`,
  ].join('\n');
}

/**
 * Puts the checkout and the env file back to the last good state (and splits
 * the env file again); prints its ref. Exit 8 when there is none (nothing is
 * changed then).
 */
export function restoreGoodScript(t: EnvFileTarget, envs: readonly OwnEnvFile[], toolPaths: readonly string[]): string {
  const { dir, env, good, goodEnv } = goodPaths(t);
  return [
    'set -e',
    tools(toolPaths),
    `if [ ! -f ${good} ] || [ ! -f ${goodEnv} ]; then echo "no earlier good state recorded" >&2; exit ${EXIT.noGoodState.code}; fi`,
    `c=$(sed -n 's/^commit=//p' ${good}); r=$(sed -n 's/^ref=//p' ${good})`,
    `"$G" -C ${dir} -c advice.detachedHead=false checkout -q --force --detach "$c"`,
    'umask 077',
    copy0600(goodEnv, env),
    `( ${splitEnvScript(t, envs)}\n)`,
    'printf \'%s\\n\' "$r"',
  ].join('\n');
}

/** What a restore said: the ref now checked out, or why nothing was restored (its last stderr line, or its exit code). */
export function readRestored(result: ExecResult): { ref: string } | { why: string } {
  if (result.code === 0) return { ref: lastLine(result.stdout) };
  return { why: lastLine(result.stderr) || `exit ${result.code}` };
}

/** Where axe pushes the deploy-time pull wrapper on the host (pull mode). */
export const PULL_WRAPPER_PATH = '~/.axe/bin/axe-env-pull';

/** The runbook's wrapper, as axe pushes it (scripts/axe-env-pull.sh: usage and exit codes there). */
export const PULL_WRAPPER = scriptText('axe-env-pull.sh');

/**
 * The wrapper's stdin: the env file's lines (`=LINE`), each pulled secret as
 * `?NAME=item` instead (the host reads its value from its own vault).
 */
export function pullTemplate(envText: string, pulled: readonly { name: string; item: string }[]): string {
  const items = new Map(pulled.map((s) => [s.name, s.item]));
  return envText
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const name = line.slice(0, line.indexOf('='));
      const item = items.get(name);
      return item ? `?${name}=${item}` : `=${line}`;
    })
    .join('\n');
}

/** Runs the pushed wrapper for one stack (the env file's template on stdin), with the host's bw session file. */
export function pullScript(t: EnvFileTarget, sessionFile: string, toolPaths: readonly string[]): string {
  return [
    tools(toolPaths),
    findTool('B', 'bw', toolPaths),
    `if [ -z "$B" ]; then echo "bw not found by absolute path on the host" >&2; exit ${EXIT.pullLocked.code}; fi`,
    `exec /bin/sh ${hostPath(PULL_WRAPPER_PATH)} "$B" ${hostPath(sessionFile)} ${hostPath(t.checkout)}/${shellQuote(t.envFile)}`,
  ].join('\n');
}
