/**
 * `axe plan` asked of the running controller (controller/warm-plan.ts, `POST
 * /control/plan`), on the controller test bed (a real config repo, the
 * Cloudflare emulator, a file vault; the hosts unreachable): through the
 * controller the output (text, --json, --markdown) and the exit code are the
 * local plan's; the plan never writes the history and runs beside a CLI
 * writer's lease; a wrong token is 401 and the CLI plans locally, saying so;
 * so does a checkout at another revision, one with uncommitted changes, and
 * another axe config. The time of both is printed, never asserted.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { controllerPaths } from '../controller/config.js';
import { controlFile } from '../controller/control-api.js';
import { tryLease } from '../controller/lease.js';
import type { RunningController } from '../controller/run.js';
import { type ControllerFixture, controllerFixture, openFixtureController } from './controller-fixture.js';
import { axe, git } from './helpers.js';

const WARM = /^plan: by the running controller \(pid (\d+), revision ([0-9a-f]{12})\) over its warm connections$/m;

/** The history database, every table's rows. */
function snapshot(running: RunningController): string {
  const db = running.controller.history.db;
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>;
  return JSON.stringify(tables.map(({ name }) => [name, db.prepare(`SELECT * FROM "${name}"`).all()]));
}

/** A plan's output without its timings. */
const same = (stdout: string): string => stdout.replace(/"durationMs": \d+/g, '"durationMs": 0');

describe('axe plan through the running controller, over its warm connections', () => {
  let fixture: ControllerFixture;
  let env: NodeJS.ProcessEnv;
  let running: RunningController;
  let file = '';

  before(async () => {
    fixture = await controllerFixture();
    env = { AXE_HOME: fixture.home, AXE_CONFIG: fixture.configPath };
    file = controlFile(controllerPaths(fixture.config, fixture.home).stateDir);
    const plain = await axe(['plan', '--repo', fixture.work, '--only', 'dns'], { env });
    assert.match(plain.stderr, /^plan: locally \(the controller is not running \(no .*control\.json\)\)$/m, 'no controller: planned here, saying so');
    running = await openFixtureController(fixture, { timings: { pollIntervalMs: 0, alertEvalMs: 3_600_000, progressingRequeueMs: 600_000, degradedRequeueMs: 600_000, backoffBaseMs: 600_000 } });
    await running.controller.queue.idle();
  });

  after(async () => {
    await running?.stop();
    await fixture?.[Symbol.asyncDispose]();
  });

  it("equals the local plan (text, --json, --markdown, exit code), writes no history row, runs beside a writer's lease", async () => {
    const c = running.controller;
    const held = tryLease({ history: c.history, holder: 'cli', command: 'axe apply acme --apply', ttlMs: 3_600_000 }, 'acme');
    assert.ok('lease' in held);
    const before = snapshot(running);
    for (const args of [[], ['--json'], ['acme', '--only', 'dns,tunnel', '--markdown']]) {
      const t0 = Date.now();
      const warm = await axe(['plan', ...args, '--repo', fixture.work], { env });
      const t1 = Date.now();
      const local = await axe(['plan', ...args, '--repo', fixture.work, '--local'], { env });
      console.log(`# axe plan ${args.join(' ')}: through the controller ${t1 - t0} ms, locally ${Date.now() - t1} ms`);
      const [, pid, revision] = WARM.exec(warm.stderr) ?? assert.fail(`not planned by the controller: ${warm.stderr}`);
      assert.equal(Number(pid), process.pid);
      assert.equal(revision, c.revision!.slice(0, 12));
      assert.match(local.stderr, /^plan: locally \(--local\)$/m);
      assert.equal(warm.code, local.code, args.join(' '));
      assert.equal(same(warm.stdout), same(local.stdout), args.join(' '));
      assert.ok(warm.stdout.length > 100);
    }
    assert.equal(snapshot(running), before, 'the plan wrote nothing to the history, took and released no lease');
    held.lease.release();
  });

  it('a wrong or old token is refused (401, nothing planned); the CLI then plans locally and says so', async () => {
    const published = await readFile(file, 'utf8');
    const { url, token } = JSON.parse(published) as { url: string; token: string };
    const res = await fetch(`${url}/control/plan`, { method: 'POST', headers: { authorization: 'Bearer old-token', 'content-type': 'application/json' }, body: JSON.stringify({ by: 'mallory', revision: running.controller.revision, settings: 'x' }) });
    assert.equal(res.status, 401);
    assert.doesNotMatch(await res.text(), new RegExp(token));
    await writeFile(file, published.replace(token, 'an-old-token'));
    try {
      const r = await axe(['plan', '--repo', fixture.work, '--only', 'dns'], { env });
      assert.match(r.stderr, /^plan: locally \(the controller \(pid \d+\) refused the token in .*control\.json\)$/m);
      assert.doesNotMatch(r.stderr, WARM);
    } finally {
      await writeFile(file, published, { mode: 0o600 });
    }
  });

  it('another axe config plans locally and says so', async () => {
    const other = join(fixture.home, 'other.yaml');
    await writeFile(other, (await readFile(fixture.configPath, 'utf8')).replace(/no-known-hosts/, 'other-known-hosts'), { mode: 0o600 });
    const r = await axe(['plan', '--repo', fixture.work, '--only', 'dns'], { env: { ...env, AXE_CONFIG: other } });
    assert.match(r.stderr, /^plan: locally \(the controller runs with another axe config \(its config, vault or zone differ from this command.s\)\)$/m);
  });

  it('a checkout at another revision, or with uncommitted changes, plans locally and says so', async () => {
    const path = join(fixture.work, 'customers.yaml');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('legal_name: "Demo Company"', 'legal_name: "Demo Company Ltd."'));
    const dirty = await axe(['plan', '--repo', fixture.work, '--only', 'dns'], { env });
    assert.match(dirty.stderr, /^plan: locally \(the checkout .* has uncommitted changes\)$/m);
    await git(fixture.work, 'commit', '-qam', 'rename demo (not merged)');
    const head = (await git(fixture.work, 'rev-parse', 'HEAD')).trim();
    const ahead = await axe(['plan', '--repo', fixture.work, '--only', 'dns'], { env });
    assert.match(ahead.stderr, new RegExp(`^plan: locally \\(the controller runs ${running.controller.revision!.slice(0, 12)}, this checkout is ${head.slice(0, 12)}\\)$`, 'm'));
    assert.doesNotMatch(ahead.stderr, WARM);
  });
});
