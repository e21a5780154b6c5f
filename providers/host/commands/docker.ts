/**
 * The docker CLI's command lines (argv arrays; `"$D"` is the CLI found by
 * absolute path, see tools.ts). Reads that the Engine API answers as JSON go
 * through dockerode instead (providers/host/docker-engine.ts); these are the
 * commands that change the host, and the CLI fallbacks of facts.
 */
import { type Argv, line, type Word } from './quote.js';
import { requireTool, tool } from './tools.js';

const D = tool('docker');

export type DockerObject = 'network' | 'volume';

export const docker = {
  /** `docker network|volume inspect NAME` (exit 0 when it exists). */
  inspectObject: (what: DockerObject, name: string): Argv => [D, what, 'inspect', name],
  /** `docker network|volume create --label L… NAME`. */
  createObject: (what: DockerObject, name: string, labels: readonly string[]): Argv => [D, what, 'create', ...labels.flatMap((l) => ['--label', l]), name],
  /** `docker network|volume rm NAME`. */
  removeObject: (what: DockerObject, name: string): Argv => [D, what, 'rm', name],
  /** `docker inspect NAME`: a JSON array. */
  inspectJson: (name: string): Argv => [D, 'inspect', name],
  /** `docker inspect --format FORMAT NAME`. */
  inspect: (name: Word, format: string): Argv => [D, 'inspect', '--format', format, name],
  /** `docker rm -f NAME…`. */
  removeForce: (...names: string[]): Argv => [D, 'rm', '-f', ...names],
  /** `docker logs --tail N NAME`. */
  logs: (name: string, tail: number): Argv => [D, 'logs', '--tail', String(tail), name],
  /** `docker exec CONTAINER ARGS…`; stdin attached when `interactive`. */
  exec: (container: Word, args: readonly string[], interactive = false): Argv => [D, 'exec', ...(interactive ? ['-i'] : []), container, ...args],
  /** `docker run -d` of a long-running service container. */
  runDetached: (spec: RunSpec): Argv => [
    D,
    'run',
    '-d',
    '--name',
    spec.name,
    '--restart',
    spec.restart,
    ...spec.labels.flatMap((l) => ['--label', l]),
    '--network',
    spec.network,
    ...spec.publish.flatMap((p) => ['-p', p]),
    ...spec.volumes.flatMap((v) => ['-v', v]),
    spec.image,
    ...spec.args,
  ],
  /** `docker ps -a` of the containers with all these labels, one JSON object per line. */
  networksJson: (labels: readonly string[]): Argv => [D, 'network', 'ls', '--no-trunc', ...labels.flatMap((l) => ['--filter', `label=${l}`]), '--format', '{{json .}}'],
  psJson: (labels: readonly string[]): Argv => [D, 'ps', '-a', '--no-trunc', ...labels.flatMap((l) => ['--filter', `label=${l}`]), '--format', '{{json .}}'],
  /** `docker ps -q` of the containers with all these labels (`k=v`), all states when `all`. */
  psByLabels: (labels: readonly string[], all: boolean): Argv => [D, 'ps', ...(all ? ['-a'] : []), '-q', '--no-trunc', ...labels.flatMap((l) => ['--filter', `label=${l}`])],
};

/** Creates a network or volume unless it exists, labelled (a command line; "$D" must be found). */
export function ensureObject(what: DockerObject, name: string, labels: readonly string[]): string {
  return `${line(docker.inspectObject(what, name))} >/dev/null 2>&1 || ${line(docker.createObject(what, name, labels))} >/dev/null`;
}

/** A script: docker required (EXIT.toolMissing), then the network or volume made unless it exists. */
export function ensureObjectScript(what: DockerObject, name: string, labels: readonly string[], toolPaths: readonly string[]): string {
  return `set -e\n${requireTool('docker', toolPaths)}\n${ensureObject(what, name, labels)}`;
}

export interface RunSpec {
  name: string;
  restart: 'unless-stopped' | 'always' | 'no';
  labels: readonly string[];
  network: string;
  publish: readonly string[];
  /** `-v` values; a host path under the home is a Word built by the caller. */
  volumes: readonly Word[];
  image: string;
  args: readonly string[];
}
