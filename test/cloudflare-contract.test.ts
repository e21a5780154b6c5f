/**
 * The Cloudflare contract: the product's provider (official SDK) drives the lab's
 * Cloudflare stand-in through every cfd_tunnel, zone and DNS call it makes, the stand-in records
 * each exchange, and each one is held to Cloudflare's published OpenAPI description
 * (contracts/cloudflare/openapi.trimmed.yaml): the request the product sent, the
 * answer the stand-in gave, the status, and every field the product reads
 * (CLOUDFLARE_FIELD_READS). In-process, offline, no Docker: the connectors are a
 * source this test controls.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadContract } from '../contracts/openapi-check.js';
import type { Contract } from '../contracts/openapi-check.js';
import { Secret } from '../core/secret.js';
import type { Connector, ConnectorSource } from '../lab/cloudflare/connectors.js';
import { startCloudflareEmulator } from '../lab/cloudflare/server.js';
import type { RecordedExchange } from '../lab/cloudflare/server.js';
import { CLOUDFLARE_FIELD_READS, CloudflareError, openCloudflare } from '../providers/cloudflare/index.js';
import { healthTunnel } from '../reconcilers/tunnel/diff.js';

const SPEC = join(import.meta.dirname, '..', 'contracts', 'cloudflare', 'openapi.trimmed.yaml');
const SECRET = new Secret(Buffer.alloc(32, 7).toString('base64'));

/** Connectors by tunnel id, as the test sets them (a running one is a connected cloudflared). */
function fakeConnectors(): ConnectorSource & { set(tunnelId: string, connectors: Connector[]): void } {
  const byTunnel = new Map<string, Connector[]>();
  return {
    set: (tunnelId, connectors) => byTunnel.set(tunnelId, connectors),
    snapshot: () => Promise.resolve({ byTunnel: new Map(byTunnel), error: null }),
  };
}

function connector(containerId: string, running: boolean): Connector {
  return { containerId, name: `cloudflared-${containerId}`, running, port: null, createdAt: '2026-01-02T03:04:05.000Z' };
}

