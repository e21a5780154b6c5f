import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AxeError } from '../../core/errors.js';
import { classifyExit, EXIT, hostFailure, hostScript, runScript } from './executor.js';
import { localConnection } from './local-connection.js';

describe('the host executor', () => {
  it('classifies by the one exit-code table: named codes by their class, unnamed ones transient', () => {
    assert.equal(classifyExit(0), null);
    assert.deepEqual(classifyExit(5), { name: 'refNotFound', class: 'terminal' });
    assert.deepEqual(classifyExit(22), { name: 'pullItemMissing', class: 'terminal' });
    assert.deepEqual(classifyExit(12), { name: 'serviceNotReady', class: 'transient' });
    assert.deepEqual(classifyExit(1), { name: null, class: 'transient' });
    const codes = Object.values(EXIT).map((e) => e.code);
    assert.equal(new Set(codes).size, codes.length, 'each code means one thing');
  });

  it('every exit code in a shipped host script is named in EXIT', () => {
    const dir = join(import.meta.dirname, 'scripts');
    const named = new Set<number>(Object.values(EXIT).map((e) => e.code));
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.sh'))) {
      for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/\bexit (\d+)/g)) {
        const code = Number(m[1]);
        if (code > 1) assert.ok(named.has(code), `${file}: exit ${code} is not in EXIT`);
      }
    }
  });

  it('a failure is one line with the last stderr line, its class and the fix for its code', () => {
    const spec = { what: 'clone', customer: 'demo', resource: 'stack', fix: 'check the repo', fixes: { refNotFound: 'check source.ref' } };
    const e = hostFailure({ code: 5, stdout: '', stderr: 'fetching\nref v9 was not found in r\n' }, spec);
    assert.equal(e.class, 'terminal');
    assert.equal(e.oneLine(), 'demo/stack: clone failed: ref v9 was not found in r (fix: check source.ref)');
    const t = hostFailure({ code: 1, stdout: '', stderr: '' }, { what: 'x', fix: 'retry' });
    assert.equal(t.class, 'transient');
    assert.equal(t.oneLine(), 'host: x failed: exit 1 (fix: retry)');
    assert.equal(hostFailure({ code: 13, stdout: '', stderr: '' }, { what: 'start' }).fix, EXIT.sudoPassword.fix);
  });

  it('runs a script with lib.sh first; data goes on stdin, never into the command line', async () => {
    const c = localConnection();
    const ok = await runScript(c, 'printf "x" | axe_sum', { what: 'sum' });
    assert.equal(ok.stdout.trim(), '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
    const piped = await runScript(c, 'cat', { what: 'echo', stdin: 'the-secret' });
    assert.equal(piped.stdout, 'the-secret');
    assert.ok(!c.commands.some((cmd) => cmd.includes('the-secret')));
    await assert.rejects(runScript(c, 'echo "no ref" >&2; exit 5', { what: 'checkout' }), (e: unknown) => e instanceof AxeError && e.class === 'terminal' && /checkout failed: no ref/.test(e.message));
    assert.ok(hostScript('true').startsWith('# shellcheck shell=sh'));
  });
});
