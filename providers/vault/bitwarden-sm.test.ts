import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AxeError } from '../../core/errors.js';
import { Fingerprints } from '../../core/fingerprint.js';
import { Secret } from '../../core/secret.js';
import { contentDigest } from './types.js';
import { BitwardenSmVault, metaFromNote, noteFor, sdkStatus, type SecretsManagerClient, type SmSecret, type SmSecretInput } from './bitwarden-sm.js';

const dir = await mkdtemp(join(tmpdir(), 'axe-bwsm-'));
after(() => rm(dir, { recursive: true, force: true }));

const ORG = '6f1d8a2e-1c3b-4d5e-8f90-0a1b2c3d4e5f';
const PROJECT = '1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d';
const OTHER_PROJECT = '9a8b7c6d-5e4f-4a3b-8c1d-0e9f8a7b6c5d';
const TOKEN = `0.${randomUUID()}.clientsecret123:${Buffer.alloc(16, 7).toString('base64')}`;

/** An in-memory Secrets Manager behind the seam; `fail` makes the next calls throw SDK-shaped errors. */
class FakeSm implements SecretsManagerClient {
  readonly secrets: SmSecret[] = [];
  readonly calls: string[] = [];
  readonly fail: Error[] = [];
  logins = 0;
  clock = 0;
  /** When set, the next sync answers what it saw at its start only once this resolves (a slow read). */
  holdNext: Promise<void> | null = null;

  async loginAccessToken(): Promise<void> {
    this.logins += 1;
    this.calls.push('login');
  }

  async sync(): Promise<SmSecret[]> {
    this.calls.push('sync');
    const f = this.fail.shift();
    if (f) throw f;
    const seen = this.secrets.map((s) => ({ ...s }));
    const hold = this.holdNext;
    this.holdNext = null;
    if (hold) await hold;
    return seen;
  }

  async create(input: SmSecretInput): Promise<SmSecret> {
    this.calls.push('create');
    const s = this.#secret(randomUUID(), input);
    this.secrets.push(s);
    return s;
  }

  async update(id: string, input: SmSecretInput): Promise<SmSecret> {
    this.calls.push('update');
    const i = this.secrets.findIndex((s) => s.id === id);
    const s = this.#secret(id, input);
    this.secrets[i] = s;
    return s;
  }

  #secret(id: string, input: SmSecretInput): SmSecret {
    this.clock += 1;
    return { id, organizationId: input.organizationId, projectId: input.projectIds[0] ?? null, key: input.key, value: input.value, note: input.note, revisionDate: new Date(Date.UTC(2026, 0, 1, 0, 0, this.clock)).toISOString() };
  }
}

