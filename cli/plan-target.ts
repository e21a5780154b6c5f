/**
 * What `axe plan` (and the MCP `plan` tool) needs before asking the running
 * controller: AXE_HOME, the controller's state dir, the config's repo
 * checkout and the settings digest (controller/control-api.ts
 * `settingsDigest`), without loading the config schema (zod), the YAML parser
 * and the cron library at every start.
 *
 * Rules:
 * - They are computed from the loaded settings once and kept in
 *   `$AXE_HOME/cache/plan-target.json` (0600), keyed by the SHA-256 of what
 *   they are made of: the config file's path and text (or its absence),
 *   AXE_HOME, the home directory and the axe build (this module's file). Any
 *   change is another key: the settings are loaded again and the memo
 *   rewritten.
 * - The memo holds no secret (the config holds none; the digest is a hash).
 *   One that cannot be read or written is no error: the settings are loaded.
 * - A stale digest can only make the controller refuse the plan (409): the
 *   command then plans locally, as it does for any refusal.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { axeHome, loadSettings, type Settings } from './settings.js';

export interface PlanTarget {
  home: string;
  /** The controller's state dir (its control.json). */
  stateDir: string;
  /** The config's `repo.checkout`, as written (settings.ts `resolveRepo` expands it). */
  checkout: string | undefined;
  /** control-api.ts `settingsDigest` of these settings. */
  digest: string;
  /** The settings, when they were loaded for this (no memo): the local plan uses them. */
  settings?: Settings;
}

const MEMO = 'plan-target.json';

function build(): string {
  try {
    const s = statSync(fileURLToPath(import.meta.url));
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'unknown';
  }
}

/** The plan target of this command's settings: from the memo when nothing it is made of changed, else from the loaded settings. */
export async function planTarget(options: { config?: string }, env: NodeJS.ProcessEnv = process.env): Promise<PlanTarget> {
  const home = axeHome(env);
  const path = resolve(options.config ?? env.AXE_CONFIG ?? join(home, 'config.yaml'));
  const text = await readFile(path, 'utf8').catch(() => null);
  const key = createHash('sha256').update(JSON.stringify({ path, text, home, homedir: homedir(), build: build() })).digest('hex');
  const memo = join(home, 'cache', MEMO);
  const kept = (await readFile(memo, 'utf8').then((t) => JSON.parse(t) as Partial<PlanTarget> & { key?: string }).catch(() => null)) ?? {};
  if (kept.key === key && typeof kept.stateDir === 'string' && typeof kept.digest === 'string') {
    return { home, stateDir: kept.stateDir, checkout: typeof kept.checkout === 'string' ? kept.checkout : undefined, digest: kept.digest };
  }
  const settings = await loadSettings(options, env);
  const [{ controllerPaths }, { settingsDigest }] = await Promise.all([import('../controller/config.js'), import('../controller/control-api.js')]);
  const target = { home, stateDir: controllerPaths(settings.config, settings.home).stateDir, checkout: settings.config?.repo.checkout, digest: settingsDigest(settings) };
  try {
    await mkdir(join(home, 'cache'), { recursive: true, mode: 0o700 });
    const tmp = `${memo}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ key, ...target })}\n`, { mode: 0o600 });
    await rename(tmp, memo);
  } catch {
    // No memo: the next start loads the settings again.
  }
  return { ...target, settings };
}
