/**
 * A command run in a stack's running container (`docker exec`; `@active`: the
 * live blue/green color), as the script of an action: a hook, a proxy's
 * switch, a rotation's command. Shared by the kinds that run one (stack,
 * entities, admins, ingress, the secret rotation). facts/exec.ts runs one as a
 * read-only timed fact instead.
 */
import { EXIT } from '../exit-codes.js';
import { type BlueGreenTarget, type Color, containerLookup } from './blue-green.js';
import { dockerGitPrelude } from './project.js';
import { shellQuote } from './quote.js';
import { toolFound } from './tools.js';

/** A command run in a stack's container (a hook). */
export interface ExecTarget {
  /** The stack whose container runs it. */
  service: string;
  project: string;
  /** A compose service, or `@active` (the live blue/green color, resolved on the host). */
  container: string;
  blueGreen: BlueGreenTarget | null;
  command: string[];
}

/** Runs a command in a stack's running container; stdout is the command's (stdin too when `interactive`: `exec -i`). `active`: see containerLookup. */
export function execScript(target: { project: string; container: string; blueGreen: BlueGreenTarget | null }, command: readonly string[], toolPaths: readonly string[], active?: Color | null, interactive = false): string {
  return [
    dockerGitPrelude(toolPaths),
    toolFound('docker'),
    containerLookup(target.project, target.container, target.blueGreen, active),
    `if [ -z "$c" ]; then echo ${shellQuote(`no running container for ${target.container} in ${target.project}`)} >&2; exit ${EXIT.noContainer.code}; fi`,
    `exec "$D" exec ${interactive ? '-i ' : ''}"$c" ${command.map(shellQuote).join(' ')}`,
  ].join('\n');
}
