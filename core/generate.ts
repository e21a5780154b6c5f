/**
 * Random secret values for the secrets a manifest says to generate. Uses
 * rejection sampling over `crypto.randomBytes`, so every character of the
 * alphabet is equally likely (no modulo bias).
 */
import { randomBytes } from 'node:crypto';
import { Secret } from './secret.js';

export type Alphabet = 'alphanumeric' | 'hex' | 'base64url';

const ALPHABETS: Record<Alphabet, string> = {
  alphanumeric: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  hex: '0123456789abcdef',
  base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
};

export function generateSecret(length: number, alphabet: Alphabet): Secret {
  const chars = ALPHABETS[alphabet];
  const limit = 256 - (256 % chars.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= limit) continue;
      out += chars[byte % chars.length];
      if (out.length === length) break;
    }
  }
  return new Secret(out);
}
