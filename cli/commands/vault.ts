/**
 * `axe vault login`: unlocks the operator vault (`bw serve`) once and keeps
 * the session in the OS keychain (macOS) or a 0600 file (Linux) for 8 h. The
 * master password is read from a hidden prompt or stdin, never an argument,
 * and the session never appears on a command line or in the environment.
 *
 * `--customer C` does the same for the customer vault's own `bw serve`
 * (config `customer_vaults.C`): the owner session the `vault-org` kind acts
 * with. Kept apart from the operator's: keychain item `axe.vault.session.C`,
 * or `$AXE_HOME/customer-vaults/bw-session-C.json` (0600).
 */
import { join } from 'node:path';
import { terminal } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { openSessionStore, type SessionStore } from '../../providers/vault/session-store.js';
import { vaultLogin } from '../../providers/vault/vaultwarden.js';
import { line, printJson } from '../output.js';
import { readSecretInput } from '../prompt.js';
import { loadSettings, type Settings } from '../settings.js';

export interface VaultLoginCliOptions {
  config?: string;
  json?: boolean;
  customer?: string;
}

/** The customer vault's bw serve and where its owner session is kept. */
function customerVaultTarget(settings: Settings, customer: string): { url: string; store: SessionStore; what: string } {
  const vault = settings.config?.customer_vaults[customer];
  if (!vault) {
    throw terminal(`no customer vault configured for ${customer}`, { customer, fix: `add customer_vaults.${customer}.url (the bw serve logged in to ${customer}'s vault as its bot owner) to the axe config` });
  }
  const store = openSessionStore(vault.session_store, { env: process.env, service: `axe.vault.session.${customer}`, path: join(settings.home, 'customer-vaults', `bw-session-${customer}.json`) });
  return { url: vault.url, store, what: `${customer}'s vault` };
}

export async function vaultLoginCommand(options: VaultLoginCliOptions): Promise<number> {
  const settings = await loadSettings(options);
  if (options.customer) {
    const target = customerVaultTarget(settings, options.customer);
    return unlock(target, options);
  }
  const vault = settings.vault;
  if (vault.provider === 'bitwarden-sm') {
    const source = vault.access_token_file ?? `$${vault.access_token_env}`;
    throw terminal('vault login is for the vaultwarden provider; bitwarden-sm logs in by itself with the machine account\'s access token', { fix: `put the access token in ${source}` });
  }
  if (vault.provider !== 'vaultwarden') {
    throw terminal(`vault login is for the vaultwarden provider; this config uses "${vault.provider}"`, { fix: 'set vault.provider: vaultwarden and vault.url (bw serve) in the axe config' });
  }
  return unlock({ url: vault.url, store: openSessionStore(vault.session_store, { env: process.env }), what: 'vault' }, options);
}

async function unlock(target: { url: string; store: SessionStore; what: string }, options: VaultLoginCliOptions): Promise<number> {
  const value = await readSecretInput('Master password (hidden):');
  if (!value) throw terminal('no master password given', { fix: 'type it at the prompt, or pipe it on stdin' });
  const result = await vaultLogin({ url: target.url, password: new Secret(value), store: target.store });
  if (options.json) printJson({ unlocked: true, expiresAt: result.expiresAt.toISOString(), stored: result.location, user: result.userEmail, ...(options.customer ? { customer: options.customer } : {}) });
  else line(`${target.what} unlocked${result.userEmail ? ` for ${result.userEmail}` : ''}; session kept in ${result.location} until ${result.expiresAt.toISOString()}`);
  return 0;
}
