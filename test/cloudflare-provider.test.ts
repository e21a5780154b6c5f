/**
 * The product's Cloudflare provider (official SDK) against the lab emulator
 * (a stand-in for the Cloudflare API): bulk lists across pages, writes, and
 * errors classified once at the edge — 429 and 5xx transient, a bad token and
 * a foreign record terminal with their codes and the fix.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AxeError } from '../core/errors.js';
import { Secret } from '../core/secret.js';
import { noConnectors } from '../lab/cloudflare/connectors.js';
import { startCloudflareEmulator } from '../lab/cloudflare/server.js';
import { CloudflareError, openCloudflare } from '../providers/cloudflare/index.js';

async function faults(adminUrl: string, patch: Record<string, number>): Promise<void> {
  await fetch(`${adminUrl}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) });
}

describe('Cloudflare provider', () => {
  it('lists a zone in one call, creates and updates, and counts its calls', async () => {
    await using emu = await startCloudflareEmulator({ connectors: noConnectors });
    const cf = openCloudflare({ baseURL: emu.apiBaseUrl, accountId: emu.accountId, token: emu.token, maxRetries: 0 });
    const zoneId = await cf.zoneId('axelabs.ai');
    assert.equal(zoneId, emu.zoneId);
    for (let i = 0; i < 7; i += 1) await cf.createDnsRecord(zoneId, { name: `c${i}.axelabs.ai`, type: 'CNAME', content: `t${i}.cfargotunnel.com`, proxied: true, comment: 'managed-by=axe customer=c' });
    const before = cf.stats.calls;
    const records = await cf.listDnsRecords(zoneId);
    assert.equal(records.length, 7);
    assert.equal(cf.stats.calls - before, 1, 'one call for the whole zone');
    const tunnel = await cf.createTunnel('axe-c0', new Secret(Buffer.alloc(32, 1).toString('base64')));
    assert.deepEqual((await cf.listTunnels()).map((t) => t.name), ['axe-c0']);
    const token = JSON.parse(Buffer.from((await cf.tunnelToken(tunnel.id)).reveal(), 'base64').toString()) as { t: string };
    assert.equal(token.t, tunnel.id);
    const updated = await cf.updateDnsRecord(zoneId, records[0]!.id, { name: records[0]!.name, type: 'CNAME', content: `${tunnel.id}.cfargotunnel.com`, proxied: true, comment: 'managed-by=axe customer=c' });
    assert.equal(updated.content, `${tunnel.id}.cfargotunnel.com`);
    assert.equal(cf.stats.writes, 9);
  });

  it('classifies: 429 and 5xx transient, a refused token and a name conflict terminal with the fix', async () => {
    await using emu = await startCloudflareEmulator({ connectors: noConnectors });
    const cf = openCloudflare({ baseURL: emu.apiBaseUrl, accountId: emu.accountId, token: emu.token, maxRetries: 0 });
    await faults(emu.adminUrl, { rateLimitNext: 1 });
    const limited = await cf.listTunnels().catch((e: unknown) => e);
    assert.ok(limited instanceof CloudflareError);
    assert.equal(limited.class, 'transient');
    assert.equal(limited.status, 429);
    await faults(emu.adminUrl, { failNext: 1, failStatus: 503 });
    const failed = await cf.listTunnels().catch((e: unknown) => e);
    assert.ok(failed instanceof CloudflareError && failed.class === 'transient' && failed.status === 503);

    const bad = openCloudflare({ baseURL: emu.apiBaseUrl, accountId: emu.accountId, token: new Secret('not-a-token'), maxRetries: 0 });
    const refused = await bad.listTunnels().catch((e: unknown) => e);
    assert.ok(refused instanceof CloudflareError);
    assert.equal(refused.class, 'terminal');
    assert.match(refused.oneLine(), /refused the API token.*fix: put a valid token/);
    assert.ok(!refused.oneLine().includes('not-a-token'), 'the token never shows');

    const zoneId = await cf.zoneId('axelabs.ai');
    await cf.createDnsRecord(zoneId, { name: 'x.axelabs.ai', type: 'CNAME', content: 'a.cfargotunnel.com', proxied: true, comment: 'c' });
    const conflict = await cf.createDnsRecord(zoneId, { name: 'x.axelabs.ai', type: 'CNAME', content: 'b.cfargotunnel.com', proxied: true, comment: 'c' }).catch((e: unknown) => e);
    assert.ok(conflict instanceof CloudflareError && conflict.class === 'terminal');
    assert.ok(conflict.codes.some((c) => c === 81053 || c === 81054), String(conflict.codes));

    const missingZone = await cf.zoneId('nosuch.example').catch((e: unknown) => e);
    assert.ok(missingZone instanceof AxeError && missingZone.class === 'terminal');
  });
});
