/**
 * A command run inside a compose service's running container (`docker exec`;
 * `@active`: the live blue/green color), as a timed fact: a section's execs
 * run side by side and a hung one is killed, never holding the batch. Needs
 * the project helpers (`cid`) and "$D" (commands/project.ts `dockerPrelude`).
 */
import { type BlueGreenTarget, containerLookup } from '../commands/blue-green.js';
import { docker } from '../commands/docker.js';
import { variable } from '../commands/quote.js';
import { type Fact, timed } from './fact.js';

/** Where the command runs: a compose service of `project`, or `@active` (with its blue/green stack). */
export interface ExecTarget {
  project: string;
  container: string;
  blueGreen: BlueGreenTarget | null;
}

export type ExecAnswer =
  /** docker not found, or no running container for the service. */
  | { state: 'no-container' }
  /** The host could not start it (`why`: what it said). */
  | { state: 'not-started'; why: string }
  /** It ran: its exit code (fact.ts TIMED_OUT: killed after its limit), stdout, the end of its stderr; trimmed. */
  | { state: 'ran'; code: number; stdout: string; stderr: string };

/** The answer of a timed exec from its frame (pure). */
export function execAnswer(stdout: string, code: number, stderr: string): ExecAnswer {
  if (code === -1) return stderr.trim() ? { state: 'not-started', why: stderr.trim() } : { state: 'no-container' };
  return { state: 'ran', code, stdout: stdout.trim(), stderr: stderr.trim() };
}

/** `command` (argv, stdin closed) in the target's running container, killed after `seconds`. */
export function execInContainerFact(name: string, target: ExecTarget, command: readonly string[], seconds: number): Fact<ExecAnswer> {
  const guard = ['[ -n "$D" ] && {', containerLookup(target.project, target.container, target.blueGreen), '[ -n "$c" ]; }'].join('\n');
  return timed({ name, argv: docker.exec(variable('c'), command), seconds, guard, parse: execAnswer });
}
