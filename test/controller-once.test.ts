/**
 * `axe controller --once`: one pass over every customer, then exit; 1 when a
 * resource failed (here: the hosts are unreachable), with the pass recorded in
 * the history that `axe history` and `axe status` read afterwards.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { controllerFixture } from './controller-fixture.js';
import { ROOT } from './helpers.js';

const exec = promisify(execFile);
/** The real axe CLI (it registers the controller commands). */
const ENTRY = join(ROOT, 'cli', 'main.ts');

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [...process.execArgv, ENTRY, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('axe controller --once', () => {
  it('reconciles every customer once, exits 1 on a failed resource, and leaves history and status behind', async () => {
    await using f = await controllerFixture();
    const env = { AXE_HOME: f.home, AXE_CONFIG: f.configPath };
    const once = await cli(['controller', '--once'], env);
    assert.equal(once.code, 1, once.stderr);
    const started = once.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; customer?: string }).filter((l) => l.msg === 'reconcile started');
    assert.deepEqual(started.map((l) => l.customer).sort(), ['acme', 'demo', 'realchoice']);
    assert.ok(f.emulator.store.state.tunnels.some((t) => t.name === 'axe-acme'), 'acme (apply) was reconciled');

    const status = await cli(['status'], env);
    assert.equal(status.code, 1, 'degraded: the hosts are unreachable');
    assert.match(status.stdout, /^revision: [0-9a-f]{12} \(seed from examples\/customers\)$/m);
    assert.match(status.stdout, /acme\s+dns\s+Synced\s+Healthy/);
    assert.match(status.stdout, /realchoice \(observe\)\s+dns\s+OutOfSync\s+Missing/);
    assert.match(status.stdout, /! acme\/host: .*tailscale/);
    const one = await cli(['status', 'acme', '--json'], env);
    const view = JSON.parse(one.stdout) as { customers: Array<{ customer: string }> };
    assert.deepEqual(view.customers.map((c) => c.customer), ['acme']);

    const history = await cli(['history', 'acme', '--type', 'action'], env);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /action\s+acme\/tunnel\s+[0-9a-f]{12}\s+create tunnel axe-acme/);
    const bad = await cli(['history', '--type', 'nonsense'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown event type "nonsense"/);
  });
});
