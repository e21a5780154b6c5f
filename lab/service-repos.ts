/**
 * The service source repos in the lab: `<stateDir>/git/{frame,blueprint,hive}.git`,
 * what the manifests' `source.repo` URLs point at through the lab's git URL
 * rewrite. Readable by the lab hosts' users (they clone them over SSH).
 */
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabContext, LabPart, LabPartStatus } from './component.js';
import { createServiceRepos, SERVICE_NAMES } from './services/index.js';

export function serviceReposDir(stateDir: string): string {
  return join(stateDir, 'git');
}

/** The lab's rewrite of the manifests' repo URLs to the local bare repos. */
export function serviceRepoRewrite(stateDir: string): Record<string, string> {
  return { 'https://git.axelabs.ai/axelabs/': `file://${serviceReposDir(stateDir)}/` };
}

async function present(stateDir: string): Promise<boolean> {
  for (const name of SERVICE_NAMES) {
    if (!(await stat(join(serviceReposDir(stateDir), `${name}.git`, 'HEAD')).then(() => true, () => false))) return false;
  }
  return true;
}

export const serviceReposPart: LabPart = {
  name: 'service-repos',
  async up(ctx: LabContext) {
    if (await present(ctx.stateDir)) return;
    const dir = serviceReposDir(ctx.stateDir);
    await mkdir(dir, { recursive: true });
    await chmod(ctx.stateDir, 0o755);
    await chmod(dir, 0o755);
    ctx.log('service repos: creating frame, blueprint, hive with tags');
    await createServiceRepos(dir);
  },
  async down(ctx: LabContext) {
    for (const name of SERVICE_NAMES) await rm(join(serviceReposDir(ctx.stateDir), `${name}.git`), { recursive: true, force: true });
  },
  async status(ctx: LabContext): Promise<LabPartStatus> {
    const ok = await present(ctx.stateDir);
    return { name: 'service-repos', ready: ok, detail: ok ? `${SERVICE_NAMES.join(', ')} under ${serviceReposDir(ctx.stateDir)}` : 'missing (run axe lab up)' };
  },
};
