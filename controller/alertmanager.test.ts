import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { AlertmanagerSender, type FiringAlert, type PostableAlert, postableAlerts } from './alertmanager.js';

const degraded: FiringAlert = {
  name: 'CustomerDegraded',
  customer: 'acme',
  severity: 'critical',
  summary: 'host Degraded: Offline; dns Missing: NotFound',
  since: Date.parse('2026-12-04T10:00:00Z'),
  resources: [
    { kind: 'host', summary: 'host Degraded: Offline (tailscale-peer-offline)', fix: 'wake the Mac mini' },
    { kind: 'dns', summary: 'dns Missing: NotFound', fix: null },
  ],
};
const invalid: FiringAlert = { name: 'ConfigInvalid', customer: null, severity: 'critical', summary: 'revision abc rejected', fix: 'fix the file', since: Date.parse('2026-12-04T11:00:00Z') };

describe('postableAlerts', () => {
  it('makes one alert per kind, labels for routing, the fix as an annotation, endsAt ahead', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    const out = [...postableAlerts([degraded, invalid], now, 240_000, 'http://ctl/status').values()];
    assert.equal(out.length, 3);
    const host = out.find((a) => a.labels.kind === 'host')!;
    assert.deepEqual(host.labels, { alertname: 'CustomerDegraded', severity: 'critical', source: 'axe-controller', customer: 'acme', kind: 'host' });
    assert.deepEqual(host.annotations, { summary: 'acme host Degraded: Offline (tailscale-peer-offline)', fix: 'wake the Mac mini' });
    assert.equal(host.startsAt, '2026-12-04T10:00:00.000Z');
    assert.equal(host.endsAt, '2026-12-04T12:04:00.000Z');
    assert.equal(host.generatorURL, 'http://ctl/status');
    assert.equal(out.find((a) => a.labels.kind === 'dns')!.annotations.fix, undefined);
    const fleet = out.find((a) => a.labels.alertname === 'ConfigInvalid')!;
    assert.deepEqual(fleet.labels, { alertname: 'ConfigInvalid', severity: 'critical', source: 'axe-controller' });
    assert.deepEqual(fleet.annotations, { summary: 'revision abc rejected', fix: 'fix the file' });
  });
});

describe('AlertmanagerSender', () => {
  it('posts new alerts, re-posts only when due or changed, resolves what stopped firing, retries a failed post', async () => {
    const posts: PostableAlert[][] = [];
    let fail = false;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        assert.equal(req.url, '/api/v2/alerts');
        assert.equal(req.method, 'POST');
        if (fail) {
          res.writeHead(500).end('boom');
          return;
        }
        posts.push(JSON.parse(body) as PostableAlert[]);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const sender = new AlertmanagerSender({ url, resendMs: 60_000, ttlMs: 240_000 });
      const t0 = Date.parse('2026-12-04T12:00:00Z');
      assert.equal(await sender.sync([degraded], t0), 2);
      assert.equal(await sender.sync([degraded], t0 + 10_000), 0, 'nothing due');
      const changed: FiringAlert = { ...degraded, resources: [degraded.resources![0]!, { kind: 'dns', summary: 'dns Degraded: Foreign', fix: 'remove the record' }] };
      assert.equal(await sender.sync([changed], t0 + 20_000), 1, 'the changed annotation only');
      assert.equal(posts[1]![0]!.labels.kind, 'dns');
      assert.equal(await sender.sync([changed], t0 + 70_000), 1, 'host is due for a resend (dns, re-posted at +20 s, is not)');
      fail = true;
      const hostOnly: FiringAlert = { ...degraded, resources: [degraded.resources![0]!] };
      await assert.rejects(sender.sync([hostOnly], t0 + 90_000), /HTTP 500: boom/);
      fail = false;
      assert.equal(await sender.sync([hostOnly], t0 + 91_000), 1, 'the failed resolve is retried');
      const resolved = posts.at(-1)![0]!;
      assert.equal(resolved.labels.kind, 'dns');
      assert.equal(resolved.endsAt, new Date(t0 + 91_000).toISOString());
      assert.equal(await sender.sync([], t0 + 92_000), 1, 'host resolved');
      assert.equal(await sender.sync([], t0 + 200_000), 0, 'nothing left');
    } finally {
      server.close();
    }
  });
});
