import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { terminal } from '../../core/errors.js';
import { frame } from '../../providers/host/facts/fact.js';
import { Pass } from '../pass.js';
import type { CustomerContext } from '../runtime.js';
import type { Scan } from '../scan.js';
import type { Action } from '../types.js';
import type { StackDesired, StackHostFacts, StackObserved, StackPayload, StackServiceDesired } from './diff.js';
import { runAndObserveAgain } from '../engine.js';
import { linkServices } from './diff.js';
import { stackReconciler } from './index.js';

/** What the engine does with a stack plan: links it (diffStack does), runs it by its links and observes again what the actions changed. */
function actServices(ctx: CustomerContext, desired: StackDesired, plan: Action<StackPayload>[], run: (a: Action<StackPayload>) => Promise<void>, observed: StackObserved | null) {
  return runAndObserveAgain(ctx, stackReconciler, desired, linkServices(desired, plan), run, observed);
}

function service(name: string, dependsOn: string[] = []): StackServiceDesired {
  return {
    service: name,
    customer: 'demo',
    repo: `https://git.axelabs.ai/axelabs/${name}.git`,
    ref: 'v1.0.0',
    checkout: `~/.axe/stacks/${name}`,
    project: `demo-${name}`,
    composeFiles: ['docker-compose.yml'],
    envFile: '.env.local',
    vars: [],
    serviceEnvs: null,
    hookVars: [],
    pull: null,
    beforeHooks: [],
    afterHooks: [],
    networks: ['axe-demo'],
    volumes: [],
    blueGreen: null,
    inside: null,
    waitSeconds: 30,
    dependsOn,
  };
}

const desired: StackDesired = { customer: 'demo', services: [service('frame'), service('blueprint', ['frame']), service('hive', ['frame'])] };

function action(service: string, op: string, payload: Partial<StackPayload> = {}): Action<StackPayload> {
  return { kind: 'stack', op, target: `stack:${service}`, summary: `${service}: ${op}`, payload: { service, ...payload } };
}

const plan = [action('frame', 'create-network', { name: 'axe-demo' }), action('frame', 'clone'), action('frame', 'up'), action('blueprint', 'clone'), action('blueprint', 'up'), action('hive', 'clone'), action('hive', 'up')];

/** A run that takes `ms` per action and records when each started and ended. */
function recorder(ms = 20, fail: (a: Action<StackPayload>) => Error | null = () => null) {
  const log: Array<{ at: number; what: string }> = [];
  const started = Date.now();
  const run = async (a: Action<StackPayload>): Promise<void> => {
    log.push({ at: Date.now() - started, what: `start ${a.payload.service} ${a.op}` });
    await sleep(ms);
    const error = fail(a);
    log.push({ at: Date.now() - started, what: `end ${a.payload.service} ${a.op}` });
    if (error) throw error;
  };
  const order = () => log.map((l) => l.what);
  return { run, log, order };
}

/** A context whose host answers the observation with one canned line per observed service. */
function context(): { ctx: CustomerContext; observedScripts: string[] } {
  const observedScripts: string[] = [];
  const connection = {
    async exec(_command: string, options: { stdin?: string } = {}) {
      const script = options.stdin ?? '';
      observedScripts.push(script);
      const frames = [frame('docker', '/usr/bin/docker'), frame('networks', '{"ID":"n1","Name":"axe-demo"}')];
      for (const d of desired.services) if (script.includes(`'${d.service}.checkout'`)) frames.push(frame(`${d.service}.checkout`, 'again\n\n0\n'), frame(`${d.service}.containers`, 'id|app|running|Up (healthy)||v1.0.0|e'));
      return { code: 0, stdout: frames.join(''), stderr: '' };
    },
  };
  const ctx = {
    id: 'demo',
    target: { name: 'h', address: '127.0.0.1', port: 22, user: 'u' },
    env: { providers: { hosts: { toolPaths: [], hashMemo: new Map(), connection: async () => connection } } },
    pass: new Pass({} as Scan),
  } as unknown as CustomerContext;
  return { ctx, observedScripts };
}

