/**
 * A compose service known by its compose file's directory, not by a project
 * axe named: the customer's vault, which they may have started by hand under
 * any project name (`com.docker.compose.project.working_dir` tells). Scripts
 * for the observation's prelude and for `up`; `"$D"` is docker found by
 * absolute path (tools.ts).
 */
import { compose } from './compose.js';
import { type Argv, hostPath, line, shellQuote, type ShellWord, variable } from './quote.js';
import { findTool, hasTool, requireTool, tool } from './tools.js';

const WORKING_DIR = 'com.docker.compose.project.working_dir';

/** `'label=…working_dir='"$dir"`: the directory set by `fileAndDir`. */
const inDir: ShellWord = { sh: `${shellQuote(`label=${WORKING_DIR}=`)}${variable('dir').sh}` };

/** The `docker ps` filters of a service's containers in `$dir`. */
const filters = (service: string): Argv => ['--filter', `label=com.docker.compose.service=${service}`, '--filter', inDir];

/** Sets `$f` (the compose file) and `$dir` (its directory). */
function fileAndDir(composeFile: string): string {
  return `f=${hostPath(composeFile)}; dir=\${f%/*}`;
}

/** The observation's prelude: docker into `$D` ('' when not there), the file's `$dir`, and the service's container of that directory (any state) into `$id` ('' when none). */
export function containerInDirPrelude(composeFile: string, service: string, toolPaths: readonly string[]): string {
  return [
    findTool('D', 'docker', toolPaths),
    `${fileAndDir(composeFile)}; id=""`,
    `if ${hasTool('docker')}; then id=$(${line([tool('docker'), 'ps', '-aq', '--no-trunc', ...filters(service)])} 2>/dev/null | head -n 1); fi`,
  ].join('\n');
}

export interface UpInDir {
  composeFile: string;
  service: string;
  /** The project when the service runs under none yet. */
  defaultProject: string;
  waitSeconds: number;
  forceRecreate: boolean;
  toolPaths: readonly string[];
}

/** `compose up` of the service, in its file's directory, under the project it already runs under (else the default one). */
export function upInDirScript(o: UpInDir): string {
  const project = [tool('docker'), 'ps', '-a', ...filters(o.service), '--format', '{{.Label "com.docker.compose.project"}}'];
  const up = compose(variable('p'), [variable('f')]).up({ waitSeconds: o.waitSeconds, noDeps: true, forceRecreate: o.forceRecreate, services: [o.service] });
  return [
    'set -e',
    requireTool('docker', o.toolPaths),
    `${fileAndDir(o.composeFile)}; cd "$dir"`,
    `p=$(${line(project)} | head -n 1)`,
    `if [ -z "$p" ]; then p=${shellQuote(o.defaultProject)}; fi`,
    line(up),
  ].join('\n');
}
