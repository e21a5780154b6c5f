/**
 * The checks kind's shell: one read-only section of the host's batched round
 * trip that runs every check of the customer side by side, each `docker exec`
 * in its stack's running container (the live color for `@active`), bounded
 * to 10 s, and prints its exit code, its stdout (one line, 2 KiB at most) and
 * the end of its stderr. Pure functions; every value shell-quoted.
 */
import { activeColor } from '../../providers/host/commands/blue-green.js';
import { HELPERS } from '../../providers/host/commands/project.js';
import { shellQuote } from '../../providers/host/commands/quote.js';
import { findTool } from '../../providers/host/commands/tools.js';
import { type CheckDesired, type ChecksDesired, checkKey, type Probe, TIMED_OUT } from './diff.js';

export const CHECKS_SECTION = 'checks';
/** A check that has not answered after this many seconds is killed (the batch must not hang on it). */
export const CHECK_TIMEOUT_SECONDS = 10;

/** Sets `$c` to the check's container ('' when none runs). */
function lookup(check: CheckDesired): string {
  const p = shellQuote(check.project);
  if (check.container !== '@active') return `c=$(cid ${p} ${shellQuote(check.container)})`;
  if (!check.blueGreen) return 'c=""';
  const bg = check.blueGreen;
  return [activeColor('A', bg), `case "$A" in blue) c=$(cid ${p} ${shellQuote(bg.blue)});; green) c=$(cid ${p} ${shellQuote(bg.green)});; *) c="";; esac`].join('\n');
}

function probe(check: CheckDesired, i: number, timeoutSeconds: number): string {
  const k = `c${i}`;
  return [
    '(',
    lookup(check),
    `if [ -z "$c" ]; then echo ${shellQuote(`${k}.notrun=no running container for ${check.container} in ${check.project}`)}; exit 0; fi`,
    `o=$(mktemp) && e=$(mktemp) || { echo "${k}.notrun=mktemp failed on the host"; exit 0; }`,
    `"$D" exec "$c" ${check.command.map(shellQuote).join(' ')} >"$o" 2>"$e" </dev/null &`,
    'p=$!',
    // The timer holds none of the batch's streams, so a killed timer's sleep never keeps the SSH session open.
    `( sleep ${timeoutSeconds}; : >"$e.t"; kill "$p" ) >/dev/null 2>&1 </dev/null &`,
    't=$!',
    'wait "$p"; rc=$?',
    'kill "$t" 2>/dev/null',
    `if [ -f "$e.t" ]; then rc=${TIMED_OUT}; fi`,
    `echo "${k}.rc=$rc"`,
    `echo "${k}.out=$(head -c 2048 "$o" | tr '\\n\\r' '  ')"`,
    `echo "${k}.err=$(tail -c 400 "$e" | tr '\\n\\r' '  ')"`,
    'rm -f "$o" "$e" "$e.t"',
    ') &',
  ].join('\n');
}

/** The read-only section: the host's clock, then every check (in parallel). */
export function observeScript(desired: ChecksDesired, toolPaths: readonly string[], timeoutSeconds = CHECK_TIMEOUT_SECONDS): string {
  return [
    HELPERS,
    findTool('D', 'docker', toolPaths),
    'echo "_.now=$(date +%s)"',
    'if [ -z "$D" ]; then echo "_.docker=missing"; exit 0; fi',
    ...desired.checks.map((c, i) => probe(c, i, timeoutSeconds)),
    'wait',
  ].join('\n');
}

/** The probes by check key and the host's clock (epoch ms; `fallbackNow` when it did not say). Pure. */
export function parseObservation(output: string, desired: ChecksDesired, fallbackNow: number): { now: number; probes: Map<string, Probe> } {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const seconds = Number(values.get('_.now'));
  const now = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : fallbackNow;
  const probes = new Map<string, Probe>();
  desired.checks.forEach((check, i) => {
    const k = `c${i}`;
    if (values.get('_.docker') === 'missing') probes.set(checkKey(check), { state: 'not-run', why: 'docker was not found by absolute path on the host' });
    else if (values.has(`${k}.notrun`)) probes.set(checkKey(check), { state: 'not-run', why: values.get(`${k}.notrun`)! });
    else if (values.has(`${k}.rc`)) probes.set(checkKey(check), { state: 'ran', code: Number(values.get(`${k}.rc`)), stdout: (values.get(`${k}.out`) ?? '').trim(), stderr: (values.get(`${k}.err`) ?? '').trim() });
  });
  return { now, probes };
}
