/**
 * The Secrets Manager stand-in held to Bitwarden's published API description:
 * every exchange the real `@bitwarden/sdk-napi` (through axe's provider, and
 * through the SDK's other secrets calls) and axe's `/alive` probe have with
 * lab/secrets-manager is recorded and checked against
 * contracts/bitwarden-sm/openapi.trimmed.yaml, and so are the response fields
 * the SDK reads (from its source, sdk-sm napi-v1.0.0). The spec documents the
 * success answers (and the token endpoint's 400), so the flows here are the
 * ones whose answers it describes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BitwardenClient, DeviceType } from '@bitwarden/sdk-napi';
import { loadContract, type Contract, type Exchange, type FieldRead } from '../contracts/openapi-check.js';
import { AxeError } from '../core/errors.js';
import { Secret } from '../core/secret.js';
import { startSecretsManagerStandIn, type RecordedExchange, type SecretsManagerStandIn } from '../lab/secrets-manager/server.js';
import { openVault } from '../providers/vault/index.js';
import type { VaultConfig } from '../schemas/controller-config.js';
import { ROOT, tempDir } from './helpers.js';

const SPEC = join(ROOT, 'contracts', 'bitwarden-sm', 'openapi.trimmed.yaml');

/** What the SDK reads from each answer (bitwarden-core auth/login/access_token.rs, auth/api/response/*.rs; bitwarden-sm secrets/*.rs). */
const SECRET_FIELDS = ['id', 'organizationId', 'key', 'value', 'note', 'creationDate', 'revisionDate', 'projects[].id'];
const READS: FieldRead[] = [
  ...['access_token', 'expires_in', 'refresh_token', 'token_type', 'scope', 'encrypted_payload'].map((field) => ({ method: 'POST', path: '/connect/token', status: 200, field })),
  { method: 'GET', path: '/organizations/{organizationId}/secrets/sync', status: 200, field: 'hasChanges' },
  ...SECRET_FIELDS.map((f) => ({ method: 'GET', path: '/organizations/{organizationId}/secrets/sync', status: 200, field: `secrets.data[].${f}` })),
  ...['id', 'organizationId', 'key'].map((f) => ({ method: 'GET', path: '/organizations/{organizationId}/secrets', status: 200, field: `secrets[].${f}` })),
  ...SECRET_FIELDS.map((field) => ({ method: 'POST', path: '/organizations/{organizationId}/secrets', status: 200, field })),
  ...SECRET_FIELDS.map((field) => ({ method: 'GET', path: '/secrets/{id}', status: 200, field })),
  ...SECRET_FIELDS.map((field) => ({ method: 'PUT', path: '/secrets/{id}', status: 200, field })),
  ...SECRET_FIELDS.map((f) => ({ method: 'POST', path: '/secrets/get-by-ids', status: 200, field: `data[].${f}` })),
];

