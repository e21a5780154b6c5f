/**
 * Shell functions and listings for a compose project's containers, shared by
 * the kinds that read a stack on the host (stack, ingress, entities,
 * vaultwarden). Pure functions returning POSIX sh; every value shell-quoted;
 * nothing here ever carries a secret.
 */
import { shellQuote } from './quote.js';
import { findTool } from './tools.js';

/**
 * `sum` hashes stdin (sha256, hex); `mode` prints a file's permission bits
 * (as lib.sh's axe_sum and axe_mode: the stack's scripts still define their own);
 * `cid PROJECT SERVICE` prints the running container of a compose service —
 * from `$PSO` (lines `ID|service|state|…`, one `docker ps` of project
 * `$PSO_P`, see `projectListing`) when it is that project, else by asking docker.
 */
export const HELPERS = [
  'sum() { if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d" " -f1; ' +
    'elif [ -x /usr/bin/shasum ]; then /usr/bin/shasum -a 256 | cut -d" " -f1; else openssl dgst -sha256 -r | cut -d" " -f1; fi; }',
  'mode() { stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1" 2>/dev/null; }',
  `cid() { if [ -n "\${PSO_P:-}" ] && [ "$1" = "$PSO_P" ]; then printf '%s\\n' "\${PSO:-}" | awk -F'|' -v s="$2" '$2 == s && $3 == "running" { print $1; exit }'; ` +
    `else "$D" ps -q --no-trunc --filter "label=com.docker.compose.project=$1" --filter "label=com.docker.compose.service=$2" --filter status=running 2>/dev/null | head -n 1; fi; }`,
].join('\n');

const PSO_FORMAT = '{{.ID}}|{{.Label "com.docker.compose.service"}}|{{.State}}';

/**
 * Lists a compose project's containers once (`ID|service|state`, or the
 * given format, which must start with those three) into `$PSO`: `cid` answers
 * for that project from it, without asking docker again.
 */
export function projectListing(project: string, format = PSO_FORMAT): string {
  const p = shellQuote(project);
  return `PSO_P=${p}; PSO=$("$D" ps -a --no-trunc --filter label=com.docker.compose.project=${p} --format ${shellQuote(format)} 2>/dev/null)`;
}

/** The project helpers and the docker CLI found into "$D" ('' when it is not there): the prelude of a section reading stacks. */
export function dockerPrelude(toolPaths: readonly string[]): string {
  return `${HELPERS}\n${findTool('D', 'docker', toolPaths)}`;
}

/** The project helpers, docker and git by absolute path (`$D`, `$G`; '' when not there): the header of a script working on a stack's checkout and containers. */
export function dockerGitPrelude(toolPaths: readonly string[]): string {
  return `${dockerPrelude(toolPaths)}\n${findTool('G', 'git', toolPaths)}`;
}
