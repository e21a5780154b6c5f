/**
 * Docker Compose v2 command lines for one project: `compose(project, files,
 * envFile)` then the subcommand. Paths are relative to the checkout the
 * script `cd`s into.
 */
import { type Argv, type Word } from './quote.js';
import { tool } from './tools.js';

export interface UpOptions {
  /** `--wait --wait-timeout N`; null: no wait. */
  waitSeconds: number | null;
  services?: readonly string[];
  noDeps?: boolean;
  forceRecreate?: boolean;
}

export function compose(project: Word, files: readonly Word[], envFile: string | null = null) {
  const base: Argv = [tool('docker'), 'compose', '-p', project, ...files.flatMap((f) => ['-f', f]), ...(envFile ? ['--env-file', envFile] : [])];
  return {
    base,
    up: (o: UpOptions): Argv => [
      ...base,
      'up',
      '-d',
      ...(o.waitSeconds === null ? [] : ['--wait', '--wait-timeout', String(o.waitSeconds)]),
      ...(o.noDeps ? ['--no-deps'] : []),
      ...(o.forceRecreate ? ['--force-recreate'] : []),
      ...(o.services ?? []),
    ],
    /** The model as JSON, uninterpolated (env_file values are not read into it). */
    configJson: (): Argv => [...base, 'config', '--format', 'json', '--no-interpolate'],
    /** Per-service config hashes of the model on stdin (`config -f - --hash '*'`). */
    configHash: (services = '*'): Argv => [...base, 'config', '--hash', services],
    stop: (services: readonly string[]): Argv => [...base, 'stop', ...services],
    rm: (services: readonly string[]): Argv => [...base, 'rm', '-f', '-s', ...services],
    down: (volumes: boolean, timeoutSeconds?: number): Argv => [...base, 'down', '--remove-orphans', ...(timeoutSeconds ? ['--timeout', String(timeoutSeconds)] : []), ...(volumes ? ['-v'] : [])],
  };
}
