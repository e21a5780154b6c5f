/**
 * The Cloudflare contract: the product's provider (official SDK) drives the lab's
 * Cloudflare stand-in through every cfd_tunnel call it makes, the stand-in records
 * each exchange, and each one is held to Cloudflare's published OpenAPI description
 * (contracts/cloudflare/openapi.trimmed.yaml): the request the product sent, the
 * answer the stand-in gave, the status, and every field the product reads
 * (CLOUDFLARE_FIELD_READS). In-process, offline, no Docker: the connectors are a
 * source this test controls.
 */
import assert from 'node:assert/strict';
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

/** The spec's cfd_tunnel operations: what this contract covers (zones and DNS are not in the trimmed copy). */
function isTunnelCall(exchange: RecordedExchange): boolean {
  return exchange.path.startsWith('/accounts/');
}

describe('Cloudflare contract (cfd_tunnel)', () => {
  let contract: Contract;
  before(async () => {
    contract = await loadContract(SPEC);
  });

  it('every field the provider reads is in the spec and not deprecated; the deprecated connections array would be caught', () => {
    assert.deepEqual(contract.checkFieldReads(CLOUDFLARE_FIELD_READS), []);
    // The read the provider made before: a tunnel's `connections` array, deprecated ("will start returning an empty array").
    assert.deepEqual(
      contract.checkFieldReads([{ method: 'GET', path: '/accounts/{account_id}/cfd_tunnel', status: 200, field: 'result[].connections' }]).map((v) => v.message),
      ['result[].connections is deprecated in the spec'],
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

    const checked = recorded.filter(isTunnelCall);
    assert.ok(checked.length >= 110, `recorded ${checked.length} tunnel exchanges`);
    for (const status of [200, 400, 409, 429]) assert.ok(checked.some((e) => e.status === status), `an exchange with status ${status} was checked`);
    for (const route of ['GET /cfd_tunnel', 'POST /cfd_tunnel', 'GET /token', 'GET /connections', 'DELETE /connections', 'DELETE /{tunnel_id}']) {
      const [method, tail] = route.split(' ') as [string, string];
      const match = tail === '/{tunnel_id}' ? (e: RecordedExchange) => /\/cfd_tunnel\/[^/]+$/.test(e.path) : (e: RecordedExchange) => e.path.endsWith(tail);
      assert.ok(checked.some((e) => e.method === method && match(e)), `${route} was exercised`);
    }
    // One line per kind of violation (ids folded), so a failure reads as the list of deviations.
    const deviations = new Set(checked.flatMap((e) => contract.check(e)).map((v) => `${v.exchange.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{32}/g, '{id}')} ${v.where}: ${v.message}`));
    assert.deepEqual([...deviations], []);
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
