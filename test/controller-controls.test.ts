/**
 * Runtime controls through the controller's authenticated API, as an
 * operator uses them (the real CLI against a controller on loopback, the
 * controller test bed: a real config repo, the Cloudflare emulator, a file
 * vault): refused with a one-line fix while no controller runs; no token or a
 * wrong one is 401 and changes nothing; `axe suspend` leaves the customer
 * alone (the engine sees it suspended in reconciles and in a drift scan),
 * shows in `axe status` (human and --json) and in the history with who and
 * why, survives a restart; `axe reconcile` of a suspended customer is
 * refused; `axe resume` lifts it and reconciles at once; unknown customers
 * and kinds are refused with the fix.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { controllerPaths } from '../controller/config.js';
import { controlFile } from '../controller/control-api.js';
import type { RunningController } from '../controller/run.js';
import type { StatusView } from '../controller/status.js';
import { reconcileCustomer } from '../reconcilers/engine.js';
import { type ControllerFixture, controllerFixture, openFixtureController } from './controller-fixture.js';
import { axe } from './helpers.js';

describe('runtime controls: axe reconcile | suspend | resume through the authenticated API', () => {
  let fixture: ControllerFixture;
  let env: NodeJS.ProcessEnv;
  let running: RunningController | null = null;
  let file = '';
  /** What the engine was asked, per customer: the policy it saw. */
  const seen: Array<{ customer: string; suspend: boolean; kinds: string[] }> = [];

  const open = async (): Promise<RunningController> => {
    const r = await openFixtureController(fixture, {
      timings: { pollIntervalMs: 0, progressingRequeueMs: 600_000, degradedRequeueMs: 600_000, backoffBaseMs: 600_000 },
      reconcile: (e, id, options) => {
        const policy = e.state.customers.customers[id]?.policy;
        seen.push({ customer: id, suspend: policy?.suspend ?? false, kinds: [...(policy?.suspend_kinds ?? [])] });
        return reconcileCustomer(e, id, options);
      },
    });
    await r.controller.queue.idle();
    return r;
  };
  const lastSeen = (customer: string) => seen.filter((s) => s.customer === customer).at(-1);

  before(async () => {
    fixture = await controllerFixture();
    env = { AXE_HOME: fixture.home, AXE_CONFIG: fixture.configPath };
    file = controlFile(controllerPaths(fixture.config, fixture.home).stateDir);
  });

  after(async () => {
    await running?.stop();
    await fixture?.[Symbol.asyncDispose]();
  });

  it('without a running controller: one line saying how to start it', async () => {
    const r = await axe(['suspend', 'acme', '--reason', 'migration'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^axe: acme: the controller is not running \(no .*control\.json\) \(fix: start it \(axe controller, or axe lab up in the lab\) and ask again\)$/m);
    const reason = await axe(['suspend', 'acme'], { env });
    assert.notEqual(reason.code, 0);
    assert.match(reason.stderr, /required option '--reason <text>'/);
  });

  it('the API refuses a request without the token or with a wrong one, and does nothing', async () => {
    running = await open();
    const mode = (await stat(file)).mode & 0o777;
    assert.equal(mode, 0o600, 'control.json is 0600');
    const { url, token } = JSON.parse(await readFile(file, 'utf8')) as { url: string; token: string };
    assert.equal(url, running.url);
    assert.ok(token.length >= 40);
    for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${token}`]) {
      const res = await fetch(`${url}/control/suspend/acme`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify({ by: 'mallory', reason: 'x' }) });
      assert.equal(res.status, 401);
      assert.doesNotMatch(await res.text(), new RegExp(token));
    }
    assert.deepEqual(running.controller.history.suspensions(), []);
    assert.equal(running.controller.history.events({ types: ['control'] }).length, 0);
  });

  it('suspend: recorded with who and why, the engine sees the customer suspended, axe status shows it', async () => {
    const c = running!.controller;
    const r = await axe(['suspend', 'acme', '--reason', 'customer migration window'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^acme suspended by \S+@\S+: customer migration window; the controller leaves it alone until axe resume acme$/m);
    await c.queue.idle();
    assert.equal(lastSeen('acme')?.suspend, true, 'the pass after the suspension sees it suspended');
    assert.ok(c.status('acme').customers[0]!.resources.every((res) => res.health === 'Suspended'));
    const event = c.history.events({ customer: 'acme', types: ['control'] }).at(-1)!;
    assert.equal(event.op, 'suspend');
    assert.match(event.target ?? '', /^\S+@\S+$/);
    assert.match(event.message, /customer migration window/);

    const scanned = seen.length;
    await c.driftScan();
    assert.equal(seen.slice(scanned).find((s) => s.customer === 'acme')?.suspend, true, 'a drift scan leaves it alone too');
    assert.equal(seen.slice(scanned).find((s) => s.customer === 'demo')?.suspend, false, 'others are reconciled as before');

    const json = JSON.parse((await axe(['status', '--json'], { env })).stdout) as StatusView;
    assert.deepEqual(json.suspensions?.map((s) => [s.customer, s.kind, s.reason]), [['acme', null, 'customer migration window']]);
    const human = await axe(['status'], { env });
    assert.match(human.stdout, /^suspended: acme by \S+ since \d+s ago: customer migration window \(axe resume acme\)$/m);
    assert.match(human.stdout, /^acme \(suspended\)\s+host\s/m);
  });

  it('refusals: reconcile of a suspended customer, unknown customer or kind, resume of what is not suspended', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['reconcile', 'acme'], /^axe: acme: acme is suspended \(by \S+ since \S+: customer migration window\) \(fix: resume it first: axe resume acme\)$/m],
      [['suspend', 'nobody', '--reason', 'x'], /^axe: nobody: unknown customer nobody: not in the applied revision [0-9a-f]{12} \(fix: check the id \(axe status lists the customers\): acme, /m],
      [['suspend', 'demo', '--kind', 'nonsense', '--reason', 'x'], /^axe: demo: unknown resource kind "nonsense" \(fix: use one of host, /m],
      [['resume', 'demo'], /^axe: demo: demo is not suspended \(fix: axe status demo shows its state\)$/m],
    ];
    for (const [args, expected] of cases) {
      const r = await axe(args, { env });
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, expected);
    }
  });

  it('a kind suspended alone; the suspensions survive a restart', async () => {
    const r = await axe(['suspend', 'demo', '--kind', 'dns', '--reason', 'DNS moved by hand', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { op: string; kind: string }).kind, 'dns');
    await running!.controller.queue.idle();
    assert.deepEqual(lastSeen('demo'), { customer: 'demo', suspend: false, kinds: ['dns'] });

    await running!.stop();
    running = null;
    await assert.rejects(stat(file), 'control.json goes with the controller');
    const seenBefore = seen.length;
    running = await open();
    const after = seen.slice(seenBefore);
    assert.equal(after.find((s) => s.customer === 'acme')?.suspend, true, 'acme still suspended after the restart');
    assert.deepEqual(after.find((s) => s.customer === 'demo')?.kinds, ['dns']);
    assert.deepEqual(running.controller.status().suspensions?.map((s) => `${s.customer}/${s.kind ?? '*'}`).sort(), ['acme/*', 'demo/dns']);
  });

  it('resume lifts it and reconciles at once; reconcile queues a pass; all of it in axe history', async () => {
    const c = running!.controller;
    const started = new Promise<{ triggers: string[]; revision: string | null }>((resolve) => c.on('reconcile-start', (e: { customer: string; triggers: string[]; revision: string | null }) => e.customer === 'acme' && resolve(e)));
    const r = await axe(['resume', 'acme'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^acme resumed by \S+@\S+$/m);
    const start = await started;
    assert.deepEqual(start.triggers, ['manual']);
    assert.equal(start.revision, c.revision, "'reconcile-start' carries the revision");
    await c.queue.idle();
    assert.equal(lastSeen('acme')?.suspend, false);
    assert.equal((await axe(['resume', 'demo', '--kind', 'dns'], { env })).code, 0);
    const n = seen.length;
    const again = await axe(['reconcile', 'acme'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^reconcile of acme queued by \S+@\S+$/m);
    await c.queue.idle();
    assert.ok(seen.slice(n).some((s) => s.customer === 'acme' && !s.suspend));
    assert.deepEqual(c.history.suspensions(), []);
    const history = await axe(['history', '--type', 'control', '--json'], { env });
    const ops = (JSON.parse(history.stdout) as Array<{ customer: string; op: string }>).map((e) => `${e.op} ${e.customer}`);
    assert.deepEqual(ops, ['suspend acme', 'suspend demo', 'resume acme', 'resume demo', 'reconcile acme']);
  });
});
