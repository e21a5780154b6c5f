/**
 * The lab's stand-in images and service repos against the real Docker engine and
 * Compose v2: frame (blue/green behind the proxy, hooks, a broken release), blueprint
 * (the SSO trap), hive, the missing-external-network trap, the vaultwarden stand-in
 * (the DOMAIN path trap, the four keys) and the cloudflared stand-in (ingress routing,
 * /ready, bad credentials).
 *
 * Everything carries the label ai.axelabs.lab=1 and a unique `axelab-test-…` name and
 * is removed in `finally`/`after`. Requests to containers come from throwaway labelled
 * client containers on the test network; nothing here talks to a non-loopback address.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LAB_LABEL } from '../lab/component.js';
import { BASE_IMAGE } from '../lab/images/base.js';
import { CLOUDFLARED_IMAGE, ensureStandInImages, imagesPart, labImages, VAULTWARDEN_IMAGE } from '../lab/images/index.js';
import { vaultwardenComposeFile } from '../lab/images/vaultwarden-compose.js';
import { createServiceRepos, SERVICE_NAMES, type ServiceRepo } from '../lab/services/index.js';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(command: string, args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function ok(command: string, args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  const result = await sh(command, args, options);
  assert.equal(result.code, 0, `${command} ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

const RUN = `axelab-test-${randomBytes(3).toString('hex')}`;
const NETWORK = `${RUN}-net`;
const FRAME_VOLUME = `${RUN}-frame-data`;
let workDir = '';
let repos: Record<string, ServiceRepo> = {};
const projects: Array<{ dir: string; project: string }> = [];
const containers: string[] = [];

/** A compose project in `dir`, driven the way axe drives it. */
function compose(dir: string, project: string, args: string[], timeoutMs = 120_000): Promise<RunResult> {
  return sh('docker', ['compose', '-p', project, '--env-file', '.env.local', ...args], { cwd: dir, timeoutMs });
}

async function writeEnv(dir: string, values: Record<string, string>): Promise<void> {
  const text = Object.entries(values)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
  await writeFile(join(dir, '.env.local'), text, { mode: 0o600 });
}

async function checkout(service: string, ref: string, name: string): Promise<string> {
  const repo = repos[service];
  assert.ok(repo, `no repo for ${service}`);
  const dir = join(workDir, name);
  await ok('git', ['-c', 'advice.detachedHead=false', 'clone', '-q', '--branch', ref, repo.path, dir]);
  return dir;
}

interface ClientRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface ClientResponse {
  status: number;
  body: string;
  error?: string;
}

/** Node script for a throwaway client container: makes each request (node:http, so a Host header is kept), prints the results as JSON. */
const CLIENT_SCRIPT = `
const http = require('http');
const reqs = JSON.parse(process.argv[1]);
function send(r) {
  return new Promise((resolve) => {
    const u = new URL(r.url);
    const req = http.request({ host: u.hostname, port: u.port || 80, path: u.pathname + u.search, method: r.method || 'GET', headers: r.headers || {}, timeout: 10000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: '', error: String(e) }));
    req.end(r.body);
  });
}
(async () => {
  const out = [];
  for (const r of reqs) out.push(await send(r));
  console.log(JSON.stringify(out));
})();`;

/** Runs requests from a labelled client container on the test network. */
async function fromNetwork(requests: ClientRequest[]): Promise<ClientResponse[]> {
  const name = `${RUN}-client-${randomBytes(3).toString('hex')}`;
  const stdout = await ok('docker', ['run', '--rm', '--name', name, '--label', `${LAB_LABEL}=1`, '--network', NETWORK, BASE_IMAGE, 'node', '-e', CLIENT_SCRIPT, JSON.stringify(requests)]);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as ClientResponse[];
}

async function one(request: ClientRequest): Promise<ClientResponse> {
  const [response] = await fromNetwork([request]);
  assert.ok(response);
  return response;
}

function json(response: ClientResponse): Record<string, unknown> {
  return JSON.parse(response.body) as Record<string, unknown>;
}

before(async () => {
  await ensureStandInImages();
  workDir = await mkdtemp(join(tmpdir(), 'axelab-test-images-'));
  repos = await createServiceRepos(join(workDir, 'repos'));
  await ok('docker', ['network', 'create', '--label', `${LAB_LABEL}=1`, NETWORK]);
  await ok('docker', ['volume', 'create', '--label', `${LAB_LABEL}=1`, FRAME_VOLUME]);
});

