/**
 * The host layer's boundary: a kind (reconcilers/<kind>/) calls typed
 * builders and reads typed results; it never quotes shell, names a tool's
 * shell variable or starts a shell itself. Those live in providers/host/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');

/** The kinds held to it so far (the others still write their own shell: issue 13). */
const KINDS = ['stack'];

/** What only providers/host/ may write. */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/\bshellQuote\b/, 'shellQuote (quoting is providers/host/commands/quote.ts)'],
  [/"\$D"/, '"$D" (the docker CLI is a builder\'s: providers/host/commands/)'],
  [/\/bin\/sh -c/, '/bin/sh -c (running a script is the executor\'s: providers/host/executor.ts)'],
];

/** The offences in one file's text (pure). */
export function offences(text: string): string[] {
  return FORBIDDEN.filter(([pattern]) => pattern.test(text)).map(([, what]) => what);
}

test('the guard finds each forbidden piece', () => {
  assert.deepEqual(offences(`import { shellQuote } from 'x';`), [FORBIDDEN[0]![1]]);
  assert.deepEqual(offences('const s = `"$D" ps`;'), [FORBIDDEN[1]![1]]);
  assert.deepEqual(offences('exec(`/bin/sh -c ${x}`)'), [FORBIDDEN[2]![1]]);
  assert.deepEqual(offences(`import { upScript } from '../../providers/host/commands/stack.js';`), []);
});

test('no kind held to the host layer builds shell or starts a shell itself', () => {
  const found: string[] = [];
  for (const kind of KINDS) {
    const dir = join(ROOT, 'reconcilers', kind);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      for (const what of offences(readFileSync(join(dir, file), 'utf8'))) found.push(`reconcilers/${kind}/${file}: ${what}`);
    }
  }
  assert.deepEqual(found, []);
});
