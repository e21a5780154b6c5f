/**
 * Errors axe shows to a person. Every one is a single line: what failed, for
 * which customer and resource, and the fix. They are classified once, where
 * they arise (at the provider edge): `transient` errors are retried with
 * backoff, `terminal` ones are not. Nothing decides by matching message text.
 */
export type ErrorClass = 'transient' | 'terminal';

export interface AxeErrorOptions {
  /** What to do about it, in one imperative sentence. */
  fix?: string;
  customer?: string;
  resource?: string;
  cause?: unknown;
  /** Process exit code when this error ends a CLI command (default 1). */
  exitCode?: number;
  /** The runbook trap this error is (a name from reconcilers/traps.ts), set where it is classified. */
  trap?: string;
}

export class AxeError extends Error {
  readonly class: ErrorClass;
  readonly fix: string | undefined;
  readonly customer: string | undefined;
  readonly resource: string | undefined;
  readonly exitCode: number;
  readonly trap: string | undefined;

  constructor(errorClass: ErrorClass, message: string, options: AxeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AxeError';
    this.class = errorClass;
    this.fix = options.fix;
    this.customer = options.customer;
    this.resource = options.resource;
    this.exitCode = options.exitCode ?? 1;
    this.trap = options.trap;
  }

  /** The one line a person sees: `customer/resource: message — fix: …`. */
  oneLine(): string {
    const where = [this.customer, this.resource].filter(Boolean).join('/');
    const head = where ? `${where}: ${this.message}` : this.message;
    return this.fix ? `${head} (fix: ${this.fix})` : head;
  }
}

/** A terminal error: bad input or config; retrying does not help. */
export function terminal(message: string, options?: AxeErrorOptions): AxeError {
  return new AxeError('terminal', message, options);
}

/** A transient error: retry with backoff (429, 5xx, connection reset, host asleep). */
export function transient(message: string, options?: AxeErrorOptions): AxeError {
  return new AxeError('transient', message, options);
}

/** The one line to show for any thrown value, without a stack trace. */
export function errorLine(error: unknown): string {
  if (error instanceof AxeError) return error.oneLine();
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
