/**
 * Contract tests of `bw serve` (the Vault Management API) against
 * contracts/bw-serve/openapi.trimmed.yaml: every request axe's client sends,
 * every answer the lab stand-in (lab/vault) gives, every field axe reads, and
 * the real `bw serve` (@bitwarden/cli, offline) for what it answers without a
 * server. Offline; the stand-in runs in this process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadContract, type Contract, type Exchange } from '../contracts/openapi-check.js';
import { Secret } from '../core/secret.js';
import { startVaultEmulator, type VaultExchange } from '../lab/vault/index.js';
import { FileSessionStore } from '../providers/vault/session-store.js';
import { BwServeClient } from '../providers/vault/vaultwarden-client.js';
import { ORG_FIELD_READS, ORG_OPERATIONS, VaultOrgClient } from '../providers/vault/vault-org-client.js';
import { BW_SERVE_FIELD_READS, BW_SERVE_OPERATIONS, VaultError, vaultLogin, VaultwardenVault, type BwFieldRead } from '../providers/vault/vaultwarden.js';
import { freePort, ROOT, tempDir } from './helpers.js';

const SPEC = join(ROOT, 'contracts', 'bw-serve', 'openapi.trimmed.yaml');
const ORG_ID = randomUUID();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toExchange(e: VaultExchange): Exchange {
  return { method: e.method, path: e.path, query: e.query, headers: e.headers, requestBody: e.requestBody, status: e.status, responseBody: e.responseBody };
}

/** An exchange with the real bw serve and its answer's media type (the checker validates JSON bodies only; the text/plain refusal is asserted beside it). */
interface RealExchange {
  exchange: Exchange;
  responseType: string;
}

/** `GET /object/item/{id}` for `GET /object/item/3f…`: the operation as the spec names it. */
function operationOf(method: string, path: string): string {
  const segments = path.split('/').map((s) => (UUID.test(s) ? '{id}' : s));
  return `${method} ${segments.join('/')}`;
}

function describeExchange(e: Pick<Exchange, 'method' | 'path' | 'status'>): string {
  return `${e.method} ${e.path} → ${e.status}`;
}

function assertInContract(contract: Contract, exchanges: Exchange[]): void {
  const violations = exchanges.flatMap((e) => contract.check(e));
  assert.deepEqual(violations, [], `exchanges outside the spec:\n${violations.map((v) => `${v.exchange} [${v.where}] ${v.message}`).join('\n')}`);
}

/** The value at a BwFieldRead's `field` in `body`: every match (arrays expand at `[]`). */
function valuesAt(body: unknown, field: string): unknown[] {
  let current: unknown[] = [body];
  for (const part of field.split('.')) {
    const many = part.endsWith('[]');
    const key = many ? part.slice(0, -2) : part;
    const next: unknown[] = [];
    for (const value of current) {
      if (value === null || typeof value !== 'object' || !(key in value)) continue;
      const child = (value as Record<string, unknown>)[key];
      if (many) {
        if (Array.isArray(child)) next.push(...child);
      } else next.push(child);
    }
    current = next;
  }
  return current;
}

