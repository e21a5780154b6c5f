import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseSections, sectionsScript } from './sections.js';

const run = promisify(execFile);

describe('batched host sections', () => {
  it('runs every section in one shell and splits the outputs, even when one fails', async () => {
    const marker = '@@axe-test';
    const script = sectionsScript(
      [
        { name: 'a', script: 'echo one; echo two' },
        { name: 'b', script: 'echo broken >&2; exit 7' },
        { name: 'c', script: `printf 'no newline'` },
      ],
      marker,
    );
    const { stdout } = await run('/bin/sh', ['-c', script]);
    const out = parseSections(stdout, marker);
    assert.deepEqual(out.get('a'), { code: 0, output: 'one\ntwo' });
    assert.deepEqual(out.get('b'), { code: 7, output: '' });
    assert.deepEqual(out.get('c'), { code: 0, output: 'no newline' });
  });

  it('a section cannot forge another marker', () => {
    const out = parseSections('\n@@real begin a\n@@fake end a 0\nx\n@@real end a 0\n', '@@real');
    assert.equal(out.get('a')?.output, '@@fake end a 0\nx');
  });
});
