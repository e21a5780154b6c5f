/**
 * The stack kind's shell, run on the customer's host over its one SSH
 * connection: the scripts each action runs (the read-only observation is
 * host facts: observe.ts).
 *
 * Rules:
 * - Pure functions of their inputs; every value is shell-quoted; tools are
 *   called by absolute path. No script ever holds a secret: the env file is
 *   written separately, over stdin (HostConnection.writeFile, 0600).
 */
import { shellQuote } from '../../providers/host/ssh.js';
import type { StackServiceDesired } from './diff.js';
import { type ServiceEnv, serviceEnvHeader } from './render.js';
import { type BlueGreenTarget, type Color, containerLookup } from '../../providers/host/commands/blue-green.js';
import { dockerGitPrelude as tools, projectListing } from '../../providers/host/commands/project.js';
import { hostPath } from '../../providers/host/commands/quote.js';
import { findTool, toolFound } from '../../providers/host/commands/tools.js';
import { FAILURE_FILE, OVERRIDE_FILE } from '../../providers/host/facts/stack.js';
import { EXIT } from '../../providers/host/executor.js';
import { scriptText } from '../../providers/host/scripts.js';

/** Our labels on every container, network and volume of a stack. */
export const LABELS = {
  customer: 'ai.axelabs.axe.customer',
  service: 'ai.axelabs.axe.service',
  ref: 'ai.axelabs.axe.ref',
  envHash: 'ai.axelabs.axe.env-hash',
  revision: 'ai.axelabs.axe.revision',
} as const;
/** Files axe keeps in a checkout beside the env file (untracked): OVERRIDE_FILE, FAILURE_FILE and these. */
export { FAILURE_FILE, OVERRIDE_FILE };
export { STRIP_DEPENDS_ON } from '../../providers/host/facts/compose-hash.js';
export const NEXT_OVERRIDE_FILE = '.axe-compose.next.yml';
/**
 * The last good state of a stack (written after every successful up or swap):
 * `commit=` and `ref=` lines, and a 0600 copy of the env file it ran with. A
 * failed deploy restores the checkout and the env file from them.
 */
export const GOOD_FILE = '.axe-good';
export const GOOD_ENV_FILE = '.axe-good.env';


/** The compose command of a stack as a shell function `dc` (run from the checkout). */
export function composeFunction(d: StackServiceDesired, override: string | null, name = 'dc'): string {
  const files = [...d.composeFiles, ...(override ? [override] : [])].map((f) => `-f ${shellQuote(f)}`).join(' ');
  return `${name}() { "$D" compose -p ${shellQuote(d.project)} ${files} --env-file ${shellQuote(d.envFile)} "$@"; }`;
}

/** Clone (when missing) or fetch, then check out the ref detached, discarding local changes. */
export function checkoutScript(d: StackServiceDesired, insteadOf: Record<string, string>, toolPaths: readonly string[]): string {
  const rewrites = Object.entries(insteadOf)
    .map(([from, to]) => `-c ${shellQuote(`url.${to}.insteadOf=${from}`)}`)
    .join(' ');
  const repo = shellQuote(d.repo);
  const ref = d.ref;
  const rev = (spec: string) => `gitx -C "$dir" rev-parse -q --verify ${shellQuote(spec)}`;
  return [
    'set -e',
    tools(toolPaths),
    toolFound('git'),
    `gitx() { "$G" ${rewrites} -c advice.detachedHead=false "$@"; }`,
    `dir=${hostPath(d.checkout)}`,
    'if [ ! -d "$dir/.git" ]; then',
    `  if [ -d "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then echo "$dir exists and is not a git checkout" >&2; exit ${EXIT.notACheckout.code}; fi`,
    '  mkdir -p "$dir"',
    `  gitx clone -q --no-checkout ${repo} "$dir"`,
    '  cloned=1',
    'fi',
    `if [ "$(gitx -C "$dir" config --get remote.origin.url || true)" != ${repo} ]; then gitx -C "$dir" remote set-url origin ${repo}; fi`,
    `want() { ${rev(`refs/tags/${ref}^{commit}`)} || ${rev(`refs/remotes/origin/${ref}^{commit}`)} || ${rev(`${ref}^{commit}`)}; }`,
    // A clone just fetched the branches and their tags: fetch again only when the ref is not among them.
    `if [ -z "\${cloned:-}" ] || ! want >/dev/null; then gitx -C "$dir" fetch -q --force --tags origin '+refs/heads/*:refs/remotes/origin/*'; fi`,
    `c=$(want) || { echo ${shellQuote(`ref ${ref} was not found in ${d.repo}`)} >&2; exit ${EXIT.refNotFound.code}; }`,
    'gitx -C "$dir" checkout -q --force --detach "$c"',
    'gitx -C "$dir" rev-parse HEAD',
  ].join('\n');
}

