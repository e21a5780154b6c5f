/**
 * Engine facts: a read that is one Docker Engine API call (over the host's
 * SSH connection, engine-api.ts: a channel to the engine's socket, no
 * process on the host) plus one pure parser of the engine's JSON, with the
 * shell form kept as the fallback for a batch run without the engine (the
 * socket not known yet, or not reachable: executor.ts `runBatch`).
 *
 * Rules:
 * - The call is one GET; its answer is the engine's JSON as the API gives
 *   it, and the parser gives the same value the shell form's parser gives
 *   for the same engine state (tests hold them to it, the lab compares both).
 * - Only a read that no later shell in the batch needs is an engine fact:
 *   a listing a prelude reads into a variable stays shell.
 */
import type { EngineCall } from '../engine-api.js';
import { ENGINE_ANSWERED, type Fact } from './fact.js';

/** Set by the batch's prelude when the engine answers its engine facts. */
export const ENGINE_VARIABLE = 'axe_engine';

export interface EngineFactSpec<T> {
  call: EngineCall;
  /** The engine's answer to `call` (pure). */
  parse(answer: unknown): T;
  /** The shell form, run when the batch runs without the engine; its name is the fact's. */
  fallback: Fact<T>;
}

/** A fact answered by the engine when the batch uses it, else by its shell form. */
export function engineFact<T>(spec: EngineFactSpec<T>): Fact<T> {
  const { fallback } = spec;
  if (fallback.limitSeconds !== undefined) throw new Error(`a timed fact cannot be an engine fact: ${fallback.name}`);
  return {
    ...fallback,
    command: `if [ -z "\${${ENGINE_VARIABLE}:-}" ]; then\n${fallback.command}\nfi`,
    engine: spec.call,
    parse(output, code, stderr) {
      if (code !== ENGINE_ANSWERED) return fallback.parse(output, code, stderr);
      let answer: unknown = null;
      try {
        answer = JSON.parse(output);
      } catch {
        // The answer is our own JSON.stringify: never here.
      }
      return spec.parse(answer);
    },
  };
}

/** The entries of an engine listing (an array), skipping what is not an object (pure). */
export function entries<T extends object>(answer: unknown): Array<Partial<T>> {
  return Array.isArray(answer) ? answer.filter((e): e is Partial<T> => typeof e === 'object' && e !== null) : [];
}

/** An engine `Labels` object as a string map (null and non-strings dropped) (pure). */
export function labelsOf(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