after(async () => {
  for (const name of containers) await sh('docker', ['rm', '-f', name]);
  for (const { dir, project } of projects) await compose(dir, project, ['down', '-v', '--remove-orphans', '-t', '1']);
  const leftovers = await sh('docker', ['ps', '-aq', '--filter', `name=${RUN}`]);
  for (const id of leftovers.stdout.split('\n').filter(Boolean)) await sh('docker', ['rm', '-f', id]);
  await sh('docker', ['network', 'rm', NETWORK]);
  await sh('docker', ['volume', 'rm', FRAME_VOLUME]);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('images part', () => {
  test('reports the stand-in images present, labelled, and ensure is a no-op when they are fresh', async () => {
    const status = await imagesPart.status({ stateDir: workDir, log: () => {} });
    assert.equal(status.ready, true, status.detail);
    const images = await labImages();
    for (const image of [BASE_IMAGE, VAULTWARDEN_IMAGE, CLOUDFLARED_IMAGE]) assert.ok(images.includes(image), `${image} not labelled`);
    const built: string[] = [];
    const started = Date.now();
    await ensureStandInImages({ log: (m) => built.push(m) });
    assert.deepEqual(built, [], 'fresh images are not rebuilt');
    assert.ok(Date.now() - started < 5000);
  });
});

describe('service repos', () => {
  test('each service has a bare repo with real tags, and frame has the broken release', async () => {
    assert.deepEqual(Object.keys(repos).sort(), [...SERVICE_NAMES].sort());
    assert.deepEqual(repos.frame?.tags, ['v1.0.0', 'v1.1.0', 'v1.2.0-broken']);
    assert.deepEqual(repos.hive?.tags, ['v1.0.0', 'v1.1.0']);
    const tags = await ok('git', ['tag', '--list'], { cwd: repos.frame?.path });
    assert.deepEqual(tags.trim().split('\n'), ['v1.0.0', 'v1.1.0', 'v1.2.0-broken']);
    const v1 = await ok('git', ['show', 'v1.0.0:VERSION'], { cwd: repos.frame?.path });
    const v11 = await ok('git', ['show', 'v1.1.0:VERSION'], { cwd: repos.frame?.path });
    assert.equal(v1.trim(), '1.0.0');
    assert.equal(v11.trim(), '1.1.0');
    const compose = await ok('git', ['show', 'v1.0.0:docker-compose.yml'], { cwd: repos.frame?.path });
    assert.doesNotMatch(compose, /container_name/);
    // Deterministic: recreating gives the same commit ids.
    const first = await ok('git', ['rev-parse', 'v1.1.0^{commit}'], { cwd: repos.frame?.path });
    const again = await createServiceRepos(join(workDir, 'repos-again'));
    const second = await ok('git', ['rev-parse', 'v1.1.0^{commit}'], { cwd: again.frame?.path });
    assert.equal(second, first);
  });
});

describe('frame', () => {
  test('blue/green: up, hooks, switch with no failed request, broken release never ready', async (t) => {
    const dir = await checkout('frame', 'v1.0.0', 'frame');
    const project = `${RUN}-frame`;
    projects.push({ dir, project });
    const env = { AXE_REF: 'v1.0.0', AXE_NETWORK: NETWORK, AXE_FRAME_DATA_VOLUME: FRAME_VOLUME, AXE_LAB_SECRET_PROBE: 'probe-secret-value' };
    await writeEnv(dir, env);
    // --build: a stale image from an older stand-in must not hide a regression here.
    const up = await compose(dir, project, ['up', '-d', '--wait', '--build']);
    assert.equal(up.code, 0, up.stderr);

    const [ready, version, viaProxy, mcp] = await fromNetwork([
      { url: 'http://frame-mcp-blue:8080/health/ready' },
      { url: 'http://frame-mcp-green:8080/frame/version' },
      { url: 'http://frame-proxy:8080/frame/version' },
      { url: 'http://frame-proxy:8080/frame/mcp', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":7,"method":"initialize"}' },
    ]);
    assert.equal(ready?.status, 200);
    assert.deepEqual(json(ready!), { status: 'ready', color: 'blue', version: '1.0.0' });
    assert.equal(json(version!).color, 'green');
    assert.equal(json(viaProxy!).color, 'blue', 'the proxy starts on blue');
    assert.equal(json(mcp!).id, 7);

    // Hooks: idempotent register, list, migrate, a stable token; all in the hooks log.
    const exec = (service: string, ...args: string[]) => compose(dir, project, ['exec', '-T', service, ...args]);
    const first = await exec('frame-mcp-blue', 'frame', 'register-entity', '--id', 'acme', '--legal-name', 'Acme Ltd', '--kind', 'corporate', '--accounting-standard', 'ksme');
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { result: 'created', id: 'acme' });
    const second = await exec('frame-mcp-green', 'frame', 'register-entity', '--id', 'acme', '--legal-name', 'Acme Ltd', '--kind', 'corporate', '--accounting-standard', 'ksme');
    assert.deepEqual(JSON.parse(second.stdout), { result: 'unchanged', id: 'acme' });
    const list = await exec('frame-mcp-blue', 'frame', 'list-entities', '--json');
    const entities = JSON.parse(list.stdout) as Array<{ id: string; legal_name: string }>;
    assert.equal(entities.length, 1);
    assert.equal(entities[0]?.legal_name, 'Acme Ltd');
    const migrate = await exec('frame-mcp-blue', 'frame', 'migrate');
    assert.deepEqual(JSON.parse(migrate.stdout), { result: 'applied', version: '1.0.0' });
    const token1 = (await exec('frame-mcp-blue', 'frame', 'mcp-token')).stdout.trim();
    const token2 = (await exec('frame-mcp-green', 'frame', 'mcp-token')).stdout.trim();
    assert.match(token1, /^[0-9a-f]{64}$/);
    assert.equal(token2, token1, 'the token is stable per data volume');
    const bad = await exec('frame-mcp-blue', 'frame', 'register-entity', '--legal-name', 'No Id');
    assert.notEqual(bad.code, 0);
    const log = await exec('frame-mcp-blue', 'cat', '/data/hooks.log');
    const hooks = log.stdout.trim().split('\n').map((line) => JSON.parse(line) as { hook: string; result: string });
    assert.deepEqual(
      hooks.map((h) => `${h.hook}:${h.result}`),
      ['register-entity:created', 'register-entity:unchanged', 'list-entities:ok', 'migrate:applied', 'mcp-token:created', 'mcp-token:existing', 'register-entity:error'],
    );
    assert.doesNotMatch(log.stdout, new RegExp(token1), 'the token never reaches the hooks log');
    const logs = await compose(dir, project, ['logs', '--no-color']);
    assert.doesNotMatch(logs.stdout + logs.stderr, /probe-secret-value/);

    // Green moves to v1.1.0 (a new image), then the proxy switches while a poller runs.
    await ok('git', ['-c', 'advice.detachedHead=false', 'checkout', '-q', 'v1.1.0'], { cwd: dir });
    await writeEnv(dir, { ...env, AXE_FRAME_GREEN_REF: 'v1.1.0' });
    const green = await compose(dir, project, ['up', '-d', '--wait', '--build', '--no-deps', 'frame-mcp-green']);
    assert.equal(green.code, 0, green.stderr);
    const greenVersion = await one({ url: 'http://frame-mcp-green:8080/frame/version' });
    assert.equal(json(greenVersion).version, '1.1.0');

    const pollerName = `${RUN}-poller`;
    containers.push(pollerName);
    const pollerScript = `
      const end = Date.now() + Number(process.argv[2]);
      let ok = 0, failed = 0; const seen = []; const errors = [];
      (async () => {
        while (Date.now() < end) {
          const t = Date.now();
          try {
            const res = await fetch(process.argv[1]);
            const body = await res.json();
            if (res.status === 200) { ok++; const tag = body.color + '@' + body.version; if (seen[seen.length - 1] !== tag) seen.push(tag); }
            else { failed++; errors.push(res.status); }
          } catch (e) { failed++; errors.push(String(e.cause || e)); }
          await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - t))));
        }
        console.log(JSON.stringify({ ok, failed, seen, errors: errors.slice(0, 5) }));
      })();`;
    const poller = new Promise<string>((resolve, reject) => {
      const child = spawn('docker', ['run', '--rm', '--name', pollerName, '--label', `${LAB_LABEL}=1`, '--network', NETWORK, BASE_IMAGE, 'node', '-e', pollerScript, 'http://frame-proxy:8080/frame/version', '5000']);
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`poller exited ${code}: ${out}`))));
    });
    await new Promise((r) => setTimeout(r, 2000));
    const switched = await exec('axe-frame-proxy', 'frame-proxy-switch', 'green');
    assert.equal(switched.code, 0, switched.stderr);
    assert.deepEqual(JSON.parse(switched.stdout), { active: 'frame-mcp-green', previous: 'frame-mcp-blue' });
    const summary = JSON.parse((await poller).trim().split('\n').pop() ?? '{}') as { ok: number; failed: number; seen: string[]; errors: unknown[] };
    assert.equal(summary.failed, 0, `requests failed during the switch: ${JSON.stringify(summary.errors)}`);
    assert.ok(summary.ok >= 40, `too few requests: ${summary.ok}`);
    t.diagnostic(`switch under load: ${summary.ok} requests, ${summary.failed} failed`);
    assert.deepEqual(summary.seen, ['blue@1.0.0', 'green@1.1.0']);
    assert.equal((await exec('axe-frame-proxy', 'frame-proxy-switch')).stdout.trim(), 'frame-mcp-green');

    // Blue moves to the broken release: never healthy; the proxy refuses to switch to it.
    await ok('git', ['-c', 'advice.detachedHead=false', 'checkout', '-q', 'v1.2.0-broken'], { cwd: dir });
    await writeEnv(dir, { ...env, AXE_FRAME_GREEN_REF: 'v1.1.0', AXE_FRAME_BLUE_REF: 'v1.2.0-broken' });
    const started = Date.now();
    const broken = await compose(dir, project, ['up', '-d', '--wait', '--wait-timeout', '6', '--build', '--no-deps', 'frame-mcp-blue']);
    assert.ok(Date.now() - started < 60_000);
    // Compose 2.26 (Debian's) can exit 0 when --wait-timeout ends between two health
    // polls (seen once in CI under load). The product never trusts that exit alone: it
    // polls the release's ready path before a switch, and the proxy refuses an unready
    // color (below). So what must hold is that the container is not healthy.
    if (broken.code === 0) {
      const ps = await compose(dir, project, ['ps', '--format', '{{.Health}}', 'frame-mcp-blue']);
      const health = ps.stdout.trim();
      assert.equal(ps.code, 0, ps.stderr);
      t.diagnostic(`compose up --wait exited 0 for the broken release; its health: ${health}`);
      assert.notEqual(health, 'healthy', `the broken release reads healthy: ${broken.stdout}${broken.stderr}`);
    } else {
      assert.match(broken.stderr, /not healthy|unhealthy/, 'compose names why it failed');
    }
    const [blueReady, stillGreen] = await fromNetwork([{ url: 'http://frame-mcp-blue:8080/health/ready' }, { url: 'http://frame-proxy:8080/frame/version' }]);
    assert.equal(blueReady?.status, 503);
    assert.equal(json(blueReady!).version, '1.2.0-broken');
    assert.equal(json(stillGreen!).color, 'green');
    const refused = await exec('axe-frame-proxy', 'frame-proxy-switch', 'blue');
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /refusing to switch to frame-mcp-blue/);

    // The lab switch AXE_LAB_FAIL_HEALTH=1 makes a good image not ready.
    const failing = `${RUN}-failhealth`;
    containers.push(failing);
    await ok('docker', ['run', '-d', '--name', failing, '--label', `${LAB_LABEL}=1`, '--network', NETWORK, '-e', 'AXE_LAB_FAIL_HEALTH=1', 'axelab-frame-mcp:v1.0.0']);
    await new Promise((r) => setTimeout(r, 700));
    const forced = await one({ url: `http://${failing}:8080/health/ready` });
    assert.equal(forced.status, 503);
    assert.match(String(json(forced).reason), /AXE_LAB_FAIL_HEALTH/);

    // Data survives the stack: PG_VERSION from the postgres stand-in is in the external volume.
    const down = await compose(dir, project, ['down', '-v', '-t', '1']);
    assert.equal(down.code, 0, down.stderr);
    const kept = await ok('docker', ['run', '--rm', '--label', `${LAB_LABEL}=1`, '-v', `${FRAME_VOLUME}:/data`, BASE_IMAGE, 'cat', '/data/PG_VERSION', '/data/entities.json']);
    assert.match(kept, /^16\n/);
    assert.match(kept, /Acme Ltd/);
  });

  test('a missing external volume or network fails compose with a message naming it', async () => {
    const dir = await checkout('frame', 'v1.0.0', 'frame-missing');
    const project = `${RUN}-frame-missing`;
    projects.push({ dir, project });
    const missingVolume = `${RUN}-no-such-volume`;
    await writeEnv(dir, { AXE_REF: 'v1.0.0', AXE_NETWORK: NETWORK, AXE_FRAME_DATA_VOLUME: missingVolume });
    const noVolume = await compose(dir, project, ['up', '-d', '--wait']);
    assert.notEqual(noVolume.code, 0);
    assert.match(noVolume.stderr, new RegExp(`${missingVolume}.*not found|not found.*${missingVolume}`));

    const hiveDir = await checkout('hive', 'v1.0.0', 'hive-missing');
    const hiveProject = `${RUN}-hive-missing`;
    projects.push({ dir: hiveDir, project: hiveProject });
    const missingNetwork = `${RUN}-no-such-net`;
    await writeEnv(hiveDir, { AXE_REF: 'v1.0.0', AXE_NETWORK: missingNetwork });
    const noNetwork = await compose(hiveDir, hiveProject, ['up', '-d', '--wait']);
    assert.notEqual(noNetwork.code, 0);
    assert.match(noNetwork.stderr, new RegExp(`network ${missingNetwork}.*not found`));

    await writeFile(join(hiveDir, '.env.local'), 'AXE_REF=v1.0.0\n', { mode: 0o600 });
    const unset = await compose(hiveDir, hiveProject, ['config', '-q']);
    assert.notEqual(unset.code, 0);
    assert.match(unset.stderr, /AXE_NETWORK/);
    // Leave a valid env file for the cleanup's `down`.
    await writeEnv(hiveDir, { AXE_REF: 'v1.0.0', AXE_NETWORK: missingNetwork });
  });
});