/** Creates an external network or volume unless it exists, labelled for the lab sweep and for humans. */
export function createScript(what: 'network' | 'volume', name: string, customer: string, toolPaths: readonly string[]): string {
  const n = shellQuote(name);
  return [
    'set -e',
    tools(toolPaths),
    toolFound('docker'),
    `"$D" ${what} inspect ${n} >/dev/null 2>&1 || "$D" ${what} create --label ${shellQuote(`${LABELS.customer}=${customer}`)} ${n} >/dev/null`,
  ].join('\n');
}

/**
 * Prints the compose model as JSON (services, networks, volumes) for the label
 * override, uninterpolated: env_file values (secrets) are not read into it.
 */
export function configJsonScript(d: StackServiceDesired, toolPaths: readonly string[]): string {
  return ['set -e', tools(toolPaths), `cd ${hostPath(d.checkout)}`, composeFunction(d, null), 'dc config --format json --no-interpolate'].join('\n');
}

export interface ComposeModel {
  services: string[];
  /** Networks and volumes compose creates itself (not external), by their key in the file. */
  networks: string[];
  volumes: string[];
}

/** Reads the parts of `config --format json` the override needs; drops everything else. */
export function parseComposeModel(json: string): ComposeModel {
  const doc = JSON.parse(json) as { services?: Record<string, unknown>; networks?: Record<string, { external?: unknown }>; volumes?: Record<string, { external?: unknown }> };
  const own = (m: Record<string, { external?: unknown }> | undefined) => Object.entries(m ?? {}).filter(([, v]) => !v?.external).map(([k]) => k).sort();
  return { services: Object.keys(doc.services ?? {}).sort(), networks: own(doc.networks), volumes: own(doc.volumes) };
}

export interface OverrideLabels {
  customer: string;
  service: string;
  ref: string;
  envHash: string;
  revision: string;
}

/**
 * The compose override that puts our labels on every container (and the
 * customer label on the networks and volumes compose makes). A pure function
 * of its inputs: written again with the same inputs, it changes nothing.
 */
export function renderOverride(model: ComposeModel, labels: OverrideLabels, envs: readonly ServiceEnv[] | null = null): string {
  const q = (v: string) => JSON.stringify(v);
  const containerLabels = [
    [LABELS.customer, labels.customer],
    [LABELS.service, labels.service],
    [LABELS.ref, labels.ref],
    [LABELS.envHash, labels.envHash],
    [LABELS.revision, labels.revision],
  ];
  const out = [`# Written by axe for ${labels.customer}/${labels.service}: our labels on the stack. Edits here are reverted.`, 'services:'];
  for (const s of model.services) {
    out.push(`  ${q(s)}:`, '    labels:', ...containerLabels.map(([k, v]) => `      ${k}: ${q(v!)}`));
    // env.services: each container gets its own file only, whatever the compose file's `env_file:` says.
    if (envs) {
      const own = envs.find((e) => e.service === s);
      out.push(own ? `    env_file: !override [${q(own.file)}]` : '    env_file: !reset []');
    }
  }
  for (const [section, keys] of [['networks', model.networks], ['volumes', model.volumes]] as const) {
    if (keys.length === 0) continue;
    out.push(`${section}:`);
    for (const k of keys) out.push(`  ${q(k)}:`, '    labels:', `      ${LABELS.customer}: ${q(labels.customer)}`);
  }
  return `${out.join('\n')}\n`;
}

