/**
 * The lab: every stand-in part, in the order `up` brings them (and `down`
 * removes them in reverse). See lab/README.md for what each stands in for.
 */
import { readdir, rmdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { LabContext, LabPart, LabPartStatus } from './component.js';
import { controllerLabPart } from './controller-part.js';
import { cloudflarePart } from './cloudflare/index.js';
import { configRepoPart } from './config-repo.js';
import { customerVaultsPart } from './customer-vaults.js';
import { fleetPart } from './fleet.js';
import { hostsPart } from './hosts/index.js';
import { imagesPart } from './images/index.js';
import { operatorPart } from './operator.js';
import { serviceReposPart } from './service-repos.js';
import { tailscalePart } from './tailscale/index.js';
import { vaultPart } from './vault/index.js';

export const DEFAULT_LAB_DIR = '/var/lib/axe-lab';

export function labDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.AXE_LAB_DIR ?? DEFAULT_LAB_DIR);
}

/**
 * Up in this order, down in reverse: the fleet part (what axe made on the lab
 * hosts) goes before the hosts and images; the operator config is written
 * from the endpoints of the parts before it; the controller comes last (it
 * reads the operator config and hooks the config repo) and goes first on
 * `down`, so nothing reconciles while the rest is taken away.
 */
export function labParts(): LabPart[] {
  return [imagesPart, hostsPart, fleetPart, cloudflarePart, vaultPart, tailscalePart, configRepoPart, serviceReposPart, operatorPart, customerVaultsPart, controllerLabPart];
}

export async function labUp(ctx: LabContext, parts = labParts()): Promise<void> {
  for (const part of parts) {
    const started = Date.now();
    await part.up(ctx);
    ctx.log(`${part.name}: up (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

export async function labDown(ctx: LabContext, parts = labParts()): Promise<string[]> {
  const failures: string[] = [];
  for (const part of [...parts].reverse()) {
    try {
      await part.down(ctx);
      ctx.log(`${part.name}: down`);
    } catch (error) {
      failures.push(`${part.name}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  if (failures.length === 0) {
    // The state dir itself goes too when nothing but empty folders is left.
    const left = await readdir(ctx.stateDir).catch(() => []);
    if (left.length === 0) await rmdir(ctx.stateDir).catch(() => undefined);
  }
  return failures;
}

export async function labStatus(ctx: LabContext, parts = labParts()): Promise<LabPartStatus[]> {
  return Promise.all(
    parts.map((part) => part.status(ctx).catch((error: Error) => ({ name: part.name, ready: false, detail: error.message.split('\n')[0] ?? 'error' }))),
  );
}
