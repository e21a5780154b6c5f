import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { type AlertCondition, Alerter, noticePayload, sendNotices } from './alerts.js';

const MIN = 60_000;
const degraded = (customer: string, summary = 'dns Degraded: ForeignRecord'): AlertCondition => ({ name: 'CustomerDegraded', customer, severity: 'critical', summary });
const drift = (customer: string): AlertCondition => ({ name: 'DriftOpen', customer, severity: 'warning', summary: 'dns OutOfSync' });

describe('Alerter', () => {
  it('fires once a condition has held for `for`, not before', () => {
    const a = new Alerter({ forMs: 2 * MIN, repeatMs: 60 * MIN, keepFiringForMs: 2 * MIN });
    assert.deepEqual(a.evaluate([degraded('acme')], 0), []);
    assert.equal(a.pending().length, 1);
    assert.deepEqual(a.evaluate([degraded('acme')], MIN), []);
    const fired = a.evaluate([degraded('acme')], 2 * MIN);
    assert.equal(fired.length, 1);
    assert.equal(fired[0]!.status, 'firing');
    assert.equal(fired[0]!.since, 0);
    assert.equal(fired[0]!.repeat, false);
    assert.equal(a.firing().length, 1);
  });

  it('never fires a condition that clears while pending', () => {
    const a = new Alerter({ forMs: 2 * MIN, repeatMs: 60 * MIN, keepFiringForMs: 2 * MIN });
    a.evaluate([drift('acme')], 0);
    assert.deepEqual(a.evaluate([], MIN), []);
    assert.deepEqual(a.evaluate([drift('acme')], 1.5 * MIN), [], 'pending restarts from zero');
    assert.deepEqual(a.evaluate([drift('acme')], 3 * MIN), []);
    assert.equal(a.evaluate([drift('acme')], 3.5 * MIN).length, 1);
  });

  it('repeats a firing alert at the repeat interval, not on every evaluation', () => {
    const a = new Alerter({ forMs: 0, repeatMs: 30 * MIN, keepFiringForMs: 0 });
    const sent: number[] = [];
    for (let t = 0; t <= 90 * MIN; t += MIN) for (const n of a.evaluate([degraded('acme')], t)) sent.push(t / MIN);
    assert.deepEqual(sent, [0, 30, 60, 90]);
  });

  it('keeps a flapping customer one alert: 100 flaps, one firing and one resolved', () => {
    const a = new Alerter({ forMs: 0, repeatMs: 4 * 60 * MIN, keepFiringForMs: 5 * MIN });
    const notices = [];
    let t = 0;
    for (let i = 0; i < 100; i += 1) {
      notices.push(...a.evaluate([degraded('acme', i % 2 ? 'cloudflared Degraded' : 'dns Degraded')], t));
      t += 30_000;
      notices.push(...a.evaluate([], t));
      t += 30_000;
    }
    notices.push(...a.evaluate([], t + 5 * MIN));
    assert.deepEqual(notices.map((n) => n.status), ['firing', 'resolved']);
  });

  it('keys alerts by name and customer: two customers, two alerts; one customer, two kinds of alert', () => {
    const a = new Alerter({ forMs: 0, repeatMs: 60 * MIN, keepFiringForMs: 0 });
    const notices = a.evaluate([degraded('acme'), degraded('demo'), drift('acme'), degraded('acme', 'another resource')], 0);
    assert.deepEqual(notices.map((n) => `${n.name}/${n.customer}`).sort(), ['CustomerDegraded/acme', 'CustomerDegraded/demo', 'DriftOpen/acme']);
  });

  it('resolves after the condition stays clear, and fires anew if it comes back later', () => {
    const a = new Alerter({ forMs: 0, repeatMs: 60 * MIN, keepFiringForMs: 2 * MIN });
    assert.equal(a.evaluate([drift('acme')], 0)[0]!.status, 'firing');
    assert.deepEqual(a.evaluate([], MIN), []);
    const resolved = a.evaluate([], 3 * MIN);
    assert.deepEqual(resolved.map((n) => n.status), ['resolved']);
    assert.equal(a.firing().length, 0);
    assert.deepEqual(a.evaluate([drift('acme')], 10 * MIN).map((n) => [n.status, n.repeat]), [['firing', false]]);
  });
});

describe('notification webhook', () => {
  it('posts generic JSON with a Slack/Teams `text`, and reports a failing endpoint', async () => {
    const bodies: unknown[] = [];
    let status = 200;
    const server = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        bodies.push({ contentType: req.headers['content-type'], body: JSON.parse(data) });
        res.statusCode = status;
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const notice = { ...degraded('acme'), status: 'firing' as const, since: Date.UTC(2026, 0, 1), repeat: false };
      await sendNotices(url, [notice], { revision: 'abc1234' });
      const got = bodies[0] as { contentType: string; body: ReturnType<typeof noticePayload> };
      assert.equal(got.contentType, 'application/json');
      assert.match(String(got.body.text), /firing\] CustomerDegraded acme: dns Degraded: ForeignRecord/);
      assert.deepEqual((got.body.alerts as Array<Record<string, unknown>>)[0], { status: 'firing', name: 'CustomerDegraded', customer: 'acme', severity: 'critical', summary: 'dns Degraded: ForeignRecord', since: '2026-01-01T00:00:00.000Z', repeat: false });
      status = 500;
      await assert.rejects(sendNotices(url, [notice], { revision: null }), /HTTP 500/);
    } finally {
      server.close();
    }
  });
});