/** Lines `diag=<service>|<state>|<health>|<last health output>` for a project's containers (after a failed up). */
function diagnostics(project: string, services: readonly string[] = []): string {
  const filter = services.length ? ` | grep -E ${shellQuote(`^(${services.map((s) => s.replace(/[.]/g, '\\.')).join('|')})\\|`)}` : '';
  return `for id in $("$D" ps -aq --filter label=com.docker.compose.project=${shellQuote(project)}); do "$D" inspect --format '{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}|{{range .State.Health.Log}}{{.Output}} {{end}}{{end}}' "$id" 2>/dev/null | tr '\\n' ' '; echo; done${filter} | sed 's/^/diag=/' >&2`;
}

export interface UpOptions {
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

/** `compose up -d --wait` with a bounded wait; on failure prints diagnostics (names and health output, no env). */
export function upScript(d: StackServiceDesired, options: UpOptions, toolPaths: readonly string[]): string {
  const wait = `--wait --wait-timeout ${d.waitSeconds}`;
  const lines = ['set -e', tools(toolPaths), toolFound('docker'), `cd ${hostPath(d.checkout)}`, composeFunction(d, options.override)];
  const up = (args: readonly string[]) => `dc up -d ${wait} ${args.map(shellQuote).join(' ')} || { ${diagnostics(d.project, options.diagnose)}; exit ${EXIT.upFailed.code}; }`;
  if (options.recreate?.length) lines.push(up(['--no-deps', '--force-recreate', ...options.recreate]));
  if (options.args.length > 0 || !options.recreate?.length) lines.push(up(options.args));
  if (options.then) lines.push(up(options.then));
  return lines.join('\n');
}

/** Runs a compose subcommand for a stack (rm, stop), ignoring a missing container. */
export function composeScript(d: StackServiceDesired, override: string | null, args: string[], toolPaths: readonly string[]): string {
  return ['set -e', tools(toolPaths), `cd ${hostPath(d.checkout)}`, composeFunction(d, override), `dc ${args.map(shellQuote).join(' ')}`].join('\n');
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

/** One step of a `stepsScript`. */
export interface HostStep {
  name: string;
  script: string;
  /** A failure is reported (`STEP_SOFT_FAILED`) and the next steps still run; the script exits 1 at the end. */
  soft?: boolean;
}

/** The last stderr line of a failed `stepsScript`: `axe-step-failed=<name>`. */
export const STEP_FAILED = 'axe-step-failed=';
/** A soft step's failure, on its own stderr line: `axe-step-soft-failed=<name>`. */
export const STEP_SOFT_FAILED = 'axe-step-soft-failed=';

/**
 * Runs several steps in one round trip, in order, each in its own subshell
 * (its `exit` and `set -e` stay inside): the first step that fails ends the
 * script with its exit code, its stderr, then `axe-step-failed=<name>`.
 * With `listing`, the project's containers are listed once first, for every
 * step's container lookups (the steps must not create or remove containers).
 */
export function stepsScript(steps: readonly HostStep[], listing?: { project: string; toolPaths: readonly string[] }): string {
  // The project's containers listed once for every step's `cid` (they do not change while the steps run).
  const lines = ['soft=""', ...(listing ? [tools(listing.toolPaths), projectListing(listing.project)] : [])];
  for (const step of steps) {
    const marker = shellQuote(`${step.soft ? STEP_SOFT_FAILED : STEP_FAILED}${step.name}`);
    lines.push(step.soft ? `( ${step.script}\n) || { echo ${marker} >&2; soft=1; }` : `( ${step.script}\n) || { rc=$?; echo ${marker} >&2; exit $rc; }`);
  }
  lines.push('if [ -n "$soft" ]; then exit 1; fi');
  return lines.join('\n');
}

/** Which step of a `stepsScript` failed (null: none, or not a steps script), and the soft ones. */
export function failedSteps(stderr: string): { failed: string | null; soft: string[] } {
  const lines = stderr.split('\n');
  const failed = lines.find((l) => l.startsWith(STEP_FAILED))?.slice(STEP_FAILED.length) ?? null;
  return { failed, soft: lines.filter((l) => l.startsWith(STEP_SOFT_FAILED)).map((l) => l.slice(STEP_SOFT_FAILED.length)) };
}

/** The stderr before a step's marker line, other steps' markers left out (its last line is the step's detail). */
export function stepStderr(stderr: string, step: string): string {
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => l === `${STEP_FAILED}${step}` || l === `${STEP_SOFT_FAILED}${step}`);
  return (at < 0 ? lines : lines.slice(0, at)).filter((l) => !l.startsWith(STEP_FAILED) && !l.startsWith(STEP_SOFT_FAILED)).join('\n');
}

/** Writes (or removes) a small record file in the checkout; the content is not secret. */
export function recordScript(d: StackServiceDesired, file: string, content: string | null): string {
  const path = `${hostPath(d.checkout)}/${shellQuote(file)}`;
  if (content === null) return `rm -f ${path}`;
  return `printf '%s\\n' ${shellQuote(content)} > ${path}.tmp && mv -f ${path}.tmp ${path}`;
}

/** Where axe pushes the deploy-time pull wrapper on the host (pull mode). */
export const PULL_WRAPPER_PATH = '~/.axe/bin/axe-env-pull';

/** The runbook's wrapper, as axe pushes it (providers/host/scripts/axe-env-pull.sh: usage and exit codes there). */
export const PULL_WRAPPER = scriptText('axe-env-pull.sh');

/** Finds bw by absolute path (\`$B\`). */
function bwTool(toolPaths: readonly string[]): string {
  return findTool('B', 'bw', toolPaths);
}

/** Runs the pushed wrapper for one stack (the env file's template on stdin). */
export function pullScript(d: StackServiceDesired, toolPaths: readonly string[]): string {
  const pull = d.pull!;
  return [
    tools(toolPaths),
    bwTool(toolPaths),
    `if [ -z "$B" ]; then echo "bw not found by absolute path on the host" >&2; exit ${EXIT.pullLocked.code}; fi`,
    `exec /bin/sh ${hostPath(PULL_WRAPPER_PATH)} "$B" ${hostPath(pull.sessionFile)} ${hostPath(d.checkout)}/${shellQuote(d.envFile)}`,
  ].join('\n');
}

/** The shell words of a stack's checkout, env file and last-good records. */
function goodPaths(d: StackServiceDesired): { dir: string; env: string; good: string; goodEnv: string } {
  const dir = hostPath(d.checkout);
  return { dir, env: `${dir}/${shellQuote(d.envFile)}`, good: `${dir}/${shellQuote(GOOD_FILE)}`, goodEnv: `${dir}/${shellQuote(GOOD_ENV_FILE)}` };
}

/** The prefix of the compose services' own env files (`env.services`), beside the env file. */
export const SERVICE_ENV_PREFIX = '.env.axe.';

/**
 * Writes each compose service's own env file from the env file, on the host
 * (`env.services`): its header, then the env file's lines of its vars, as
 * renderServiceEnvFile does (grep reads the file: no value is ever on a
 * command line, and a hook's or a pulled value never leaves the host). Each
 * 0600 through a temp file and a rename; other `.env.axe.*` files beside it
 * (a compose service no longer listed) are removed. Exit 9 without an env file.
 */
export function splitEnvScript(d: StackServiceDesired): string {
  const dir = hostPath(d.checkout);
  const envDir = d.envFile.includes('/') ? `${dir}/${shellQuote(d.envFile.slice(0, d.envFile.lastIndexOf('/')))}` : dir;
  const env = `${dir}/${shellQuote(d.envFile)}`;
  const envs = d.serviceEnvs ?? [];
  const keep = envs.map((e) => shellQuote(e.file.slice(e.file.lastIndexOf('/') + 1))).join('|');
  return [
    'set -e',
    'umask 077',
    `if [ ! -f ${env} ]; then echo ${shellQuote(`no ${d.envFile} to split`)} >&2; exit ${EXIT.noEnvFile.code}; fi`,
    ...envs.map((e) => {
      const to = `${dir}/${shellQuote(e.file)}`;
      const pick = e.vars.length ? `grep -E ${shellQuote(`^(${e.vars.join('|')})=`)} ${env} || [ $? = 1 ]` : ':';
      return `{ printf '%s\\n' ${shellQuote(serviceEnvHeader(d.customer, d.service, e.service))}; ${pick}; } > ${to}.tmp\nchmod 600 ${to}.tmp\nmv -f ${to}.tmp ${to}`;
    }),
    `for g in ${envDir}/${SERVICE_ENV_PREFIX}*; do [ -e "$g" ] || continue; case "\${g##*/}" in ${keep ? `${keep}) ;; *) ` : '*) '}rm -f "$g";; esac; done`,
  ].join('\n');
}

