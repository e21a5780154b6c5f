/**
 * Every shell file the project ships (by extension or by a sh/bash shebang,
 * among the files git tracks) passes `shellcheck` (Debian's package, which
 * lab/setup/install-system.sh installs). A missing shellcheck fails the test:
 * a check that is skipped proves nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, tempDir } from './helpers.js';

const exec = promisify(execFile);

async function shellFiles(): Promise<string[]> {
  const { stdout } = await exec('git', ['ls-files', '-z'], { cwd: ROOT });
  const out: string[] = [];
  for (const file of stdout.split('\0').filter(Boolean)) {
    if (file.startsWith('node_modules/')) continue;
    if (file.endsWith('.sh')) {
      out.push(file);
      continue;
    }
    if (/\.[a-z]+$/i.test(file) && !file.startsWith('.ci/')) continue;
    const head = (await readFile(join(ROOT, file), 'utf8').catch(() => '')).slice(0, 64);
    if (/^#!\s*\/(usr\/)?bin\/(env\s+)?(ba)?sh\b/.test(head)) out.push(file);
  }
  return out.sort();
}

test('shellcheck passes on every shell file the project ships', async () => {
  const files = await shellFiles();
  assert.ok(files.includes('demo.sh') && files.includes('.ci/run') && files.includes('lab/setup/install-system.sh'), `shell files found: ${files.join(', ')}`);
  const result = await exec('shellcheck', ['--format=gcc', ...files], { cwd: ROOT }).then(
    () => ({ code: 0, out: '' }),
    (error: { code?: number | string; stdout?: string; stderr?: string }) => ({ code: error.code, out: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
  );
  assert.notEqual(result.code, 'ENOENT', 'shellcheck is not installed: run lab/setup/install-system.sh (Debian package shellcheck)');
  assert.equal(result.code, 0, `shellcheck found problems:\n${result.out}`);
});

test('shellcheck is the real checker: it flags an unquoted expansion', async () => {
  await using dir = await tempDir('shellcheck');
  const file = join(dir.path, 'bad.sh');
  await writeFile(file, '#!/bin/sh\nrm $1\n');
  const failed = await exec('shellcheck', ['--format=gcc', file]).then(
    () => null,
    (error: { stdout?: string }) => error.stdout ?? '',
  );
  assert.match(failed ?? 'exited 0', /SC2086/);
});
