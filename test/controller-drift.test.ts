/**
 * Drift and policies, with the controller in-process against a real bare repo
 * and the Cloudflare emulator (test/controller-fixture.ts): a DNS record
 * deleted behind the controller's back is corrected for an `apply` customer,
 * only recorded and alerted for an `observe` one, and left alone for a
 * suspended one; alerts are sent once (not on every scan) to a webhook and
 * resolve when the drift closes; transient API failures are retried with
 * backoff; a removed customer is not torn down.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../controller/logger.js';
import { openController, type RunningController } from '../controller/run.js';
import { Writable } from 'node:stream';
import { addCustomers, type ControllerFixture, controllerFixture, customerBlock } from './controller-fixture.js';

interface Notice {
  status: string;
  name: string;
  customer: string | null;
}

function quietLog(lines: Array<Record<string, unknown>>) {
  return createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _e, done) {
        for (const l of String(chunk).trim().split('\n')) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    }),
  });
}

function metric(text: string, name: string, labels: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : null;
}

describe('controller drift and policies (in-process)', () => {
  let fixture: ControllerFixture;
  let running: RunningController;
  let hookServer: Server;
  const notices: Notice[] = [];
  const log: Array<Record<string, unknown>> = [];

  async function deleteRecord(name: string): Promise<void> {
    const e = fixture.emulator;
    const record = e.store.state.records.find((r) => r.name === name);
    assert.ok(record, `${name} exists before the test deletes it`);
    const response = await fetch(`${e.apiBaseUrl}/zones/${e.zoneId}/dns_records/${record.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${e.token.reveal()}` } });
    assert.equal(response.status, 200);
  }

  const hasRecord = (name: string): boolean => fixture.emulator.store.state.records.some((r) => r.name === name);

  before(async () => {
    hookServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        notices.push(...(JSON.parse(body) as { alerts: Notice[] }).alerts);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/notify`;
    // realchoice starts in apply mode so it converges once; it turns observe-only below.
    fixture = await controllerFixture({
      customers: (t) => t.replace('      mode: observe        # alert on drift, never act: the customer owns its box', '      mode: apply'),
      config: { notifications: { webhook_url: hookUrl, for: '0s', repeat: '4h', keep_firing_for: '0s' } },
    });
    running = await openController({
      config: fixture.config,
      vault: fixture.vault,
      zone: 'axelabs.ai',
      axeHome: fixture.home,
      log: quietLog(log),
      driftSchedule: false,
      timings: { pollIntervalMs: 0, progressingRequeueMs: 600_000, backoffBaseMs: 50, backoffMaxMs: 400 },
    });
    await running.controller.queue.idle();
  });

  after(async () => {
    await running?.stop();
    await fixture?.[Symbol.asyncDispose]();
    hookServer?.close();
  });

  it('converges every customer in apply mode on start', () => {
    for (const name of ['acme.axelabs.ai', 'demo.axelabs.ai', 'realchoice.axelabs.ai']) assert.ok(hasRecord(name), name);
  });

  it('corrects drift for apply, only records and alerts it for observe, leaves a suspended customer alone', async () => {
    const c = running.controller;
    await fixture.push(
      (t) => t.replace('      mode: apply', '      mode: observe').replace('    onboarded: null\n', '    onboarded: null\n    policy:\n      suspend: true\n'),
      'realchoice observe-only, demo suspended',
    );
    const applied = await c.sync('manual');
    assert.equal(applied.result, 'applied');
    assert.deepEqual(applied.result === 'applied' ? applied.changed.sort() : [], ['demo', 'realchoice']);
    await c.queue.idle();
    const noticesBefore = notices.length;

    await deleteRecord('acme.axelabs.ai');
    await deleteRecord('realchoice.axelabs.ai');
    await deleteRecord('demo.axelabs.ai');
    const scan = await c.driftScan();
    assert.equal(scan.customers, 3);

    assert.equal(hasRecord('acme.axelabs.ai'), true, 'apply: corrected');
    assert.equal(hasRecord('realchoice.axelabs.ai'), false, 'observe: never acted on');
    assert.equal(hasRecord('demo.axelabs.ai'), false, 'suspended: left alone');

    const status = c.status();
    const dns = (id: string) => status.customers.find((x) => x.customer === id)!.resources.find((r) => r.kind === 'dns')!;
    assert.equal(dns('acme').sync, 'Synced');
    assert.equal(dns('acme').drift, null, 'corrected drift is closed');
    assert.equal(dns('realchoice').sync, 'OutOfSync');
    assert.ok(dns('realchoice').drift, 'observe: drift open');
    assert.equal(dns('demo').health, 'Suspended');
    assert.equal(dns('demo').drift, null);

    const events = c.history.events({ limit: 500 });
    const drift = events.filter((e) => e.type === 'drift').map((e) => `${e.customer}/${e.kind}`);
    assert.deepEqual(drift.sort(), ['acme/dns', 'realchoice/dns']);
    const closed = events.filter((e) => e.type === 'drift-closed');
    assert.deepEqual(closed.map((e) => e.customer), ['acme']);
    assert.match(closed[0]!.message, /corrected by the controller/);
    assert.equal(events.filter((e) => e.type === 'action' && e.customer === 'realchoice' && e.at > Date.now() - 60_000 && e.kind === 'dns').length <= 1, true);

    const text = await c.metrics.text();
    assert.equal(metric(text, 'axe_drift_detected_total', 'customer="acme",kind="dns"'), 1);
    assert.equal(metric(text, 'axe_drift_detected_total', 'customer="realchoice",kind="dns"'), 1);
    assert.equal(metric(text, 'axe_drift_detected_total', 'customer="demo",kind="dns"'), null);
    assert.equal(metric(text, 'axe_drift_open', 'customer="realchoice",kind="dns"'), 1);
    assert.equal(metric(text, 'axe_drift_open', 'customer="acme",kind="dns"'), null);
    assert.equal(metric(text, 'axe_resource_info', 'customer="demo",kind="dns",sync="Unknown",health="Suspended",suspended="true"'), 1);

    await until(() => notices.slice(noticesBefore).some((n) => n.name === 'DriftOpen' && n.customer === 'realchoice' && n.status === 'firing'));
    const firing = notices.slice(noticesBefore).filter((n) => n.status === 'firing');
    assert.equal(firing.filter((n) => n.name === 'DriftOpen' && n.customer === 'realchoice').length, 1);
    assert.equal(firing.some((n) => n.name === 'DriftOpen' && n.customer === 'demo'), false, 'no alert for a suspended customer');

    // Another scan: the drift is still open, the alert is not sent again.
    const count = notices.length;
    await c.driftScan();
    await sleep(200);
    assert.equal(notices.slice(count).filter((n) => n.name === 'DriftOpen').length, 0, 'no repeat before the repeat interval');
    assert.equal(metric(await c.metrics.text(), 'axe_drift_detected_total', 'customer="realchoice",kind="dns"'), 1, 'one drift, not one per scan');

    // Back to apply: the controller corrects it, the drift closes and the alert resolves.
    await fixture.push((t) => t.replace('      mode: observe', '      mode: apply'), 'realchoice back to apply');
    await c.sync('manual');
    await c.queue.idle();
    assert.equal(hasRecord('realchoice.axelabs.ai'), true);
    await until(() => notices.some((n) => n.name === 'DriftOpen' && n.customer === 'realchoice' && n.status === 'resolved'));
    assert.equal(c.history.openDrifts('realchoice').length, 0);
  });

  it('records as drift a record deleted by hand while Cloudflare answered 503, when the controller corrects it after the error', async () => {
    const c = running.controller;
    await c.queue.idle();
    assert.equal(c.status('acme').customers[0]!.resources.find((r) => r.kind === 'dns')!.sync, 'Synced', 'acme starts Synced');
    const driftBefore = c.history.events({ customer: 'acme', types: ['drift'], limit: 500 }).length;
    const errorsBefore = c.history.events({ customer: 'acme', types: ['error'], limit: 500 }).length;
    await deleteRecord('acme.axelabs.ai');
    // The scan's first Cloudflare calls (with the SDK's own retries) answer 503: acme's tunnel and DNS are not observed.
    await fetch(`${fixture.emulator.adminUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ failNext: 6, failStatus: 503 }) });
    await c.driftScan();
    await until(() => hasRecord('acme.axelabs.ai'), 30_000);
    await c.queue.idle();
    assert.ok(c.history.events({ customer: 'acme', types: ['error'], limit: 500 }).length > errorsBefore, 'the scan saw the 503');
    const drift = c.history.events({ customer: 'acme', types: ['drift'], limit: 500 }).slice(driftBefore);
    assert.deepEqual(drift.map((e) => e.kind), ['dns'], 'one drift on dns, recorded after the error');
    assert.match(drift[0]!.message, /create .*acme\.axelabs\.ai/);
    const closed = c.history.events({ customer: 'acme', types: ['drift-closed'], limit: 500 }).at(-1)!;
    assert.equal(closed.kind, 'dns');
    assert.match(closed.message, /corrected by the controller/);
    assert.equal(metric(await c.metrics.text(), 'axe_drift_detected_total', 'customer="acme",kind="dns"'), 2);
  });

  it('retries transient Cloudflare failures with backoff and converges', async () => {
    const c = running.controller;
    await fetch(`${fixture.emulator.adminUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ failNext: 3, failStatus: 503 }) });
    await fixture.push((t) => addCustomers(t, customerBlock('flaky')), 'Onboard flaky');
    await c.sync('manual');
    await until(() => hasRecord('flaky.axelabs.ai'), 30_000);
    await c.queue.idle();
    const errors = c.history.events({ customer: 'flaky', types: ['error'] });
    assert.ok(errors.some((e) => /503|Cloudflare API error/.test(e.message)), JSON.stringify(errors));
    const text = await c.metrics.text();
    assert.ok((metric(text, 'axe_reconcile_errors_total', 'kind="tunnel",class="transient"') ?? 0) >= 1);
    // The SDK retries inside one call; the provider counts the call that failed.
    assert.ok((metric(text, 'axe_external_errors_total', 'provider="cloudflare"') ?? 0) >= 1);
    const dns = c.status('flaky').customers[0]!.resources.find((r) => r.kind === 'dns')!;
    assert.equal(dns.sync, 'Synced');
  });

  it('forgets a removed customer without tearing anything down', async () => {
    const c = running.controller;
    await fixture.push((t) => t.replace(customerBlock('flaky'), ''), 'Offboard flaky');
    const outcome = await c.sync('manual');
    assert.deepEqual(outcome.result === 'applied' ? outcome.removed : null, ['flaky']);
    await c.queue.idle();
    await c.settled();
    assert.equal(c.status('flaky').customers.length, 0);
    assert.equal(hasRecord('flaky.axelabs.ai'), true, 'its DNS record stays');
    assert.equal(fixture.emulator.store.state.tunnels.some((t) => t.name === 'axe-flaky'), true, 'its tunnel stays');
    const removed = c.history.events({ customer: 'flaky', types: ['removed'] });
    assert.match(removed[0]!.message, /left in place \(pruning is off in [0-9a-f]{12}\)/);
    assert.equal((await c.metrics.text()).includes('customer="flaky"'), false, 'its series are gone');
  });

  it('with pruning on but its host unreachable, tears nothing down (not even in Cloudflare) and keeps the prune pending', async () => {
    const c = running.controller;
    await fixture.push((t) => addCustomers(t, customerBlock('gone', '{ prune: true }')), 'Onboard gone');
    await c.sync('manual');
    await until(() => hasRecord('gone.axelabs.ai'), 30_000);
    await c.queue.idle();
    await fixture.push((t) => t.replace(customerBlock('gone', '{ prune: true }'), ''), 'Offboard gone');
    const outcome = await c.sync('manual');
    assert.deepEqual(outcome.result === 'applied' ? outcome.removed : null, ['gone']);
    await c.settled();
    const errors = c.history.events({ customer: 'gone', types: ['error'] });
    assert.match(errors.at(-1)?.message ?? '', /pruning gone stopped: the host gone-macmini\.tail-lab\.ts\.net could not be observed: .*nothing was pruned/);
    assert.equal(hasRecord('gone.axelabs.ai'), true, 'its DNS record stays');
    assert.equal(fixture.emulator.store.state.tunnels.some((t) => t.name === 'axe-gone' && t.deleted_at === null), true, 'its tunnel stays');
    assert.deepEqual(c.history.intents().filter((i) => i.customer === 'gone').map((i) => i.kind), ['prune'], 'the prune stays pending for the next start');
  });
});

async function until(probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
}
