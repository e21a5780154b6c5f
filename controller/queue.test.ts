import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type Trigger, type WorkItem, type WorkOutcome, WorkQueue } from './queue.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap', () => {
    const o = { baseMs: 100, maxMs: 1_000, jitter: 0 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, o)), [100, 200, 400, 800, 1_000, 1_000]);
  });

  it('keeps jitter within its fraction', () => {
    const o = { baseMs: 1_000, maxMs: 10_000, jitter: 0.1 };
    assert.equal(backoffDelay(1, o, () => 0), 900);
    assert.equal(backoffDelay(1, o, () => 1), 1_100);
  });
});

describe('WorkQueue', () => {
  it('deduplicates waiting keys and unites their triggers', async () => {
    const seen: Array<{ key: string; triggers: Trigger[] }> = [];
    const gate = deferred();
    const q = new WorkQueue({
      concurrency: 1,
      worker: async (item) => {
        if (item.key === 'blocker') await gate.promise;
        else seen.push({ key: item.key, triggers: [...item.triggers].sort() });
        return { result: 'ok' };
      },
    });
    q.add('blocker');
    q.add('acme', { trigger: 'drift-scan' });
    q.add('acme', { trigger: 'revision' });
    q.add('acme', { trigger: 'drift-scan' });
    assert.equal(q.depth(), 1);
    gate.resolve();
    await q.idle();
    assert.deepEqual(seen, [{ key: 'acme', triggers: ['drift-scan', 'revision'] }]);
  });

  it('never runs one key twice at once; a key added while running runs once more after', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const q = new WorkQueue({
      concurrency: 4,
      worker: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        runs += 1;
        await sleep(20);
        running -= 1;
        return { result: 'ok' };
      },
    });
    q.add('acme');
    await sleep(5);
    q.add('acme');
    q.add('acme');
    q.add('acme');
    await q.idle();
    assert.equal(maxRunning, 1);
    assert.equal(runs, 2);
  });

  it('runs customers in parallel up to the bound', async () => {
    let running = 0;
    let maxRunning = 0;
    const q = new WorkQueue({
      concurrency: 3,
      worker: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await sleep(15);
        running -= 1;
        return { result: 'ok' };
      },
    });
    for (let i = 0; i < 10; i += 1) q.add(`c${i}`);
    await q.idle();
    assert.equal(maxRunning, 3);
  });

  it('takes high priority keys first, then normal, then low, in arrival order', async () => {
    const order: string[] = [];
    const gate = deferred();
    const q = new WorkQueue({
      concurrency: 1,
      worker: async (item) => {
        if (item.key === 'first') await gate.promise;
        else order.push(item.key);
        return { result: 'ok' };
      },
    });
    q.add('first');
    q.add('low1', { priority: 'low' });
    q.add('n1');
    q.add('h1', { priority: 'high' });
    q.add('n2');
    q.add('h2', { priority: 'high' });
    q.add('n1', { priority: 'high' }); // upgraded by a later add; keeps its place in arrival order
    gate.resolve();
    await q.idle();
    assert.deepEqual(order, ['n1', 'h1', 'h2', 'n2', 'low1']);
  });

  it('starts a high priority key at once on a reserved worker while every other worker is busy', async () => {
    const gate = deferred();
    const started: string[] = [];
    const q = new WorkQueue({
      concurrency: 2,
      highReserve: 1,
      worker: async (item) => {
        started.push(item.key);
        if (item.key !== 'changed') await gate.promise;
        return { result: 'ok' };
      },
    });
    for (const k of ['s1', 's2', 's3', 's4']) q.add(k, { trigger: 'drift-scan' });
    assert.deepEqual(started, ['s1', 's2'], 'normal keys use the normal workers only');
    q.add('changed', { priority: 'high', trigger: 'revision' });
    assert.deepEqual(started, ['s1', 's2', 'changed'], 'the high key did not wait');
    assert.equal(q.inFlight(), 3);
    gate.resolve();
    await q.idle();
    assert.deepEqual(started.sort(), ['changed', 's1', 's2', 's3', 's4']);
  });

  it('retries transient failures with growing delays, and never retries a terminal one', async () => {
    const times: Record<string, number[]> = { flaky: [], broken: [] };
    const q = new WorkQueue({
      concurrency: 2,
      backoff: { baseMs: 20, maxMs: 1_000, jitter: 0 },
      worker: async (item): Promise<WorkOutcome> => {
        times[item.key]!.push(Date.now());
        if (item.key === 'broken') return { result: 'terminal' };
        return { result: times.flaky!.length < 4 ? 'transient' : 'ok' };
      },
    });
    q.add('flaky');
    q.add('broken');
    const deadline = Date.now() + 2_000;
    while (times.flaky!.length < 4 && Date.now() < deadline) await sleep(10);
    await q.idle();
    assert.equal(times.flaky!.length, 4);
    assert.equal(times.broken!.length, 1);
    const gaps = times.flaky!.slice(1).map((t, i) => t - times.flaky![i]!);
    // 20, 40, 80 ms (timers fire no earlier than asked).
    assert.ok(gaps[0]! >= 19 && gaps[1]! >= 39 && gaps[2]! >= 79, `gaps ${gaps.join(',')}`);
    assert.ok(gaps[2]! > gaps[0]!, 'delays grow');
    assert.equal(q.failures('flaky'), 0, 'a success clears the failure count');
    assert.equal(q.delayed(), 0);
    await q.close();
  });

  it('counts failures in the item and marks retries', async () => {
    const items: Array<Pick<WorkItem, 'failures'> & { triggers: Trigger[] }> = [];
    const q = new WorkQueue({
      concurrency: 1,
      backoff: { baseMs: 5, maxMs: 50, jitter: 0 },
      worker: async (item) => {
        items.push({ failures: item.failures, triggers: [...item.triggers] });
        return { result: items.length < 3 ? 'transient' : 'ok' };
      },
    });
    q.add('acme', { trigger: 'revision' });
    while (items.length < 3) await sleep(5);
    await q.close();
    assert.deepEqual(items, [
      { failures: 0, triggers: ['revision'] },
      { failures: 1, triggers: ['retry'] },
      { failures: 2, triggers: ['retry'] },
    ]);
  });

  it('requeues after a delay for periodic checks; an explicit add runs the key at once', async () => {
    const runs: Array<{ at: number; triggers: Trigger[] }> = [];
    const q = new WorkQueue({
      concurrency: 1,
      worker: async (item) => {
        runs.push({ at: Date.now(), triggers: [...item.triggers] });
        return { result: 'ok', requeueAfterMs: runs.length === 1 ? 10_000 : undefined };
      },
    });
    q.add('acme');
    await q.idle();
    assert.equal(q.delayed(), 1);
    assert.ok(q.retryAt('acme')! > Date.now() + 9_000);
    q.add('acme', { trigger: 'drift-scan' });
    await q.idle();
    assert.equal(runs.length, 2);
    assert.deepEqual(runs[1]!.triggers.sort(), ['drift-scan', 'requeue']);
    assert.equal(q.delayed(), 0, 'the timer was dropped');
    await q.close();
  });

  it('treats a throwing worker as transient and reports it', async () => {
    const errors: string[] = [];
    let calls = 0;
    const q = new WorkQueue({
      concurrency: 1,
      backoff: { baseMs: 5, maxMs: 5, jitter: 0 },
      onWorkerError: (key, error) => errors.push(`${key}: ${(error as Error).message}`),
      worker: async () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        return { result: 'ok' };
      },
    });
    q.add('acme');
    while (calls < 2) await sleep(5);
    await q.close();
    assert.deepEqual(errors, ['acme: boom']);
  });

  it('forgets a removed key, its timer and its failures', async () => {
    const q = new WorkQueue({ concurrency: 1, backoff: { baseMs: 60_000, maxMs: 60_000, jitter: 0 }, worker: async () => ({ result: 'transient' }) });
    q.add('gone');
    await q.idle();
    assert.equal(q.delayed(), 1);
    assert.equal(q.failures('gone'), 1);
    q.forget('gone');
    assert.equal(q.delayed(), 0);
    assert.equal(q.failures('gone'), 0);
    await q.close();
  });
});