/** Records what global fetch sends and receives (the product's client uses it), for the real bw serve. */
function recordFetch(into: RealExchange[]): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await original(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const text = await response.clone().text();
    const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const query: Record<string, string> = {};
    for (const [key, value] of url.searchParams) query[key] = value;
    const headers: Record<string, string> = { host: url.host };
    for (const [name, value] of new Headers(init?.headers)) headers[name] = value;
    into.push({
      exchange: {
        method: init?.method ?? 'GET',
        path: url.pathname,
        query,
        headers,
        requestBody: typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined,
        status: response.status,
        responseBody: text === '' ? undefined : type === 'application/json' ? (JSON.parse(text) as unknown) : text,
      },
      responseType: type,
    });
    return response;
  };
  return () => {
    globalThis.fetch = original;
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

async function assertVaultError(promise: Promise<unknown>, reason: string): Promise<VaultError> {
  const error = await rejection(promise);
  assert.ok(error instanceof VaultError, `expected VaultError ${reason}, got ${String(error)}`);
  assert.equal(error.reason, reason, error.message);
  return error;
}

async function admin(adminUrl: string, method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${adminUrl}${path}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  assert.ok(response.ok, `admin ${method} ${path}: HTTP ${response.status}`);
}

/** A `bw` app-data folder holding one logged-in account (a made-up access token) whose server is a closed loopback port: `bw serve` starts and answers locked, and whatever it sends to a server fails on loopback. */
async function loggedInAppData(dir: string, serverUrl: string): Promise<{ email: string; userId: string }> {
  const userId = randomUUID();
  const email = 'operator@example.test';
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const token = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ sub: userId, email, exp: 4_102_444_800, nbf: 1, iss: `${serverUrl}|login`, premium: false, amr: ['Application'] })}.bm90LWEtc2lnbmF0dXJl`;
  const data = {
    stateVersion: 79,
    global_environment_environment: { region: 'Self-hosted', urls: { base: serverUrl, api: null, identity: null, webVault: null, icons: null, notifications: null, events: null, keyConnector: null, send: null } },
    global_account_accounts: { [userId]: { email, emailVerified: true, name: 'Operator' } },
    global_account_activeAccountId: userId,
    [`user_${userId}_token_accessToken`]: token,
  };
  await writeFile(join(dir, 'data.json'), JSON.stringify(data), { mode: 0o600 });
  return { email, userId };
}

describe('bw serve contract (contracts/bw-serve/openapi.trimmed.yaml)', () => {
  it('the product against the lab stand-in: every request axe sends and every answer the stand-in gives are in the spec', async () => {
    const contract = await loadContract(SPEC);
    const recorded: VaultExchange[] = [];
    await using vault = await startVaultEmulator({ record: (e) => recorded.push(e) });
    await using storeDir = await tempDir('bw-contract-store');
    const store = new FileSessionStore({ path: join(storeDir.path, 'bw-session.json') });
    const provider = (): VaultwardenVault => new VaultwardenVault({ url: vault.url, syncIntervalMs: 60_000, store, env: {} });

    // Locked: the provider asks /status and stops; a wrong master password is refused.
    await assertVaultError(provider().list(), 'locked');
    await assertVaultError(vaultLogin({ url: vault.url, password: new Secret('not-the-master-password'), store }), 'wrong-password');
    await vaultLogin({ url: vault.url, password: vault.password, store });

    // Create (status, sync, folder search, folder create, item create), unchanged, edit, list, a missing item.
    const vaultA = provider();
    assert.equal(await vaultA.put({ name: 'AXE_CONTRACT_TOKEN', customer: 'demo', service: 'web', value: new Secret('value-1') }), 'created');
    assert.equal(await vaultA.put({ name: 'AXE_CONTRACT_TOKEN', customer: 'demo', service: 'web', value: new Secret('value-1') }), 'unchanged');
    assert.equal(await vaultA.put({ name: 'AXE_CONTRACT_TOKEN', value: new Secret('value-2') }), 'updated');
    assert.equal(await vaultA.get('AXE_CONTRACT_MISSING'), null);
    // A secure note made in the web vault, seen after a sync; a stale edit is refused, synced and redone.
    await admin(vault.adminUrl, 'POST', '/server/items', { name: 'AXE_CONTRACT_NOTE', notes: 'note-1', folder: 'axe', fields: [{ name: 'axe.customer', value: 'demo', type: 0 }] });
    await admin(vault.adminUrl, 'POST', '/server/items', { name: 'AXE_CONTRACT_TOKEN', password: 'value-3', folder: 'axe' });
    const vaultB = new VaultwardenVault({ url: vault.url, syncIntervalMs: 60_000, store, env: {}, now: () => Date.now() + 120_000 });
    assert.equal(await vaultB.put({ name: 'AXE_CONTRACT_TOKEN', value: new Secret('value-4') }), 'updated');
    const names = (await vaultB.list()).map((e) => e.name);
    assert.deepEqual(names, ['AXE_CONTRACT_NOTE', 'AXE_CONTRACT_TOKEN']);

    // An item that is not there: bw's 400 "Not found." through the product's client.
    const client = new BwServeClient({ url: vault.url });
    const notFound = await rejection(client.request('PUT', `/object/item/${randomUUID()}`, { type: 1, name: 'AXE_CONTRACT_GONE', login: { password: 'x' } }));
    assert.match(String(notFound), /Not found\./);

    // Locked behind the provider's back: the vault route answers "Vault is locked.", /status tells.
    await admin(vault.adminUrl, 'POST', '/lock');
    await assertVaultError(vaultA.list(), 'locked');

    // The Origin/Host protection: a vault.url whose Host bw serve does not accept, and an Origin header.
    const foreign = new VaultwardenVault({ url: `http://[::ffff:127.0.0.1]:${vault.port}`, syncIntervalMs: 60_000 });
    await assertVaultError(foreign.list(), 'refused');
    assert.equal((await fetch(`${vault.url}/status`, { headers: { origin: 'http://attacker.example' } })).status, 403);

    const exchanges = recorded.map(toExchange);
    assertInContract(contract, exchanges);

    const seen = new Set(recorded.map((e) => `${operationOf(e.method, e.path)} ${e.status}`));
    for (const { method, path } of BW_SERVE_OPERATIONS) assert.ok(seen.has(`${method} ${path} 200`), `not exercised: ${method} ${path} 200 (saw ${[...seen].join(', ')})`);
    for (const expected of ['POST /unlock 400', 'GET /list/object/items 400', 'PUT /object/item/{id} 400', 'GET /status 403']) assert.ok(seen.has(expected), `not exercised: ${expected}`);
    // The locked answer is bw's own words; the refusal is Koa's.
    assert.ok(recorded.some((e) => e.status === 400 && (e.responseBody as { message?: string }).message === 'Vault is locked.'), 'no "Vault is locked." answer');
    for (const e of recorded.filter((x) => x.status === 403)) assert.deepEqual([e.responseType, e.responseBody], ['text/plain', 'Forbidden'], `${describeExchange(e)}: not Koa's refusal`);

    // Every field axe reads is in the spec, and the stand-in's answers carry each.
    assert.deepEqual(contract.checkFieldReads(BW_SERVE_FIELD_READS), []);
    for (const read of BW_SERVE_FIELD_READS) {
      const answers = recorded.filter((e) => operationOf(e.method, e.path) === `${read.method} ${read.path}` && e.status === read.status);
      // Not every operation fails here (the stand-in's /status and /sync never do); every success does happen.
      if (answers.length === 0 && read.status === 400) continue;
      assert.ok(answers.some((e) => valuesAt(e.responseBody, read.field).length > 0), `no ${read.status} answer of ${read.method} ${read.path} carried ${read.field}`);
    }
  });

  it("the customer vault's organization (VaultOrgClient, the vault-org kind) against the stand-in: every request and answer in the spec, every field read answered", async () => {
    const contract = await loadContract(SPEC);
    const recorded: VaultExchange[] = [];
    await using vault = await startVaultEmulator({ email: 'ai@acme.example.com', unlocked: true, record: (e) => recorded.push(e) });
    const client = new VaultOrgClient(vault.url);
    assert.deepEqual(await client.organizations(), []);
    // Made in the web vault: bw sees it after a sync; the owner's collections and members are read from the server.
    const made = (await (await fetch(`${vault.adminUrl}/orgs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ACME' }) })).json()) as { id: string };
    await admin(vault.adminUrl, 'POST', `/orgs/${made.id}/members`, { email: 'it@acme.example.com', type: 'owner', accepted: true });
    await client.sync();
    const [org] = await client.organizations();
    assert.deepEqual(org, { object: 'organization', id: made.id, name: 'ACME', status: 2, type: 0, enabled: true });
    const id = await client.createCollection(made.id, 'Shared Tools');
    assert.deepEqual((await client.collections(made.id)).map((c) => [c.id, c.name]), [[id, 'Shared Tools']]);
    const it = (await client.members(made.id)).find((m) => m.email === 'it@acme.example.com')!;
    const access = await client.collectionAccess(made.id, id);
    assert.equal(access.users?.length, 1, 'bw gives a collection made without users to its creator');
    const both = [...access.users!, { id: it.id, readOnly: false, hidePasswords: false, manage: false }];
    await client.setCollectionAccess(made.id, id, { name: 'Shared Tools', externalId: null, groups: access.groups, users: both });
    assert.deepEqual((await client.collectionAccess(made.id, id)).users, both);
    assert.equal(it.status, 1);
    await client.confirmMember(made.id, it.id);
    assert.equal((await client.members(made.id)).find((m) => m.id === it.id)!.status, 2);
    // bw's refusals: confirming twice, an organization bw does not know.
    await assertVaultError(client.confirmMember(made.id, it.id), 'rejected');
    await assertVaultError(client.collections(randomUUID()), 'rejected');

    assertInContract(contract, recorded.map(toExchange));
    const seen = new Set(recorded.map((e) => `${operationOf(e.method, e.path)} ${e.status}`));
    for (const { method, path } of ORG_OPERATIONS) assert.ok(seen.has(`${method} ${path} 200`), `not exercised: ${method} ${path} 200 (saw ${[...seen].join(', ')})`);
    assert.deepEqual(contract.checkFieldReads(ORG_FIELD_READS), []);
    for (const read of ORG_FIELD_READS.filter((r) => r.status === 200)) {
      const answers = recorded.filter((e) => operationOf(e.method, e.path) === `${read.method} ${read.path}` && e.status === 200);
      assert.ok(answers.some((e) => valuesAt(e.responseBody, read.field).length > 0), `no 200 answer of ${read.method} ${read.path} carried ${read.field}`);
    }
  });

  it('fails when a request, an answer or a field read leaves the spec', async () => {
    const contract = await loadContract(SPEC);
    const folderId = randomUUID();
    const request: Exchange = {
      method: 'POST',
      path: '/object/item',
      headers: { 'content-type': 'application/json' },
      requestBody: { type: 1, name: 'X', folderID: folderId, login: { password: 'p' } },
      status: 200,
      responseBody: { success: true, data: { object: 'item', id: randomUUID(), type: 1, name: 'X', revisionDate: new Date().toISOString() } },
    };
    assert.ok(contract.check(request).some((v) => v.where === 'request'), 'a misspelt request field (folderID) must be a violation');
    const answer: Exchange = { method: 'GET', path: '/status', status: 200, responseBody: { success: true, data: { object: 'template', template: { serverUrl: null, lastSync: null, status: 'sleeping' } } } };
    assert.ok(contract.check(answer).some((v) => v.where === 'response'), 'a status outside locked/unlocked/unauthenticated must be a violation');
    const undocumented: Exchange = { method: 'GET', path: '/list/object/folders', status: 200, responseBody: { success: true, data: { object: 'list', data: [{ object: 'folder', id: null, name: 'No Folder', color: 'red' }] } } };
    assert.ok(contract.check(undocumented).some((v) => v.where === 'response'), 'a field the CLI never answers must be a violation');
    const unlisted: Exchange = { method: 'POST', path: '/sync', status: 404, responseBody: 'Not Found' };
    assert.ok(contract.check(unlisted).some((v) => v.where === 'response'), 'a status the spec does not list must be a violation');
    const route: Exchange = { method: 'GET', path: '/object/item/' + randomUUID(), status: 200, responseBody: { success: true, data: {} } };
    assert.ok(contract.check(route).some((v) => v.where === 'route'), 'an operation axe does not use is not in the trimmed spec');
    const read = contract.checkFieldReads([{ method: 'GET', path: '/status', status: 200, field: 'data.template.userID' } satisfies BwFieldRead]);
    assert.ok(read.some((v) => v.where === 'field'), 'userID ([P]) is not what bw answers (userId)');
  });

  it("the real bw serve (offline): its locked, refused and failure answers, and the product's requests to it, are in the spec; the stand-in answers the same", async () => {
    const contract = await loadContract(SPEC);
    await using appData = await tempDir('bw-contract-appdata');
    const closedPort = await freePort();
    const { email, userId } = await loggedInAppData(appData.path, `http://127.0.0.1:${closedPort}`);
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, BITWARDENCLI_APPDATA_DIR: appData.path, BW_NOINTERACTION: 'true' };
    delete env.BW_SESSION;
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'bw'), ['serve', '--hostname', '127.0.0.1', '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    const real: RealExchange[] = [];
    let restore = (): void => undefined;
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const up = await fetch(`${url}/status`).then(
          (r) => r.ok,
          () => false,
        );
        if (up) break;
        assert.ok(child.exitCode === null, `bw serve exited (${child.exitCode}): ${output}`);
        assert.ok(Date.now() < deadline, `bw serve did not answer within 60 s: ${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      restore = recordFetch(real);
      await using storeDir = await tempDir('bw-contract-store');
      const store = new FileSessionStore({ path: join(storeDir.path, 'bw-session.json') });
      // Through the product: locked; a refused unlock; the locked answer of each vault route; the Host refusal.
      await assertVaultError(new VaultwardenVault({ url, syncIntervalMs: 60_000, store, env: {} }).list(), 'locked');
      await assertVaultError(vaultLogin({ url, password: new Secret('not-the-master-password'), store }), 'wrong-password');
      const client = new BwServeClient({ url });
      const calls: Array<[Parameters<BwServeClient['request']>[0], string, unknown?]> = [
        ['GET', '/list/object/folders?search=axe'],
        ['POST', '/object/folder', { name: 'axe' }],
        ['GET', `/list/object/items?folderid=${randomUUID()}`],
        ['GET', `/list/object/items?folderid=${randomUUID()}&search=AXE_CONTRACT_TOKEN`],
        ['POST', '/object/item', { type: 1, name: 'AXE_CONTRACT_TOKEN', folderId: randomUUID(), notes: null, favorite: false, reprompt: 0, fields: [], login: { uris: [], username: null, password: 'x', totp: null } }],
        ['PUT', `/object/item/${randomUUID()}`, { type: 1, name: 'AXE_CONTRACT_TOKEN', login: { password: 'x' } }],
        // The customer vault's organization (vault-org): the same requests VaultOrgClient sends.
        ['GET', '/list/object/organizations'],
        ['GET', `/list/object/org-collections?organizationId=${ORG_ID}`],
        ['POST', `/object/org-collection?organizationId=${ORG_ID}`, { organizationId: ORG_ID, name: 'Shared Tools', externalId: null, groups: [] }],
        ['GET', `/list/object/org-members?organizationId=${ORG_ID}`],
        ['POST', `/confirm/org-member/${randomUUID()}?organizationId=${ORG_ID}`],
        ['GET', `/object/org-collection/${randomUUID()}?organizationId=${ORG_ID}`],
        ['PUT', `/object/org-collection/${randomUUID()}?organizationId=${ORG_ID}`, { organizationId: ORG_ID, name: 'Shared Tools', externalId: null, groups: [], users: [{ id: randomUUID(), readOnly: false, hidePasswords: false, manage: false }] }],
      ];
      for (const [method, path, body] of calls) assert.match(String(await rejection(client.request(method, path, body))), /Vault is locked\./);
      await assertVaultError(new VaultwardenVault({ url: `http://[::ffff:127.0.0.1]:${port}`, syncIntervalMs: 60_000 }).list(), 'refused');
      await fetch(`${url}/status`, { headers: { origin: 'http://attacker.example' } });
      // Not the product's request, but an answer the stand-in must give as bw does: /unlock with an empty password.
      await fetch(`${url}/unlock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: '' }) });
      restore();

      const recorded = real.map((r) => r.exchange);
      assertInContract(contract, recorded);
      const status = recorded.find((e) => e.path === '/status' && e.status === 200)!.responseBody as { data: { template: Record<string, unknown> } };
      assert.deepEqual(status.data.template, { serverUrl: status.data.template.serverUrl, lastSync: null, userEmail: email, userId, status: 'locked' });
      const refusals = real.filter((r) => r.exchange.status === 403);
      assert.equal(refusals.length, 2);
      for (const r of refusals) assert.deepEqual([r.responseType, r.exchange.responseBody], ['text/plain', 'Forbidden']);

      // The stand-in, locked, answers the same requests with the same status, media type and body (/status: the same keys).
      const standIn: VaultExchange[] = [];
      await using vault = await startVaultEmulator({ record: (e) => standIn.push(e) });
      const replay = real.filter((r) => !r.exchange.headers?.host?.startsWith('['));
      for (const { exchange: e } of replay) {
        await fetch(`${vault.url}${e.path}${Object.keys(e.query ?? {}).length ? `?${new URLSearchParams(e.query as Record<string, string>)}` : ''}`, {
          method: e.method,
          headers: Object.fromEntries(Object.entries(e.headers ?? {}).filter(([name]) => ['content-type', 'accept', 'origin'].includes(name))),
          ...(e.requestBody === undefined ? {} : { body: JSON.stringify(e.requestBody) }),
        });
      }
      assert.equal(standIn.length, replay.length);
      replay.forEach(({ exchange: real, responseType }, i) => {
        const lab = standIn[i]!;
        const what = describeExchange(real);
        assert.equal(lab.status, real.status, what);
        assert.equal(lab.responseType, responseType, what);
        if (real.path === '/status' && real.status === 200) {
          const labTemplate = (lab.responseBody as { data: { template: Record<string, unknown> } }).data.template;
          assert.deepEqual(Object.keys(labTemplate).sort(), Object.keys(status.data.template).sort(), what);
          assert.equal(labTemplate.status, 'locked', what);
        } else if (real.path === '/unlock' && (real.requestBody as { password?: string } | undefined)?.password) {
          // A wrong password: bw (with this made-up account) cannot even try it; the stand-in says it is wrong. Both fail.
          assert.equal((lab.responseBody as { success: boolean }).success, false, what);
        } else {
          assert.deepEqual(lab.responseBody, real.responseBody, what);
        }
      });
      assertInContract(contract, standIn.map(toExchange));
    } finally {
      restore();
      if (child.exitCode === null && child.pid !== undefined) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        await exited;
      }
    }
  });
});
