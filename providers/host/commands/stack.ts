/**
 * A compose stack's actions on the host, as scripts for the executor: its
 * checkout (scripts/checkout.sh), its external networks and volumes, compose
 * `config`, `up --wait` (diagnostics on failure: facts/compose-up.ts), other
 * compose subcommands, the inside health gate, the override and record files
 * in the checkout, and its teardown. The last good state, the env split and
 * the pull wrapper are stack-records.ts; several steps in one round trip,
 * steps.ts.
 *
 * Rules:
 * - Pure functions of their inputs; every value is shell-quoted; tools are
 *   called by absolute path. No script ever holds a secret: the env file is
 *   written separately, over stdin (HostConnection.writeFile, 0600).
 */
import { EXIT } from '../exit-codes.js';
import { upDiagnostics } from '../facts/compose-up.js';
import { OVERRIDE_FILE } from '../facts/stack.js';
import { withArgs } from '../scripts.js';
import { type BlueGreenTarget, type Color, containerLookup } from './blue-green.js';
import { compose } from './compose.js';
import { docker, ensureObject } from './docker.js';
import { fs } from './fs.js';
import { gitFunction } from './git.js';
import { dockerGitPrelude as tools } from './project.js';
import { hostPath, line, path, shellQuote } from './quote.js';
import { requireTool, toolFound } from './tools.js';

/** The override a deploy writes next, moved into place (OVERRIDE_FILE) only when the stack came up healthy. */
export const NEXT_OVERRIDE_FILE = '.axe-compose.next.yml';

/** What the action scripts need to know of a stack (the stack kind's desired service has these and more). */
export interface StackTarget {
  /** The checkout (`~/` is the home). */
  checkout: string;
  project: string;
  /** Relative to the checkout. */
  composeFiles: readonly string[];
  /** The env file, relative to the checkout. */
  envFile: string;
  repo: string;
  ref: string;
  /** `up --wait-timeout`. */
  waitSeconds: number;
}

/** The compose command of a stack as a shell function `dc` (run from the checkout). */
export function composeFunction(t: StackTarget, override: string | null, name = 'dc'): string {
  const files = [...t.composeFiles, ...(override ? [override] : [])].map((f) => `-f ${shellQuote(f)}`).join(' ');
  return `${name}() { "$D" compose -p ${shellQuote(t.project)} ${files} --env-file ${shellQuote(t.envFile)} "$@"; }`;
}

/** Clone (when missing) or fetch, then check out the ref detached, discarding local changes; prints the commit (scripts/checkout.sh). */
export function checkoutScript(t: StackTarget, insteadOf: Record<string, string>, toolPaths: readonly string[]): string {
  return [tools(toolPaths), toolFound('git'), gitFunction('gitx', insteadOf), withArgs('checkout.sh', [hostPath(t.checkout), shellQuote(t.repo), shellQuote(t.ref)])].join('\n');
}

/** Creates an external network or volume unless it exists, with these labels (`k=v`). */
export function createScript(what: 'network' | 'volume', name: string, labels: readonly string[], toolPaths: readonly string[]): string {
  return ['set -e', tools(toolPaths), toolFound('docker'), ensureObject(what, name, labels)].join('\n');
}

/**
 * Prints the compose model as JSON (services, networks, volumes) for the label
 * override, uninterpolated: env_file values (secrets) are not read into it
 * (facts/compose-up.ts parseComposeModel reads it).
 */
export function configJsonScript(t: StackTarget, toolPaths: readonly string[]): string {
  return ['set -e', tools(toolPaths), `cd ${hostPath(t.checkout)}`, composeFunction(t, null), 'dc config --format json --no-interpolate'].join('\n');
}

export interface StackUpOptions {
  /** `up` arguments after `up -d --wait --wait-timeout N`. */
  args: string[];
  /** A second `up` in the same round trip, run only when the first succeeded (a blue/green stack's color after its shared services). */
  then?: string[];
  override: string | null;
  /** Services to recreate first (their network was removed). */
  recreate?: string[];
  /** Limit diagnostics to these services. */
  diagnose?: string[];
}

/** `compose up -d --wait` with a bounded wait; on failure prints diagnostics (names and health output, no env) and exits EXIT.upFailed. */
export function upScript(t: StackTarget, options: StackUpOptions, toolPaths: readonly string[]): string {
  const wait = `--wait --wait-timeout ${t.waitSeconds}`;
  const lines = ['set -e', tools(toolPaths), toolFound('docker'), `cd ${hostPath(t.checkout)}`, composeFunction(t, options.override)];
  const up = (args: readonly string[]) => `dc up -d ${wait} ${args.map(shellQuote).join(' ')} || { ${upDiagnostics(t.project, options.diagnose)}; exit ${EXIT.upFailed.code}; }`;
  if (options.recreate?.length) lines.push(up(['--no-deps', '--force-recreate', ...options.recreate]));
  if (options.args.length > 0 || !options.recreate?.length) lines.push(up(options.args));
  if (options.then) lines.push(up(options.then));
  return lines.join('\n');
}

