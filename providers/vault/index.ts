/**
 * Opens the configured vault provider. The `file` provider is the embedded
 * default; `vaultwarden` (bw serve) and `bitwarden-sm` come with the
 * reconcilers.
 */
import { Secret } from '../../core/secret.js';
import { terminal } from '../../core/errors.js';
import type { VaultConfig } from '../../schemas/controller-config.js';
import { FileVault } from './file.js';
import type { VaultProvider } from './types.js';

export function openVault(config: VaultConfig, env: NodeJS.ProcessEnv = process.env): VaultProvider {
  switch (config.provider) {
    case 'file': {
      const passphrase = env.AXE_VAULT_KEY ? new Secret(env.AXE_VAULT_KEY) : undefined;
      return new FileVault({ path: config.path, ...(config.key_file ? { keyFile: config.key_file } : {}), ...(passphrase ? { passphrase } : {}) });
    }
    case 'vaultwarden':
    case 'bitwarden-sm':
      throw terminal(`vault provider "${config.provider}" is not available in this version`, { fix: 'use vault.provider: file for now' });
  }
}
