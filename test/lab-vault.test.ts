/**
 * The lab's `bw serve` emulator (lab/vault) and the product's `vaultwarden`
 * provider against it, over real HTTP on loopback; the real `bw` CLI for what
 * it does offline; the lab part as a detached process.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AxeError } from '../core/errors.js';
import { Fingerprints, fingerprintKeyPath } from '../core/fingerprint.js';
import { Secret } from '../core/secret.js';
import { startVaultEmulator, vaultPart, vaultPaths, readVaultEndpoint, type VaultCounters } from '../lab/vault/index.js';
import { openVault } from '../providers/vault/index.js';
import { FileSessionStore } from '../providers/vault/session-store.js';
import { bwServeEnvironment, VaultError, vaultLogin, VaultwardenVault } from '../providers/vault/vaultwarden.js';
import { freePort, tempDir, ROOT } from './helpers.js';

const exec = promisify(execFile);
// Providers made here without their own fingerprints key theirs under AXE_HOME: a temp one, not ~/.axe.
const fingerprintHome = await tempDir('vault-fingerprints');
after(() => fingerprintHome[Symbol.asyncDispose]());
process.env.AXE_HOME = fingerprintHome.path;

interface Envelope<T = unknown> {
  success: boolean;
  message?: string;
  data?: T;
}

async function call<T = unknown>(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Envelope<T> }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Envelope<T>) : ({} as Envelope<T>) };
}

async function admin<T = unknown>(adminUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${adminUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  assert.ok(response.ok, `admin ${method} ${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

async function counters(adminUrl: string): Promise<VaultCounters> {
  return (await admin<{ counters: VaultCounters }>(adminUrl, 'GET', '/state')).counters;
}

async function unlock(url: string, password: Secret): Promise<string> {
  const { body } = await call<{ raw: string }>(url, 'POST', '/unlock', { password: password.reveal() });
  assert.equal(body.success, true);
  return body.data!.raw;
}


interface ItemWire {
  id: string;
  name: string;
  type: number;
  folderId: string | null;
  notes: string | null;
  fields: Array<{ name: string; value: string; type: number }>;
  login?: { password: string | null; username: string | null };
  revisionDate: string;
  deletedDate: string | null;
  passwordHistory: Array<{ password: string }> | null;
  collectionIds: string[];
}

describe('vault emulator (bw serve API)', () => {
  it('status, unlock with a wrong and the right password, lock; locked refuses every vault route', async () => {
    await using vault = await startVaultEmulator({ email: 'ops@axe.invalid' });
    const status = await call<{ object: string; template: Record<string, unknown> }>(vault.url, 'GET', '/status');
    assert.equal(status.status, 200);
    assert.equal(status.body.data?.object, 'template');
    assert.equal(status.body.data?.template.status, 'locked');
    assert.equal(status.body.data?.template.userEmail, 'ops@axe.invalid');
    assert.deepEqual(Object.keys(status.body.data!.template).sort(), ['lastSync', 'serverUrl', 'status', 'userEmail', 'userId']);

    for (const [method, path] of [
      ['GET', '/list/object/items'],
      ['GET', '/list/object/folders'],
      ['GET', '/list/object/collections'],
      ['GET', '/object/item/whatever'],
      ['GET', '/object/template/item'],
      ['POST', '/object/item'],
      ['PUT', '/object/item/0d3c7e0e-3d6b-4c49-9b0f-000000000000'],
      ['DELETE', '/object/item/0d3c7e0e-3d6b-4c49-9b0f-000000000000'],
    ] as const) {
      const refused = await call(vault.url, method, path, method === 'POST' || method === 'PUT' ? { type: 1, name: 'x' } : undefined);
      assert.equal(refused.status, 400, `${method} ${path}`);
      assert.deepEqual(refused.body, { success: false, message: 'Vault is locked.' }, `${method} ${path}`);
    }

    const wrong = await call(vault.url, 'POST', '/unlock', { password: 'not-it' });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.success, false);
    assert.ok(!JSON.stringify(wrong.body).includes('not-it'));
    const empty = await call(vault.url, 'POST', '/unlock', {});
    assert.equal(empty.status, 400);

    const session = await unlock(vault.url, vault.password);
    assert.equal(Buffer.from(session, 'base64').length, 64);
    assert.equal((await call<{ template: { status: string } }>(vault.url, 'GET', '/status')).body.data?.template.status, 'unlocked');
    const folders = await call<{ object: string; data: Array<{ id: string | null; name: string }> }>(vault.url, 'GET', '/list/object/folders');
    assert.equal(folders.body.data?.object, 'list');
    assert.deepEqual(folders.body.data?.data, [{ object: 'folder', id: null, name: 'No Folder' }]);

    const locked = await call<{ title: string }>(vault.url, 'POST', '/lock');
    assert.equal(locked.body.data?.title, 'Your vault is locked.');
    assert.equal((await call(vault.url, 'GET', '/list/object/items')).body.message, 'Vault is locked.');
    const c = await counters(vault.adminUrl);
    assert.equal(c.unlocks, 1);
    assert.equal(c.failedUnlocks, 1);
  });

  it('items: logins and secure notes with fields, lists filtered by search / folder / collection, get by id and by name, edit, soft delete', async () => {
    await using vault = await startVaultEmulator({ unlocked: true, collections: [{ name: 'Operators' }] });
    const folder = await call<{ id: string; name: string }>(vault.url, 'POST', '/object/folder', { name: 'axe' });
    assert.equal(folder.body.success, true);
    const folderId = folder.body.data!.id;
    const collections = await call<{ data: Array<{ id: string; name: string; organizationId: string }> }>(vault.url, 'GET', '/list/object/collections');
    const collection = collections.body.data!.data[0]!;
    assert.equal(collection.name, 'Operators');

    const template = await call<{ object: string; template: Record<string, unknown> }>(vault.url, 'GET', '/object/template/item');
    assert.equal(template.body.data?.object, 'template');
    assert.equal(template.body.data?.template.type, 1);

    const login = await call<ItemWire>(vault.url, 'POST', '/object/item', {
      ...template.body.data!.template,
      name: 'AZURE_DEMO_BLUEPRINT_CLIENT_SECRET',
      notes: null,
      folderId,
      fields: [{ name: 'axe.customer', value: 'demo', type: 0 }],
      login: { username: null, password: 'first-value', uris: [] },
    });
    assert.equal(login.body.success, true);
    const id = login.body.data!.id;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(login.body.data!.login?.password, 'first-value');
    const note = await call<ItemWire>(vault.url, 'POST', '/object/item', { type: 2, name: 'PII_NOTE', notes: 'note-value', folderId, secureNote: { type: 0 }, collectionIds: [collection.id] });
    assert.equal(note.body.data!.type, 2);
    await call(vault.url, 'POST', '/object/item', { type: 1, name: 'ELSEWHERE', login: { password: 'x' } });
    assert.equal((await call(vault.url, 'POST', '/object/item', { type: 1 })).status, 400);
    assert.equal((await call(vault.url, 'POST', '/object/item', { type: 9, name: 'bad' })).status, 400);

    const names = async (query: string) =>
      (await call<{ data: ItemWire[] }>(vault.url, 'GET', `/list/object/items${query}`)).body.data!.data.map((i) => i.name).sort();
    assert.deepEqual(await names(''), ['AZURE_DEMO_BLUEPRINT_CLIENT_SECRET', 'ELSEWHERE', 'PII_NOTE']);
    assert.deepEqual(await names(`?folderid=${folderId}`), ['AZURE_DEMO_BLUEPRINT_CLIENT_SECRET', 'PII_NOTE']);
    assert.deepEqual(await names('?folderid=null'), ['ELSEWHERE']);
    assert.deepEqual(await names(`?collectionid=${collection.id}`), ['PII_NOTE']);
    assert.deepEqual(await names(`?folderid=${folderId}&search=blueprint`), ['AZURE_DEMO_BLUEPRINT_CLIENT_SECRET']);
    assert.deepEqual(await names('?search=nothing-like-it'), []);

    assert.equal((await call<ItemWire>(vault.url, 'GET', `/object/item/${id}`)).body.data?.name, 'AZURE_DEMO_BLUEPRINT_CLIENT_SECRET');
    assert.equal((await call<ItemWire>(vault.url, 'GET', '/object/item/pii_note')).body.data?.notes, 'note-value');
    assert.equal((await call(vault.url, 'GET', '/object/item/no-such-thing')).body.message, 'Not found.');
    const many = await call(vault.url, 'GET', '/object/item/e');
    assert.match(String(many.body.message), /^More than one result was found/);
    assert.deepEqual((await call<{ data: string }>(vault.url, 'GET', `/object/password/${id}`)).body.data, { object: 'string', data: 'first-value' });

    const edited = await call<ItemWire>(vault.url, 'PUT', `/object/item/${id}`, { ...login.body.data, login: { ...login.body.data!.login, password: 'second-value' } });
    assert.equal(edited.body.success, true);
    assert.equal(edited.body.data!.login?.password, 'second-value');
    assert.equal(edited.body.data!.folderId, folderId);
    assert.deepEqual(edited.body.data!.passwordHistory?.map((h) => h.password), ['first-value']);
    assert.ok(edited.body.data!.revisionDate > login.body.data!.revisionDate);

    assert.deepEqual((await call(vault.url, 'DELETE', `/object/item/${note.body.data!.id}`)).body, { success: true });
    assert.deepEqual(await names(`?folderid=${folderId}`), ['AZURE_DEMO_BLUEPRINT_CLIENT_SECRET']);
    assert.deepEqual(await names('?trash=true'), ['PII_NOTE']);
    assert.equal((await call(vault.url, 'PUT', `/object/item/${note.body.data!.id}`, { type: 2, name: 'PII_NOTE' })).status, 400);
    const c = await counters(vault.adminUrl);
    assert.equal(c.writes, 6, 'folder + 3 creates + 1 edit + 1 delete');
  });

  it('a change made on the server is invisible until /sync (stale cache), and bw refuses to edit its stale copy', async () => {
    await using vault = await startVaultEmulator({ unlocked: true });
    const created = await call<ItemWire>(vault.url, 'POST', '/object/item', { type: 1, name: 'CLOUDFLARE_API_TOKEN', login: { password: 'old' } });
    const id = created.body.data!.id;
    const before = (await call<{ template: { lastSync: string } }>(vault.url, 'GET', '/status')).body.data!.template.lastSync;

    const changed = await admin<{ id: string; action: string }>(vault.adminUrl, 'POST', '/server/items', { name: 'CLOUDFLARE_API_TOKEN', password: 'rotated' });
    assert.deepEqual([changed.id, changed.action], [id, 'updated']);
    await admin(vault.adminUrl, 'POST', '/server/items', { name: 'NEW_ON_SERVER', password: 'n', folder: 'axe' });
    assert.equal((await call<ItemWire>(vault.url, 'GET', `/object/item/${id}`)).body.data?.login?.password, 'old', 'bw still reads its cache');
    assert.equal((await call<{ data: ItemWire[] }>(vault.url, 'GET', '/list/object/items?search=NEW_ON_SERVER')).body.data!.data.length, 0);

    const refused = await call(vault.url, 'PUT', `/object/item/${id}`, { ...created.body.data, login: { password: 'mine' } });
    assert.equal(refused.status, 400);
    assert.match(String(refused.body.message), /out of date/);

    const synced = await call<{ title: string }>(vault.url, 'POST', '/sync');
    assert.equal(synced.body.data?.title, 'Syncing complete.');
    const after = (await call<{ template: { lastSync: string } }>(vault.url, 'GET', '/status')).body.data!.template.lastSync;
    assert.ok(after > before);
    assert.equal((await call<ItemWire>(vault.url, 'GET', `/object/item/${id}`)).body.data?.login?.password, 'rotated');
    assert.equal((await call<{ data: ItemWire[] }>(vault.url, 'GET', '/list/object/items?search=NEW_ON_SERVER')).body.data!.data.length, 1);
    const fresh = (await call<ItemWire>(vault.url, 'GET', `/object/item/${id}`)).body.data!;
    assert.equal((await call(vault.url, 'PUT', `/object/item/${id}`, { ...fresh, login: { password: 'mine' } })).status, 200);
  });

  it('keeps its state in a 0600 file without the master password; a restart is locked unless given the live session', async () => {
    await using dir = await tempDir('vault-state');
    const password = new Secret('correct horse battery staple');
    let session: string;
    {
      await using vault = await startVaultEmulator({ dir: dir.path, password });
      session = await unlock(vault.url, password);
      await call(vault.url, 'POST', '/object/item', { type: 1, name: 'KEEP_ME', login: { password: 'kept-value' } });
    }
    const file = join(dir.path, 'items.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const raw = await readFile(file, 'utf8');
    assert.ok(raw.includes('KEEP_ME'));
    assert.ok(!raw.includes(password.reveal()));
    assert.ok(!raw.includes(session));
    {
      await using vault = await startVaultEmulator({ dir: dir.path, password });
      assert.equal((await call(vault.url, 'GET', '/list/object/items')).body.message, 'Vault is locked.');
    }
    {
      await using vault = await startVaultEmulator({ dir: dir.path, password, session: new Secret('not-the-session') });
      assert.equal((await call(vault.url, 'GET', '/list/object/items')).body.message, 'Vault is locked.');
    }
    {
      await using vault = await startVaultEmulator({ dir: dir.path, password, session: new Secret(session) });
      const items = await call<{ data: ItemWire[] }>(vault.url, 'GET', '/list/object/items');
      assert.deepEqual(items.body.data!.data.map((i) => i.login?.password), ['kept-value']);
      await call(vault.url, 'POST', '/lock');
    }
    {
      await using vault = await startVaultEmulator({ dir: dir.path, password, session: new Secret(session) });
      assert.equal((await call(vault.url, 'GET', '/list/object/items')).body.message, 'Vault is locked.', 'a locked session is dead');
    }
  });

  it("refuses like bw serve's origin protection: an Origin header or a foreign Host gets 403 with Koa's text/plain Forbidden; an unknown route 404 Not Found", async () => {
    await using vault = await startVaultEmulator({ unlocked: true });
    const refused = await fetch(`${vault.url}/status`, { headers: { origin: 'https://evil.example' } });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await refused.text(), 'Forbidden');
    const unknown = await fetch(`${vault.url}/list/objects/items`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await unknown.text(), 'Not Found');
    const port = new URL(vault.url).port;
    const viaLocalhost = await fetch(`http://localhost:${port}/status`).catch(() => null);
    if (viaLocalhost) assert.equal(viaLocalhost.status, 200);
    const foreignHost = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: Number(port), path: '/status', headers: { host: 'vault.evil.example' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.once('error', reject);
      req.end();
    });
    assert.deepEqual(foreignHost, { status: 403, body: 'Forbidden' });
  });

  it('injects faults: 5xx for the next N requests under a path, and latency', async () => {
    await using vault = await startVaultEmulator({ unlocked: true });
    await admin(vault.adminUrl, 'POST', '/faults', { status: 503, count: 2, path: '/list' });
    assert.equal((await fetch(`${vault.url}/status`)).status, 200);
    assert.equal((await fetch(`${vault.url}/list/object/items`)).status, 503);
    assert.equal((await fetch(`${vault.url}/list/object/items`)).status, 503);
    assert.equal((await fetch(`${vault.url}/list/object/items`)).status, 200);
    await admin(vault.adminUrl, 'POST', '/faults', { latencyMs: 150 });
    const started = Date.now();
    await fetch(`${vault.url}/status`);
    assert.ok(Date.now() - started >= 140);
    await admin(vault.adminUrl, 'DELETE', '/faults');
  });

  it('the real bw CLI offline: its version, its status shape (the emulator speaks the same keys), encode', async () => {
    await using appData = await tempDir('bw-appdata');
    const bw = join(ROOT, 'node_modules', '.bin', 'bw');
    const env: NodeJS.ProcessEnv = { ...process.env, BITWARDENCLI_APPDATA_DIR: appData.path, BW_NOINTERACTION: 'true' };
    delete env.BW_SESSION;
    const version = (await exec(bw, ['--version'], { env })).stdout.trim();
    assert.match(version, /^\d{4}\.\d{1,2}\.\d+$/);
    const real = JSON.parse((await exec(bw, ['status'], { env })).stdout) as Record<string, unknown>;
    assert.equal(real.status, 'unauthenticated');
    await using vault = await startVaultEmulator();
    const emulated = (await call<{ template: Record<string, unknown> }>(vault.url, 'GET', '/status')).body.data!.template;
    for (const key of Object.keys(real)) assert.ok(key in emulated, `emulator /status lacks ${key}`);
    assert.ok(['locked', 'unlocked', 'unauthenticated'].includes(String(emulated.status)));

    // bw encode is how a CLI user pipes the JSON this API takes (bw get template item | … | bw encode | bw create item).
    await using unlocked = await startVaultEmulator({ unlocked: true });
    const template = (await call<{ template: unknown }>(unlocked.url, 'GET', '/object/template/item')).body.data!.template;
    const encoded = await new Promise<string>((resolve, reject) => {
      const child = execFile(bw, ['encode'], { env }, (error, stdout) => (error ? reject(error) : resolve(stdout.trim())));
      child.stdin!.end(JSON.stringify(template));
    });
    assert.deepEqual(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')), template);
  });

  it('the lab part: a detached server with pid, endpoint and 0600 password; up is idempotent; down stops it by PID', async () => {
    await using dir = await tempDir('vault-part');
    const ctx = { stateDir: dir.path, log: () => undefined };
    const previous = process.env.AXE_LAB_VAULT_PORT;
    process.env.AXE_LAB_VAULT_PORT = String(await freePort());
    try {
      const started = Date.now();
      await vaultPart.up(ctx);
      const upMs = Date.now() - started;
      const paths = vaultPaths(dir.path);
      const pid = Number((await readFile(paths.pid, 'utf8')).trim());
      assert.doesNotThrow(() => process.kill(pid, 0));
      assert.equal((await stat(paths.passwordFile)).mode & 0o777, 0o600);
      const endpoint = await readVaultEndpoint(dir.path);
      assert.equal(endpoint?.url, `http://127.0.0.1:${process.env.AXE_LAB_VAULT_PORT}`);
      assert.equal(endpoint?.passwordFile, paths.passwordFile);
      await vaultPart.up(ctx);
      assert.equal(Number((await readFile(paths.pid, 'utf8')).trim()), pid, 'up kept the running server');
      const status = await vaultPart.status(ctx);
      assert.equal(status.ready, true, status.detail);
      assert.match(status.detail, /locked/);

      const password = new Secret((await readFile(paths.passwordFile, 'utf8')).trim());
      await using sessionDir = await tempDir('vault-part-session');
      const store = new FileSessionStore({ path: join(sessionDir.path, 'session.json') });
      await vaultLogin({ url: endpoint!.url, password, store });
      const provider = new VaultwardenVault({ url: endpoint!.url, syncIntervalMs: 60_000, store });
      assert.equal(await provider.put({ name: 'LAB_PART_ITEM', value: new Secret('v') }), 'created');
      assert.ok(upMs < 10_000, `up took ${upMs} ms`);

      await vaultPart.down(ctx);
      assert.throws(() => process.kill(pid, 0));
      await assert.rejects(stat(paths.dir));
      assert.equal((await vaultPart.status(ctx)).ready, false);
      await vaultPart.down(ctx);
    } finally {
      await vaultPart.down(ctx).catch(() => undefined);
      if (previous === undefined) delete process.env.AXE_LAB_VAULT_PORT;
      else process.env.AXE_LAB_VAULT_PORT = previous;
    }
  });
});

describe('vaultwarden provider against the emulator', () => {
  it('list, get, put: created, unchanged, updated; metadata as fields in the axe folder; list is one request', async () => {
    await using vault = await startVaultEmulator({ unlocked: true });
    await using home = await tempDir('vault-home');
    const provider = new VaultwardenVault({ url: vault.url, syncIntervalMs: 5 * 60_000, fingerprints: new Fingerprints(fingerprintKeyPath(home.path)) });
    assert.deepEqual(await provider.list(), []);
    assert.equal(await provider.get('AZURE_DEMO_FRAME_MCP_CLIENT_SECRET'), null);
    assert.equal(await provider.put({ name: 'AZURE_DEMO_FRAME_MCP_CLIENT_SECRET', customer: 'demo', service: 'frame', value: new Secret('value-1') }), 'created');
    assert.equal(await provider.put({ name: 'AZURE_DEMO_FRAME_MCP_CLIENT_SECRET', customer: 'demo', service: 'frame', value: new Secret('value-1') }), 'unchanged');
    assert.equal(await provider.put({ name: 'AZURE_DEMO_FRAME_MCP_CLIENT_SECRET', value: new Secret('value-2') }), 'updated');
    assert.equal(await provider.put({ name: 'CLOUDFLARE_API_TOKEN', service: 'cloudflare', customer: 'operator', value: new Secret('cf-token') }), 'created');
    assert.equal((await provider.get('AZURE_DEMO_FRAME_MCP_CLIENT_SECRET'))?.reveal(), 'value-2');
    assert.equal(await provider.get('AZURE_DEMO_FRAME'), null, 'get matches the exact name, not bw search');

    const before = await counters(vault.adminUrl);
    const entries = await provider.list();
    const after = await counters(vault.adminUrl);
    assert.equal(after.requests - before.requests, 1, 'list() is one request');
    assert.deepEqual(
      entries.map(({ name, customer, service, fingerprint }) => ({ name, customer, service, fingerprint })),
      [
        { name: 'AZURE_DEMO_FRAME_MCP_CLIENT_SECRET', customer: 'demo', service: 'frame', fingerprint: provider.fingerprint(new Secret('value-2')) },
        { name: 'CLOUDFLARE_API_TOKEN', customer: 'operator', service: 'cloudflare', fingerprint: provider.fingerprint(new Secret('cf-token')) },
      ],
    );
    assert.ok(!JSON.stringify(entries).includes('value-2'));

    // What the operator sees in the vault: logins in the axe folder, metadata as fields.
    const folders = await call<{ data: Array<{ id: string | null; name: string }> }>(vault.url, 'GET', '/list/object/folders');
    const axe = folders.body.data!.data.find((f) => f.name === 'axe');
    assert.ok(axe?.id);
    const items = (await call<{ data: ItemWire[] }>(vault.url, 'GET', `/list/object/items?folderid=${axe.id}`)).body.data!.data;
    const item = items.find((i) => i.name === 'AZURE_DEMO_FRAME_MCP_CLIENT_SECRET')!;
    assert.equal(item.type, 1);
    assert.equal(item.login?.password, 'value-2');
    assert.deepEqual(item.fields.map((f) => [f.name, f.value]).sort(), [['axe.customer', 'demo'], ['axe.service', 'frame']]);

    // A secure note of that name in the folder is read too.
    await call(vault.url, 'POST', '/object/item', { type: 2, name: 'PII_NOTE', notes: 'note-value', folderId: axe.id, secureNote: { type: 0 } });
    assert.equal((await provider.get('PII_NOTE'))?.reveal(), 'note-value');
    assert.equal(await provider.put({ name: 'PII_NOTE', value: new Secret('note-value') }), 'unchanged');
  });

  it('never deletes: an item deleted in the vault reads as missing, and put creates it again', async () => {
    await using vault = await startVaultEmulator({ unlocked: true });
    const provider = new VaultwardenVault({ url: vault.url, syncIntervalMs: 0 });
    await provider.put({ name: 'GONE', value: new Secret('v') });
    const id = (await admin<{ server: { items: Array<{ id: string; name: string }> } }>(vault.adminUrl, 'GET', '/state')).server.items[0]!.id;
    await admin(vault.adminUrl, 'DELETE', `/server/items/${id}`);
    assert.deepEqual(await provider.list(), []);
    assert.equal(await provider.put({ name: 'GONE', value: new Secret('v') }), 'created');
  });

  it('a locked vault is terminal with the trap bw-vault-locked and the fix axe vault login; BW_SESSION exported but not kept is bw-session-not-cached', async () => {
    await using vault = await startVaultEmulator();
    await using dir = await tempDir('vault-locked');
    const store = new FileSessionStore({ path: join(dir.path, 's.json') });
    const provider = new VaultwardenVault({ url: vault.url, syncIntervalMs: 60_000, store, env: {} });
    for (const op of [() => provider.list(), () => provider.get('X'), () => provider.put({ name: 'X', value: new Secret('v') })]) {
      const error = await op().then(
        () => assert.fail('expected an error'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof VaultError);
      assert.equal(error.class, 'terminal');
      assert.equal(error.reason, 'locked');
      assert.equal(error.trap, 'bw-vault-locked');
      assert.match(error.oneLine(), /locked.*\(fix: run axe vault login\)$/);
    }
    const exported = new VaultwardenVault({ url: vault.url, syncIntervalMs: 60_000, store, env: { BW_SESSION: 'exported-by-hand' } });
    const error = (await exported.list().catch((e: unknown) => e)) as VaultError;
    assert.equal(error.trap, 'bw-session-not-cached');
    assert.ok(!error.oneLine().includes('exported-by-hand'));

    // Locked after the provider trusted it: the refusal is classified through /status.
    await unlock(vault.url, vault.password);
    const trusting = new VaultwardenVault({ url: vault.url, syncIntervalMs: 60_000, env: {} });
    await trusting.list();
    await admin(vault.adminUrl, 'POST', '/lock');
    const late = (await trusting.get('X').catch((e: unknown) => e)) as VaultError;
    assert.equal(late.trap, 'bw-vault-locked');
  });

  it('stale cache: a change made on the server is seen once sync_interval has passed (the provider calls /sync), not before', async () => {
    await using vault = await startVaultEmulator({ unlocked: true });
    let clock = Date.now();
    const provider = new VaultwardenVault({ url: vault.url, syncIntervalMs: 5 * 60_000, now: () => clock });
    await provider.put({ name: 'CLOUDFLARE_API_TOKEN', value: new Secret('old-token') });
    await admin(vault.adminUrl, 'POST', '/server/items', { name: 'CLOUDFLARE_API_TOKEN', password: 'rotated-token' });
    await admin(vault.adminUrl, 'POST', '/server/items', { name: 'ADDED_ON_SERVER', password: 'x', folder: 'axe' });
    const syncsBefore = (await counters(vault.adminUrl)).syncs;
    assert.equal((await provider.get('CLOUDFLARE_API_TOKEN'))?.reveal(), 'old-token', 'bw cache trusted within sync_interval');
    assert.deepEqual((await provider.list()).map((e) => e.name), ['CLOUDFLARE_API_TOKEN']);
    assert.equal((await counters(vault.adminUrl)).syncs, syncsBefore);

    clock += 6 * 60_000;
    assert.equal((await provider.get('CLOUDFLARE_API_TOKEN'))?.reveal(), 'rotated-token');
    assert.deepEqual((await provider.list()).map((e) => e.name), ['ADDED_ON_SERVER', 'CLOUDFLARE_API_TOKEN']);
    assert.equal((await counters(vault.adminUrl)).syncs, syncsBefore + 1);
  });

  it('finds its folder again after sync_interval when it was recreated in the web vault', async () => {
    await using vault = await startVaultEmulator({ unlocked: true });
    let clock = Date.now();
    const provider = new VaultwardenVault({ url: vault.url, syncIntervalMs: 5 * 60_000, now: () => clock });
    await provider.put({ name: 'IN_OLD_FOLDER', value: new Secret('a') });
    const old = (await call<{ data: Array<{ id: string | null; name: string }> }>(vault.url, 'GET', '/list/object/folders')).body.data!.data.find((f) => f.name === 'axe')!;
    assert.equal((await call(vault.url, 'DELETE', `/object/folder/${old.id}`)).body.success, true);
    await admin(vault.adminUrl, 'POST', '/server/items', { name: 'IN_NEW_FOLDER', password: 'b', folder: 'axe' });
    clock += 6 * 60_000;
    assert.deepEqual((await provider.list()).map((e) => e.name), ['IN_NEW_FOLDER']);
  });

  it('put over a copy changed on the server: bw refuses the stale edit, the provider syncs and redoes it', async () => {
    await using vault = await startVaultEmulator({ unlocked: true });
    const provider = new VaultwardenVault({ url: vault.url, syncIntervalMs: 60 * 60_000 });
    await provider.put({ name: 'SHARED', customer: 'demo', value: new Secret('v1') });
    await admin(vault.adminUrl, 'POST', '/server/items', { name: 'SHARED', password: 'v2-from-web-vault' });
    assert.equal(await provider.put({ name: 'SHARED', customer: 'demo', value: new Secret('v3') }), 'updated');
    await call(vault.url, 'POST', '/sync');
    const [item] = (await call<{ data: ItemWire[] }>(vault.url, 'GET', '/list/object/items?search=SHARED')).body.data!.data;
    assert.equal(item?.login?.password, 'v3');
    assert.deepEqual(item?.passwordHistory?.map((h) => h.password), ['v2-from-web-vault', 'v1']);
    // The same value pushed over a server-side change to it is recognised after the sync.
    await admin(vault.adminUrl, 'POST', '/server/items', { name: 'SHARED', password: 'v4' });
    assert.equal(await provider.put({ name: 'SHARED', value: new Secret('v4') }), 'unchanged', 'the refused edit led to a sync, after which the value is equal');
  });

  it('bw serve not running is transient with the fix to start it; 5xx is transient', async () => {
    const port = await freePort();
    const provider = new VaultwardenVault({ url: `http://127.0.0.1:${port}`, syncIntervalMs: 60_000 });
    const error = (await provider.list().catch((e: unknown) => e)) as VaultError;
    assert.ok(error instanceof AxeError);
    assert.equal(error.class, 'transient');
    assert.equal(error.reason, 'unreachable');
    assert.match(error.fix ?? '', /start bw serve/);

    await using vault = await startVaultEmulator({ unlocked: true });
    await admin(vault.adminUrl, 'POST', '/faults', { status: 502, count: 1 });
    const flaky = new VaultwardenVault({ url: vault.url, syncIntervalMs: 60_000 });
    const e5 = (await flaky.list().catch((e: unknown) => e)) as VaultError;
    assert.equal(e5.class, 'transient');
    assert.equal(e5.reason, 'server-error');
    assert.deepEqual(await flaky.list(), [], 'the next attempt succeeds');
  });

  it('vaultLogin unlocks once and keeps the session 0600 with an 8 h expiry; bw serve restarted with it comes up unlocked', async () => {
    await using dir = await tempDir('vault-login');
    await using sessionDir = await tempDir('vault-login-session');
    const password = new Secret('the master password');
    const store = new FileSessionStore({ path: join(sessionDir.path, 'axe', 'bw-session.json') });
    {
      await using vault = await startVaultEmulator({ dir: dir.path, password, email: 'ops@axe.invalid' });
      const wrong = (await vaultLogin({ url: vault.url, password: new Secret('nope'), store }).catch((e: unknown) => e)) as VaultError;
      assert.equal(wrong.reason, 'wrong-password');
      assert.equal(wrong.class, 'terminal');
      assert.ok(!wrong.oneLine().includes('nope'));
      assert.equal(await store.load(), null);

      const started = Date.now();
      const result = await vaultLogin({ url: vault.url, password, store });
      assert.equal(result.userEmail, 'ops@axe.invalid');
      const expiresIn = result.expiresAt.getTime() - started;
      assert.ok(expiresIn > 8 * 3600_000 - 60_000 && expiresIn <= 8 * 3600_000 + 1000, `expires in ${expiresIn} ms`);
      assert.equal((await stat(store.location)).mode & 0o777, 0o600);
      assert.equal((await stat(join(sessionDir.path, 'axe'))).mode & 0o777, 0o700);
      const provider = new VaultwardenVault({ url: vault.url, syncIntervalMs: 60_000, store });
      assert.equal(await provider.put({ name: 'AFTER_LOGIN', value: new Secret('v') }), 'created');
    }
    // bw serve restarted: locked, unless started with the kept session.
    const env = await bwServeEnvironment(store);
    assert.ok(env.BW_SESSION);
    await using restarted = await startVaultEmulator({ dir: dir.path, password, session: new Secret(env.BW_SESSION) });
    const provider = new VaultwardenVault({ url: restarted.url, syncIntervalMs: 60_000, store });
    assert.equal((await provider.get('AFTER_LOGIN'))?.reveal(), 'v');
  });

  it('openVault picks the vaultwarden provider from the config', async () => {
    await using vault = await startVaultEmulator({ unlocked: true });
    await using dir = await tempDir('vault-open');
    const provider = openVault({ provider: 'vaultwarden', url: vault.url, session_store: 'file', sync_interval: '5m' }, { XDG_CONFIG_HOME: dir.path });
    assert.equal(provider.kind, 'vaultwarden');
    assert.equal(await provider.put({ name: 'FROM_CONFIG', value: new Secret('v') }), 'created');
    assert.equal((await provider.get('FROM_CONFIG'))?.reveal(), 'v');
  });
});
