/**
 * A fact: one command on the host (or one Engine API call, see engine.ts)
 * plus one parser. A kind's observation is a set of facts; the scan batches
 * every kind's facts into the host's one round trip (each kind's facts are
 * one section of the batch, providers/host/sections.ts).
 *
 * Rules:
 * - A fact's command only reads. It is a command line from the builders in
 *   commands/, optionally behind a guard made of shell builtins (`[ -x … ]`).
 * - Facts of one section run in `{ }` groups, not subshells (no process per
 *   fact); a fact's command never `exit`s and leaves no variable behind that
 *   another fact reads.
 * - Parsers are pure; they prefer JSON where the tool offers it.
 * - An engine fact (engine.ts) is one Engine API call (dockerode over the
 *   host's SSH connection) with its shell form kept as the fallback: with the
 *   engine in use the batch sets `axe_engine`, the fact's shell form is
 *   skipped (its frame comes back empty, its guard still decides whether it
 *   ran) and the engine's answer is put in that frame (`answerEngineFacts`).
 * - A timed fact (`timed`) runs side by side with its section's other timed
 *   facts, in the background, killed after its time limit; its command is one
 *   command line (the process the timer kills), its guard runs in its job and
 *   may start processes (finding the container it runs in). The shell that
 *   runs them, and the background facts and groups, is scripts/side-by-side.sh.
 */
import { type Argv, line, shellQuote } from '../commands/quote.js';
import { scriptText } from '../scripts.js';
import type { HostSection } from '../sections.js';
import type { EngineCall } from '../engine-api.js';

export interface Fact<T> {
  /** Unique within its section: `files`, `container`. */
  name: string;
  /** POSIX sh; read-only; lib.sh's functions are defined. */
  command: string;
  /**
   * `code` is -1 when the fact did not run (its guard did not hold, or its
   * frame is missing; a timed fact the host could not start says why in
   * `stderr`), TIMED_OUT when a timed fact was killed. `stderr` is a timed
   * fact's (its last 400 bytes, on one line); '' for the others.
   */
  parse(output: string, code: number, stderr: string): T;
  /** Shell builtins (a timed fact's: any read-only shell): the fact runs only when this holds. */
  guard?: string;
  /** A timed fact's time limit in seconds (see `timed`). */
  limitSeconds?: number;
  /**
   * Runs side by side with the other facts of its section or group (started
   * before them, in the background; no time limit), its frame printed after
   * they all ended. For the slow reads (compose, `docker exec`).
   */
  background?: boolean;
  /**
   * The same read as one Engine API call (engine.ts): when the batch runs with
   * the engine, `command` is skipped and this answers instead (never timed).
   */
  engine?: EngineCall;
}

/**
 * Facts run together in one background job, side by side with the section's
 * other groups (e.g. one stack service each). Its prelude runs first in the
 * job and sets what its facts and their guards read (it may start processes:
 * one listing that several facts read); its facts then run as a section's
 * do, its background facts side by side. The job's frames are printed once
 * every group ended (scripts/side-by-side.sh), so they never interleave.
 */
export interface FactGroup {
  prelude: string;
  facts: Record<string, Fact<unknown>>;
}

/** The exit code of a timed fact killed after its time limit (as TERM gives). */
export const TIMED_OUT = 143;

/** The value type of a fact. */
export type FactValue<F> = F extends Fact<infer T> ? T : never;
export type FactValues<F extends Record<string, Fact<unknown>>> = { [K in keyof F]: FactValue<F[K]> };

const MARK = '@@axe-fact';

/** The fact, run only when `condition` (shell builtins) holds; else it parses as not run (code -1). */
export function when<T>(condition: string, fact: Fact<T>): Fact<T> {
  return { ...fact, guard: fact.guard ? `${fact.guard} && ${condition}` : condition };
}

/** The fact, never run: it parses as not run (code -1). For a fact a kind reads only in some setups. */
export function never<T>(fact: Fact<T>): Fact<T> {
  return { ...fact, guard: 'false' };
}

export interface TimedSpec<T> {
  name: string;
  /** One command line: the process killed when the limit passes. */
  argv: Argv;
  seconds: number;
  /** Read-only shell run in the fact's job before it (it may set what `argv` reads, e.g. `"$c"`). */
  guard?: string;
  parse(stdout: string, code: number, stderr: string): T;
}

/**
 * A fact run side by side with its section's other timed facts (in the same
 * round trip), killed after `seconds`: its code is then TIMED_OUT. Its stdout
 * (the first 2 KiB) and stderr (the last 400 bytes) come back on one line each.
 */
export function timed<T>(spec: TimedSpec<T>): Fact<T> {
  if (!Number.isInteger(spec.seconds) || spec.seconds <= 0) throw new Error(`a timed fact's limit is whole seconds: ${spec.seconds}`);
  return { name: spec.name, command: line(spec.argv), parse: spec.parse, limitSeconds: spec.seconds, ...(spec.guard ? { guard: spec.guard } : {}) };
}

function framed(f: Fact<unknown>): string {
  const run = [`printf '%s begin %s\\n' '${MARK}' '${f.name}'`, `{\n${f.command}\n}`, `printf '\\n%s end %s %s\\n' '${MARK}' '${f.name}' "$?"`].join('\n');
  return f.guard ? `if ${f.guard}; then\n${run}\nfi` : run;
}

