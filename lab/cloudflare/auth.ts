/**
 * API token authentication, as the v4 API answers it.
 *
 * Rules:
 * - Only `Authorization: Bearer <token>` is accepted; tokens are compared in
 *   constant time and never logged, echoed or put in an error.
 * - No credentials → 400, 9106; a malformed header (or a token sent as a
 *   global API key in X-Auth-Key) → 400, 6003 with the 6111/6103 chain; a
 *   well-formed but unknown token → 403, 9109 "Invalid access token" (401,
 *   1000 "Invalid API Token" on /user/tokens/verify, as there).
 */
import { Secret } from '../../core/secret.js';
import { V4Failure } from './v4.js';

const TOKEN_CHARS = /^[A-Za-z0-9_-]+$/;

export const MISSING_CREDENTIALS = new V4Failure(400, { code: 9106, message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers' });

/** The token the header carries, when it is one the emulator issued; otherwise the v4 failure to send. */
export function authenticate(
  headers: { authorization?: string | undefined; 'x-auth-key'?: string | string[] | undefined },
  tokens: readonly Secret[],
  options: { verifyRoute?: boolean } = {},
): { token: Secret } | { failure: V4Failure } {
  const header = headers.authorization;
  if (header === undefined || header === '') {
    if (headers['x-auth-key'] !== undefined) {
      return {
        failure: new V4Failure(400, {
          code: 6003,
          message: 'Invalid request headers',
          error_chain: [{ code: 6103, message: 'Invalid format for X-Auth-Key header' }],
        }),
      };
    }
    return { failure: MISSING_CREDENTIALS };
  }
  const match = /^Bearer +(\S+)\s*$/.exec(header);
  if (!match?.[1] || !TOKEN_CHARS.test(match[1])) {
    return {
      failure: new V4Failure(400, {
        code: 6003,
        message: 'Invalid request headers',
        error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }],
      }),
    };
  }
  const offered = new Secret(match[1]);
  const token = tokens.find((t) => t.equals(offered));
  if (token) return { token };
  if (options.verifyRoute) return { failure: new V4Failure(401, { code: 1000, message: 'Invalid API Token' }) };
  return { failure: new V4Failure(403, { code: 9109, message: 'Invalid access token' }) };
}

/** A new API token: 40 URL-safe characters, the real tokens' shape. */
export function newApiToken(): Secret {
  const bytes = new Uint8Array(30);
  crypto.getRandomValues(bytes);
  return new Secret(Buffer.from(bytes).toString('base64url'));
}
