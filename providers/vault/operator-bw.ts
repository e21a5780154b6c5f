/**
 * The operator's own bw: the CLI that runs `bw serve` for the `vaultwarden`
 * vault provider. Its version is checked with the same rule as a Mac mini's
 * bw (`bwCrashTrap`): bw newer than 2025.7.0 crashes against the Vaultwarden
 * (OIDCWarden) fork with `toWrappedAccountCryptographicState`.
 *
 * Rules:
 * - Which bw: `vault.bw` (an absolute path) when set, else the one bundled
 *   with axe (`@bitwarden/cli`, run with this node). Called by absolute path
 *   with `--version` only, no shell, no session in its environment.
 * - The crash bound: `vault.bw_max_version` when set (null: the operator's
 *   vault is not the fork, nothing to check), else the top-level
 *   `bw_max_version` (the one the Mac minis are checked against).
 * - A bw that cannot be run is not ready either: its fix names `vault.bw`.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { bwCrashTrap, type Trap } from '../../reconcilers/traps.js';
import type { VaultConfig } from '../../schemas/controller-config.js';

const run = promisify(execFile);

export interface OperatorBwCheck {
  ok: boolean;
  /** Where the bw is: its absolute path. */
  path: string;
  version: string | null;
  /** One line: the version and verdict, or what failed. */
  detail: string;
  trap: Trap | null;
  fix: string | null;
}

/** The bw bundled with axe: its script and how to run it (node + script). */
export function bundledBw(): { path: string; command: string; args: string[] } {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('@bitwarden/cli/package.json');
  const bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin: { bw: string } }).bin.bw;
  const path = join(dirname(manifest), bin);
  return { path, command: process.execPath, args: [path] };
}

/** The crash bound that applies to the operator's bw (null: nothing to check). */
export function operatorBwMaxVersion(vault: Extract<VaultConfig, { provider: 'vaultwarden' }>, topLevel: string | null): string | null {
  return vault.bw_max_version === undefined ? topLevel : vault.bw_max_version;
}

/**
 * Runs the operator's `bw --version` and judges it against `maxVersion`;
 * null for a vault provider other than `vaultwarden`, or no bound.
 */
export async function checkOperatorBw(vault: VaultConfig, topLevelMax: string | null, timeoutMs = 20_000): Promise<OperatorBwCheck | null> {
  if (vault.provider !== 'vaultwarden') return null;
  const max = operatorBwMaxVersion(vault, topLevelMax);
  if (max === null) return null;
  const { path, command, args } = vault.bw ? { path: vault.bw, command: vault.bw, args: [] } : bundledBw();
  let version: string | null = null;
  try {
    // bw's own settings (its data dir) as for bw serve, but no BW_SESSION or other BW_* credential.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BW_')));
    const { stdout } = await run(command, [...args, '--version'], { timeout: timeoutMs, env });
    version = /\d+\.\d+\.\d+/.exec(stdout)?.[0] ?? null;
  } catch {
    version = null;
  }
  const fix = (what: string): string => `${what}; then set vault.bw in the axe config to that bw's absolute path and restart bw serve with it`;
  if (!version) {
    return { ok: false, path, version: null, detail: `cannot read the version of the operator's bw at ${path} (the one that runs bw serve)`, trap: null, fix: fix('install bw 2025.7.0 (npm install -g @bitwarden/cli@2025.7.0)') };
  }
  const trap = bwCrashTrap(version, max);
  if (!trap) return { ok: true, path, version, detail: `bw ${version} at ${path} (not newer than ${max})`, trap: null, fix: null };
  return { ok: false, path, version, detail: `the operator's bw ${version} at ${path} (the one that runs bw serve) is newer than ${max} and crashes against the OIDCWarden fork`, trap, fix: fix(trap.fix.replace(/\.$/, '')) };
}
