/**
 * The slower reads of a stack, each a background fact of its group
 * (facts/stack.ts: `$dir`, `$f`, `$PSO`, `$A` are its prelude's): a value in
 * the env file against what its source gives now (a hook run in a container,
 * the host's vault), the host's bw session, and an HTTP check inside a
 * container. Values never leave the host: only their sha256 sums, a status
 * word, ok/fail. The session goes to bw through its environment, values stay
 * in shell variables (printf is a builtin), never on a command line.
 */
import { type BlueGreenTarget, containerLookup } from '../commands/blue-green.js';
import { docker } from '../commands/docker.js';
import { hostPath, line, shellQuote, variable } from '../commands/quote.js';
import { findTool } from '../commands/tools.js';
import type { Fact } from './fact.js';

/** The sha256 of a value in the env file and of what its source gives now. */
export interface ValueSums {
  file: string;
  now: string;
}

/**
 * Compares the env file's value of `varName` with what `source` sets `$w`
 * to ('' when there is nothing to compare): `<file sum> <now sum>`, or
 * nothing. Run only when the file holds a value and `when` holds.
 */
function valueSumsFact(name: string, varName: string, source: { setup?: string; when?: string; lines: string[] }): Fact<ValueSums | null> {
  const unquote = `case "$v" in \\'*\\') v=\${v#\\'}; v=\${v%\\'};; esac`;
  return {
    name,
    background: true,
    command: [
      '(',
      ...(source.setup ? [source.setup] : []),
      `v=$(sed -n ${shellQuote(`s/^${varName}=//p`)} "$f" 2>/dev/null | head -n 1); ${unquote}`,
      `if [ -n "$v" ]${source.when ? ` && ${source.when}` : ''}; then`,
      ...source.lines,
      'if [ -n "$w" ]; then echo "$(printf \'%s\' "$v" | axe_sum) $(printf \'%s\' "$w" | axe_sum)"; fi',
      'fi',
      ')',
    ].join('\n'),
    parse: (output) => {
      const [file, now] = output.trim().split(' ');
      return file && now ? { file, now } : null;
    },
  };
}

export interface HookTarget {
  project: string;
  container: string;
  blueGreen: BlueGreenTarget | null;
  command: readonly string[];
}

/** A hook-supplied value against what the hook prints now (only when its container runs; a fresh stack's hook never runs here). */
export function hookValueFact(name: string, varName: string, hook: HookTarget): Fact<ValueSums | null> {
  return {
    ...valueSumsFact(name, varName, {
      lines: [containerLookup(hook.project, hook.container, hook.blueGreen), `if [ -n "$c" ]; then w=$(${line(docker.exec(variable('c'), hook.command))} 2>/dev/null) || w=""; else w=""; fi`],
    }),
    guard: '[ -n "$D" ]',
  };
}

/** The bw CLI found into `$B`. */
const findBw = (toolPaths: readonly string[]) => findTool('B', 'bw', toolPaths);
const bwEnv = (sessionFile: string) => `BW_NOINTERACTION=true BW_SESSION="$(cat ${hostPath(sessionFile)})"`;

/**
 * Pull mode: a pulled secret against the item in the host's vault, as of bw's
 * last sync (every deploy's pull syncs; an observation never does). Nothing
 * when the session cannot read.
 */
export function pulledValueFact(name: string, varName: string, item: string, sessionFile: string, toolPaths: readonly string[]): Fact<ValueSums | null> {
  const get = (field: string) => `${bwEnv(sessionFile)} "$B" get ${field} ${shellQuote(item)} </dev/null 2>/dev/null`;
  return valueSumsFact(name, varName, { setup: findBw(toolPaths), when: `[ -n "$B" ] && [ -f ${hostPath(sessionFile)} ]`, lines: [`w=$(${get('password')}) || w=$(${get('notes')}) || w=""`] });
}

export interface BwSession {
  present: boolean;
  mode: string;
  /** What `bw status` says with it (`unlocked`, `locked`, …; `nobw`: no bw on the host; `unknown`). */
  status: string;
}

/** Pull mode: the host's bw session file (present, its mode) and what `bw status` says with it. */
export function bwSessionFact(name: string, sessionFile: string, toolPaths: readonly string[]): Fact<BwSession | null> {
  const sf = hostPath(sessionFile);
  return {
    name,
    background: true,
    command: [
      findBw(toolPaths),
      `if [ ! -f ${sf} ]; then echo missing; else`,
      `echo "present $(axe_mode ${sf})"`,
      `if [ -z "$B" ]; then echo nobw; else st=$(${bwEnv(sessionFile)} "$B" status </dev/null 2>/dev/null | sed -n 's/.*"status": *"\\([a-z]*\\)".*/\\1/p'); echo "\${st:-unknown}"; fi`,
      'fi',
    ].join('\n'),
    parse: (output, code) => {
      if (code === -1 || !output.trim()) return null;
      const [first = '', status = ''] = output.split('\n');
      const [state = '', mode = ''] = first.split(' ');
      return { present: state === 'present', mode, status: status.trim() };
    },
  };
}

/** Whether an HTTP path answers 2xx inside the stack's running container (its wget, else curl); null when it is not running. `@active`: the prelude's color. */
export function stackInsideFact(name: string, project: string, container: string, blueGreen: BlueGreenTarget | null, port: number, path: string): Fact<'ok' | 'fail' | null> {
  const url = `http://127.0.0.1:${port}${path}`;
  const cid = (service: string) => `$(cid ${shellQuote(project)} ${shellQuote(service)})`;
  const lookup =
    container === '@active' && blueGreen
      ? `case "$A" in blue) ic=${cid(blueGreen.blue)};; green) ic=${cid(blueGreen.green)};; *) ic="";; esac`
      : `ic=${cid(container)}`;
  const get = (tool: string[]) => `${line(docker.exec(variable('ic'), [...tool, url]))} >/dev/null 2>&1`;
  return {
    name,
    background: true,
    guard: '[ -n "$D" ]',
    command: [lookup, `if [ -n "$ic" ]; then if ${get(['wget', '-q', '-O', '/dev/null'])} || ${get(['curl', '-fsS', '-o', '/dev/null'])}; then echo ok; else echo fail; fi; fi`].join('\n'),
    parse: (output) => (output.trim() === 'ok' ? 'ok' : output.trim() === 'fail' ? 'fail' : null),
  };
}
