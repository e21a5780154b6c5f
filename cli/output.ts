/** Output helpers shared by commands: JSON for machines, lines for people. */
import type { CustomerResult } from '../reconcilers/engine.js';
import { renderMarkdown, renderText, resultJson } from '../reconcilers/report.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function line(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** Progress for long work goes to stderr so stdout stays clean for --json. */
export function progress(text: string): void {
  process.stderr.write(`  ${text}\n`);
}

/**
 * Progress inside long steps: `start(key, text)` prints the step, then, while
 * no other step of that key starts and `stop(key)` is not called, a line
 * every `everyMs` saying it is still running and for how long. One ticker
 * per key (customers reconciled in parallel each have theirs).
 */
export function stepTicker(print: (text: string) => void = progress, everyMs = 10_000): { start(key: string, text: string): void; stop(key: string): void; stopAll(): void } {
  const timers = new Map<string, NodeJS.Timeout>();
  const stop = (key: string): void => {
    clearInterval(timers.get(key));
    timers.delete(key);
  };
  return {
    start(key, text) {
      stop(key);
      print(text);
      const started = Date.now();
      const short = text.length > 90 ? `${text.slice(0, 89)}…` : text;
      const timer = setInterval(() => print(`${short} … still running (${Math.round((Date.now() - started) / 1000)} s)`), everyMs);
      timer.unref();
      timers.set(key, timer);
    },
    stop,
    stopAll() {
      for (const key of [...timers.keys()]) stop(key);
    },
  };
}

/** A pass's results as the command was asked: `--json`, `--markdown` (a pull request comment) or text. */
export function printResults(results: CustomerResult[], options: { json?: boolean; markdown?: boolean; apply?: boolean }, title: string): void {
  if (options.json) printJson(resultJson(results, Boolean(options.apply)));
  else if (options.markdown) process.stdout.write(renderMarkdown(results, title));
  else process.stdout.write(renderText(results, Boolean(options.apply)));
}
