/**
 * The lab's service source repos: frame, blueprint and hive as a customer host clones
 * them. Each folder beside this file is the content of one repo (compose file,
 * Dockerfile, stand-in program, VERSION); `createServiceRepos` turns each into a bare
 * git repo with real history and tags, so tests and `axe lab up` share one recipe.
 *
 * Rules:
 * - History is deterministic (fixed author, dates and messages): the same commit ids
 *   every time, so recreating a repo does not move a tag under a host's checkout.
 * - `main` carries `v1.0.0` then `v1.1.0` (VERSION differs, so a new image). frame also
 *   has `v1.2.0-broken` on branch `next`: an image built from it never becomes ready.
 * - An existing `<targetDir>/<service>.git` is replaced.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SERVICE_NAMES = ['frame', 'blueprint', 'hive'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface ServiceRepo {
  /** Absolute path of the bare repo (clone it with `git clone <path>`). */
  path: string;
  /** Tags in the order they were made. */
  tags: string[];
}

interface Release {
  tag: string;
  version: string;
  branch: 'main' | 'next';
  message: string;
}

const RELEASES: Record<ServiceName, Release[]> = {
  frame: [
    { tag: 'v1.0.0', version: '1.0.0', branch: 'main', message: 'frame 1.0.0' },
    { tag: 'v1.1.0', version: '1.1.0', branch: 'main', message: 'frame 1.1.0' },
    { tag: 'v1.2.0-broken', version: '1.2.0-broken', branch: 'next', message: 'frame 1.2.0 (broken: never ready)' },
  ],
  blueprint: [
    { tag: 'v1.0.0', version: '1.0.0', branch: 'main', message: 'blueprint 1.0.0' },
    { tag: 'v1.1.0', version: '1.1.0', branch: 'main', message: 'blueprint 1.1.0' },
  ],
  hive: [
    { tag: 'v1.0.0', version: '1.0.0', branch: 'main', message: 'hive 1.0.0' },
    { tag: 'v1.1.0', version: '1.1.0', branch: 'main', message: 'hive 1.1.0' },
  ],
};

/** Files never copied into a repo (a stray local env file holds secrets). */
const SKIPPED = new Set(['.env.local', '.env', 'node_modules', '.git']);

/**
 * The folder that holds frame/, blueprint/, hive/. When this module runs compiled
 * from dist/, the sources are still in the repo's lab/services.
 */
export function serviceSourceRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [here, resolve(here, '../../../lab/services')];
  for (const dir of candidates) {
    if (existsSync(join(dir, 'frame', 'docker-compose.yml'))) return dir;
  }
  throw new Error(`service sources not found (looked in ${candidates.join(', ')}); run from the axe repo`);
}

async function git(cwd: string, args: string[], date?: string): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_AUTHOR_NAME: 'axe lab',
    GIT_AUTHOR_EMAIL: 'lab@axelabs.invalid',
    GIT_COMMITTER_NAME: 'axe lab',
    GIT_COMMITTER_EMAIL: 'lab@axelabs.invalid',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
  };
  if (date) {
    env.GIT_AUTHOR_DATE = date;
    env.GIT_COMMITTER_DATE = date;
  }
  const { stdout } = await run(
    'git',
    ['-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', '-c', 'core.autocrlf=false', ...args],
    { cwd, env, maxBuffer: 8 * 1024 * 1024 },
  );
  return stdout.trim();
}

async function copySources(from: string, to: string): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    await cp(join(from, entry.name), join(to, entry.name), { recursive: true });
  }
}

async function createRepo(service: ServiceName, sourceRoot: string, targetDir: string): Promise<ServiceRepo> {
  const bare = join(targetDir, `${service}.git`);
  await rm(bare, { recursive: true, force: true });
  const work = await mkdtemp(join(tmpdir(), `axelab-repo-${service}-`));
  try {
    await git(work, ['init', '-q']);
    await copySources(join(sourceRoot, service), work);
    const tags: string[] = [];
    let day = 1;
    for (const release of RELEASES[service]) {
      if (release.branch === 'next' && (await git(work, ['branch', '--show-current'])) !== 'next') {
        await git(work, ['checkout', '-q', '-b', 'next']);
      }
      await writeFile(join(work, 'VERSION'), `${release.version}\n`);
      const date = `2026-01-${String(day).padStart(2, '0')}T12:00:00Z`;
      day++;
      await git(work, ['add', '-A']);
      await git(work, ['commit', '-q', '-m', release.message], date);
      await git(work, ['tag', '-a', release.tag, '-m', release.message], date);
      tags.push(release.tag);
    }
    await git(work, ['checkout', '-q', 'main']);
    await mkdir(targetDir, { recursive: true });
    await git(targetDir, ['clone', '-q', '--bare', work, bare]);
    return { path: bare, tags };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Creates `<targetDir>/{frame,blueprint,hive}.git` (bare repos with tags) from the
 * folders beside this file. Returns each repo's path and tags, keyed by service name.
 */
export async function createServiceRepos(targetDir: string): Promise<Record<string, ServiceRepo>> {
  const sourceRoot = serviceSourceRoot();
  const repos: Record<string, ServiceRepo> = {};
  for (const service of SERVICE_NAMES) repos[service] = await createRepo(service, sourceRoot, resolve(targetDir));
  return repos;
}
