import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hostScript } from '../executor.js';
import { frame } from './fact.js';
import { type ListHook, listHooksSection, readListHooks } from './list-hooks.js';

const hook = (key: string, container: string, command: string[]): ListHook => ({ key, list: { service: key.split('/')[0]!, project: 'demo-x', container, blueGreen: null, command } });
const parse = (stdout: string) => ({ state: 'listed' as const, ids: JSON.parse(stdout) as string[] });

describe('the per-item hooks listings (facts)', () => {
  it('parses each hook: listed, down (not run), error (non-zero, or refused by the parser)', () => {
    const hooks = [hook('a/list', 'a', ['a', 'list']), hook('b/list', 'b', ['b', 'list']), hook('c/list', 'c', ['c', 'ls']), hook('d/list', 'd', ['d'])];
    const out = frame('a/list', '["x","y"]\n') + frame('c/list', 'boom\nmore\n', 3) + frame('d/list', 'not json');
    const got = readListHooks(out, hooks, parse);
    assert.deepEqual(got.get('a/list'), { state: 'listed', ids: ['x', 'y'] });
    assert.deepEqual(got.get('b/list'), { state: 'down' });
    assert.deepEqual(got.get('c/list'), { state: 'error', message: 'c ls failed (exit 3): boom more' });
    assert.match((got.get('d/list') as { message: string }).message, /^d: Unexpected token/);
  });

  it('for real with a docker stand-in: the lists run side by side in their containers; a stopped one is down; no docker: all down', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axe-lh-'));
    try {
      // `ps` finds a running container for service `app` only; `exec c1 CMD…` runs CMD here.
      writeFileSync(join(dir, 'docker'), ['#!/bin/sh', 'case "$1" in', '  ps) case "$*" in *service=app*) echo c1;; esac;;', '  exec) shift; shift; exec "$@";;', 'esac'].join('\n'), { mode: 0o755 });
      const hooks = [hook('hive/list', 'app', ['echo', '["e1"]']), hook('frame/list', 'gone', ['echo', '[]']), hook('blue/list', 'app', ['sh', '-c', 'echo nope >&2; exit 4'])];
      const run = (toolPaths: string[]) => readListHooks(execFileSync('sh', ['-c', hostScript(listHooksSection('entities', hooks, toolPaths, () => null).script)], { env: { ...process.env, TMPDIR: dir } }).toString(), hooks, parse);
      const got = run([dir]);
      // The side-by-side jobs' directory (in TMPDIR: here, apart from other tests' runs) is removed.
      assert.deepEqual(readdirSync(dir).sort(), ['docker']);
      assert.deepEqual(got.get('hive/list'), { state: 'listed', ids: ['e1'] });
      assert.deepEqual(got.get('frame/list'), { state: 'down' });
      assert.deepEqual(got.get('blue/list'), { state: 'error', message: "sh -c echo nope >&2; exit 4 failed (exit 4): nope" });
      assert.deepEqual([...run([join(dir, 'none')]).values()].map((v) => v.state), ['down', 'down', 'down']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
