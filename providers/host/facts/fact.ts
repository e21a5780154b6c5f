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
 */
import type { HostSection } from '../sections.js';

export interface Fact<T> {
  /** Unique within its section: `files`, `container`. */
  name: string;
  /** POSIX sh; read-only; lib.sh's functions are defined. */
  command: string;
  /** `code` is -1 when the fact did not run (its guard did not hold, or its frame is missing). */
  parse(output: string, code: number): T;
  /** Shell builtins: the fact runs only when this holds. */
  guard?: string;
}

/** The value type of a fact. */
export type FactValue<F> = F extends Fact<infer T> ? T : never;
export type FactValues<F extends Record<string, Fact<unknown>>> = { [K in keyof F]: FactValue<F[K]> };

const MARK = '@@axe-fact';

/** The fact, run only when `condition` (shell builtins) holds; else it parses as not run (code -1). */
export function when<T>(condition: string, fact: Fact<T>): Fact<T> {
  return { ...fact, guard: fact.guard ? `${fact.guard} && ${condition}` : condition };
}

/**
 * The section that runs these facts, each framed so its output and status
 * come back apart. `prelude` (shell builtins: finding tools, choosing a
 * manager) runs first and sets what the facts and their guards read.
 */
export function factsSection(name: string, facts: Record<string, Fact<unknown>>, prelude = ''): HostSection {
  const framed = Object.values(facts).map((f) => {
    const run = [`printf '%s begin %s\\n' '${MARK}' '${f.name}'`, `{\n${f.command}\n}`, `printf '\\n%s end %s %s\\n' '${MARK}' '${f.name}' "$?"`].join('\n');
    return f.guard ? `if ${f.guard}; then\n${run}\nfi` : run;
  });
  return { name, script: [prelude, ...framed].filter(Boolean).join('\n') };
}

/** Each fact's value from its section's output (pure); a fact whose frame is missing parses ''. */
export function readFacts<F extends Record<string, Fact<unknown>>>(output: string, facts: F): FactValues<F> {
  const raw = new Map<string, { output: string; code: number }>();
  const re = new RegExp(`${MARK} begin (\\S+)\\n([\\s\\S]*?)\\n${MARK} end \\1 (\\d+)(?:\\n|$)`, 'g');
  for (const m of output.matchAll(re)) raw.set(m[1]!, { output: m[2]!.replace(/\n$/, ''), code: Number(m[3]) });
  const out: Record<string, unknown> = {};
  for (const [key, fact] of Object.entries(facts)) {
    const got = raw.get(fact.name) ?? { output: '', code: -1 };
    out[key] = fact.parse(got.output, got.code);
  }
  return out as FactValues<F>;
}

/** One fact's frame as the host prints it (tests build section outputs with it). */
export function frame(name: string, output: string, code = 0): string {
  return `${MARK} begin ${name}\n${output}\n${MARK} end ${name} ${code}\n`;
}
