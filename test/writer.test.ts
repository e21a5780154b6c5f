/**
 * One writer per customer, from the CLI's side: a command that acts
 * (`axe apply … --apply`) takes the customer's lease the controller takes;
 * while the controller holds it the command stops naming the holder, or waits
 * with --lock-wait; and it refuses a checkout that is not the revision the
 * controller runs, naming both, unless --revision-mismatch-ok.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { controllerPaths } from '../controller/config.js';
import { History } from '../controller/history.js';
import { tryLease } from '../controller/lease.js';
import { createLogger } from '../controller/logger.js';
import { openController, runOnce } from '../controller/run.js';
import { type ControllerFixture, controllerFixture } from './controller-fixture.js';
import { axe, git, until } from './helpers.js';

describe('axe apply --apply: one writer per customer', () => {
  let fixture: ControllerFixture;
  let env: NodeJS.ProcessEnv;
  let history: History;
  let applied = '';

  before(async () => {
    fixture = await controllerFixture();
    await runOnce({ config: fixture.config, vault: fixture.vault, zone: fixture.emulator.zone, axeHome: fixture.home, log: createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) }) });
    env = { AXE_HOME: fixture.home, AXE_CONFIG: fixture.configPath, AXE_REPO: fixture.work, GIT_AUTHOR_NAME: 'axe-test', GIT_AUTHOR_EMAIL: 't@axe.invalid', GIT_COMMITTER_NAME: 'axe-test', GIT_COMMITTER_EMAIL: 't@axe.invalid' };
    history = History.open(controllerPaths(fixture.config, fixture.home).history);
    applied = history.lastGoodRevision()!.id;
  });

  after(async () => {
    history?.close();
    await fixture?.[Symbol.asyncDispose]();
  });

  it('acts on the controller revision when nobody holds the customer, and leaves no lease behind', async () => {
    assert.equal((await git(fixture.work, 'rev-parse', 'HEAD')).trim(), applied);
    const run = await axe(['apply', 'acme', '--only', 'dns', '--apply', '--json'], { env });
    assert.doesNotMatch(run.stderr, /locked by|controller runs/);
    assert.equal(JSON.parse(run.stdout).applied, true, run.stderr);
    assert.equal(history.lease('acme'), null, 'released');
  });

  it('stops at once naming the controller while it holds the customer, or waits for it with --lock-wait', async () => {
    const held = tryLease({ history, holder: 'controller', command: 'reconcile (revision)' }, 'acme');
    assert.ok('lease' in held);
    try {
      const refused = await axe(['apply', 'acme', '--only', 'dns', '--apply'], { env });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`^axe: acme: locked by the controller \\(pid ${process.pid} on [^,]+, reconcile \\(revision\\)\\) since [^ ]+, lease until [^ ]+ \\(fix: wait for it to finish, or pass --lock-wait 10m to wait for it\\)`, 'm'));
      assert.equal(refused.stdout, '', 'nothing planned or applied');
      const other = await axe(['apply', 'realchoice', '--only', 'dns', '--apply', '--json'], { env });
      assert.doesNotMatch(other.stderr, /locked by/, 'another customer is free');
      // Released while the next command waits for it (once it says so).
      const waited = await axe(['apply', 'acme', '--only', 'dns', '--apply', '--json', '--lock-wait', '60s'], { env, onStderr: (text) => /waiting up to/.test(text) && held.lease.release() });
      assert.match(waited.stderr, /acme: waiting up to 60s for the controller \(pid \d+/);
      assert.equal(JSON.parse(waited.stdout).applied, true, waited.stderr);
    } finally {
      held.lease.release();
    }
    const bad = await axe(['apply', 'acme', '--apply', '--lock-wait', 'soon'], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid duration "soon"/);
  });

  it('the controller leaves a customer a CLI command holds, and reconciles it once released', async () => {
    const held = tryLease({ history, holder: 'cli', command: 'axe deploy frame acme --apply' }, 'acme');
    assert.ok('lease' in held);
    const lines: Array<{ msg: string; customer?: string }> = [];
    const running = await openController({
      config: fixture.config,
      vault: fixture.vault,
      zone: fixture.emulator.zone,
      axeHome: fixture.home,
      noServer: true,
      driftSchedule: false,
      log: createLogger({ destination: new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(String(chunk)) as { msg: string; customer?: string }), done()) }) }),
      timings: { pollIntervalMs: 0 },
    });
    try {
      await running.controller.queue.idle();
      const before = history.events({ customer: 'acme', types: ['action'], limit: 1000 }).length;
      running.controller.enqueue('acme');
      await until('the controller seeing the lease', async () => lines.some((l) => l.msg === 'customer locked by another writer' && l.customer === 'acme'), 10_000);
      assert.equal(history.events({ customer: 'acme', types: ['action'], limit: 1000 }).length, before, 'nothing done for acme while the CLI holds it');
      assert.equal(history.lease('acme')?.holder, 'cli', 'the lease is still the CLI command\'s');
      let done = false;
      running.controller.on('reconcile-done', (e: { customer: string }) => (done ||= e.customer === 'acme'));
      held.lease.release();
      await until('acme reconciled after the release', async () => done, 20_000);
    } finally {
      held.lease.release();
      await running.stop();
    }
  });

  it('refuses a checkout that is not the controller revision, naming both, unless --revision-mismatch-ok', async () => {
    await writeFile(join(fixture.work, 'NOTES.md'), 'a local change\n');
    const dirty = await axe(['apply', 'acme', '--only', 'dns', '--apply'], { env });
    assert.equal(dirty.code, 1);
    assert.match(dirty.stderr, new RegExp(`the checkout .* is at ${applied.slice(0, 12)} with uncommitted changes, but the controller runs ${applied.slice(0, 12)}`));
    await git(fixture.work, 'add', 'NOTES.md');
    await git(fixture.work, 'commit', '-qm', 'A local commit, not merged');
    const head = (await git(fixture.work, 'rev-parse', 'HEAD')).trim();
    const ahead = await axe(['apply', 'acme', '--only', 'dns', '--apply'], { env });
    assert.equal(ahead.code, 1);
    assert.match(ahead.stderr, new RegExp(`the checkout .* is at ${head.slice(0, 12)}, but the controller runs ${applied.slice(0, 12)}.*--revision-mismatch-ok`));
    const plan = await axe(['apply', 'acme', '--only', 'dns', '--json'], { env });
    assert.doesNotMatch(plan.stderr, /controller runs/, 'a plan is never refused');
    const forced = await axe(['apply', 'acme', '--only', 'dns', '--apply', '--json', '--revision-mismatch-ok'], { env });
    assert.match(forced.stderr, new RegExp(`note: acting on .* at ${head.slice(0, 12)}, not the controller's revision ${applied.slice(0, 12)}`));
    assert.equal(JSON.parse(forced.stdout).applied, true, forced.stderr);
  });
});