function vault(fake: FakeSm, overrides: Partial<ConstructorParameters<typeof BitwardenSmVault>[0]> = {}): BitwardenSmVault {
  return new BitwardenSmVault({
    apiUrl: 'http://127.0.0.1:9/api',
    identityUrl: 'http://127.0.0.1:9/identity',
    organizationId: ORG,
    projectId: PROJECT,
    tokenEnv: 'BWS_ACCESS_TOKEN',
    env: { BWS_ACCESS_TOKEN: TOKEN },
    openClient: async () => fake,
    probeTimeoutMs: 1000,
    fingerprints: new Fingerprints(join(dir, 'fingerprint.key')),
    ...overrides,
  });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('bitwarden-sm provider: mapping', () => {
  it('customer and service travel in the note as JSON; a person\'s free-text note is kept and read as no metadata', () => {
    assert.equal(noteFor({ name: 'A', customer: 'demo', service: 'blueprint' }), '{"customer":"demo","service":"blueprint"}');
    assert.equal(noteFor({ name: 'A' }), '');
    assert.deepEqual(metaFromNote('{"customer":"demo","service":"blueprint"}'), { customer: 'demo', service: 'blueprint' });
    assert.deepEqual(metaFromNote('rotated by hand in March'), {});
    assert.deepEqual(metaFromNote(''), {});
    assert.equal(noteFor({ name: 'A', customer: 'demo' }, 'rotated by hand in March'), 'rotated by hand in March');
    assert.equal(noteFor({ name: 'A', service: 'frame' }, '{"customer":"demo","owner":"ops"}'), '{"customer":"demo","owner":"ops","service":"frame"}');
  });

  it('put is created, unchanged, updated; list has names, metadata and fingerprints of the project\'s secrets only; get reads the value', async () => {
    const fake = new FakeSm();
    fake.secrets.push({ id: randomUUID(), organizationId: ORG, projectId: OTHER_PROJECT, key: 'NOT_AXE', value: new Secret('elsewhere'), note: '', revisionDate: '2026-01-01T00:00:00.000Z' });
    const v = vault(fake);
    assert.equal(await v.put({ name: 'AZURE_DEMO_BLUEPRINT_CLIENT_SECRET', customer: 'demo', service: 'blueprint', value: new Secret('value-one') }), 'created');
    assert.equal(await v.put({ name: 'AZURE_DEMO_BLUEPRINT_CLIENT_SECRET', customer: 'demo', service: 'blueprint', value: new Secret('value-one') }), 'unchanged');
    assert.equal(await v.put({ name: 'AZURE_DEMO_BLUEPRINT_CLIENT_SECRET', value: new Secret('value-two') }), 'updated');
    assert.deepEqual(fake.calls, ['login', 'sync', 'create', 'sync', 'sync', 'update']);
    const created = fake.secrets.find((s) => s.key === 'AZURE_DEMO_BLUEPRINT_CLIENT_SECRET');
    assert.equal(created?.projectId, PROJECT);
    assert.equal(created?.note, '{"customer":"demo","service":"blueprint"}', 'an update without metadata keeps the note');
    const list = await v.list();
    assert.deepEqual(list, [{ name: 'AZURE_DEMO_BLUEPRINT_CLIENT_SECRET', customer: 'demo', service: 'blueprint', fingerprint: v.fingerprint(new Secret('value-two')), digest: contentDigest(new Secret('value-two')), updatedAt: created?.revisionDate }]);
    assert.ok(!JSON.stringify(list).includes('value-two'));
    assert.equal((await v.get('AZURE_DEMO_BLUEPRINT_CLIENT_SECRET'))?.reveal(), 'value-two');
    assert.equal(await v.get('NOT_AXE'), null, 'a secret in another project is not axe\'s');
    assert.equal(fake.logins, 1, 'one login per provider');
  });

  it('reads in flight together share one sync; a read after a put sees the put', async () => {
    const fake = new FakeSm();
    const v = vault(fake);
    await v.list();
    fake.calls.length = 0;
    const values = await Promise.all([v.get('A'), v.get('B'), v.list(), v.get('C')]);
    assert.deepEqual(values, [null, null, [], null]);
    assert.deepEqual(fake.calls, ['sync']);
    let release = (): void => undefined;
    fake.holdNext = new Promise<void>((r) => (release = r));
    const slow = v.get('A');
    assert.equal(await v.put({ name: 'A', value: new Secret('a') }), 'created');
    assert.equal((await v.get('A'))?.reveal(), 'a', 'a read after the put does not share the slow read that started before it');
    release();
    assert.equal(await slow, null);
  });

  it('of two secrets with one key in the project, the newest wins', async () => {
    const fake = new FakeSm();
    fake.secrets.push(
      { id: randomUUID(), organizationId: ORG, projectId: PROJECT, key: 'DUP', value: new Secret('old'), note: '', revisionDate: '2026-01-01T00:00:00.000Z' },
      { id: randomUUID(), organizationId: ORG, projectId: PROJECT, key: 'DUP', value: new Secret('new'), note: '', revisionDate: '2026-02-01T00:00:00.000Z' },
    );
    assert.equal((await vault(fake).get('DUP'))?.reveal(), 'new');
  });
});

describe('bitwarden-sm provider: access token and errors', () => {
  it('a missing, malformed or world-readable token is a terminal one-line error with the fix, before any request', async () => {
    const fake = new FakeSm();
    await assert.rejects(vault(fake, { env: {} }).list(), (e: AxeError) => e.class === 'terminal' && /BWS_ACCESS_TOKEN is not set/.test(e.oneLine()) && /fix: export BWS_ACCESS_TOKEN/.test(e.oneLine()));
    await assert.rejects(vault(fake, { env: { BWS_ACCESS_TOKEN: 'not-a-token' } }).list(), (e: AxeError) => e.class === 'terminal' && /does not hold a Secrets Manager access token/.test(e.message) && !e.oneLine().includes('not-a-token'));
    const file = join(dir, 'token');
    await writeFile(file, `${TOKEN}\n`, { mode: 0o644 });
    await assert.rejects(vault(fake, { tokenFile: file }).list(), (e: AxeError) => e.class === 'terminal' && /fix: chmod 600/.test(e.oneLine()));
    assert.deepEqual(fake.calls, []);
  });

  it('the token file (0600) wins over the environment', async () => {
    const fake = new FakeSm();
    const file = join(dir, 'token-ok');
    await writeFile(file, `${TOKEN}\n`, { mode: 0o600 });
    assert.deepEqual(await vault(fake, { tokenFile: file, env: {} }).list(), []);
  });

  it('SDK failures: 5xx and 429 transient, 404 terminal with the access fix, unreachable server transient, a 401 logs in once more', async () => {
    assert.equal(sdkStatus(new Error('Received error message from server: [503 Service Unavailable] ')), 503);
    assert.equal(sdkStatus(new Error('error sending request for url (http://127.0.0.1:9/api)')), null);
    const fake = new FakeSm();
    const port = await closedPort();
    const v = vault(fake, { apiUrl: `http://127.0.0.1:${port}/api` });
    fake.fail.push(new Error('Received error message from server: [503 Service Unavailable] '));
    await assert.rejects(v.list(), (e: AxeError) => e.class === 'transient' && /answered 503/.test(e.message));
    fake.fail.push(new Error('Received error message from server: [429 Too Many Requests] '));
    await assert.rejects(v.list(), (e: AxeError) => e.class === 'transient');
    fake.fail.push(new Error('Received error message from server: [404 Not Found] {"message":"Resource not found."}'));
    await assert.rejects(v.list(), (e: AxeError) => e.class === 'terminal' && /give the machine account .* read and write access to project/.test(e.oneLine()));
    fake.fail.push(new Error('error sending request for url'));
    await assert.rejects(v.list(), (e: AxeError) => e.class === 'transient' && /cannot reach Bitwarden Secrets Manager API server/.test(e.message));
    const logins = fake.logins;
    fake.fail.push(new Error('Received error message from server: [401 Unauthorized] '));
    assert.deepEqual(await v.list(), []);
    assert.equal(fake.logins, logins + 1, 'a 401 drops the session and logs in again, once');
  });
});
