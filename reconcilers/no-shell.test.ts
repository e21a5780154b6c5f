/**
 * The kinds build no shell: command lines, quoting and output parsing live
 * in providers/host (commands/, facts/, the runners). No non-test file under
 * reconcilers/ imports shellQuote,
 * names the docker CLI's shell variable ("$D") or starts a shell (/bin/sh -c).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const DIR = import.meta.dirname;
/** Folders whose shell has not moved to providers/host yet: none. */
const NOT_YET: string[] = [];

/** What a line of a kind's source must not hold. */
export function shellIn(text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (/\bshellQuote\b/.test(line)) found.push(`${i + 1}: shellQuote`);
    if (line.includes('"$D"')) found.push(`${i + 1}: "$D"`);
    if (line.includes('/bin/sh -c')) found.push(`${i + 1}: /bin/sh -c`);
  });
  return found;
}

describe('the kinds build no shell', () => {
  it('the finder flags each of the three', () => {
    assert.deepEqual(shellIn(`import { shellQuote } from 'x';\nconst a = '"$D" ps';\nrun(\`/bin/sh -c \${s}\`);\nconst fine = line(argv);`), ['1: shellQuote', '2: "$D"', '3: /bin/sh -c']);
  });

  it('no file under reconcilers/ (tests aside) holds any', () => {
    const files = readdirSync(DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NOT_YET.some((d) => f.startsWith(d)));
    assert.ok(files.length > 30 && files.includes('admins/index.ts') && files.includes('stack/index.ts'), `the kinds' files are read (${files.length})`);
    const bad = files.flatMap((f) => shellIn(readFileSync(join(DIR, f), 'utf8')).map((hit) => `${f}:${hit}`));
    assert.deepEqual(bad, [], `shell in the kinds: build it in providers/host/commands, parse it in providers/host/facts:\n${bad.join('\n')}`);
  });
});