/** Runs a compose subcommand for a stack (rm, stop), ignoring a missing container. */
export function composeScript(t: StackTarget, override: string | null, args: string[], toolPaths: readonly string[]): string {
  return ['set -e', tools(toolPaths), `cd ${hostPath(t.checkout)}`, composeFunction(t, override), `dc ${args.map(shellQuote).join(' ')}`].join('\n');
}

/** The pauses between a poll's tries: short first (a stack just reported healthy usually answers at once), then every 0.5 s, `budget` seconds in all. */
export function pollPauses(budgetSeconds: number): string[] {
  const pauses = ['0.05', '0.1', '0.2', '0.4'];
  let left = budgetSeconds - 0.75;
  while (left > 0) {
    pauses.push('0.5');
    left -= 0.5;
  }
  return pauses;
}

/** Polls an HTTP path inside a container until it answers 2xx (wget, else curl), with `pollPauses(budgetSeconds)` between tries. */
export function insideCheckScript(target: { project: string; container: string; blueGreen: BlueGreenTarget | null }, port: number, path: string, budgetSeconds: number, toolPaths: readonly string[], active?: Color | null): string {
  const url = shellQuote(`http://127.0.0.1:${port}${path}`);
  return [
    tools(toolPaths),
    containerLookup(target.project, target.container, target.blueGreen, active),
    `if [ -z "$c" ]; then echo ${shellQuote(`no running container for ${target.container}`)} >&2; exit ${EXIT.noContainer.code}; fi`,
    `for p in ${pollPauses(budgetSeconds).join(' ')} 0; do if "$D" exec "$c" wget -q -O /dev/null ${url} >/dev/null 2>&1 || "$D" exec "$c" curl -fsS -o /dev/null ${url} >/dev/null 2>&1; then exit 0; fi; [ "$p" = 0 ] || sleep "$p"; done`,
    `echo ${shellQuote(`${path} on port ${port} did not answer 2xx`)} >&2; exit ${EXIT.insideCheckFailed.code}`,
  ].join('\n');
}

/** Writes (or removes) a small record file in the checkout; the content is not secret. */
export function recordScript(t: Pick<StackTarget, 'checkout'>, file: string, content: string | null): string {
  const at = `${hostPath(t.checkout)}/${shellQuote(file)}`;
  if (content === null) return `rm -f ${at}`;
  return `printf '%s\\n' ${shellQuote(content)} > ${at}.tmp && mv -f ${at}.tmp ${at}`;
}

/** Runs a step, then (only when it succeeded) writes a record file: a proxy's switch, then the active color. */
export function thenRecord(script: string, t: Pick<StackTarget, 'checkout'>, file: string, content: string): string {
  return `( ${script}\n) && ${recordScript(t, file, content)}`;
}

/** Moves the next override into place (after a good swap) or drops it (after a failed one). */
export function overrideCommitScript(t: Pick<StackTarget, 'checkout'>, keep: boolean): string {
  const dir = hostPath(t.checkout);
  return keep ? `mv -f ${dir}/${shellQuote(NEXT_OVERRIDE_FILE)} ${dir}/${shellQuote(OVERRIDE_FILE)}` : `rm -f ${dir}/${shellQuote(NEXT_OVERRIDE_FILE)}`;
}

/** Exits 0 exactly when the stack's override is in place. */
export function overrideExistsScript(t: Pick<StackTarget, 'checkout'>): string {
  return `test -f ${hostPath(t.checkout)}/${shellQuote(OVERRIDE_FILE)}`;
}

/** A stack's teardown: its compose project down (its containers and own networks; data volumes and the checkout stay). */
export function composeDownScript(project: string, toolPaths: readonly string[]): string {
  return `${requireTool('docker', toolPaths)}\n${line(compose(project, []).down(false, 20))}`;
}

/** Removes a file on the host (gone already is done). */
export function removeFileScript(file: string): string {
  return line(fs.removeForce(path(file)));
}

/** Removes a docker network; gone already is done. */
export function removeNetworkScript(name: string, toolPaths: readonly string[]): string {
  const rm = line(docker.removeObject('network', name));
  return `${requireTool('docker', toolPaths)}\n${rm} >/dev/null 2>&1 || ! ${line(docker.inspectObject('network', name))} >/dev/null 2>&1 || ${rm}`;
}
