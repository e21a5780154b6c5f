import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AxeError } from '../../core/errors.js';
import { execScript } from './commands/exec.js';
import { runInContainer } from './run.js';
import { localConnection } from './local-connection.js';

// A docker stand-in: `ps` finds container c1 of service `app` only; `exec [-i] c1 CMD…` runs CMD here.
const bin = mkdtempSync(join(tmpdir(), 'axe-run-'));
writeFileSync(
  join(bin, 'docker'),
  ['#!/bin/sh', 'case "$1" in', '  ps) case "$*" in *service=app*) echo c1;; esac;;', '  exec) shift; [ "$1" = -i ] && shift; shift; exec "$@";;', 'esac'].join('\n'),
  { mode: 0o755 },
);
after(() => rmSync(bin, { recursive: true, force: true }));

const target = { project: 'demo-hive', container: 'app', blueGreen: null };
const spec = { toolPaths: [bin], what: 'registering a in hive', customer: 'demo', resource: 'entities', fix: 'run it again' };

describe('a command in a stack container (runInContainer)', () => {
  it('the script: the container found, then docker exec of the command (exec -i only with stdin)', () => {
    assert.match(execScript(target, ['hive', "it's"], ['/x']), /\nc=\$\(cid 'demo-hive' 'app'\)\n.*exit 6; fi\nexec "\$D" exec "\$c" 'hive' 'it'\\''s'$/s);
    assert.match(execScript(target, ['pg-rotate-password'], ['/x'], null, true), /exec "\$D" exec -i "\$c" 'pg-rotate-password'$/);
  });

  it('runs it; stdin reaches the command and never the command line', async () => {
    const c = localConnection();
    const result = await runInContainer(c, target, ['cat'], { ...spec, stdin: 'the-new-value\n' });
    assert.equal(result.stdout, 'the-new-value\n');
    assert.ok(!c.commands.some((x) => x.includes('the-new-value')));
  });

  it("fails transient whatever the command's code, with its last stderr line, or its meaning when silent", async () => {
    const c = localConnection();
    const is = (message: string) => (e: unknown) => e instanceof AxeError && e.class === 'transient' && e.message === message && e.fix === 'run it again';
    await assert.rejects(runInContainer(c, target, ['sh', '-c', 'echo "ref gone" >&2; exit 5'], spec), is('registering a in hive failed: ref gone'));
    await assert.rejects(runInContainer(c, target, ['no-such-tool-here'], spec), (e: unknown) => e instanceof AxeError && e.class === 'transient');
    await assert.rejects(runInContainer(c, target, ['sh', '-c', 'exit 127'], spec), is('registering a in hive failed: exit 127: sh is not a command in app (an image without it?)'));
    await assert.rejects(runInContainer(c, { ...target, container: 'db' }, ['true'], { ...spec, left: 'nothing' }), is('registering a in hive failed: no running container for db in demo-hive; left: nothing'));
  });

  it('onFailure runs before the error is thrown; note ends the message', async () => {
    const order: string[] = [];
    await assert.rejects(
      runInContainer(localConnection(), target, ['false'], { ...spec, note: 'the vault keeps the old value', onFailure: async () => void order.push('put back') }),
      (e: unknown) => (order.push('thrown'), e instanceof AxeError && e.message === 'registering a in hive failed: exit 1; the vault keeps the old value'),
    );
    assert.deepEqual(order, ['put back', 'thrown']);
  });
});
