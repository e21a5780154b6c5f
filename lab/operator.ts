/**
 * The operator's side of the lab: `<stateDir>/operator/` holds the operator's
 * AXE_HOME (file vault), the config repo clone and the packs the customers'
 * IT sent. `down` removes it all.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabContext, LabPart, LabPartStatus } from './component.js';

export function operatorPaths(stateDir: string): { dir: string; home: string; config: string } {
  const dir = join(stateDir, 'operator');
  return { dir, home: join(dir, 'home'), config: join(dir, 'home', 'config.yaml') };
}

export const operatorPart: LabPart = {
  name: 'operator',
  async up(ctx: LabContext) {
    await mkdir(operatorPaths(ctx.stateDir).home, { recursive: true, mode: 0o700 });
  },
  async down(ctx: LabContext) {
    await rm(operatorPaths(ctx.stateDir).dir, { recursive: true, force: true });
  },
  async status(ctx: LabContext): Promise<LabPartStatus> {
    const { home } = operatorPaths(ctx.stateDir);
    const ok = await stat(home).then(() => true, () => false);
    return { name: 'operator', ready: ok, detail: ok ? `AXE_HOME ${home}` : 'missing (run axe lab up)' };
  },
};
