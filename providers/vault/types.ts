/**
 * The vault seam. The operator vault is the source of truth for every secret;
 * axe reads and creates items through one of these providers:
 * `file` (encrypted local file, the embedded default), `vaultwarden` (`bw
 * serve`, the Vault Management API) and `bitwarden-sm` (Secrets Manager).
 *
 * Rules: values travel as `Secret`; `list` returns names and fingerprints only;
 * providers never delete an item; a write is idempotent (`unchanged` when the
 * stored value is already equal). The fingerprint shown is keyed with the
 * install's key (core/fingerprint.ts) and compared only with `fingerprint()`
 * of the same provider; the unkeyed `digest` is only compared with a file's
 * sha256 on a host (the tunnel credentials), never shown.
 */
import { createHash } from 'node:crypto';
import type { Secret } from '../../core/secret.js';

export type VaultProviderKind = 'file' | 'vaultwarden' | 'bitwarden-sm';

export interface VaultItemMeta {
  name: string;
  customer?: string;
  service?: string;
}

export interface VaultEntry extends VaultItemMeta {
  /** The keyed fingerprint of the value (`hmac:` + 12 hex), never the value. */
  fingerprint: string;
  /** `sha256:` + 12 hex of the value, to compare with a file pushed to a host; never shown. */
  digest: string;
  updatedAt: string;
}

/** `sha256:` + the first 12 hex of the value's SHA-256 (VaultEntry.digest). */
export function contentDigest(value: Secret): string {
  return `sha256:${createHash('sha256').update(value.reveal()).digest('hex').slice(0, 12)}`;
}

export type PutResult = 'created' | 'updated' | 'unchanged';

export interface VaultProvider {
  readonly kind: VaultProviderKind;
  /** Every item's name and fingerprint, in one read (bulk observation). */
  list(): Promise<VaultEntry[]>;
  /** The fingerprint `list` gives for this value (the same key): compare a value at hand with a listing. */
  fingerprint(value: Secret): string;
  get(name: string): Promise<Secret | null>;
  put(item: VaultItemMeta & { value: Secret }): Promise<PutResult>;
}
