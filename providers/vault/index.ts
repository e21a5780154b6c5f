/**
 * Opens the configured vault provider: `file` (the embedded default) or
 * `vaultwarden` (`bw serve`, the Vault Management API, with the session kept
 * by `axe vault login` in the configured store). `bitwarden-sm` is not
 * available yet.
 */
import { Fingerprints, fingerprintKeyPath } from '../../core/fingerprint.js';
import { Secret } from '../../core/secret.js';
import { terminal } from '../../core/errors.js';
import type { VaultConfig } from '../../schemas/controller-config.js';
import { FileVault } from './file.js';
import { openSessionStore } from './session-store.js';
import { parseDuration, VaultwardenVault } from './vaultwarden.js';
import type { VaultProvider } from './types.js';

/**
 * `home` is AXE_HOME, where the install's fingerprint key lives (default:
 * `env.AXE_HOME`, else ~/.axe).
 */
export function openVault(config: VaultConfig, env: NodeJS.ProcessEnv = process.env, options: { home?: string } = {}): VaultProvider {
  const fingerprints = new Fingerprints(fingerprintKeyPath(options.home, env));
  switch (config.provider) {
    case 'file': {
      const passphrase = env.AXE_VAULT_KEY ? new Secret(env.AXE_VAULT_KEY) : undefined;
      return new FileVault({ path: config.path, ...(config.key_file ? { keyFile: config.key_file } : {}), ...(passphrase ? { passphrase } : {}), fingerprints });
    }
    case 'vaultwarden':
      return new VaultwardenVault({
        url: config.url,
        syncIntervalMs: parseDuration(config.sync_interval),
        store: openSessionStore(config.session_store, { env }),
        env,
        fingerprints,
      });
    case 'bitwarden-sm':
      throw terminal(`vault provider "${config.provider}" is not available in this version`, { fix: 'use vault.provider: file for now' });
  }
}
