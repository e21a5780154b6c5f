import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { terminal, transient } from '../core/errors.js';
import { runByLinks } from './order.js';
import type { Action } from './types.js';

const act = (target: string, after?: string[]): Action => ({ kind: 'stack', op: 'up', target, summary: target, payload: {}, ...(after ? { after } : {}) });

/** Runs the plan, logging each action's start and end; `fail` names actions that throw, `ms` their durations. */
async function trace(plan: Action[], fail: string[] = [], ms: Record<string, number> = {}) {
  const log: string[] = [];
  let error: unknown = null;
  try {
    await runByLinks(plan, async (a) => {
      log.push(`start ${a.target}`);
      await sleep(ms[a.target] ?? 5);
      log.push(`end ${a.target}`);
      if (fail.includes(a.target)) throw new Error(`${a.target} failed`);
    });
  } catch (caught) {
    error = caught;
  }
  return { log, error: error instanceof Error ? error.message : null };
}

describe('running a plan by its links', () => {
  it('a plan without links runs one action at a time in plan order, and stops at the first failure', async () => {
    assert.deepEqual((await trace([act('a'), act('b'), act('c')])).log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    assert.deepEqual(await trace([act('a'), act('b'), act('c')], ['b']), { log: ['start a', 'end a', 'start b', 'end b'], error: 'b failed' });
  });

  it('independent chains run side by side; an action waits for what it is linked after', async () => {
    const plan = [act('a1', []), act('a2', ['stack:up:a1']), act('b1', []), act('b2', ['stack:up:b1']), act('c', ['stack:up:a2', 'stack:up:b2'])];
    const { log } = await trace(plan, [], { a1: 30, b1: 5 });
    assert.deepEqual(log.slice(0, 2), ['start a1', 'start b1'], 'both chains start at once');
    assert.ok(log.indexOf('start b2') < log.indexOf('end a1'), 'the short chain goes on without the long one');
    assert.ok(log.indexOf('start c') > log.indexOf('end a2') && log.indexOf('start c') > log.indexOf('end b2'));
  });

  it('what is linked after a failure is not started, the other chain finishes, the first failure in plan order is thrown', async () => {
    const plan = [act('a1', []), act('a2', ['stack:up:a1']), act('b1', []), act('b2', ['stack:up:b1'])];
    const { log, error } = await trace(plan, ['a1', 'b2'], { a1: 20, b1: 5 });
    assert.equal(error, 'a1 failed');
    assert.ok(!log.includes('start a2'));
    assert.ok(log.includes('end b2'), 'the started chain settled before the throw');
  });

  it('a cycle throws before anything runs', async () => {
    const { log, error } = await trace([act('a', ['stack:up:b']), act('b', ['stack:up:a'])]);
    assert.deepEqual(log, []);
    assert.match(error ?? '', /after links form a cycle/);
  });
  it('several failures: the first in plan order, with the others appended when it is an AxeError (terminal when any is)', async () => {
    const plan = [act('a', []), act('b', []), act('c', [])];
    const failing = (errors: Record<string, Error>) => async (a: Action) => {
      await sleep(a.target === 'a' ? 20 : 5);
      if (errors[a.target]) throw errors[a.target];
    };
    await assert.rejects(runByLinks(plan, failing({ a: transient('a broke', { customer: 'demo', resource: 'stack', fix: 'fix a' }), c: terminal('c broke') })), (error: unknown) => {
      assert.ok(error instanceof Error && 'class' in error);
      assert.equal(error.message, 'a broke; also c broke');
      assert.equal((error as { class: string }).class, 'terminal');
      assert.equal((error as { fix?: string }).fix, 'fix a');
      return true;
    });
    await assert.rejects(runByLinks(plan, failing({ a: transient('a broke'), b: transient('b broke') })), (error: unknown) => (error as { class: string; message: string }).class === 'transient' && (error as Error).message === 'a broke; also b broke');
  });

  it('a follow-up runs once the actions it names succeeded, beside the rest; not when one of them failed', async () => {
    const log: string[] = [];
    let followed!: () => void;
    const afterA = new Promise<void>((resolve) => (followed = resolve));
    const plan = [act('a1', []), act('a2', ['stack:up:a1']), act('b1', [])];
    const run = async (a: Action) => {
      log.push(`start ${a.target}`);
      // b1 ends only once the follow-up of a1, a2 ran (or 2 s passed): the follow-up must not wait for it.
      await (a.target === 'b1' ? Promise.race([afterA, sleep(2_000)]) : sleep(5));
      log.push(`end ${a.target}`);
      if (a.target === 'b1') throw new Error('b1 failed');
    };
    const followUps = [
      { after: ['stack:up:a1', 'stack:up:a2'], run: async () => void (log.push('after a'), followed()) },
      { after: ['stack:up:b1'], run: async () => void log.push('after b') },
    ];
    await assert.rejects(runByLinks(plan, run, followUps), /b1 failed/);
    assert.ok(log.indexOf('after a') > log.indexOf('end a2') && log.indexOf('after a') < log.indexOf('end b1'), log.join(', '));
    assert.ok(!log.includes('after b'));
  });
});
