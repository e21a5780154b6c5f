/**
 * The Bitwarden crypto the Secrets Manager stand-in needs, on node:crypto
 * only (bitwarden/sdk-sm `crates/bitwarden-crypto`, napi-v1.0.0):
 *
 * - An access token is `0.<access token id>.<client secret>:<base64 16-byte key>`.
 *   Its payload key is HKDF-SHA256 of that key with salt `bitwarden-accesstoken`
 *   and info `sm-access-token`, 64 bytes: AES-256 key, then HMAC-SHA256 key
 *   (`derive_shareable_key`: HMAC(salt, key) is HKDF-Extract).
 * - An EncString of type 2 is `2.<b64 iv>|<b64 AES-256-CBC data>|<b64 HMAC-SHA256(mac key, iv ‖ data)>`.
 *
 * Rules: keys never leave this module as text except the organization key
 * inside the login payload, which is encrypted here.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** A 64-byte symmetric key: AES-256 key then HMAC-SHA256 key. */
export interface SymmetricKey {
  enc: Buffer;
  mac: Buffer;
}

const ENC_STRING = /^2\.([A-Za-z0-9+/]+={0,2})\|([A-Za-z0-9+/]+={0,2})\|([A-Za-z0-9+/]+={0,2})$/;

export function symmetricKey(bytes: Buffer): SymmetricKey {
  if (bytes.length !== 64) throw new Error('a symmetric key is 64 bytes');
  return { enc: bytes.subarray(0, 32), mac: bytes.subarray(32, 64) };
}

/** The key the identity server's `encrypted_payload` is encrypted with, from the token's 16-byte key. */
export function accessTokenPayloadKey(tokenKey: Buffer): SymmetricKey {
  return symmetricKey(Buffer.from(hkdfSync('sha256', tokenKey, 'bitwarden-accesstoken', 'sm-access-token', 64)));
}

export function encryptEncString(plain: Buffer | string, key: SymmetricKey): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', key.enc, iv);
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  const mac = createHmac('sha256', key.mac).update(iv).update(data).digest();
  return `2.${iv.toString('base64')}|${data.toString('base64')}|${mac.toString('base64')}`;
}

/** The plaintext of a type-2 EncString; throws when the MAC does not match. */
export function decryptEncString(text: string, key: SymmetricKey): Buffer {
  const m = ENC_STRING.exec(text);
  if (!m) throw new Error('not a type 2 EncString');
  const iv = Buffer.from(m[1]!, 'base64');
  const data = Buffer.from(m[2]!, 'base64');
  const mac = Buffer.from(m[3]!, 'base64');
  const expected = createHmac('sha256', key.mac).update(iv).update(data).digest();
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw new Error('EncString MAC mismatch');
  const decipher = createDecipheriv('aes-256-cbc', key.enc, iv);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

/** Whether text has the shape of a type-2 EncString with a 16-byte IV and a 32-byte MAC (what the SDK sends). */
export function isEncString(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  const m = ENC_STRING.exec(text);
  return m !== null && Buffer.from(m[1]!, 'base64').length === 16 && Buffer.from(m[3]!, 'base64').length === 32 && Buffer.from(m[2]!, 'base64').length % 16 === 0;
}
