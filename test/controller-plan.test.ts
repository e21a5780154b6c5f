/**
 * `axe plan --base REV --head REV --markdown` (the pull request comment) on a
 * real git repo, observing the Cloudflare emulator: only the customers whose
 * desired state changed are planned; removed ones are listed, never planned;
 * an invalid head fails.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { addCustomers, controllerFixture, customerBlock } from './controller-fixture.js';
import { git, ROOT } from './helpers.js';

const exec = promisify(execFile);

async function planCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [...process.execArgv, join(ROOT, 'cli', 'main.ts'), 'plan', ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('axe plan --base --head', () => {
  it('plans only the changed customers, lists removed ones, masks secrets, and fails on an invalid head', async () => {
    await using f = await controllerFixture();
    const env = { AXE_HOME: f.home, AXE_CONFIG: f.configPath };
    const base = (await git(f.work, 'rev-parse', 'HEAD')).trim();
    await git(f.work, 'switch', '-q', '-c', 'onboard/newco');
    const head = await f.push(
      (t) => addCustomers(t, customerBlock('newco')).replace('legal_name: "Demo Company"', 'legal_name: "Demo Company Ltd."').replace(/  # realchoice[\s\S]*?mode: observe[^\n]*\n/, ''),
      'Onboard newco, rename demo, drop realchoice',
    );
    const r = await planCli(['--base', base, '--head', 'HEAD', '--markdown', '--repo', f.work], env);
    // 1, not 2: the hosts are unreachable in this fixture, so the host checks fail (an error outranks pending changes).
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /\| host \| Unknown \| Unknown: tailscale CLI not found/);
    assert.match(r.stdout, new RegExp(`### axe plan ${base.slice(0, 12)}\\.\\.${head.slice(0, 12)}`));
    assert.match(r.stdout, /Customers whose desired state changes: `newco` \(new\), `demo`\./);
    assert.match(r.stdout, /#### `newco`/);
    assert.match(r.stdout, /#### `demo`/);
    assert.doesNotMatch(r.stdout, /#### `acme`/, 'an unchanged customer is not planned');
    assert.match(r.stdout, /Removed from customers\.yaml: `realchoice`\. Nothing is torn down/);
    assert.match(r.stdout, /\| tunnel \| OutOfSync \|/);
    assert.match(r.stdout, /`create` create tunnel axe-newco/);
    assert.match(r.stdout, /Secret values are never shown/);
    // Planning acted on nothing.
    assert.equal(f.emulator.store.state.tunnels.some((t) => t.name === 'axe-newco'), false);

    const json = await planCli(['--base', base, '--head', head, '--json', '--repo', f.work], env);
    const parsed = JSON.parse(json.stdout) as { added: string[]; changed: string[]; removed: string[]; customers: Array<{ customer: string }> };
    assert.deepEqual([parsed.added, parsed.changed, parsed.removed], [['newco'], ['demo'], ['realchoice']]);
    assert.deepEqual(parsed.customers.map((c) => c.customer).sort(), ['demo', 'newco']);

    await f.push((t) => t.replace('  newco:\n', '  newco:\n    bogus: 1\n'), 'Break it');
    const bad = await planCli(['--base', base, '--head', 'HEAD', '--markdown', '--repo', f.work], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /the head revision HEAD is invalid \(1 error\(s\): customers\.yaml:9:5 customers\.newco\.bogus/);

    const same = await planCli(['--base', base, '--head', base, '--markdown', '--repo', f.work], env);
    assert.equal(same.code, 0, 'nothing planned, nothing failed');
    assert.match(same.stdout, /No customer's desired state changes/);
  });
});
