/**
 * The fault switch tests turn through `/__lab/faults`: added latency, the next
 * N API requests answering 5xx, or the next N answering 429.
 *
 * Rules:
 * - Faults apply to /client/v4 requests only, before authentication, and are
 *   consumed one per request; latency applies to every request until cleared.
 * - A forced 5xx carries a v4 envelope (code 10001, "lab fault"); a forced 429
 *   is the same answer the real rate limit gives (971, Retry-After).
 */
import { rateLimited } from './rate-limit.js';
import { V4Failure } from './v4.js';

export interface FaultSettings {
  latencyMs: number;
  /** How many of the next requests answer `failStatus`. */
  failNext: number;
  failStatus: number;
  /** How many of the next requests answer 429. */
  rateLimitNext: number;
  retryAfterSeconds: number;
}

export const NO_FAULTS: FaultSettings = { latencyMs: 0, failNext: 0, failStatus: 500, rateLimitNext: 0, retryAfterSeconds: 1 };

function nonNegativeInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

export class FaultSwitch {
  #settings: FaultSettings = { ...NO_FAULTS };

  get settings(): FaultSettings {
    return { ...this.#settings };
  }

  /** Merges the given fields; throws on a bad value (nothing is changed then). */
  set(patch: Partial<Record<keyof FaultSettings, unknown>>): FaultSettings {
    const next = { ...this.#settings };
    for (const key of Object.keys(NO_FAULTS) as Array<keyof FaultSettings>) {
      if (patch[key] !== undefined) next[key] = nonNegativeInt(patch[key], key);
    }
    if (next.failStatus < 500 || next.failStatus > 599) throw new Error('failStatus must be a 5xx status');
    this.#settings = next;
    return this.settings;
  }

  clear(): void {
    this.#settings = { ...NO_FAULTS };
  }

  /** The failure this request must answer with, if any (consumes one). */
  take(): V4Failure | null {
    if (this.#settings.failNext > 0) {
      this.#settings.failNext -= 1;
      return new V4Failure(this.#settings.failStatus, { code: 10001, message: 'Internal server error (lab fault injection)' });
    }
    if (this.#settings.rateLimitNext > 0) {
      this.#settings.rateLimitNext -= 1;
      return rateLimited(this.#settings.retryAfterSeconds);
    }
    return null;
  }
}
