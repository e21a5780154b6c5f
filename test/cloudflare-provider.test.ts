/**
 * The product's Cloudflare provider (official SDK) against the lab emulator
 * (a stand-in for the Cloudflare API): bulk lists across pages, writes, and
 * errors classified once at the edge — 429 and 5xx transient, a bad token and
 * a foreign record terminal with their codes and the fix. And the build's
 * bundle of the SDK (build/sdk-bundle.ts): only the resources axe calls, and
 * every call the provider makes works through it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { bundleSdk } from '../build/sdk-bundle.js';
import { AxeError } from '../core/errors.js';
import { Secret } from '../core/secret.js';
import { noConnectors } from '../lab/cloudflare/connectors.js';
import { startCloudflareEmulator } from '../lab/cloudflare/server.js';
import { CloudflareError, openCloudflare } from '../providers/cloudflare/index.js';
import type * as Sdk from '../providers/cloudflare/sdk.js';

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

  it('the built SDK bundle holds only the resources axe calls, and each call and error class works through it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'axe-test-sdk-'));
    try {
      const file = join(dir, 'sdk.js');
      const size = await bundleSdk(file);
      // The whole client (every resource of the API) is several MB; these five resources are ~80 KB.
      assert.ok(size < 400 * 1024, `bundle is ${size} bytes: the SDK's whole client was bundled`);
      assert.ok(!(await readFile(file, 'utf8')).includes('class Cloudflare extends'), 'the full Cloudflare client class is not in the bundle');
      const sdk = (await import(pathToFileURL(file).href)) as typeof Sdk;
      await using emu = await startCloudflareEmulator({ connectors: noConnectors });
      const client = sdk.cloudflareClient({ apiToken: emu.token.reveal(), baseURL: emu.apiBaseUrl, maxRetries: 0, timeout: 10_000 });
      const zones = await client.zones.list({ name: 'axelabs.ai' });
      assert.deepEqual(zones.result.map((z) => z.id), [emu.zoneId]);
      const created = await client.zeroTrust.tunnels.cloudflared.create({ account_id: emu.accountId, name: 'axe-b0', config_src: 'local', tunnel_secret: Buffer.alloc(32, 2).toString('base64') });
      const listed = await client.zeroTrust.tunnels.cloudflared.list({ account_id: emu.accountId, is_deleted: false, per_page: 100 });
      assert.deepEqual(listed.result.map((t) => t.name), ['axe-b0']);
      const token = await client.zeroTrust.tunnels.cloudflared.token.get(created.id!, { account_id: emu.accountId });
      assert.equal((JSON.parse(Buffer.from(String(token), 'base64').toString()) as { t: string }).t, created.id);
      const record = await client.dns.records.create({ zone_id: emu.zoneId, name: 'b0.axelabs.ai', type: 'CNAME', content: `${created.id}.cfargotunnel.com`, proxied: true, comment: 'c', ttl: 1 });
      const updated = await client.dns.records.update(record.id, { zone_id: emu.zoneId, name: 'b0.axelabs.ai', type: 'CNAME', content: 'x.cfargotunnel.com', proxied: true, comment: 'c', ttl: 1 });
      assert.equal(updated.content, 'x.cfargotunnel.com');
      assert.deepEqual((await client.dns.records.list({ zone_id: emu.zoneId, per_page: 5000 })).result.map((r) => r.name), ['b0.axelabs.ai']);
      await client.dns.records.delete(record.id, { zone_id: emu.zoneId });
      await client.zeroTrust.tunnels.cloudflared.delete(created.id!, { account_id: emu.accountId });
      assert.equal((await client.dns.records.list({ zone_id: emu.zoneId, per_page: 5000 })).result.length, 0);
      const conflict = await client.zeroTrust.tunnels.cloudflared.create({ account_id: emu.accountId, name: 'axe-b1', config_src: 'local', tunnel_secret: Buffer.alloc(32, 3).toString('base64') }).then(() =>
        client.zeroTrust.tunnels.cloudflared.create({ account_id: emu.accountId, name: 'axe-b1', config_src: 'local', tunnel_secret: Buffer.alloc(32, 4).toString('base64') }).catch((e: unknown) => e),
      );
      assert.ok(conflict instanceof sdk.APIError, 'an API failure is the bundle\'s APIError');
      assert.equal(conflict.status, 409);
      await faults(emu.adminUrl, { failNext: 1, failStatus: 503 });
      assert.ok((await client.zones.list({ name: 'axelabs.ai' }).catch((e: unknown) => e)) instanceof sdk.APIError);
      const unreachable = sdk.cloudflareClient({ apiToken: 'x', baseURL: 'http://127.0.0.1:9/client/v4', maxRetries: 0, timeout: 5_000 });
      assert.ok((await unreachable.zones.list({ name: 'axelabs.ai' }).catch((e: unknown) => e)) instanceof sdk.APIConnectionError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
