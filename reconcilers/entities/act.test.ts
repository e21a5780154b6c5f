import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { CustomerContext } from '../runtime.js';
import type { Action } from '../types.js';
import { runAndObserveAgain } from '../engine.js';
import { type EntitiesDesired, type EntitiesObserved, type EntityPayload, linkEntities } from './diff.js';
import { entitiesReconciler } from './index.js';

const desired = { customer: 'demo', entities: [], hooks: [] } as unknown as EntitiesDesired;
const ctx = {} as CustomerContext;

/** What the engine does with an entities plan: links it (diffEntities does), runs it by its links and takes the observation after from the kind. */
function registerAll(plan: Action<EntityPayload>[], run: (a: Action<EntityPayload>) => Promise<void>, observed: EntitiesObserved | null) {
  return runAndObserveAgain(ctx, entitiesReconciler, desired, linkEntities(plan), run, observed);
}

function register(service: string, entity: string): Action<EntityPayload> {
  return { kind: 'entities', op: 'register', target: `entity:${service}/${entity}`, summary: '', payload: { service, hook: 'register_entities', entity } };
}

describe('entities: registering', () => {
  test("each service's registrations in order, services side by side; the listing after is the one before plus what registered", async () => {
    const log: string[] = [];
    const run = async (a: Action<EntityPayload>) => {
      log.push(`start ${a.payload.service}/${a.payload.entity}`);
      await sleep(10);
      log.push(`end ${a.payload.service}/${a.payload.entity}`);
    };
    const before: EntitiesObserved = new Map([
      ['frame/register_entities', { state: 'listed', ids: new Set(['old']) }],
      ['hive/register_entities', { state: 'listed', ids: new Set() }],
    ]);
    const after = (await registerAll([register('frame', 'a'), register('frame', 'b'), register('hive', 'a')], run, before))!;
    assert.deepEqual(log.slice(0, 2).sort(), ['start frame/a', 'start hive/a'], 'frame and hive register side by side');
    assert.ok(log.indexOf('end frame/a') < log.indexOf('start frame/b'), 'one service in order');
    assert.deepEqual(after.get('frame/register_entities'), { state: 'listed', ids: new Set(['old', 'a', 'b']) });
    assert.deepEqual(after.get('hive/register_entities'), { state: 'listed', ids: new Set(['a']) });
    assert.deepEqual(before.get('hive/register_entities'), { state: 'listed', ids: new Set() }, 'the observation before is not changed');

    // Not listed before (the service was down): the engine lists again.
    const down: EntitiesObserved = new Map([['hive/register_entities', { state: 'down' }]]);
    assert.equal(await registerAll([register('hive', 'a')], run, down), undefined);
    assert.equal(await registerAll([register('hive', 'a')], run, null), undefined, 'nothing planned on: the engine lists');
    // A failed registration is thrown after the others ended.
    const failing = async (a: Action<EntityPayload>) => {
      await sleep(a.payload.service === 'frame' ? 1 : 20);
      log.push(`done ${a.payload.service}`);
      if (a.payload.service === 'frame') throw new Error('registering a in frame failed');
    };
    await assert.rejects(registerAll([register('frame', 'a'), register('hive', 'a')], failing, before), /registering a in frame failed/);
    assert.equal(log.at(-1), 'done hive');
  });

  test("the plan's links: each service's registrations after the one before, services free; two hooks naming one entity are not linked to each other", () => {
    const hook2 = (service: string, entity: string): Action<EntityPayload> => ({ ...register(service, entity), payload: { service, hook: 'other', entity } });
    const linked = linkEntities([register('frame', 'a'), register('frame', 'b'), register('hive', 'a'), hook2('frame', 'b'), hook2('frame', 'c')]);
    assert.deepEqual(
      linked.map((a) => a.after),
      [[], ['entities:register:entity:frame/a'], [], ['entities:register:entity:frame/a'], ['entities:register:entity:frame/b']],
    );
  });
});
