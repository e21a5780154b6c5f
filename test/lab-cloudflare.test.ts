/**
 * The lab's Cloudflare emulator driven by the official `cloudflare` SDK, the
 * lab edge in front of it, and the lab part's detached server.
 *
 * The API tests run the emulator in-process on port 0 with no connectors; the
 * edge tests give it a loopback "connector" or, in the Docker test, a real
 * cloudflared stand-in container (labelled ai.axelabs.lab=1, unique name,
 * removed in `finally`). Nothing here talks to a non-loopback address.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import Cloudflare, { BadRequestError, ConflictError, InternalServerError, PermissionDeniedError, RateLimitError } from 'cloudflare';
import { LAB_LABEL } from '../lab/component.js';
import { type ConnectorSource, dockerConnectorSource, noConnectors, TUNNEL_LABEL } from '../lab/cloudflare/connectors.js';
import { cloudflarePaths, createCloudflarePart, readCloudflareEndpoint, readCloudflareToken } from '../lab/cloudflare/index.js';
import { type CloudflareEmulator, LAB_ACCOUNT_ID, startCloudflareEmulator } from '../lab/cloudflare/server.js';
import type { StatsSnapshot } from '../lab/cloudflare/stats.js';
import type { ConfigurationUpdateParams } from 'cloudflare/resources/zero-trust/tunnels/cloudflared/configurations';
import { CLOUDFLARED_IMAGE, ensureStandInImages } from '../lab/images/index.js';
import { Secret } from '../core/secret.js';

const exec = promisify(execFile);
const RUN = `axelab-test-cf-${randomBytes(3).toString('hex')}`;

function sdk(emulator: CloudflareEmulator, options: { maxRetries?: number; token?: string } = {}): Cloudflare {
  return new Cloudflare({ apiToken: options.token ?? emulator.token.reveal(), baseURL: emulator.apiBaseUrl, maxRetries: options.maxRetries ?? 0 });
}

async function admin<T>(emulator: CloudflareEmulator, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${emulator.adminUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${method} ${path}`);
  return (await response.json()) as T;
}

interface EdgeAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request to the lab edge as a visitor of `host` would send it (Node's fetch cannot set Host). */
function edgeRequest(edgeUrl: string, host: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<EdgeAnswer> {
  const url = new URL(edgeUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: { host, ...options.headers }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('Cloudflare emulator through the official SDK', () => {
  let dir = '';
  let emulator: CloudflareEmulator;
  let cf: Cloudflare;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'axe-test-cf-'));
    emulator = await startCloudflareEmulator({ stateFile: join(dir, 'state.json'), connectors: noConnectors });
    cf = sdk(emulator);
  });
  after(async () => {
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the seeded zone axelabs.ai by name, with a stable account id', async () => {
    const zones = await cf.zones.list({ name: 'axelabs.ai' });
    assert.equal(zones.result.length, 1);
    assert.equal(zones.result[0]?.id, emulator.zoneId);
    assert.equal(zones.result[0]?.account.id, LAB_ACCOUNT_ID);
    assert.equal(emulator.accountId, LAB_ACCOUNT_ID);
    assert.equal((await cf.zones.list({ name: 'example.com' })).result.length, 0);
    assert.equal((await cf.zones.get({ zone_id: emulator.zoneId })).name, 'axelabs.ai');
  });

  it('creates a remotely managed tunnel, lists it by name, and refuses the same name with 409/1013', async () => {
    const created = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emulator.accountId, name: 'axe-sdk', config_src: 'cloudflare' });
    assert.match(created.id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(created.config_src, 'cloudflare');
    assert.equal(created.status, 'inactive');
    const listed = [];
    for await (const t of cf.zeroTrust.tunnels.cloudflared.list({ account_id: emulator.accountId, name: 'axe-sdk', is_deleted: false })) listed.push(t);
    assert.deepEqual(
      listed.map((t) => t.id),
      [created.id],
    );
    await assert.rejects(cf.zeroTrust.tunnels.cloudflared.create({ account_id: emulator.accountId, name: 'axe-sdk' }), (error: unknown) => {
      assert.ok(error instanceof ConflictError);
      assert.equal(error.status, 409);
      assert.equal((error.errors as Array<{ code: number }>)[0]?.code, 1013);
      return true;
    });
    const got = await cf.zeroTrust.tunnels.cloudflared.get(created.id ?? '', { account_id: emulator.accountId });
    assert.equal(got.name, 'axe-sdk');
  });

  it('sets the ingress, reads it back, and rejects one whose last rule is not the catch-all (400/1056)', async () => {
    const tunnel = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emulator.accountId, name: 'axe-ingress', config_src: 'cloudflare' });
    const id = tunnel.id ?? '';
    // The SDK types `hostname` as required, but the real catch-all has none: the wire shape is what counts here.
    const ingress = [
      { hostname: 'ingress.axelabs.ai', path: '^/frame(/|$)', service: 'http://axe-frame-proxy:8080' },
      { hostname: 'ingress.axelabs.ai', service: 'http://blueprint:3000' },
      { service: 'http_status:404' },
    ] as ConfigurationUpdateParams.Config.Ingress[];
    const put = await cf.zeroTrust.tunnels.cloudflared.configurations.update(id, { account_id: emulator.accountId, config: { ingress } });
    assert.equal(put.version, 1);
    const got = await cf.zeroTrust.tunnels.cloudflared.configurations.get(id, { account_id: emulator.accountId });
    assert.deepEqual(got.config?.ingress, ingress);
    await assert.rejects(
      cf.zeroTrust.tunnels.cloudflared.configurations.update(id, { account_id: emulator.accountId, config: { ingress: ingress.slice(0, 2) } }),
      (error: unknown) => {
        assert.ok(error instanceof BadRequestError);
        const [first] = error.errors as Array<{ code: number; message: string }>;
        assert.equal(first?.code, 1056);
        assert.match(first?.message ?? '', /last ingress rule must match all URLs/);
        return true;
      },
    );
    assert.equal((await cf.zeroTrust.tunnels.cloudflared.configurations.get(id, { account_id: emulator.accountId })).version, 1, 'a refused config changes nothing');
  });

  it('hands out the connector token: base64 JSON naming the account, the tunnel and its secret', async () => {
    const secret = randomBytes(32).toString('base64');
    const tunnel = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emulator.accountId, name: 'axe-token', config_src: 'local', tunnel_secret: secret });
    const token = await cf.zeroTrust.tunnels.cloudflared.token.get(tunnel.id ?? '', { account_id: emulator.accountId });
    assert.deepEqual(JSON.parse(Buffer.from(String(token), 'base64').toString('utf8')), { a: emulator.accountId, t: tunnel.id, s: secret });
  });

  it('creates a proxied CNAME to the tunnel and finds it by name', async () => {
    const tunnel = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emulator.accountId, name: 'axe-cname', config_src: 'cloudflare' });
    const content = `${tunnel.id}.cfargotunnel.com`;
    const created = await cf.dns.records.create({ zone_id: emulator.zoneId, type: 'CNAME', name: 'cname', content, proxied: true, ttl: 1, comment: 'managed-by=axe customer=cname' });
    assert.equal(created.name, 'cname.axelabs.ai');
    assert.equal(created.proxied, true);
    const found = await cf.dns.records.list({ zone_id: emulator.zoneId, name: { exact: 'cname.axelabs.ai' }, type: 'CNAME' });
    assert.deepEqual(
      found.result.map((r) => [r.id, r.content, r.comment]),
      [[created.id, content, 'managed-by=axe customer=cname']],
    );
    const updated = await cf.dns.records.update(created.id, { zone_id: emulator.zoneId, type: 'CNAME', name: 'cname.axelabs.ai', content, proxied: true, ttl: 1, comment: 'changed' });
    assert.equal(updated.comment, 'changed');
  });

  it('auto-paginates over several pages and stops at the first empty page', async () => {
    for (let i = 0; i < 12; i++) await cf.dns.records.create({ zone_id: emulator.zoneId, type: 'TXT', name: 'pages', content: `v${i}`, ttl: 1 });
    await admin(emulator, 'POST', '/stats/reset');
    const seen: string[] = [];
    for await (const record of cf.dns.records.list({ zone_id: emulator.zoneId, name: { exact: 'pages.axelabs.ai' }, per_page: 5 })) {
      seen.push(record.type === 'TXT' ? record.content ?? '' : '');
      assert.ok(seen.length <= 12, 'pagination must end');
    }
    assert.deepEqual([...seen].sort(), Array.from({ length: 12 }, (_, i) => `v${i}`).sort());
    const stats = await admin<StatsSnapshot>(emulator, 'GET', '/stats');
    assert.equal(stats.byRoute['GET /zones/:zone_id/dns_records'], 4, '3 pages of 5, then the empty page 4');
    const last = await cf.dns.records.list({ zone_id: emulator.zoneId, name: { exact: 'pages.axelabs.ai' }, per_page: 5, page: 9 });
    assert.deepEqual(last.result, []);
    assert.deepEqual(last.result_info, { page: 9, per_page: 5, count: 0, total_count: 12, total_pages: 3 });
  });

  it('refuses a CNAME where an A record is (81053), an A where a CNAME is (81054), and an identical record (81057)', async () => {
    await cf.dns.records.create({ zone_id: emulator.zoneId, type: 'A', name: 'taken', content: '192.0.2.10', ttl: 1 });
    const code = async (promise: Promise<unknown>): Promise<number | undefined> => {
      try {
        await promise;
        return undefined;
      } catch (error) {
        assert.ok(error instanceof BadRequestError, String(error));
        assert.equal(error.status, 400);
        return (error.errors as Array<{ code: number }>)[0]?.code;
      }
    };
    assert.equal(await code(cf.dns.records.create({ zone_id: emulator.zoneId, type: 'CNAME', name: 'taken', content: 'x.cfargotunnel.com', proxied: true, ttl: 1 })), 81053);
    assert.equal(await code(cf.dns.records.create({ zone_id: emulator.zoneId, type: 'A', name: 'taken.axelabs.ai', content: '192.0.2.10', ttl: 1 })), 81057);
    await cf.dns.records.create({ zone_id: emulator.zoneId, type: 'CNAME', name: 'aliased', content: 'x.cfargotunnel.com', proxied: true, ttl: 1 });
    assert.equal(await code(cf.dns.records.create({ zone_id: emulator.zoneId, type: 'A', name: 'aliased', content: '192.0.2.11', ttl: 1 })), 81054);
  });

  it('refuses a missing, malformed or unknown token with the v4 codes, never echoing it', async () => {
    const unknown = newTokenLike();
    await assert.rejects(sdk(emulator, { token: unknown }).zones.list(), (error: unknown) => {
      assert.ok(error instanceof PermissionDeniedError);
      assert.equal(error.status, 403);
      assert.equal((error.errors as Array<{ code: number }>)[0]?.code, 9109);
      assert.doesNotMatch(error.message, new RegExp(unknown));
      return true;
    });
    const missing = await fetch(`${emulator.apiBaseUrl}/zones`);
    assert.equal(missing.status, 400);
    assert.deepEqual(await missing.json(), { success: false, errors: [{ code: 9106, message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers' }], messages: [], result: null });
    const malformed = await fetch(`${emulator.apiBaseUrl}/zones`, { headers: { authorization: 'Bearer not/a/token' } });
    assert.equal(malformed.status, 400);
    const body = (await malformed.json()) as { errors: Array<{ code: number; error_chain: Array<{ code: number }> }> };
    assert.equal(body.errors[0]?.code, 6003);
    assert.equal(body.errors[0]?.error_chain[0]?.code, 6111);
    await assert.rejects(sdk(emulator).zeroTrust.tunnels.cloudflared.list({ account_id: 'f'.repeat(32) }).then((page) => page.result), (error: unknown) => {
      assert.ok(error instanceof PermissionDeniedError);
      assert.equal((error.errors as Array<{ code: number }>)[0]?.code, 10000);
      return true;
    });
  });

  it('fault switch: the next 2 requests answer 503, then the API recovers; latency is added', async () => {
    await admin(emulator, 'PUT', '/faults', { failNext: 2, failStatus: 503 });
    for (let i = 0; i < 2; i++) {
      await assert.rejects(cf.zones.list({ name: 'axelabs.ai' }), (error: unknown) => error instanceof InternalServerError && error.status === 503);
    }
    assert.equal((await cf.zones.list({ name: 'axelabs.ai' })).result.length, 1);
    await admin(emulator, 'PUT', '/faults', { failNext: 1 });
    const retrying = sdk(emulator, { maxRetries: 2 });
    assert.equal((await retrying.zones.list({ name: 'axelabs.ai' })).result.length, 1, 'the SDK retries through one 5xx');
    await admin(emulator, 'PUT', '/faults', { latencyMs: 150 });
    const started = Date.now();
    await cf.zones.list({ name: 'axelabs.ai' });
    assert.ok(Date.now() - started >= 140, `latency ${Date.now() - started} ms`);
    await admin(emulator, 'DELETE', '/faults');
  });

  it('counts requests by route and writes; a read-only pass performs 0 writes', async () => {
    await admin(emulator, 'POST', '/stats/reset');
    const tunnel = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emulator.accountId, name: 'axe-stats', config_src: 'cloudflare' });
    await cf.dns.records.create({ zone_id: emulator.zoneId, type: 'CNAME', name: 'stats', content: `${tunnel.id}.cfargotunnel.com`, proxied: true, ttl: 1 });
    let stats = await admin<StatsSnapshot>(emulator, 'GET', '/stats');
    assert.equal(stats.writes, 2);
    assert.equal(stats.byRoute['POST /accounts/:account_id/cfd_tunnel'], 1);
    assert.equal(stats.byRoute['POST /zones/:zone_id/dns_records'], 1);
    await admin(emulator, 'POST', '/stats/reset');
    await cf.zeroTrust.tunnels.cloudflared.list({ account_id: emulator.accountId, name: 'axe-stats', is_deleted: false });
    await cf.dns.records.list({ zone_id: emulator.zoneId, name: { exact: 'stats.axelabs.ai' } });
    stats = await admin<StatsSnapshot>(emulator, 'GET', '/stats');
    assert.equal(stats.writes, 0);
    assert.equal(stats.total, 2);
  });

  it('keeps tunnels and records in a 0600 state file across a restart', async () => {
    const tunnel = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emulator.accountId, name: 'axe-persist', config_src: 'cloudflare' });
    const record = await cf.dns.records.create({ zone_id: emulator.zoneId, type: 'CNAME', name: 'persist', content: `${tunnel.id}.cfargotunnel.com`, proxied: true, ttl: 1 });
    const token = emulator.token;
    const zoneId = emulator.zoneId;
    await emulator.close();
    assert.equal((await stat(join(dir, 'state.json'))).mode & 0o777, 0o600);
    emulator = await startCloudflareEmulator({ stateFile: join(dir, 'state.json'), tokens: [token], connectors: noConnectors });
    cf = sdk(emulator);
    assert.equal(emulator.zoneId, zoneId);
    const got = await cf.dns.records.get(record.id, { zone_id: emulator.zoneId });
    assert.equal(got.content, `${tunnel.id}.cfargotunnel.com`);
    const again = await cf.zeroTrust.tunnels.cloudflared.get(tunnel.id ?? '', { account_id: emulator.accountId });
    assert.equal(again.name, 'axe-persist');
  });
});