/** Copies a file 0600 through a temp file and a rename (a half-written env file is never seen). */
function copy0600(from: string, to: string): string {
  return `cp ${from} ${to}.tmp && chmod 600 ${to}.tmp && mv -f ${to}.tmp ${to}`;
}

/** Records the checkout's HEAD, the ref and a 0600 copy of the env file as the stack's last good state. */
export function saveGoodScript(d: StackServiceDesired, toolPaths: readonly string[]): string {
  const { dir, env, good, goodEnv } = goodPaths(d);
  return [
    'set -e',
    tools(toolPaths),
    'umask 077',
    `c=$("$G" -C ${dir} rev-parse HEAD)`,
    copy0600(env, goodEnv),
    `printf 'commit=%s\\nref=%s\\n' "$c" ${shellQuote(d.ref)} > ${good}.tmp && mv -f ${good}.tmp ${good}`,
  ].join('\n');
}

/**
 * Puts the checkout and the env file back to the last good state; prints its
 * ref. Exit 8 when there is none (nothing is changed then).
 */
export function restoreGoodScript(d: StackServiceDesired, toolPaths: readonly string[]): string {
  const { dir, env, good, goodEnv } = goodPaths(d);
  return [
    'set -e',
    tools(toolPaths),
    `if [ ! -f ${good} ] || [ ! -f ${goodEnv} ]; then echo "no earlier good state recorded" >&2; exit ${EXIT.noGoodState.code}; fi`,
    `c=$(sed -n 's/^commit=//p' ${good}); r=$(sed -n 's/^ref=//p' ${good})`,
    `"$G" -C ${dir} -c advice.detachedHead=false checkout -q --force --detach "$c"`,
    'umask 077',
    copy0600(goodEnv, env),
    `( ${splitEnvScript(d)}\n)`,
    'printf \'%s\\n\' "$r"',
  ].join('\n');
}

/** Moves the next override into place (after a good swap) or drops it (after a failed one). */
export function overrideCommitScript(d: StackServiceDesired, keep: boolean): string {
  const dir = hostPath(d.checkout);
  return keep ? `mv -f ${dir}/${shellQuote(NEXT_OVERRIDE_FILE)} ${dir}/${shellQuote(OVERRIDE_FILE)}` : `rm -f ${dir}/${shellQuote(NEXT_OVERRIDE_FILE)}`;
}

export function colorService(d: StackServiceDesired, color: Color): string {
  if (!d.blueGreen) throw new Error(`${d.service} is not blue/green`);
  return color === 'blue' ? d.blueGreen.blue : d.blueGreen.green;
}