describe('blueprint and hive', () => {
  test('blueprint answers 503 naming the missing SSO keys, 200 once they are set', async () => {
    const dir = await checkout('blueprint', 'v1.0.0', 'blueprint');
    const project = `${RUN}-blueprint`;
    projects.push({ dir, project });
    await writeEnv(dir, { AXE_REF: 'v1.0.0', AXE_NETWORK: NETWORK, AZURE_AD_TENANT_ID: 'tenant-1' });
    const up = await compose(dir, project, ['up', '-d', '--build']);
    assert.equal(up.code, 0, up.stderr);
    let health: ClientResponse = { status: 0, body: '' };
    for (let i = 0; i < 20 && health.status === 0; i++) health = await one({ url: 'http://blueprint:3000/api/health' });
    assert.equal(health.status, 503);
    const body = json(health);
    assert.deepEqual(body.missing, ['AZURE_AD_CLIENT_ID', 'AZURE_AD_CLIENT_SECRET', 'FRAME_MCP_TOKEN']);
    assert.match(String(body.message), /SSO is not configured/);

    const secret = `s3cr3t-${randomBytes(6).toString('hex')}`;
    await writeEnv(dir, {
      AXE_REF: 'v1.0.0',
      AXE_NETWORK: NETWORK,
      AZURE_AD_TENANT_ID: 'tenant-1',
      AZURE_AD_CLIENT_ID: 'client-1',
      AZURE_AD_CLIENT_SECRET: secret,
      FRAME_MCP_TOKEN: 'token-1',
    });
    const again = await compose(dir, project, ['up', '-d', '--wait']);
    assert.equal(again.code, 0, again.stderr);
    const [healthy, page] = await fromNetwork([{ url: 'http://blueprint:3000/api/health' }, { url: 'http://blueprint:3000/' }]);
    assert.equal(healthy?.status, 200);
    assert.equal(json(healthy!).status, 'ok');
    assert.equal(page?.status, 200);
    assert.match(page?.body ?? '', /Blueprint/);
    const logs = await compose(dir, project, ['logs', '--no-color']);
    assert.doesNotMatch(logs.stdout + logs.stderr + (healthy?.body ?? '') + (page?.body ?? ''), new RegExp(secret));
  });

  test('hive is healthy, registers idempotently and logs hooks', async () => {
    const dir = await checkout('hive', 'v1.1.0', 'hive');
    const project = `${RUN}-hive`;
    projects.push({ dir, project });
    await writeEnv(dir, { AXE_REF: 'v1.1.0', AXE_NETWORK: NETWORK });
    const up = await compose(dir, project, ['up', '-d', '--wait', '--build']);
    assert.equal(up.code, 0, up.stderr);
    const ready = await one({ url: 'http://hive-mcp:8090/health/ready' });
    assert.equal(ready.status, 200);
    assert.equal(json(ready).version, '1.1.0');
    const exec = (...args: string[]) => compose(dir, project, ['exec', '-T', 'hive-mcp', ...args]);
    assert.equal(JSON.parse((await exec('hive', 'register-entity', '--id', 'acme', '--legal-name', 'Acme Ltd')).stdout).result, 'created');
    assert.equal(JSON.parse((await exec('hive', 'register-entity', '--id', 'acme', '--legal-name', 'Acme Ltd')).stdout).result, 'unchanged');
    assert.equal((JSON.parse((await exec('hive', 'list-entities', '--json')).stdout) as unknown[]).length, 1);
    assert.equal(JSON.parse((await exec('hive', 'migrate')).stdout).result, 'applied');
    const log = (await exec('cat', '/data/hooks.log')).stdout.trim().split('\n');
    assert.equal(log.length, 4);
    assert.equal((JSON.parse(log[0] ?? '{}') as { service: string }).service, 'hive');
  });
});

