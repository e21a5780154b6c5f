/** Output helpers shared by commands: JSON for machines, lines for people. */
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
