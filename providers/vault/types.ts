/**
 * The vault seam. The operator vault is the source of truth for every secret;
 * axe reads and creates items through one of these providers:
 * `file` (encrypted local file, the embedded default), `vaultwarden` (`bw
 * serve`, the Vault Management API) and `bitwarden-sm` (Secrets Manager).
 *
 * Rules: values travel as `Secret`; `list` returns names and fingerprints only;
 * providers never delete an item; a write is idempotent (`unchanged` when the
 * stored value is already equal).
 */
import type { Secret } from '../../core/secret.js';

export type VaultProviderKind = 'file' | 'vaultwarden' | 'bitwarden-sm';

export interface VaultItemMeta {
  name: string;
  customer?: string;
  service?: string;
}

export interface VaultEntry extends VaultItemMeta {
  /** `sha256:…` prefix of the value, never the value. */
  fingerprint: string;
  updatedAt: string;
}

export type PutResult = 'created' | 'updated' | 'unchanged';

export interface VaultProvider {
  readonly kind: VaultProviderKind;
  /** Every item's name and fingerprint, in one read (bulk observation). */
  list(): Promise<VaultEntry[]>;
  get(name: string): Promise<Secret | null>;
  put(item: VaultItemMeta & { value: Secret }): Promise<PutResult>;
}