function before(): StackObserved {
  const host = (head: string): StackHostFacts => ({ checkout: { head, want: head, dirty: 0, origin: '' }, env: null, override: false, services: null, hashes: new Map(), containers: [], active: null, failure: null, inside: null, hookValues: new Map(), bwSession: null });
  return {
    docker: true,
    networks: new Set(),
    volumes: new Set(),
    services: new Map(desired.services.map((d) => [d.service, { host: host('before'), render: { ok: true, digest: 'e', revision: 'r' } }])),
  };
}

describe('stack: acting on several services', () => {
  test('networks first, then each service in order; blueprint and hive side by side once frame is done, their fresh clones while frame deploys', async () => {
    const { ctx } = context();
    const { run, order } = recorder();
    await actServices(ctx, desired, plan, run, null);
    const o = order();
    assert.deepEqual(o.slice(0, 2), ['start frame create-network', 'end frame create-network']);
    assert.ok(o.indexOf('end frame clone') < o.indexOf('start frame up'));
    // A fresh dependent (its chain starts with the clone) clones before frame is up; nothing of it starts before frame is done.
    for (const s of ['blueprint', 'hive']) {
      assert.ok(o.indexOf(`start ${s} clone`) < o.indexOf('end frame up'), `${s} cloned while frame deploys`);
      assert.ok(o.indexOf(`start ${s} up`) > o.indexOf('end frame up'), `${s} up after frame`);
      assert.ok(o.indexOf(`end ${s} clone`) < o.indexOf(`start ${s} up`), `${s} in its own order`);
    }
    // Both dependents' ups start before either ends: they overlap.
    assert.ok(Math.max(o.indexOf('start blueprint up'), o.indexOf('start hive up')) < Math.min(o.indexOf('end blueprint up'), o.indexOf('end hive up')));
  });

  test('a dependent that is not fresh (its checkout exists) waits for its dependency before any action', async () => {
    const { ctx } = context();
    const { run, order } = recorder();
    const update = [action('frame', 'checkout'), action('frame', 'up'), action('hive', 'checkout'), action('hive', 'up')];
    await actServices(ctx, desired, update, run, null);
    const o = order();
    assert.ok(o.indexOf('start hive checkout') > o.indexOf('end frame up'), o.join(', '));
  });

  test("a failed service: its dependents are not started (a fresh one is only cloned), the others finish, then its error is thrown (with any other failure's)", async () => {
    const { ctx } = context();
    const frameFails = recorder(5, (a) => (a.payload.service === 'frame' && a.op === 'up' ? terminal('frame: step compose up failed') : null));
    await assert.rejects(actServices(ctx, desired, plan, frameFails.run, null), /frame: step compose up failed/);
    assert.ok(!frameFails.order().some((w) => /(blueprint|hive) up/.test(w)), frameFails.order().join(', '));

    const bothFail = recorder(5, (a) => (a.op === 'up' && a.payload.service !== 'frame' ? terminal(`${a.payload.service}: step compose up failed`) : null));
    await assert.rejects(actServices(ctx, desired, plan, bothFail.run, null), (error: Error) => {
      assert.match(error.message, /^blueprint: step compose up failed; also hive: step compose up failed$/);
      return true;
    });
    assert.ok(bothFail.order().includes('end hive up'), 'hive ran to its end although blueprint failed');

    const cloneFails = recorder(5, (a) => (a.op === 'clone' && a.payload.service === 'hive' ? terminal('hive: step clone failed') : null));
    await assert.rejects(actServices(ctx, desired, plan, cloneFails.run, null), /hive: step clone failed/);
    assert.ok(cloneFails.order().includes('end blueprint up'), 'blueprint deployed although hive failed to clone');
    assert.ok(!cloneFails.order().includes('start hive up'));
  });

  test('the observation after: every service that acted (or depends on one that did) observed again, alone, after its own actions; the others keep what was planned on', async () => {
    const { ctx, observedScripts } = context();
    const { run } = recorder(5);
    // Only blueprint acts: frame and hive are not observed again.
    const after = await actServices(ctx, desired, [action('blueprint', 'up')], run, before());
    assert.ok(after);
    assert.equal(observedScripts.length, 1);
    assert.match(observedScripts[0]!, /'blueprint\.checkout'/);
    assert.doesNotMatch(observedScripts[0]!, /'frame\.checkout'|'hive\.checkout'/);
    assert.equal(after.services.get('blueprint')!.host.checkout?.head, 'again');
    assert.equal(after.services.get('frame')!.host.checkout?.head, 'before');
    assert.equal(after.services.get('hive')!.host.checkout?.head, 'before');
    assert.equal(after.services.get('blueprint')!.render.ok, true, 'the render is what the actions were planned on');
    assert.ok(after.networks.has('axe-demo'));

    // frame acts: its dependents are observed again too, each alone.
    observedScripts.length = 0;
    const all = await actServices(ctx, desired, [action('frame', 'up')], run, before());
    assert.equal(observedScripts.length, 3);
    for (const s of ['frame', 'blueprint', 'hive']) assert.equal(all?.services.get(s)!.host.checkout?.head, 'again', s);

    // Nothing to plan on (no observation before): the engine observes.
    assert.equal(await actServices(ctx, desired, [action('frame', 'up')], run, null), undefined);
    // Only a network was created: the engine observes.
    assert.equal(await actServices(ctx, desired, [action('frame', 'create-network', { name: 'axe-demo' })], run, before()), undefined);
  });
  test('the links: networks first; each service in its order; a deploy after its dependencies; a fresh dependent prepares (and computes its override) meanwhile; early before-up hooks', () => {
    const hooked: StackDesired = { customer: 'demo', services: [service('frame'), { ...service('hive', ['frame']), beforeHooks: [{ name: 'token', outputEnv: 'TOKEN', exec: { service: 'frame', project: 'demo-frame', container: 'app', blueGreen: null, command: ['token'] } }] }, service('blueprint', ['frame'])] };
    const linked = linkServices(hooked, [
      action('frame', 'checkout'),
      action('frame', 'create-network', { name: 'axe-demo' }),
      action('frame', 'up'),
      action('hive', 'checkout'),
      action('hive', 'render-env'),
      action('hive', 'up'),
      action('blueprint', 'clone'),
      action('blueprint', 'render-env'),
      action('blueprint', 'up'),
    ]);
    const by = (svc: string, op: string) => linked.find((a) => a.payload.service === svc && a.op === op)!;
    assert.deepEqual(by('frame', 'create-network').after, []);
    assert.deepEqual(by('frame', 'checkout').after, ['stack:create-network', 'stack:create-volume']);
    assert.deepEqual(by('frame', 'up').after, ['stack:checkout:stack:frame']);
    assert.deepEqual(by('hive', 'checkout').after, ['stack:create-network', 'stack:create-volume', 'stack:checkout:stack:frame', 'stack:up:stack:frame']);
    assert.equal(by('hive', 'checkout').payload.early, true, 'its before-up hook starts with its checkout');
    assert.deepEqual(by('hive', 'render-env').after, ['stack:checkout:stack:hive']);
    assert.deepEqual(by('blueprint', 'clone').after, ['stack:create-network', 'stack:create-volume'], 'a fresh dependent clones while frame deploys');
    assert.deepEqual(by('blueprint', 'render-env').after, ['stack:clone:stack:blueprint']);
    assert.equal(by('blueprint', 'render-env').payload.prepare, true);
    assert.deepEqual(by('blueprint', 'up').after, ['stack:render-env:stack:blueprint', 'stack:checkout:stack:frame', 'stack:up:stack:frame']);
    assert.deepEqual(
      linked.map((a) => a.summary),
      linked.map((a) => `${a.payload.service}: ${a.op}`),
      'the plan itself (order, summaries) unchanged',
    );
  });
});
