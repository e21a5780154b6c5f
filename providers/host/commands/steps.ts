/**
 * Several steps of an action in one round trip (scripts/steps.sh): the
 * builder and the reader of what the runner says back. A step is a script
 * built by the other builders (a hook, a record, a compose stop); the first
 * hard step that fails ends the run, a soft one is reported and the rest run.
 */
import { projectListing, dockerGitPrelude } from './project.js';
import { shellQuote } from './quote.js';
import { commandDetail } from '../facts/compose-up.js';
import { withArgs } from '../scripts.js';
import type { ExecResult } from '../ssh.js';

/** One step of a `stepsScript`. */
export interface HostStep {
  name: string;
  script: string;
  /** A failure is reported (`STEP_SOFT_FAILED`) and the next steps still run; the script exits 1 at the end. */
  soft?: boolean;
}

/** The last stderr line of a failed `stepsScript`: `axe-step-failed=<name>` (scripts/steps.sh). */
export const STEP_FAILED = 'axe-step-failed=';
/** A soft step's failure, on its own stderr line: `axe-step-soft-failed=<name>`. */
export const STEP_SOFT_FAILED = 'axe-step-soft-failed=';

/**
 * Runs the steps in order, each in its own subshell (its `exit` and `set -e`
 * stay inside): the first step that fails ends the script with its exit
 * code, its stderr, then `axe-step-failed=<name>`. With `listing`, the
 * project's containers are listed once first, for every step's container
 * lookups (the steps must not create or remove containers).
 */
export function stepsScript(steps: readonly HostStep[], listing?: { project: string; toolPaths: readonly string[] }): string {
  // The project's containers listed once for every step's `cid` (they do not change while the steps run).
  const prelude = listing ? [dockerGitPrelude(listing.toolPaths), projectListing(listing.project)] : [];
  const args = steps.flatMap((s) => [shellQuote(s.name), s.soft ? 'soft' : 'hard', shellQuote(s.script)]);
  return [...prelude, withArgs('steps.sh', args)].join('\n');
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

/** What a steps run said. */
export interface StepsResult {
  code: number;
  /** The step that ended the script ('?' when it failed before any step said so), null when every hard step succeeded. */
  failed: string | null;
  soft: string[];
  stderr: string;
}

/** The typed result of a steps run (pure). */
export function readSteps(result: ExecResult): StepsResult {
  const { failed, soft } = failedSteps(result.stderr);
  if (result.code !== 0 && !failed && soft.length === 0) return { code: result.code, failed: '?', soft, stderr: result.stderr };
  return { code: result.code, failed, soft, stderr: result.stderr };
}

/** A step's error detail: its last stderr line (diagnostics lines left out), or the run's exit code. */
export function stepDetail(result: StepsResult, step: string): string {
  return commandDetail(stepStderr(result.stderr, step)) || `exit ${result.code}`;
}