/** The timed facts started in the background (before the others run), and their frames printed after all ended (scripts/side-by-side.sh defined first). */
function timedParts(facts: readonly Fact<unknown>[]): { start: string; end: string } {
  if (facts.length === 0) return { start: '', end: '' };
  const jobs = facts.map((f) => {
    const run = `axe_timed ${shellQuote(f.name)} ${f.limitSeconds} ${f.command}`;
    return `if [ -n "$axe_sd" ]; then { if ${f.guard ?? 'true'}\nthen ${run}; fi; } >/dev/null 2>&1 </dev/null & fi`;
  });
  return {
    start: jobs.join('\n'),
    end: ['wait', `axe_timed_frames ${shellQuote(MARK)} ${facts.map((f) => shellQuote(f.name)).join(' ')}`].join('\n'),
  };
}

/** Shell function names for the jobs of a section (`axe_j<id>`): facts' names may hold any non-space. */
const jobName = (id: string) => `axe_j${id}`;

/** Plain facts in turn, background facts started first and their frames printed after `wait` (ids prefix their jobs). */
function plainAndBackground(facts: readonly Fact<unknown>[], id: string): string[] {
  const bg = facts.filter((f) => f.background);
  const start = bg.flatMap((f, i) => [`${jobName(`${id}_${i}`)}() {\n${framed(f)}\n}`, `axe_bg ${jobName(`${id}_${i}`)} ${jobName(`${id}_${i}`)}`]);
  const end = bg.length ? ['wait', `axe_bg_frames ${bg.map((_, i) => jobName(`${id}_${i}`)).join(' ')}`] : [];
  return [...start, ...facts.filter((f) => !f.background).map(framed), ...end];
}

/**
 * The section that runs these facts, each framed so its output and status
 * come back apart. `prelude` (shell builtins: finding tools, choosing a
 * manager) runs first and sets what the facts and their guards read. Timed
 * facts start first, side by side, and are waited for at the end; background
 * facts and groups (FactGroup) run side by side with the plain facts.
 */
export function factsSection(name: string, facts: Record<string, Fact<unknown>>, prelude = '', groups: readonly FactGroup[] = []): HostSection {
  const all = Object.values(facts);
  const engine = Object.fromEntries([...all, ...groups.flatMap((g) => Object.values(g.facts))].flatMap((f) => (f.engine ? [[f.name, f.engine] as const] : [])));
  if (all.some((f) => f.engine && f.limitSeconds !== undefined)) throw new Error(`a timed fact cannot be an engine fact (section ${name})`);
  const timedFacts = all.filter((f) => f.limitSeconds !== undefined);
  const t = timedParts(timedFacts);
  const untimed = all.filter((f) => f.limitSeconds === undefined);
  // The side-by-side runner and its one directory, for timed facts, groups and background facts alike.
  const sideBySide = timedFacts.length > 0 || groups.length > 0 || untimed.some((f) => f.background);
  const jobs = groups.flatMap((g, i) => [`${jobName(`g${i}`)}() (\n${[g.prelude, ...plainAndBackground(Object.values(g.facts), `g${i}`)].filter(Boolean).join('\n')}\n)`, `axe_bg ${jobName(`g${i}`)} ${jobName(`g${i}`)}`]);
  const end = groups.length ? ['wait', `axe_bg_frames ${groups.map((_, i) => jobName(`g${i}`)).join(' ')}`] : [];
  const runner = sideBySide ? scriptText('side-by-side.sh') : '';
  const script = [prelude, runner, t.start, ...jobs, ...plainAndBackground(untimed, 'f'), ...end, t.end, sideBySide ? 'axe_sd_done' : ''].filter(Boolean).join('\n');
  return { name, script, ...(Object.keys(engine).length ? { engine } : {}) };
}

/** The exit code put in the frame of a fact the engine answered (no shell status is 256). */
export const ENGINE_ANSWERED = 256;

/**
 * The section's output with each answered engine fact's frame holding the
 * engine's answer (JSON on one line, code ENGINE_ANSWERED) (pure). A fact
 * whose frame is not there (its guard did not hold) stays not run.
 */
export function answerEngineFacts(output: string, answers: ReadonlyMap<string, unknown>): string {
  let out = output;
  for (const [name, answer] of answers) {
    const begin = `${MARK} begin ${name}\n`;
    const at = out.indexOf(begin);
    if (at < 0) continue;
    const end = new RegExp(`\\n${MARK} end ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} -?\\d+(?:\\n|$)`).exec(out.slice(at));
    if (!end) continue;
    out = `${out.slice(0, at)}${frame(name, JSON.stringify(answer) ?? 'null', ENGINE_ANSWERED)}${out.slice(at + end.index + end[0].length)}`;
  }
  return out;
}

/** Each fact's value from its section's output (pure); a fact whose frame is missing parses ''. */
export function readFacts<F extends Record<string, Fact<unknown>>>(output: string, facts: F): FactValues<F> {
  const raw = new Map<string, { output: string; code: number; stderr: string }>();
  const re = new RegExp(`${MARK} begin (\\S+)\\n([\\s\\S]*?)\\n${MARK} end \\1 (-?\\d+)(?:\\n|$)`, 'g');
  for (const m of output.matchAll(re)) {
    const [out = '', stderr = ''] = m[2]!.split(`\n${MARK} stderr ${m[1]!}\n`).map((part) => part.replace(/\n$/, ''));
    raw.set(m[1]!, { output: out, code: Number(m[3]), stderr });
  }
  const out: Record<string, unknown> = {};
  for (const [key, fact] of Object.entries(facts)) {
    const got = raw.get(fact.name) ?? { output: '', code: -1, stderr: '' };
    out[key] = fact.parse(got.output, got.code, got.stderr);
  }
  return out as FactValues<F>;
}

/** One fact's frame as the host prints it (tests build section outputs with it). */
export function frame(name: string, output: string, code = 0, stderr?: string): string {
  const err = stderr === undefined ? '' : `\n${MARK} stderr ${name}\n${stderr}`;
  return `${MARK} begin ${name}\n${output}${err}\n${MARK} end ${name} ${code}\n`;
}
