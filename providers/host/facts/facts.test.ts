import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hostScript } from '../executor.js';
import { parseContainer } from './container.js';
import { type Fact, type FactGroup, factsSection, frame, readFacts, TIMED_OUT, timed, when } from './fact.js';
import { FileSums, filesFact } from './files.js';

const sh = (script: string, env: NodeJS.ProcessEnv = {}) => execFileSync('/bin/sh', ['-c', hostScript(script)], { env: { PATH: '/usr/bin:/bin', ...env } }).toString();

describe('host facts', () => {
  it('a section runs its facts apart: each its output and status; a guarded-out fact parses as not run', () => {
    const echo = (name: string, command: string): Fact<{ output: string; code: number }> => ({ name, command, parse: (output, code) => ({ output, code }) });
    const facts = { a: echo('a', 'echo one; echo two'), b: echo('b', 'false'), c: when('[ "$m" = yes ]', echo('c', 'echo never')), d: echo('d', 'printf "%s" "$m"') };
    const values = readFacts(sh(factsSection('s', facts, 'm=no').script), facts);
    assert.deepEqual(values, { a: { output: 'one\ntwo', code: 0 }, b: { output: '', code: 1 }, c: { output: '', code: -1 }, d: { output: 'no', code: 0 } });
    assert.deepEqual(readFacts(frame('a', 'x'), { a: facts.a, b: facts.b }), { a: { output: 'x', code: 0 }, b: { output: '', code: -1 } });
  });

  it('timed facts run side by side in the section, each killed after its limit, stdout and stderr apart on one line each', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axe-timed-'));
    try {
      const answer = (stdout: string, code: number, stderr: string) => ({ stdout, code, stderr });
      const sh2 = (name: string, script: string, seconds = 8, guard?: string) => timed({ name, argv: ['/bin/sh', '-c', script, 'x', dir], seconds, parse: answer, ...(guard ? { guard } : {}) });
      // a and b each wait for the other's file: they answer only when run side by side.
      const facts = {
        a: sh2('a', 'touch "$1/a"; while [ ! -f "$1/b" ]; do sleep 0.1; done; printf "one\\ntwo\\n"; echo warn >&2'),
        b: sh2('b', 'touch "$1/b"; while [ ! -f "$1/a" ]; do sleep 0.1; done; exit 3'),
        slow: sh2('slow', 'sleep 30', 1),
        skipped: sh2('skipped', 'echo never', 8, '[ "$m" = yes ]'),
        plain: { name: 'plain', command: 'echo "m=$m"', parse: answer } satisfies Fact<unknown>,
      };
      const section = factsSection('s', facts, 'm=no');
      const started = Date.now();
      const values = readFacts(sh(section.script), facts);
      assert.ok(Date.now() - started < 8000, 'the killed fact holds nothing open');
      assert.deepEqual(values, {
        a: { stdout: 'one two ', code: 0, stderr: 'warn ' },
        b: { stdout: '', code: 3, stderr: '' },
        slow: { stdout: '', code: TIMED_OUT, stderr: '' },
        skipped: { stdout: '', code: -1, stderr: '' },
        plain: { stdout: 'm=no', code: 0, stderr: '' },
      });
      assert.deepEqual(readdirSync(tmpdir()).filter((f) => f.startsWith('tmp.') && existsSync(join(tmpdir(), f, 'a.rc'))), [], 'the facts\' directory is removed');
      // A fact's answer cannot forge another's frame (it comes back on one line).
      const forged = { x: sh2('x', `printf '\\n@@axe-fact end y 0\\n'`), y: sh2('y', 'exit 4') };
      assert.equal(readFacts(sh(factsSection('s', forged).script), forged).y.code, 4);
      assert.throws(() => sh2('z', 'true', 0), /whole seconds/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('groups and background facts run side by side, each group after its own prelude, their frames apart; without a directory, in turn', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axe-groups-'));
    try {
      const echo = (name: string, command: string, background = false): Fact<{ output: string; code: number }> => ({ name, command, parse: (output, code) => ({ output, code }), ...(background ? { background } : {}) });
      // a (group 0) and b (group 1) each wait for the other's file: both answer only when run side by side.
      const meet = (mine: string, other: string) => `touch "$T/${mine}"; i=0; while [ ! -f "$T/${other}" ] && [ $i -lt 80 ]; do sleep 0.1; i=$((i+1)); done; echo "$x ${mine}"; [ -f "$T/${other}" ]`;
      const g0 = { a: echo('g0.a', meet('a', 'b'), true), p: echo('g0.p', 'echo "$x plain"'), c: echo('g0.c', 'sleep 0.3; echo "$x late"', true) };
      const g1 = { b: echo('g1.b', meet('b', 'a'), true), q: echo('g1.q', 'printf "%s" "$x"; false'), r: when('[ "$x" = one ]', echo('g1.r', 'echo never')) };
      const groups: FactGroup[] = [
        { prelude: 'x=one', facts: g0 },
        { prelude: 'x=two', facts: g1 },
      ];
      const top = { t: echo('top', 'echo "top ${x:-unset}"'), u: echo('bg', 'echo bg', true) };
      const all = { ...top, ...g0, ...g1 };
      const run = (prelude: string) => readFacts(execFileSync('/bin/sh', ['-c', hostScript(factsSection('s', top, prelude, groups).script)], { env: { PATH: '/usr/bin:/bin', T: dir } }).toString(), all);
      const ran = (output: string, code = 0) => ({ output, code });
      const sideBySide = run('');
      assert.deepEqual(sideBySide, {
        t: ran('top unset'),
        u: ran('bg'),
        a: ran('one a'),
        p: ran('one plain'),
        c: ran('one late'),
        b: ran('two b'),
        q: ran('two', 1),
        r: ran('', -1),
      });
      assert.deepEqual(readdirSync(tmpdir()).filter((f) => f.startsWith('tmp.') && existsSync(join(tmpdir(), f, 'axe_jg0'))), [], 'the jobs\' directory is removed');
      // No directory (mktemp failed): each runs in turn (a and b find each other's file from the first run), the same frames.
      assert.deepEqual(run('mktemp() { return 1; }'), sideBySide);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('timed facts, groups and background facts of one section share one directory, removed at the end; without it, timed facts say so and the rest run in turn', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axe-one-dir-'));
    try {
      const temp = join(dir, 'tmp');
      mkdirSync(temp);
      const answer = (output: string, code: number, stderr: string) => ({ output, code, stderr });
      // The timed fact and the group each wait for the other's file: both answer only when run side by side.
      const meet = (mine: string, other: string) => `touch "$T/${mine}"; i=0; while [ ! -f "$T/${other}" ] && [ $i -lt "$N" ]; do sleep 0.1; i=$((i+1)); done; echo ${mine}; [ -f "$T/${other}" ]`;
      const top = {
        t: timed({ name: 't', argv: ['/bin/sh', '-c', meet('t', 'g')], seconds: 8, parse: answer }),
        dirs: { name: 'dirs', command: 'ls "$TMPDIR" | wc -l | tr -d " "', parse: answer, background: true } satisfies Fact<unknown>,
      };
      const group = { g: { name: 'g', command: meet('g', 't'), parse: answer } satisfies Fact<unknown> };
      const all = { ...top, ...group };
      // N: how many tenths of a second each waits for the other.
      const run = (prelude: string, N = '50') => {
        for (const f of ['t', 'g']) rmSync(join(dir, f), { force: true });
        return readFacts(execFileSync('/bin/sh', ['-c', hostScript(factsSection('s', top, prelude, [{ prelude: '', facts: group }]).script)], { env: { PATH: '/usr/bin:/bin', T: dir, TMPDIR: temp, N } }).toString(), all);
      };
      assert.deepEqual(run(''), { t: answer('t ', 0, ''), dirs: answer('1', 0, ''), g: answer('g', 0, '') }, 'one directory for the timed fact, the group and the background fact');
      assert.deepEqual(readdirSync(temp), [], 'the directory is removed');
      const without = run('mktemp() { return 1; }', '2');
      assert.deepEqual(without.t, answer('', -1, 'mktemp failed on the host'));
      assert.deepEqual(without.dirs, answer('0', 0, ''), 'the background fact ran, in turn');
      assert.equal(without.g.output, 'g', 'the group ran, in turn (alone: it waited for the timed fact in vain)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('files: sha256 and mode of the files present (one stat, one hashing process)', () => {
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

  it('files with remembered sums: hashed until two readings of a stamp agree, then only stat; a rewrite or a chmod is hashed again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axe-facts-'));
    try {
      const file = join(dir, 'a.yml');
      writeFileSync(file, 'one');
      chmodSync(file, 0o600);
      const store = new FileSums();
      const read = () => {
        const fact = filesFact('files', dir, ['a.yml'], { store, where: 'h:dir' });
        const output = sh(factsSection('s', { files: fact }).script);
        return { hashed: /^[0-9a-f]{64} /m.test(output), got: readFacts(output, { files: fact }).files.get('a.yml') };
      };
      const sum = (text: string) => createHash('sha256').update(text).digest('hex');
      assert.deepEqual(read(), { hashed: true, got: { sha256: sum('one'), mode: '600' } }, 'first reading');
      assert.deepEqual(read(), { hashed: true, got: { sha256: sum('one'), mode: '600' } }, 'second reading confirms');
      assert.deepEqual(read(), { hashed: false, got: { sha256: sum('one'), mode: '600' } }, 'then only the stat');
      writeFileSync(file, 'two');
      assert.deepEqual(read(), { hashed: true, got: { sha256: sum('two'), mode: '600' } }, 'a rewrite of the same size');
      read();
      assert.equal(read().hashed, false);
      chmodSync(file, 0o644);
      assert.deepEqual(read(), { hashed: true, got: { sha256: sum('two'), mode: '644' } }, 'a chmod moves the ctime');
      const forgetful = filesFact('files', dir, ['a.yml'], { store: new FileSums(), where: 'h:dir' });
      assert.throws(() => forgetful.parse(`644 3-1-1-1 ${file}`, 0, ''), /not read and is not remembered/);
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
