/**
 * `axe vault login`: unlocks the operator vault (`bw serve`) once and keeps
 * the session in the OS keychain (macOS) or a 0600 file (Linux) for 8 h. The
 * master password is read from a hidden prompt or stdin, never an argument,
 * and the session never appears on a command line or in the environment.
 */
import { terminal } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { openSessionStore } from '../../providers/vault/session-store.js';
import { vaultLogin } from '../../providers/vault/vaultwarden.js';
import { line, printJson } from '../output.js';
import { readSecretInput } from '../prompt.js';
import { loadSettings } from '../settings.js';

export interface VaultLoginCliOptions {
  config?: string;
  json?: boolean;
}

export async function vaultLoginCommand(options: VaultLoginCliOptions): Promise<number> {
  const settings = await loadSettings(options);
  const vault = settings.vault;
  if (vault.provider === 'bitwarden-sm') {
    const source = vault.access_token_file ?? `$${vault.access_token_env}`;
    throw terminal('vault login is for the vaultwarden provider; bitwarden-sm logs in by itself with the machine account\'s access token', { fix: `put the access token in ${source}` });
  }
  if (vault.provider !== 'vaultwarden') {
    throw terminal(`vault login is for the vaultwarden provider; this config uses "${vault.provider}"`, { fix: 'set vault.provider: vaultwarden and vault.url (bw serve) in the axe config' });
  }
  const value = await readSecretInput('Master password (hidden):');
  if (!value) throw terminal('no master password given', { fix: 'type it at the prompt, or pipe it on stdin' });
  const store = openSessionStore(vault.session_store, { env: process.env });
  const result = await vaultLogin({ url: vault.url, password: new Secret(value), store });
  if (options.json) printJson({ unlocked: true, expiresAt: result.expiresAt.toISOString(), stored: result.location, user: result.userEmail });
  else line(`vault unlocked${result.userEmail ? ` for ${result.userEmail}` : ''}; session kept in ${result.location} until ${result.expiresAt.toISOString()}`);
  return 0;
}
