/**
 * Where things are for a CLI run: AXE_HOME (default ~/.axe), the optional
 * operator config (--config, AXE_CONFIG or $AXE_HOME/config.yaml), the config
 * repo (--repo, AXE_REPO, config repo.checkout, or the current directory when
 * it holds customers.yaml) and the vault (config, else the encrypted file vault
 * under AXE_HOME — the embedded default).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { terminal } from '../core/errors.js';
import type { ControllerConfig, VaultConfig } from '../schemas/controller-config.js';
import { CUSTOMERS_FILE } from '../schemas/layout.js';

export interface Settings {
  home: string;
  config: ControllerConfig | null;
  vault: VaultConfig;
  zone: string;
  tailnet: string | undefined;
}

export function axeHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.AXE_HOME ?? join(homedir(), '.axe'));
}

export function expandHome(path: string): string {
  return path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

export async function loadSettings(options: { config?: string }, env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  const home = axeHome(env);
  const explicit = options.config ?? env.AXE_CONFIG;
  const path = explicit ?? join(home, 'config.yaml');
  let config: ControllerConfig | null = null;
  if (explicit || existsSync(path)) {
    // The schema (zod) and the YAML loader are loaded only when there is a config to read: a command start that needs neither stays light.
    const [{ ControllerConfig }, { formatIssue, loadFile }] = await Promise.all([import('../schemas/controller-config.js'), import('../schemas/load.js')]);
    const load = await loadFile(resolve(path), path, ControllerConfig);
    if (!load.ok) throw terminal(`invalid axe config: ${load.issues.map(formatIssue).join('; ')}`, { fix: `fix ${path}` });
    config = load.value;
  }
  const vault: VaultConfig = config?.vault ? withHomeExpanded(config.vault) : { provider: 'file', path: join(home, 'vault', 'vault.enc.json'), key_file: join(home, 'vault', 'vault.key') };
  return { home, config, vault, zone: config?.cloudflare.zone ?? 'axelabs.ai', tailnet: config?.tailscale.tailnet ?? env.AXE_TAILNET };
}

function withHomeExpanded(vault: VaultConfig): VaultConfig {
  switch (vault.provider) {
    case 'file':
      return { ...vault, path: expandHome(vault.path), ...(vault.key_file ? { key_file: expandHome(vault.key_file) } : {}) };
    case 'bitwarden-sm':
      return vault.access_token_file ? { ...vault, access_token_file: expandHome(vault.access_token_file) } : vault;
    case 'vaultwarden':
      return vault;
  }
}

export function resolveRepo(options: { repo?: string }, settings: Settings | null, env: NodeJS.ProcessEnv = process.env): string {
  return repoAt(options, settings?.config?.repo.checkout, env);
}

/** resolveRepo with the config's `repo.checkout` given (cli/plan-target.ts keeps it without the settings). */
export function repoAt(options: { repo?: string }, checkout: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const candidate = options.repo ?? env.AXE_REPO ?? checkout;
  if (candidate) return resolve(expandHome(candidate));
  if (existsSync(join(process.cwd(), CUSTOMERS_FILE))) return process.cwd();
  throw terminal('no config repo', { fix: `pass --repo DIR, set AXE_REPO, or run in a directory holding ${CUSTOMERS_FILE}` });
}
