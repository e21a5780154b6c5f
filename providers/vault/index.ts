/**
 * Opens the configured vault provider: `file` (the embedded default),
 * `vaultwarden` (`bw serve`, the Vault Management API, with the session kept
 * by `axe vault login` in the configured store) or `bitwarden-sm` (Secrets
 * Manager through the official SDK, a machine account's access token from a
 * 0600 file or the environment; the SDK's state under `$AXE_HOME/bitwarden-sm`).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Fingerprints, fingerprintKeyPath } from '../../core/fingerprint.js';
import { Secret } from '../../core/secret.js';
import type { VaultConfig } from '../../schemas/controller-config.js';
import { BitwardenSmVault } from './bitwarden-sm.js';
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
      return new BitwardenSmVault({
        apiUrl: config.api_url,
        identityUrl: config.identity_url,
        organizationId: config.organization_id,
        projectId: config.project_id,
        ...(config.access_token_file ? { tokenFile: config.access_token_file } : {}),
        tokenEnv: config.access_token_env,
        env,
        stateDir: join(resolve(options.home ?? env.AXE_HOME ?? join(homedir(), '.axe')), 'bitwarden-sm'),
        fingerprints,
      });
  }
}
