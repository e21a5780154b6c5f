/**
 * The API's request rate limit: at most `limit` requests per `windowMs` per
 * token (Cloudflare publishes 1200 per 5 minutes), then HTTP 429 with
 * `Retry-After` and error 971 until the window ends.
 *
 * Rules:
 * - Fixed windows per key, started by the key's first request; the clock is
 *   injected so tests need not wait.
 * - `configure` takes effect at once and starts every window afresh.
 */
import { V4Failure } from './v4.js';

export interface RateLimit {
  limit: number;
  windowMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { limit: 1200, windowMs: 300_000 };

export const RATE_LIMITED = { code: 971, message: 'Please wait and consider throttling your request speed' };

/** The 429 the API answers, with the seconds to wait. */
export function rateLimited(retryAfterSeconds: number): V4Failure {
  return new V4Failure(429, RATE_LIMITED, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
}

export class RateLimiter {
  #settings: RateLimit;
  readonly #windows = new Map<string, { start: number; count: number }>();
  readonly #now: () => number;

  constructor(settings: RateLimit = DEFAULT_RATE_LIMIT, now: () => number = Date.now) {
    this.#settings = { ...settings };
    this.#now = now;
  }

  get settings(): RateLimit {
    return { ...this.#settings };
  }

  configure(settings: RateLimit): void {
    if (!Number.isInteger(settings.limit) || settings.limit < 1 || !(settings.windowMs > 0)) throw new Error('rate limit needs limit ≥ 1 and windowMs > 0');
    this.#settings = { ...settings };
    this.#windows.clear();
  }

  /** Counts one request for `key`; null when allowed, else the seconds until the window ends. */
  take(key: string): number | null {
    const now = this.#now();
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.#settings.windowMs) {
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    if (window.count >= this.#settings.limit) return (window.start + this.#settings.windowMs - now) / 1000;
    window.count += 1;
    return null;
  }
}