describe('vaultwarden stand-in', () => {
  test('serves /vault only when DOMAIN carries /vault, and reports the four keys', async () => {
    const dir = join(workDir, 'vault');
    await mkdir(dir);
    const project = `${RUN}-vault`;
    await writeEnv(dir, {});
    projects.push({ dir, project });
    await writeFile(join(dir, 'docker-compose.yml'), vaultwardenComposeFile({ domain: 'https://acme.axelabs.ai', withKeys: false, network: NETWORK }));
    const up = await compose(dir, project, ['up', '-d', '--wait']);
    assert.equal(up.code, 0, up.stderr);
    const [vaultAlive, rootAlive, config, started] = await fromNetwork([
      { url: 'http://axe-vaultwarden/vault/alive' },
      { url: 'http://axe-vaultwarden/alive' },
      { url: 'http://axe-vaultwarden/vault/lab/config' },
      { url: 'http://axe-vaultwarden/vault/lab/started' },
    ]);
    assert.equal(vaultAlive?.status, 404, 'without /vault in DOMAIN the vault is not served under /vault');
    assert.equal(rootAlive?.status, 200);
    const before = json(config!) as { DOMAIN: string; keys: Record<string, { set: boolean; value: string | null }> };
    assert.equal(before.DOMAIN, 'https://acme.axelabs.ai');
    assert.equal(before.keys.SSO_ONLY?.set, false);

    await writeFile(join(dir, 'docker-compose.yml'), vaultwardenComposeFile({ domain: 'https://acme.axelabs.ai/vault', withKeys: true, network: NETWORK }));
    const again = await compose(dir, project, ['up', '-d', '--wait']);
    assert.equal(again.code, 0, again.stderr);
    const [alive, config2, started2] = await fromNetwork([
      { url: 'http://axe-vaultwarden/vault/alive' },
      { url: 'http://axe-vaultwarden/vault/lab/config' },
      { url: 'http://axe-vaultwarden/vault/lab/started' },
    ]);
    assert.equal(alive?.status, 200);
    const keys = (json(config2!) as { keys: Record<string, { set: boolean; value: string | null }> }).keys;
    assert.deepEqual(
      Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, v.value])),
      { SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION: 'true', SIGNUPS_ALLOWED: 'true', SSO_ONLY: 'false', ORGANIZATION_INVITE_AUTO_ACCEPT: 'true' },
    );
    assert.notEqual(json(started2!).started, json(started!).started, 'a changed environment recreates the container');
  });

  test('the compose file keeps the runbook anchor and the image it runs', () => {
    const without = vaultwardenComposeFile({ domain: 'https://acme.axelabs.ai/vault', withKeys: false, network: 'n' });
    const withKeys = vaultwardenComposeFile({ domain: 'https://acme.axelabs.ai/vault', withKeys: true, network: 'n' });
    assert.match(without, /SSO_SIGNUPS_MATCH_EMAIL:\s+"true"/);
    assert.doesNotMatch(without, /SSO_ONLY/);
    assert.match(withKeys, /SSO_SIGNUPS_MATCH_EMAIL:\s+"true"\n\s+SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION:\s+"true"/);
    assert.match(withKeys, new RegExp(`image: ${VAULTWARDEN_IMAGE}`));
    assert.doesNotMatch(withKeys, /container_name/);
  });
});

