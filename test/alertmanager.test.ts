/**
 * The controller's alerts reach a real Alertmanager (Debian's
 * prometheus-alertmanager 0.25, started here on a loopback port with its own
 * storage): a controller whose customers' hosts cannot be reached fires
 * CustomerDegraded, one Alertmanager alert per customer and kind, with the
 * labels and annotations operators route on; a rejected revision fires
 * ConfigInvalid; the fixing revision resolves it, and Alertmanager's API no
 * longer lists it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningController } from '../controller/run.js';
import { type ControllerFixture, controllerFixture, openFixtureController } from './controller-fixture.js';
import { freePort, tempDir, until } from './helpers.js';

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  endsAt: string;
}

describe('Alertmanager (the real binary) gets the controller alerts', () => {
  let am: ChildProcess | null = null;
  let amUrl = '';
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fixture: ControllerFixture;
  let running: RunningController | null = null;

  async function alerts(): Promise<GettableAlert[]> {
    const response = await fetch(`${amUrl}/api/v2/alerts?active=true&silenced=true&inhibited=true`);
    assert.equal(response.status, 200);
    return (await response.json()) as GettableAlert[];
  }

  before(async () => {
    dir = await tempDir('alertmanager');
    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    const config = join(dir.path, 'alertmanager.yml');
    await writeFile(config, 'route:\n  receiver: operators\nreceivers:\n  - name: operators\n');
    am = spawn('prometheus-alertmanager', [`--config.file=${config}`, `--storage.path=${join(dir.path, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
    await until('Alertmanager ready', async () => (await fetch(`${amUrl}/-/ready`)).ok, 20_000);
    fixture = await controllerFixture({ config: { notifications: { alertmanager: { url: amUrl, resend: '1m' }, for: '0s', repeat: '4h', keep_firing_for: '0s' } } });
    running = await openFixtureController(fixture, { timings: { pollIntervalMs: 0, alertForMs: 0, alertKeepFiringMs: 0, alertEvalMs: 200 } });
    await running.controller.queue.idle();
  });

  after(async () => {
    await running?.stop();
    if (am?.pid) am.kill('SIGTERM');
    await fixture?.[Symbol.asyncDispose]();
    await dir?.[Symbol.asyncDispose]();
  });

  it('posts a degraded customer as one alert per kind, with the labels operators route on', async () => {
    const firing = running!.controller.alerter.firing().filter((a) => a.name === 'CustomerDegraded');
    assert.ok(firing.length > 0, 'the fixture (hosts unreachable) has degraded customers');
    const first = firing[0]!;
    const kinds = first.resources!.map((r) => r.kind);
    const got = await until('CustomerDegraded in Alertmanager', async () => {
      const list = (await alerts()).filter((a) => a.labels.alertname === 'CustomerDegraded' && a.labels.customer === first.customer);
      return list.length === kinds.length ? list : null;
    }, 20_000);
    assert.deepEqual(got.map((a) => a.labels.kind).sort(), [...kinds].sort());
    for (const a of got) {
      assert.equal(a.labels.severity, 'critical');
      assert.equal(a.labels.source, 'axe-controller');
      assert.equal(a.status.state, 'active');
      assert.ok(a.annotations.summary?.includes(a.labels.kind!), a.annotations.summary);
      assert.ok(Date.parse(a.endsAt) > Date.now(), 'endsAt ahead: it expires by itself if the controller dies');
    }
  });

  it('fires ConfigInvalid for a rejected revision and resolves it when the fix lands', async () => {
    await fixture.push((t) => t.replace('customers:\n', 'customers:\n  bad-indent\n'), 'A broken file');
    await running!.controller.sync('manual');
    const fired = await until('ConfigInvalid in Alertmanager', async () => (await alerts()).find((a) => a.labels.alertname === 'ConfigInvalid'), 20_000);
    assert.equal(fired.labels.customer, undefined, 'fleet-wide: no customer label');
    assert.match(fired.annotations.summary!, /rejected/);
    assert.ok(fired.annotations.fix);

    await fixture.push((t) => t.replace('customers:\n  bad-indent\n', 'customers:\n'), 'Fix the file');
    await running!.controller.sync('manual');
    await until('ConfigInvalid resolved in Alertmanager', async () => !(await alerts()).some((a) => a.labels.alertname === 'ConfigInvalid'), 20_000);
    const posts = await running!.controller.metrics.registry.getSingleMetricAsString('axe_alertmanager_posts_total');
    assert.match(posts, /axe_alertmanager_posts_total\{result="sent"\} [1-9]/);
    assert.doesNotMatch(posts, /result="failed"\} [1-9]/);
  });
});
