/**
 * How every `axe` command ends: its number becomes the exit code; a thrown
 * error becomes one line on stderr (the stack only with AXE_DEBUG) and the
 * error's exit code (1 unless it says otherwise).
 */
import { AxeError, errorLine } from '../core/errors.js';

export function runCommand<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await fn(...args);
    } catch (error) {
      process.stderr.write(`axe: ${errorLine(error)}\n`);
      if (process.env.AXE_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
      process.exitCode = error instanceof AxeError ? error.exitCode : 1;
    }
  };
}

/** Commander's collector for a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