async function faults(adminUrl: string, patch: Record<string, number>): Promise<void> {
  await fetch(`${adminUrl}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) });
}

/** One line per kind of violation (ids and item indices folded), so a failure reads as the list of deviations. */
function deviations(contract: Contract, exchanges: RecordedExchange[]): string[] {
  const lines = exchanges
    .flatMap((e) => contract.check(e))
    .map((v) => `${v.exchange.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{32}/g, '{id}')} ${v.where}: ${v.message.replace(/\[\d+\]/g, '[]').replace(/\/\d+\//g, '/[]/')}`);
  return [...new Set(lines)];
}

describe('Cloudflare contract (cfd_tunnel, zones, DNS records)', () => {
  let contract: Contract;
  before(async () => {
    contract = await loadContract(SPEC);
  });

  it('every field the provider reads is in the spec and not deprecated; the deprecated connections array, a record\'s zone_id and a zone\'s plan would be caught', () => {
    assert.deepEqual(contract.checkFieldReads(CLOUDFLARE_FIELD_READS), []);
    // The read the provider made before: a tunnel's `connections` array, deprecated ("will start returning an empty array").
    assert.deepEqual(
      contract.checkFieldReads([{ method: 'GET', path: '/accounts/{account_id}/cfd_tunnel', status: 200, field: 'result[].connections' }]).map((v) => v.message),
      ['result[].connections is deprecated in the spec'],
    );
    // A record's zone_id/zone_name (retired, not in the spec) and a zone's deprecated plan would be caught too.
    assert.deepEqual(
      contract
        .checkFieldReads([
          { method: 'GET', path: '/zones/{zone_id}/dns_records', status: 200, field: 'result[].zone_id' },
          { method: 'GET', path: '/zones', status: 200, field: 'result[].plan' },
        ])
        .map((v) => v.message),
      ['result[].zone_id is not in the response schema', 'result[].plan is deprecated in the spec'],
    );
  });

  it('every request the provider sends and every answer the stand-in gives follow the spec', async () => {
    const recorded: RecordedExchange[] = [];
    const connectors = fakeConnectors();
    await using emu = await startCloudflareEmulator({ connectors, record: (e) => recorded.push(e) });
    const cf = openCloudflare({ baseURL: emu.apiBaseUrl, accountId: emu.accountId, token: emu.token, maxRetries: 0 });

    // A list of more than one page (the provider asks 100 a page).
    for (let i = 0; i < 101; i += 1) await cf.createTunnel(`axe-c${String(i).padStart(3, '0')}`, SECRET);
    const before = cf.stats.calls;
    const tunnels = await cf.listTunnels();
    assert.equal(tunnels.length, 101);
    assert.equal(cf.stats.calls - before, 2, 'two pages, and no third request for an empty one');

    const conflict = await cf.createTunnel('axe-c000', SECRET).catch((e: unknown) => e);
    assert.ok(conflict instanceof CloudflareError && conflict.class === 'terminal' && conflict.codes.includes(1013), String(conflict));

    const [connected, stale, idle, running] = tunnels;
    assert.ok(connected && stale && idle && running);
    const token = JSON.parse(Buffer.from((await cf.tunnelToken(connected.id)).reveal(), 'base64').toString()) as { t: string };
    assert.equal(token.t, connected.id);

    connectors.set(connected.id, [connector('c-connected', true)]);
    connectors.set(stale.id, [connector('c-stale', false)]);
    connectors.set(running.id, [connector('c-running', true)]);
    const connections = await fetch(`${emu.apiBaseUrl}/accounts/${emu.accountId}/cfd_tunnel/${stale.id}/connections`, { headers: { authorization: `Bearer ${emu.token.reveal()}` } });
    assert.equal(((await connections.json()) as { result: unknown[] }).result.length, 1, 'a stopped connector not cleaned up is still listed');

    await cf.deleteTunnel(idle.id);
    await cf.deleteTunnel(stale.id);
    const refused = await cf.deleteTunnel(running.id).catch((e: unknown) => e);
    assert.ok(refused instanceof CloudflareError && refused.codes.includes(1022), String(refused));

    await faults(emu.adminUrl, { rateLimitNext: 1 });
    const limited = await cf.listTunnels().catch((e: unknown) => e);
    assert.ok(limited instanceof CloudflareError && limited.status === 429);

    const checked = recorded;
    assert.ok(checked.length >= 110, `recorded ${checked.length} tunnel exchanges`);
    for (const status of [200, 400, 409, 429]) assert.ok(checked.some((e) => e.status === status), `an exchange with status ${status} was checked`);
    for (const route of ['GET /cfd_tunnel', 'POST /cfd_tunnel', 'GET /token', 'GET /connections', 'DELETE /connections', 'DELETE /{tunnel_id}']) {
      const [method, tail] = route.split(' ') as [string, string];
      const match = tail === '/{tunnel_id}' ? (e: RecordedExchange) => /\/cfd_tunnel\/[^/]+$/.test(e.path) : (e: RecordedExchange) => e.path.endsWith(tail);
      assert.ok(checked.some((e) => e.method === method && match(e)), `${route} was exercised`);
    }
    assert.deepEqual(deviations(contract, checked), []);
  });

  it('every zone and DNS call the provider makes, and every answer the stand-in gives, follow the spec', async () => {
    const recorded: RecordedExchange[] = [];
    await using emu = await startCloudflareEmulator({ connectors: fakeConnectors(), record: (e) => recorded.push(e) });
    const cf = openCloudflare({ baseURL: emu.apiBaseUrl, accountId: emu.accountId, token: emu.token, maxRetries: 0 });
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${emu.apiBaseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${emu.token.reveal()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    const zoneId = await cf.zoneId(emu.zone);
    assert.equal(zoneId, emu.zoneId);

    // Records axe did not make: a TXT without a comment where axe will want a CNAME, and a zone
    // large enough that the provider's list (5000 a page) takes two pages.
    const foreign = await api('POST', `/zones/${zoneId}/dns_records`, { type: 'TXT', name: 'taken', content: '"v=verify"', ttl: 1 });
    assert.equal(foreign.status, 200);
    const now = new Date().toISOString();
    for (let i = 0; i < 5000; i += 1) {
      const id = createHash('md5').update(`seed-${i}`).digest('hex');
      emu.store.state.records.push({ id, zone_id: zoneId, name: `seed-${i}.${emu.zone}`, type: 'TXT', content: `"seed ${i}"`, proxied: false, ttl: 1, comment: null, tags: [], created_on: now, modified_on: now });
    }

    const tunnel = 'c0ffee00-0000-4000-8000-000000000001.cfargotunnel.com';
    const created = await cf.createDnsRecord(zoneId, { name: `demo.${emu.zone}`, type: 'CNAME', content: tunnel, proxied: true, comment: 'managed by axe' });
    assert.deepEqual({ ...created, id: '' }, { id: '', name: `demo.${emu.zone}`, type: 'CNAME', content: tunnel, proxied: true, comment: 'managed by axe' });

    const clash = await cf.createDnsRecord(zoneId, { name: `taken.${emu.zone}`, type: 'CNAME', content: tunnel, proxied: true, comment: 'managed by axe' }).catch((e: unknown) => e);
    assert.ok(clash instanceof CloudflareError && clash.class === 'terminal' && clash.codes.includes(81053), String(clash));

    const other = 'c0ffee00-0000-4000-8000-000000000002.cfargotunnel.com';
    const updated = await cf.updateDnsRecord(zoneId, created.id, { name: `demo.${emu.zone}`, type: 'CNAME', content: other, proxied: true, comment: 'managed by axe' });
    assert.equal(updated.content, other);

    const before = cf.stats.calls;
    const records = await cf.listDnsRecords(zoneId);
    assert.equal(cf.stats.calls - before, 2, 'two pages, and no third request for an empty one');
    assert.equal(records.length, 5002);
    assert.deepEqual(records.find((r) => r.id === created.id), updated);
    assert.deepEqual(records.find((r) => r.name === `taken.${emu.zone}`)?.comment, null, 'a record without a comment reads as null');

    await cf.deleteDnsRecord(zoneId, created.id);
    const gone = await cf.deleteDnsRecord(zoneId, created.id).catch((e: unknown) => e);
    assert.ok(gone instanceof CloudflareError && gone.codes.includes(81044), String(gone));

    for (const route of ['GET /zones', 'GET /dns_records', 'POST /dns_records', 'PUT /{dns_record_id}', 'DELETE /{dns_record_id}']) {
      const [method, tail] = route.split(' ') as [string, string];
      const match = tail === '/{dns_record_id}' ? (e: RecordedExchange) => /\/dns_records\/[^/]+$/.test(e.path) : (e: RecordedExchange) => e.path.endsWith(tail);
      assert.ok(recorded.some((e) => e.method === method && match(e)), `${route} was exercised`);
    }
    for (const status of [200, 400, 404]) assert.ok(recorded.some((e) => e.status === status), `an exchange with status ${status} was checked`);
    assert.deepEqual(deviations(contract, recorded), []);
  });

  it('a connected tunnel reads Healthy: its status says so, though the tunnel object lists no connections', async () => {
    const recorded: RecordedExchange[] = [];
    const connectors = fakeConnectors();
    await using emu = await startCloudflareEmulator({ connectors, record: (e) => recorded.push(e) });
    const cf = openCloudflare({ baseURL: emu.apiBaseUrl, accountId: emu.accountId, token: emu.token, maxRetries: 0 });
    const created = await cf.createTunnel('axe-demo', SECRET);
    connectors.set(created.id, [connector('c-demo', true)]);
    const [tunnel] = await cf.listTunnels();
    assert.ok(tunnel);
    const listed = recorded.at(-1)?.responseBody as { result: Array<{ connections: unknown[]; status: string }> };
    assert.deepEqual(listed.result.map((t) => [t.status, t.connections]), [['healthy', []]], 'the deprecated array comes back empty, as the spec says it will');
    const health = healthTunnel({ customer: 'demo', name: 'axe-demo', credentialsItem: 'CLOUDFLARED_DEMO_CREDENTIALS' }, { tunnel, credentialsDigest: 'sha256:0123456789ab' });
    assert.equal(health.status, 'Healthy', health.message);
  });

  it('a tunnel whose stopped connector Cloudflare still lists is deleted: connections cleaned up first, as the API documents', async () => {
    const recorded: RecordedExchange[] = [];
    const connectors = fakeConnectors();
    await using emu = await startCloudflareEmulator({ connectors, record: (e) => recorded.push(e) });
    const cf = openCloudflare({ baseURL: emu.apiBaseUrl, accountId: emu.accountId, token: emu.token, maxRetries: 0 });
    const tunnel = await cf.createTunnel('axe-gone', SECRET);
    connectors.set(tunnel.id, [connector('c-gone', false)]);
    await cf.deleteTunnel(tunnel.id);
    assert.deepEqual(await cf.listTunnels(), [], 'the tunnel is deleted');
    assert.deepEqual(
      recorded.filter((e) => e.method === 'DELETE').map((e) => [e.path.replace(tunnel.id, '{tunnel_id}').replace(emu.accountId, '{account_id}'), e.status]),
      [
        ['/accounts/{account_id}/cfd_tunnel/{tunnel_id}/connections', 200],
        ['/accounts/{account_id}/cfd_tunnel/{tunnel_id}', 200],
      ],
    );
  });
});
