/**
 * Keyed fingerprints of secret values: what `secret list`, plans and progress
 * lines show instead of a value. A plain `sha256(value)` prefix lets anyone
 * holding a listing test guesses of a low-entropy secret offline; an HMAC
 * under a key only this install has does not.
 *
 * Rules:
 * - `hmac:` + the first 12 hex of HMAC-SHA256(key, value). The `hmac:` prefix
 *   tells them from the old unkeyed `sha256:` ones: a fingerprint recorded
 *   before (in a terminal, a PR comment) just reads as different, once.
 * - The key is 32 random bytes at `$AXE_HOME/fingerprint.key`, mode 0600,
 *   made on first use atomically (written beside, then hard-linked into place,
 *   which fails if another process made it first: that one is used). A key
 *   file readable by others is refused with the chmod fix; one of the wrong
 *   size is refused with the fix to remove it.
 * - Two installs fingerprint one value differently: fingerprints are compared
 *   only within one install (a vault listing against a value at hand).
 * - The key is read at the first fingerprint, not before: a command that only
 *   writes to the vault never makes one.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { terminal } from './errors.js';
import type { Secret } from './secret.js';

export const FINGERPRINT_KEY_FILE = 'fingerprint.key';
const KEY_BYTES = 32;

/** `$AXE_HOME/fingerprint.key` (AXE_HOME defaults to ~/.axe). */
export function fingerprintKeyPath(home?: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(home ?? env.AXE_HOME ?? join(homedir(), '.axe'), FINGERPRINT_KEY_FILE);
}

function readKey(path: string): Buffer {
  const info = statSync(path);
  if ((info.mode & 0o077) !== 0) {
    throw terminal(`the fingerprint key ${path} is mode ${(info.mode & 0o777).toString(8)}, readable by others`, { fix: `chmod 600 ${path}` });
  }
  const key = readFileSync(path);
  if (key.length !== KEY_BYTES) {
    throw terminal(`the fingerprint key ${path} is not ${KEY_BYTES} bytes`, { fix: `remove it (rm ${path}); a new one is made and fingerprints read as changed once` });
  }
  return key;
}

/** The install's fingerprint key at `path`, made (0600, atomically) when missing. */
export function loadFingerprintKey(path: string): Buffer {
  try {
    return readKey(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(tmp);
  }
  return readKey(path);
}

/** `hmac:` + 12 hex of HMAC-SHA256(key, value). */
export function keyedFingerprint(key: Buffer, value: Secret): string {
  return `hmac:${createHmac('sha256', key).update(value.reveal()).digest('hex').slice(0, 12)}`;
}

/** An install's fingerprints: the key at `keyPath`, read at first use. */
export class Fingerprints {
  readonly keyPath: string;
  #key: Buffer | null = null;

  constructor(keyPath: string) {
    this.keyPath = keyPath;
  }

  of(value: Secret): string {
    this.#key ??= loadFingerprintKey(this.keyPath);
    return keyedFingerprint(this.#key, value);
  }
}