describe('Secrets Manager stand-in against Bitwarden\'s API description', () => {
  const exchanges: RecordedExchange[] = [];
  let sm: SecretsManagerStandIn;
  let contract: Contract;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  before(async () => {
    contract = await loadContract(SPEC);
    sm = await startSecretsManagerStandIn({ record: (e) => exchanges.push(e) });
    dir = await tempDir('bwsm-contract');
  });
  after(async () => {
    await sm.close();
    await dir[Symbol.asyncDispose]();
  });

  it('every exchange of the provider, the SDK\'s other secrets calls and the probe conforms, on every route of the spec', async () => {
    const config: VaultConfig = { provider: 'bitwarden-sm', api_url: sm.apiUrl, identity_url: sm.identityUrl, organization_id: sm.organizationId, project_id: sm.projectId, access_token_env: 'BWS_ACCESS_TOKEN' };
    const token = sm.issueAccessToken();
    const vault = openVault(config, { BWS_ACCESS_TOKEN: token.reveal(), AXE_HOME: join(dir.path, 'home') });
    assert.equal(await vault.put({ name: 'CONTRACT_SECRET', customer: 'demo', service: 'frame', value: new Secret('contract-value-1') }), 'created');
    assert.equal(await vault.put({ name: 'CONTRACT_SECRET', value: new Secret('contract-value-1') }), 'unchanged');
    assert.equal(await vault.put({ name: 'CONTRACT_SECRET', value: new Secret('contract-value-2') }), 'updated');
    assert.equal((await vault.list()).length, 1);
    assert.equal((await vault.get('CONTRACT_SECRET'))?.reveal(), 'contract-value-2');

    // The SDK's other secrets calls, which the provider does not make.
    const client = new BitwardenClient({ apiUrl: sm.apiUrl, identityUrl: sm.identityUrl, userAgent: 'axe-contract-test', deviceType: DeviceType.SDK }, 4);
    await client.auth().loginAccessToken(token.reveal());
    const listed = await client.secrets().list(sm.organizationId);
    assert.deepEqual(listed.data.map((s) => s.key), ['CONTRACT_SECRET']);
    const id = listed.data[0]!.id;
    assert.equal((await client.secrets().get(id)).value, 'contract-value-2');
    assert.equal((await client.secrets().getByIds([id])).data.length, 1);
    assert.equal((await client.secrets().sync(sm.organizationId, new Date(Date.now() + 60_000))).hasChanges, false);

    // Refusals the spec describes: a wrong client secret (400 invalid_client), and a token whose key does not
    // decrypt the login payload, which the provider then classifies by probing the identity server's /alive.
    const wrongSecret = token.reveal().replace(/^(0\.[^.]+\.)[^:]+/, '$1NotTheSecret');
    await assert.rejects(openVault(config, { BWS_ACCESS_TOKEN: wrongSecret, AXE_HOME: join(dir.path, 'home-2') }).list(), (e: AxeError) => e.class === 'terminal');
    const wrongKey = token.reveal().replace(/:.*$/, `:${randomBytes(16).toString('base64')}`);
    await assert.rejects(openVault(config, { BWS_ACCESS_TOKEN: wrongKey, AXE_HOME: join(dir.path, 'home-3') }).list(), (e: AxeError) => e.class === 'terminal' && /refused the access token/.test(e.message));

    const seen = new Set(exchanges.map((e) => `${e.server} ${e.method} ${e.path.replace(/[0-9a-f-]{36}/g, '{id}')} ${e.status}`));
    for (const route of [
      'identity POST /connect/token 200',
      'identity POST /connect/token 400',
      'identity GET /alive 200',
      'api GET /organizations/{id}/secrets/sync 200',
      'api GET /organizations/{id}/secrets 200',
      'api POST /organizations/{id}/secrets 200',
      'api GET /secrets/{id} 200',
      'api PUT /secrets/{id} 200',
      'api POST /secrets/get-by-ids 200',
    ]) {
      assert.ok(seen.has(route), `recorded ${route}; recorded: ${[...seen].join(', ')}`);
    }
    const violations = exchanges.flatMap((e) => contract.check({ method: e.method, path: e.path, query: e.query, headers: e.headers, requestBody: e.requestBody, status: e.status, responseBody: e.responseBody }));
    assert.deepEqual(violations, []);
  });

  it('every field the SDK reads is in the spec', () => {
    assert.deepEqual(contract.checkFieldReads(READS), []);
  });

  it('the checker would see a stand-in that drifts from the spec', () => {
    const drifted: Exchange = {
      method: 'GET',
      path: `/secrets/${sm.projectId}`,
      query: {},
      headers: {},
      status: 200,
      responseBody: { object: 'secret', id: sm.projectId, organizationId: 42, key: '2.a|b|c', revision: 3 },
    };
    const messages = contract.check(drifted).map((v) => v.message);
    assert.ok(messages.some((m) => /revision is not in the response schema/.test(m)), messages.join('; '));
    assert.ok(messages.some((m) => /organizationId/.test(m)), messages.join('; '));
  });
});
