/**
 * `axe controller --watch DIR` (dev mode): a local checkout watched with
 * chokidar; an edit is a new revision, a bad edit is rejected and the last
 * good revision keeps running, with no git involved.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../controller/logger.js';
import { openController } from '../controller/run.js';
import { addCustomers, controllerFixture, customerBlock } from './controller-fixture.js';

async function until<T>(probe: () => T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
}

describe('controller --watch', () => {
  it('applies an edit of the watched checkout, rejects a bad one and keeps the last good', async () => {
    await using f = await controllerFixture();
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const running = await openController({ config: f.config, vault: f.vault, zone: 'axelabs.ai', axeHome: f.home, watchDir: f.work, noServer: true, driftSchedule: false, log: createLogger({ destination: sink }) });
    try {
      const c = running.controller;
      const first = c.revision;
      assert.match(first ?? '', /^watch-[0-9a-f]{16}$/);
      await c.queue.idle();
      const path = join(f.work, 'customers.yaml');
      await writeFile(path, addCustomers(await readFile(path, 'utf8'), customerBlock('watched')));
      const second = await until(() => (c.revision !== first ? c.revision : null));
      await until(() => c.status('watched').customers[0]?.resources.find((r) => r.kind === 'dns')?.sync === 'Synced');
      assert.ok(f.emulator.store.state.records.some((r) => r.name === 'watched.axelabs.ai'));

      await writeFile(path, (await readFile(path, 'utf8')).replace('  watched:\n', '  watched:\n    nope: true\n'));
      const rejected = await until(() => c.status().rejected);
      assert.equal(rejected.issues[0]?.file, 'customers.yaml');
      assert.equal(rejected.issues[0]?.path, 'customers.watched.nope');
      assert.equal(c.revision, second, 'the last good revision keeps running');
      assert.match(await c.metrics.text(), /^axe_config_valid 0$/m);
    } finally {
      await running.stop();
    }
  });
});
