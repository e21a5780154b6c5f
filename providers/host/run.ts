/**
 * A command run in a stack's running container, as an action (a hook: an
 * entity's registration, an admin's role, a rotation's new value on stdin).
 * The script is commands/exec.ts's; the failure is the executor's AxeError.
 *
 * Rules:
 * - Every failure is transient: the script's own codes (docker missing, no
 *   running container) are, and any other code is the command's, not axe's.
 * - Data (a new secret) goes on stdin (`docker exec -i`), never into the
 *   command line; the message quotes stderr only, never stdout.
 */
import type { Color } from './commands/blue-green.js';
import { type ExecTarget, execScript } from './commands/exec.js';
import { runScript, type RunSpec } from './executor.js';
import type { ExecResult, HostConnection } from './ssh.js';

export interface InContainerSpec extends Omit<RunSpec, 'class' | 'silent'> {
  toolPaths: readonly string[];
  /** The color a switch in this pass made live (`@active`), null/absent: resolved on the host. */
  active?: Color | null;
}

type Target = Pick<ExecTarget, 'project' | 'container' | 'blueGreen'>;

/** What a failure says when the command printed nothing on stderr (126/127: the shell's "cannot run" and "not found"). */
export function silentFailure(target: Target, command: readonly string[]): (code: number) => string {
  return (code) => (code === 126 || code === 127 ? `exit ${code}: ${command[0]} is not a command in ${target.container} (an image without it?)` : `exit ${code}`);
}

/** Runs `command` in the target's running container; throws the classified AxeError when it fails. */
export function runInContainer(connection: HostConnection, target: Target, command: readonly string[], spec: InContainerSpec): Promise<ExecResult> {
  const { toolPaths, active, ...run } = spec;
  const script = execScript(target, command, toolPaths, active, spec.stdin !== undefined);
  return runScript(connection, script, { ...run, class: 'transient', silent: silentFailure(target, command) });
}
