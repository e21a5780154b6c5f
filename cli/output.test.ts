import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stepTicker } from './output.js';

describe('stepTicker', () => {
  it('prints a step, then "still running" while it runs, and stops at the next step or stop()', async () => {
    const lines: string[] = [];
    const t = stepTicker((l) => lines.push(l), 40);
    t.start('demo', 'demo/stack: compose up --wait');
    await sleep(100);
    const ticks = lines.filter((l) => l.includes('still running')).length;
    assert.ok(ticks >= 1 && ticks <= 3, `ticked ${ticks} times in 100 ms at 40 ms`);
    assert.match(lines.at(-1)!, /^demo\/stack: compose up --wait … still running \(\d+ s\)$/);
    t.start('demo', 'demo/stack: health gate');
    const at = lines.length;
    await sleep(60);
    assert.equal(lines.slice(at).every((l) => l.startsWith('demo/stack: health gate')), true, 'the old step no longer ticks');
    t.stop('demo');
    const stopped = lines.length;
    await sleep(100);
    assert.equal(lines.length, stopped, 'nothing after stop');
  });

  it('keeps one ticker per key', async () => {
    const lines: string[] = [];
    const t = stepTicker((l) => lines.push(l), 30);
    t.start('a', 'a/stack: up');
    t.start('b', 'b/stack: up');
    await sleep(80);
    t.stopAll();
    assert.ok(lines.some((l) => l.startsWith('a/stack: up …')) && lines.some((l) => l.startsWith('b/stack: up …')));
    const n = lines.length;
    await sleep(80);
    assert.equal(lines.length, n);
  });
});