describe('cloudflared stand-in', () => {
  test('routes by hostname and path, serves /ready, 502 when the origin is down, rejects bad credentials', async () => {
    const dir = join(workDir, 'cloudflared');
    await mkdir(dir);
    const tunnel = randomUUID();
    const credentials = { AccountTag: 'acct-lab', TunnelSecret: randomBytes(32).toString('base64'), TunnelID: tunnel };
    await writeFile(join(dir, `${tunnel}.json`), JSON.stringify(credentials), { mode: 0o600 });
    const backend = `${RUN}-backend`;
    const config = [
      `tunnel: ${tunnel}`,
      `credentials-file: /etc/cloudflared/${tunnel}.json`,
      'ingress:',
      '  - hostname: acme.axelabs.ai',
      '    path: ^/frame',
      `    service: http://${backend}:8080`,
      '  - hostname: "*.axelabs.ai"',
      '    service: http_status:418',
      '  - service: http_status:404',
      '',
    ].join('\n');
    await writeFile(join(dir, 'config.yml'), config);

    containers.push(backend);
    const echo = "require('http').createServer((q,s)=>{let b='';q.on('data',c=>b+=c);q.on('end',()=>s.end(JSON.stringify({method:q.method,url:q.url,host:q.headers.host,body:b})))}).listen(8080)";
    await ok('docker', ['run', '-d', '--name', backend, '--label', `${LAB_LABEL}=1`, '--network', NETWORK, BASE_IMAGE, 'node', '-e', echo]);
    const cfd = `${RUN}-cloudflared`;
    containers.push(cfd);
    await ok('docker', ['run', '-d', '--name', cfd, '--label', `${LAB_LABEL}=1`, '--network', NETWORK, '-v', `${dir}:/etc/cloudflared:ro`, CLOUDFLARED_IMAGE]);
    for (let i = 0; i < 40; i++) {
      const health = await ok('docker', ['inspect', '--format', '{{.State.Health.Status}}', cfd]);
      if (health.trim() === 'healthy') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const [ready, routed, other, wildcard, noHost] = await fromNetwork([
      { url: `http://${cfd}:2000/ready` },
      { url: `http://${cfd}:8080/frame/mcp?x=1`, method: 'POST', headers: { host: 'acme.axelabs.ai', 'content-type': 'text/plain' }, body: 'hello' },
      { url: `http://${cfd}:8080/other`, headers: { host: 'acme.axelabs.ai' } },
      { url: `http://${cfd}:8080/frame`, headers: { host: 'beta.axelabs.ai' } },
      { url: `http://${cfd}:8080/frame`, headers: { host: 'example.com' } },
    ]);
    assert.equal(ready?.status, 200);
    assert.deepEqual({ ...json(ready!), connectorId: undefined }, { status: 200, readyConnections: 1, connectorId: undefined });
    assert.equal(routed?.status, 200, routed?.body);
    assert.deepEqual(json(routed!), { method: 'POST', url: '/frame/mcp?x=1', host: 'acme.axelabs.ai', body: 'hello' });
    assert.equal(other?.status, 418, 'acme.axelabs.ai outside ^/frame falls to the wildcard rule, as in cloudflared');
    assert.equal(wildcard?.status, 418);
    assert.equal(noHost?.status, 404);

    await ok('docker', ['rm', '-f', backend]);
    const down = await one({ url: `http://${cfd}:8080/frame/x`, headers: { host: 'acme.axelabs.ai' } });
    assert.equal(down.status, 502);

    // A credentials file for another tunnel: exits non-zero with a cloudflared-like message.
    const badDir = join(workDir, 'cloudflared-bad');
    await mkdir(badDir);
    await writeFile(join(badDir, 'config.yml'), config);
    await writeFile(join(badDir, `${tunnel}.json`), JSON.stringify({ ...credentials, TunnelID: randomUUID() }), { mode: 0o600 });
    const bad = await sh('docker', ['run', '--rm', '--name', `${RUN}-cfd-bad`, '--label', `${LAB_LABEL}=1`, '-v', `${badDir}:/etc/cloudflared:ro`, CLOUDFLARED_IMAGE]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /ERR Tunnel credentials file .* is for tunnel/);
    const missing = await sh('docker', ['run', '--rm', '--name', `${RUN}-cfd-none`, '--label', `${LAB_LABEL}=1`, CLOUDFLARED_IMAGE]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Cannot load configuration file \/etc\/cloudflared\/config.yml/);
  });
});
