/**
 * The controller's log: pino JSON, one line per event, constant messages with
 * the data in the object (`log.info({ customer, kind, op }, 'action applied')`).
 *
 * Rules:
 * - Secrets are redacted by type (a `Secret` anywhere in a logged object
 *   prints `[redacted]`) and by key (values under keys such as `token`,
 *   `password`, `authorization`, `value`, `webhook_url` are replaced at any
 *   depth). Secret NAMES (e.g. `token_secret: CLOUDFLARE_API_TOKEN`) stay.
 * - Errors are logged as their one line (`errorLine`), never a stack with data.
 */
import { destination, pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import { errorLine } from '../core/errors.js';
import { Secret } from '../core/secret.js';

export type { Logger } from 'pino';

const REDACTED = '[redacted]';

/** Keys whose values are secret wherever they appear (compared lower-case, without `_` and `-`). */
const SECRET_KEYS = new Set([
  'token',
  'apitoken',
  'accesstoken',
  'refreshtoken',
  'password',
  'passphrase',
  'secretvalue',
  'clientsecret',
  'value',
  'authorization',
  'cookie',
  'setcookie',
  'session',
  'bwsession',
  'privatekey',
  'webhookurl',
  'hmac',
  'signature',
  'xhubsignature256',
]);

function secretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase().replace(/[-_]/g, ''));
}

/** A copy of `value` with every secret replaced; cycles and depth are bounded. */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value instanceof Secret) return REDACTED;
  if (value instanceof Error) return errorLine(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[depth]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1, seen));
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = secretKey(k) && v !== null && v !== undefined ? REDACTED : redactDeep(v, depth + 1, seen);
  return out;
}

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.AXE_LOG_LEVEL ?? 'info',
      base: { name: 'axe-controller' },
      timestamp: stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactDeep(object) as Record<string, unknown>,
      },
    },
    options.destination ?? destination({ dest: 1, sync: true }),
  );
}