function newTokenLike(): string {
  return randomBytes(30).toString('base64url');
}

describe('Cloudflare emulator rate limit', () => {
  it('answers 429 with Retry-After and code 971 past the limit; the SDK throws RateLimitError', async () => {
    await using emulator = await startCloudflareEmulator({ connectors: noConnectors, rateLimit: { limit: 3, windowMs: 60_000 } });
    const cf = sdk(emulator);
    for (let i = 0; i < 3; i++) await cf.zones.list();
    await assert.rejects(cf.zones.list(), (error: unknown) => {
      assert.ok(error instanceof RateLimitError);
      assert.equal(error.status, 429);
      assert.ok(Number(error.headers?.get('retry-after')) > 0, 'Retry-After in seconds');
      assert.deepEqual(error.errors, [{ code: 971, message: 'Please wait and consider throttling your request speed' }]);
      return true;
    });
    const stats = await admin<StatsSnapshot>(emulator, 'GET', '/stats');
    assert.equal(stats.byStatus['429'], 1);
    // The window can be changed at run time through the admin route.
    await admin(emulator, 'PUT', '/rate-limit', { limit: 100, windowSeconds: 60 });
    assert.equal((await cf.zones.list()).result.length, 1);
  });
});

describe('lab edge', () => {
  it('streams a request to the tunnel\'s connector with Cf-Connecting-IP and CF-RAY, and answers /cdn-cgi/trace', async () => {
    const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];
    const origin: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.writeHead(201, { 'content-type': 'text/plain', 'x-origin': 'yes' });
        res.end(`got ${body.length} bytes`);
      });
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    let tunnelId = '';
    const connectors: ConnectorSource = {
      snapshot: async () => ({
        byTunnel: new Map([[tunnelId, [{ containerId: 'c', name: 'loopback', running: true, port: (origin.address() as AddressInfo).port, createdAt: new Date().toISOString() }]]]),
        error: null,
      }),
    };
    try {
      await using emulator = await startCloudflareEmulator({ connectors });
      const cf = sdk(emulator);
      const tunnel = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emulator.accountId, name: 'axe-edge', config_src: 'cloudflare' });
      tunnelId = tunnel.id ?? '';
      await cf.dns.records.create({ zone_id: emulator.zoneId, type: 'CNAME', name: 'edge', content: `${tunnelId}.cfargotunnel.com`, proxied: true, ttl: 1 });
      const body = 'x'.repeat(100_000);
      const answer = await edgeRequest(emulator.edgeUrl, 'edge.axelabs.ai', '/frame/health?probe=1', { method: 'POST', body, headers: { 'content-type': 'text/plain', 'cf-connecting-ip': '203.0.113.9' } });
      assert.equal(answer.status, 201);
      assert.equal(answer.body, 'got 100000 bytes');
      assert.equal(answer.headers['x-origin'], 'yes');
      assert.equal(answer.headers.server, 'cloudflare');
      const [request] = seen;
      assert.equal(request?.method, 'POST');
      assert.equal(request?.url, '/frame/health?probe=1');
      assert.equal(request?.headers.host, 'edge.axelabs.ai');
      assert.equal(request?.headers['cf-connecting-ip'], '127.0.0.1', 'the edge sets it; a visitor cannot forge it');
      assert.match(String(request?.headers['cf-ray']), /^[0-9a-f]{16}-LAB$/);
      assert.equal(request?.headers['cf-ray'], answer.headers['cf-ray']);
      const trace = await edgeRequest(emulator.edgeUrl, 'edge.axelabs.ai', '/cdn-cgi/trace');
      assert.equal(trace.status, 200);
      assert.match(trace.body, /^h=edge\.axelabs\.ai$/m);
      assert.match(trace.body, /^colo=LAB$/m);
      assert.equal(seen.length, 1, 'the trace is answered by the edge, not the connector');
      const tunnelNow = await cf.zeroTrust.tunnels.cloudflared.get(tunnelId, { account_id: emulator.accountId });
      assert.equal(tunnelNow.status, 'healthy');
      assert.deepEqual(tunnelNow.connections, [], 'the deprecated array is empty; connections are at their own endpoint');
      const listed = [];
      for await (const c of cf.zeroTrust.tunnels.cloudflared.connections.get(tunnelId, { account_id: emulator.accountId })) listed.push(c);
      assert.equal(listed.length, 1);
    } finally {
      origin.close();
    }
  });

  it('answers 530/1016 with no record, 421 for a DNS-only record, 530/1033 for a tunnel without connector', async () => {
    await using emulator = await startCloudflareEmulator({ connectors: noConnectors });
    const cf = sdk(emulator);
    const none = await edgeRequest(emulator.edgeUrl, 'nothing.axelabs.ai', '/');
    assert.equal(none.status, 530);
    assert.equal(none.body, 'error code: 1016\n');
    await cf.dns.records.create({ zone_id: emulator.zoneId, type: 'A', name: 'plain', content: '192.0.2.1', ttl: 1 });
    const plain = await edgeRequest(emulator.edgeUrl, 'plain.axelabs.ai', '/');
    assert.equal(plain.status, 421);
    assert.match(plain.body, /DNS-only/);
    const tunnel = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emulator.accountId, name: 'axe-idle', config_src: 'cloudflare' });
    await cf.dns.records.create({ zone_id: emulator.zoneId, type: 'CNAME', name: 'idle', content: `${tunnel.id}.cfargotunnel.com`, proxied: true, ttl: 1 });
    const idle = await edgeRequest(emulator.edgeUrl, 'idle.axelabs.ai', '/', { headers: { accept: 'text/html' } });
    assert.equal(idle.status, 530);
    assert.match(idle.body, /1033/);
    assert.match(String(idle.headers['x-axe-lab-detail']), /has no connector/);
    const trace = await edgeRequest(emulator.edgeUrl, 'idle.axelabs.ai', '/cdn-cgi/trace');
    assert.equal(trace.status, 200, 'a proxied hostname answers the trace even with the tunnel down');
  });

  it('routes a public request through a cloudflared stand-in container, and answers 1033 once it stops', async () => {
    await ensureStandInImages();
    const dir = await mkdtemp(join(tmpdir(), 'axe-test-cf-edge-'));
    const container = `${RUN}-cloudflared`;
    await using emulator = await startCloudflareEmulator({ connectors: dockerConnectorSource({ cacheMs: 200 }) });
    try {
      const cf = sdk(emulator);
      const secret = randomBytes(32).toString('base64');
      const tunnel = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: emulator.accountId, name: `axe-${RUN}`, config_src: 'local', tunnel_secret: secret });
      assert.ok(tunnel.id);
      // What `cloudflared tunnel create` writes: the create answer (the spec's tunnel object) carries no credentials.
      const credentials = { AccountTag: emulator.accountId, TunnelID: tunnel.id, TunnelName: `axe-${RUN}`, TunnelSecret: secret };
      const hostname = `${RUN}.axelabs.ai`;
      await cf.dns.records.create({ zone_id: emulator.zoneId, type: 'CNAME', name: hostname, content: `${tunnel.id}.cfargotunnel.com`, proxied: true, ttl: 1 });
      await writeFile(join(dir, `${tunnel.id}.json`), JSON.stringify(credentials), { mode: 0o600 });
      await writeFile(join(dir, 'config.yml'), [`tunnel: ${tunnel.id}`, `credentials-file: /etc/cloudflared/${tunnel.id}.json`, 'ingress:', `  - hostname: ${hostname}`, '    service: hello_world', '  - service: http_status:404', ''].join('\n'));
      await chmod(dir, 0o755);
      await exec('docker', ['run', '-d', '--name', container, '--label', `${LAB_LABEL}=1`, '--label', `${TUNNEL_LABEL}=${tunnel.id}`, '-p', '127.0.0.1::8080', '-v', `${dir}:/etc/cloudflared:ro`, CLOUDFLARED_IMAGE]);

      let answer: EdgeAnswer | null = null;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        answer = await edgeRequest(emulator.edgeUrl, hostname, '/hello');
        if (answer.status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(answer?.status, 200, `edge answered ${answer?.status}: ${answer?.body} ${String(answer?.headers['x-axe-lab-detail'] ?? '')}`);
      assert.match(answer?.body ?? '', /Hello from the axe lab cloudflared stand-in/);
      const other = await edgeRequest(emulator.edgeUrl, `other-${RUN}.axelabs.ai`, '/');
      assert.equal(other.status, 530, 'no record for another name');
      const trace = await edgeRequest(emulator.edgeUrl, hostname, '/cdn-cgi/trace');
      assert.match(trace.body, new RegExp(`^h=${hostname.replace(/\./g, '\\.')}$`, 'm'));
      const healthy = await cf.zeroTrust.tunnels.cloudflared.get(tunnel.id, { account_id: emulator.accountId });
      assert.equal(healthy.status, 'healthy');
      const connectors = [];
      for await (const c of cf.zeroTrust.tunnels.cloudflared.connections.get(tunnel.id, { account_id: emulator.accountId })) connectors.push(c);
      assert.equal(connectors.length, 1);

      await exec('docker', ['stop', '-t', '1', container]);
      // Docker's container list follows the stop within the connector cache time (200 ms here).
      let stopped: EdgeAnswer | null = null;
      let status: string | undefined;
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        stopped = await edgeRequest(emulator.edgeUrl, hostname, '/hello');
        status = (await cf.zeroTrust.tunnels.cloudflared.get(tunnel.id, { account_id: emulator.accountId })).status;
        if (stopped.status === 530 && status === 'down') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(stopped?.status, 530);
      assert.equal(stopped?.body, 'error code: 1033\n');
      assert.equal(status, 'down');
      const down = await cf.zeroTrust.tunnels.cloudflared.get(tunnel.id, { account_id: emulator.accountId });
      assert.ok(down.conns_inactive_at, 'conns_inactive_at is stamped');
    } finally {
      await exec('docker', ['rm', '-f', container]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('lab part cloudflare', () => {
  it('up starts one detached server (endpoint, 0600 token and state), up again reuses it, down stops it and removes its folder', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'axe-test-cf-part-'));
    const part = createCloudflarePart({ apiPort: 0, edgePort: 0 });
    const ctx = { stateDir, log: () => undefined };
    try {
      await part.up(ctx);
      const endpoint = await readCloudflareEndpoint(stateDir);
      assert.ok(endpoint);
      assert.equal(endpoint.accountId, LAB_ACCOUNT_ID);
      assert.equal(endpoint.zone, 'axelabs.ai');
      const paths = cloudflarePaths(stateDir);
      assert.equal(endpoint.tokenFile, paths.token);
      assert.equal((await stat(paths.token)).mode & 0o777, 0o600);
      assert.equal((await stat(paths.state)).mode & 0o777, 0o600);
      const token: Secret = await readCloudflareToken(stateDir);
      const cf = new Cloudflare({ apiToken: token.reveal(), baseURL: endpoint.apiBaseUrl, maxRetries: 0 });
      assert.equal((await cf.zones.list({ name: 'axelabs.ai' })).result[0]?.id, endpoint.zoneId);

      await part.up(ctx);
      assert.equal((await readCloudflareEndpoint(stateDir))?.pid, endpoint.pid, 'a second up keeps the running server');
      const status = await part.status(ctx);
      assert.equal(status.ready, true);
      assert.ok(status.detail.includes(endpoint.apiBaseUrl));

      assert.doesNotMatch(await readFile(paths.log, 'utf8'), new RegExp(token.reveal()), 'the token is never logged');

      await part.down(ctx);
      assert.throws(() => process.kill(endpoint.pid, 0), 'the server process is gone');
      await assert.rejects(stat(paths.dir));
      assert.equal((await part.status(ctx)).ready, false);
      await part.down(ctx);
    } finally {
      await part.down(ctx).catch(() => undefined);
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
