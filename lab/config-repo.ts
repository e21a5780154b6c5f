/**
 * The lab's config repo: a bare git repo seeded from examples/customers (what
 * the controller pulls and tests push to), plus the operator's working clone
 * (where `axe customers ingest` commits its onboarding branch).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LabContext, LabPart, LabPartStatus } from './component.js';

const run = promisify(execFile);

function examplesDir(): string {
  // Works from the sources (lab/) and from the build (dist/lab/).
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${'/dist/'}`) ? resolve(here, '..', '..', 'examples', 'customers') : resolve(here, '..', 'examples', 'customers');
}

export function configRepoPaths(stateDir: string): { bare: string; clone: string; url: string } {
  const bare = join(stateDir, 'git', 'config.git');
  return { bare, clone: join(stateDir, 'operator', 'config'), url: `file://${bare}` };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'user.name=axe lab', '-c', 'user.email=lab@axe.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd });
  return stdout.trim();
}

/** The config repo part, seeded from `seedDir` (default: examples/customers). */
export function createConfigRepoPart(seedDir?: string): LabPart {
  return { ...configRepoPart, up: (ctx) => configRepoUp(ctx, seedDir ?? examplesDir()) };
}

async function configRepoUp(ctx: LabContext, seedDir: string): Promise<void> {
  const { bare, clone } = configRepoPaths(ctx.stateDir);
  if (!(await exists(join(bare, 'HEAD')))) {
    ctx.log(`config repo: seeding from ${seedDir}`);
    const seed = join(ctx.stateDir, 'git', 'seed');
    await rm(seed, { recursive: true, force: true });
    await mkdir(dirname(bare), { recursive: true });
    await cp(seedDir, seed, { recursive: true });
    await git(seed, 'init', '-q', '-b', 'main');
    await git(seed, 'add', '-A');
    await git(seed, 'commit', '-qm', 'Seed the config repo from examples/customers');
    await git(dirname(bare), 'clone', '-q', '--bare', seed, bare);
    await rm(seed, { recursive: true, force: true });
  }
  if (!(await exists(join(clone, '.git')))) {
    await mkdir(dirname(clone), { recursive: true });
    await git(dirname(clone), 'clone', '-q', bare, clone);
    await git(clone, 'config', 'user.name', 'axe operator (lab)');
    await git(clone, 'config', 'user.email', 'operator@axe.invalid');
  }
}

export const configRepoPart: LabPart = {
  name: 'config-repo',
  up: (ctx: LabContext) => configRepoUp(ctx, examplesDir()),
  async down(ctx: LabContext) {
    const { bare, clone } = configRepoPaths(ctx.stateDir);
    await rm(dirname(bare), { recursive: true, force: true });
    await rm(clone, { recursive: true, force: true });
  },
  async status(ctx: LabContext): Promise<LabPartStatus> {
    const { bare, clone } = configRepoPaths(ctx.stateDir);
    if (!(await exists(join(bare, 'HEAD')))) return { name: 'config-repo', ready: false, detail: 'not seeded (run axe lab up)' };
    const head = await git(bare, 'rev-parse', '--short', 'main').catch(() => '?');
    return { name: 'config-repo', ready: await exists(join(clone, '.git')), detail: `${bare} at ${head}; operator clone ${clone}` };
  },
};
