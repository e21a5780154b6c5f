import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { accessTokenPayloadKey, decryptEncString, encryptEncString, isEncString, symmetricKey } from './crypto.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from './server.js';

describe('Secrets Manager stand-in: crypto', () => {
  it('derives the access token payload key as the SDK does (its own test vector, access_token.rs)', () => {
    const key = accessTokenPayloadKey(Buffer.from('X8vbvA0bduihIDe/qrzIQQ==', 'base64'));
    assert.equal(Buffer.concat([key.enc, key.mac]).toString('base64'), 'H9/oIRLtL9nGCQOVDjSMoEbJsjWXSOCb3qeyDt6ckzS3FhyboEDWyTP/CQfbIszNmAVg2ExFganG1FVFGXO/Jg==');
  });

  it('type 2 EncStrings round-trip and a changed byte fails the MAC', () => {
    const key = symmetricKey(randomBytes(64));
    const text = encryptEncString('hello', key);
    assert.ok(isEncString(text));
    assert.equal(decryptEncString(text, key).toString('utf8'), 'hello');
    const [head, data, mac] = text.split('|');
    const flipped = Buffer.from(data!, 'base64');
    flipped[0]! ^= 1;
    assert.throws(() => decryptEncString(`${head}|${flipped.toString('base64')}|${mac}`, key), /MAC/);
    assert.ok(!isEncString('plain text'));
  });
});

describe('Secrets Manager stand-in: guards', () => {
  let sm: SecretsManagerStandIn;
  let bearer = '';
  before(async () => {
    sm = await startSecretsManagerStandIn();
    const m = /^0\.([^.]+)\.([^:]+):/.exec(sm.issueAccessToken().reveal())!;
    const res = await fetch(`${sm.identityUrl}/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ scope: 'api.secrets', client_id: m[1]!, client_secret: m[2]!, grant_type: 'client_credentials' }).toString(),
    });
    assert.equal(res.status, 200);
    bearer = ((await res.json()) as { access_token: string }).access_token;
  });
  after(() => sm.close());

  const post = (path: string, body: unknown, token = bearer) =>
    fetch(`${sm.apiUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });

  it('refuses plaintext fields (400), another project (404), a forged or missing bearer (401)', async () => {
    const enc = encryptEncString('x', symmetricKey(randomBytes(64)));
    const plain = await post(`/organizations/${sm.organizationId}/secrets`, { key: enc, value: 'plaintext', note: enc, projectIds: [sm.projectId] });
    assert.equal(plain.status, 400);
    assert.deepEqual(Object.keys(((await plain.json()) as { validationErrors: object }).validationErrors), ['value']);
    assert.equal((await post(`/organizations/${sm.organizationId}/secrets`, { key: enc, value: enc, note: enc, projectIds: ['1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d'] })).status, 404);
    const [h, b] = bearer.split('.');
    assert.equal((await post(`/organizations/${sm.organizationId}/secrets`, {}, `${h}.${b}.${Buffer.alloc(32).toString('base64url')}`)).status, 401);
    assert.equal((await fetch(`${sm.apiUrl}/organizations/${sm.organizationId}/secrets`)).status, 401);
    assert.equal((await post(`/organizations/${sm.organizationId}/secrets`, { key: enc, value: enc, note: enc, projectIds: [sm.projectId] })).status, 200);
    assert.equal(sm.stored().length, 1);
  });

  it('a wrong client secret is invalid_client, and the login counters say so', async () => {
    const m = /^0\.([^.]+)\./.exec(sm.issueAccessToken().reveal())!;
    const res = await fetch(`${sm.identityUrl}/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ scope: 'api.secrets', client_id: m[1]!, client_secret: 'wrong', grant_type: 'client_credentials' }).toString(),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: 'invalid_client' });
    assert.equal(sm.counters.failedLogins, 1);
  });
});
