/**
 * An opaque secret value. It prints as `[redacted]` everywhere (String(),
 * JSON.stringify, util.inspect, template literals), so a secret that reaches a
 * log line, a plan or an error message by mistake shows nothing.
 *
 * Rules: the only way to the value is `reveal()`, called at the last moment by
 * code that writes the value to a vault, to a 0600 file, or to a remote stdin.
 * Plans show a keyed fingerprint (core/fingerprint.ts), never the value.
 */
import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The plain value. Call only where it is written to a vault, a 0600 file or a stdin. */
  reveal(): string {
    return this.#value;
  }

  /** Constant-time comparison of two secret values. */
  equals(other: Secret): boolean {
    const a = Buffer.from(this.#value);
    const b = Buffer.from(other.#value);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  get length(): number {
    return this.#value.length;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }
}
