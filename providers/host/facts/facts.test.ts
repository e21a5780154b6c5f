import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hostScript } from '../executor.js';
import { parseContainer } from './container.js';
import { type Fact, factsSection, frame, readFacts, when } from './fact.js';
import { filesFact } from './files.js';

const sh = (script: string, env: NodeJS.ProcessEnv = {}) => execFileSync('/bin/sh', ['-c', hostScript(script)], { env: { PATH: '/usr/bin:/bin', ...env } }).toString();

describe('host facts', () => {
  it('a section runs its facts apart: each its output and status; a guarded-out fact parses as not run', () => {
    const echo = (name: string, command: string): Fact<{ output: string; code: number }> => ({ name, command, parse: (output, code) => ({ output, code }) });
    const facts = { a: echo('a', 'echo one; echo two'), b: echo('b', 'false'), c: when('[ "$m" = yes ]', echo('c', 'echo never')), d: echo('d', 'printf "%s" "$m"') };
    const values = readFacts(sh(factsSection('s', facts, 'm=no').script), facts);
    assert.deepEqual(values, { a: { output: 'one\ntwo', code: 0 }, b: { output: '', code: 1 }, c: { output: '', code: -1 }, d: { output: 'no', code: 0 } });
    assert.deepEqual(readFacts(frame('a', 'x'), { a: facts.a, b: facts.b }), { a: { output: 'x', code: 0 }, b: { output: '', code: -1 } });
  });

  it('files: sha256 and mode of the files present (one hashing process, one stat)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axe-facts-'));
    try {
      mkdirSync(join(dir, 'd d'));
      writeFileSync(join(dir, 'd d', 'a.yml'), 'x');
      chmodSync(join(dir, 'd d', 'a.yml'), 0o640);
      const fact = filesFact('files', join(dir, 'd d'), ['a.yml', 'b.json']);
      const got = readFacts(sh(factsSection('s', { files: fact }).script), { files: fact }).files;
      assert.deepEqual([...got], [['a.yml', { sha256: createHash('sha256').update('x').digest('hex'), mode: '640' }]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('container: the engine list and docker inspect, both JSON, by exact name', () => {
    const listed = JSON.stringify([{ Names: ['/x'], State: 'running', Status: 'Up 2 minutes (healthy)', Labels: { k: 'v' } }]);
    assert.deepEqual(parseContainer(listed, 'x'), { state: 'running', health: 'healthy', labels: { k: 'v' } });
    assert.equal(parseContainer(listed, 'y'), null);
    const inspected = JSON.stringify([{ Name: '/x', State: { Status: 'exited' }, Config: { Labels: null } }]);
    assert.deepEqual(parseContainer(inspected, 'x'), { state: 'exited', health: null, labels: {} });
    assert.equal(parseContainer('', 'x'), null);
    assert.equal(parseContainer('Error: No such object: x', 'x'), null);
  });
});
