/**
 * The `bitwarden-sm` vault provider with the real `@bitwarden/sdk-napi`
 * against the lab's Secrets Manager stand-in (lab/secrets-manager): the SDK's
 * own access-token login, encryption and API calls, over loopback http.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AxeError } from '../core/errors.js';
import { Secret } from '../core/secret.js';
import { accessTokenPayloadKey, decryptEncString, isEncString, symmetricKey, type SymmetricKey } from '../lab/secrets-manager/crypto.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../lab/secrets-manager/server.js';
import { openVault } from '../providers/vault/index.js';
import type { VaultConfig } from '../schemas/controller-config.js';
import { axe, exampleRepo, git, SAMPLE_PACK, tempDir } from './helpers.js';

const VALUES = ['sm-value-first-8c1f', 'sm-value-second-2d9e'];
const PACK_SECRETS = ['SAMPLE-not-a-secret-blueprint-9f8e7d', 'SAMPLE-not-a-secret-vaultwarden-6c5b4a', 'SAMPLE-not-a-secret-frame-mcp-3a2b1c'];

let sm: SecretsManagerStandIn;
let dir: Awaited<ReturnType<typeof tempDir>>;

before(async () => {
  sm = await startSecretsManagerStandIn();
  dir = await tempDir('bwsm');
});
after(async () => {
  await sm.close();
  await dir[Symbol.asyncDispose]();
});

function config(extra: Partial<Extract<VaultConfig, { provider: 'bitwarden-sm' }>> = {}): VaultConfig {
  return { provider: 'bitwarden-sm', api_url: sm.apiUrl, identity_url: sm.identityUrl, organization_id: sm.organizationId, project_id: sm.projectId, access_token_env: 'BWS_ACCESS_TOKEN', ...extra };
}

/** The organization key, as a client gets it: log in with the token and decrypt the payload. */
async function organizationKey(token: Secret): Promise<SymmetricKey> {
  const m = /^0\.([^.]+)\.([^:]+):(.+)$/.exec(token.reveal())!;
  const res = await fetch(`${sm.identityUrl}/connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ scope: 'api.secrets', client_id: m[1]!, client_secret: m[2]!, grant_type: 'client_credentials' }).toString(),
  });
  const body = (await res.json()) as { encrypted_payload: string };
  const payload = JSON.parse(decryptEncString(body.encrypted_payload, accessTokenPayloadKey(Buffer.from(m[3]!, 'base64'))).toString('utf8')) as { encryptionKey: string };
  return symmetricKey(Buffer.from(payload.encryptionKey, 'base64'));
}

describe('bitwarden-sm provider, real SDK against the Secrets Manager stand-in', () => {
  it('put created, unchanged, updated; list has fingerprints and no values; get; the server holds EncStrings under the organization key', async () => {
    const token = sm.issueAccessToken();
    const home = join(dir.path, 'home-a');
    const vault = openVault(config(), { BWS_ACCESS_TOKEN: token.reveal(), AXE_HOME: home });
    assert.equal(vault.kind, 'bitwarden-sm');
    assert.equal(await vault.put({ name: 'SM_TEST_SECRET', customer: 'demo', service: 'blueprint', value: new Secret(VALUES[0]!) }), 'created');
    assert.equal(await vault.put({ name: 'SM_TEST_SECRET', customer: 'demo', service: 'blueprint', value: new Secret(VALUES[0]!) }), 'unchanged');
    assert.equal(await vault.put({ name: 'SM_TEST_SECRET', customer: 'demo', service: 'blueprint', value: new Secret(VALUES[1]!) }), 'updated');
    const list = await vault.list();
    assert.deepEqual(
      list.map(({ updatedAt: _, digest: __, ...rest }) => rest),
      [{ name: 'SM_TEST_SECRET', customer: 'demo', service: 'blueprint', fingerprint: vault.fingerprint(new Secret(VALUES[1]!)) }],
    );
    assert.ok(!JSON.stringify(list).includes('sm-value'));
    assert.equal((await vault.get('SM_TEST_SECRET'))?.reveal(), VALUES[1]);
    assert.equal(await vault.get('SM_MISSING'), null);

    const stored = sm.stored().filter((s) => s.projectId === sm.projectId);
    assert.equal(stored.length, 1, 'an update changes the one secret, nothing is added or deleted');
    const key = await organizationKey(token);
    for (const s of stored) {
      for (const field of [s.key, s.value, s.note]) {
        assert.ok(isEncString(field), 'stored as a type 2 EncString');
        for (const v of [...VALUES, 'SM_TEST_SECRET', 'blueprint']) assert.ok(!field.includes(v), 'no plaintext on the server');
      }
      assert.equal(decryptEncString(s.key, key).toString('utf8'), 'SM_TEST_SECRET');
      assert.equal(decryptEncString(s.value, key).toString('utf8'), VALUES[1]);
      assert.equal(decryptEncString(s.note, key).toString('utf8'), '{"customer":"demo","service":"blueprint"}');
    }

    // The SDK's state (bearer token, organization key) is kept 0600 under AXE_HOME, so a second run does not log in again.
    const stateFile = join(home, 'bitwarden-sm', `${/^0\.([^.]+)\./.exec(token.reveal())![1]}.state`);
    assert.equal((await stat(stateFile)).mode & 0o777, 0o600);
    assert.ok(isEncString((await readFile(stateFile, 'utf8')).trim()), 'the SDK encrypts its state');
    const logins = sm.counters.logins;
    assert.equal((await openVault(config(), { BWS_ACCESS_TOKEN: token.reveal(), AXE_HOME: home }).get('SM_TEST_SECRET'))?.reveal(), VALUES[1]);
    assert.equal(sm.counters.logins, logins);
  });

  it('a wrong access token is refused with one terminal line and the fix, without the token in it', async () => {
    const good = sm.issueAccessToken().reveal();
    const wrong = good.replace(/^(0\.[^.]+\.)[^:]+/, '$1WrongClientSecret000000000000');
    const file = join(dir.path, 'wrong-token');
    await writeFile(file, `${wrong}\n`, { mode: 0o600 });
    const vault = openVault(config({ access_token_file: file }), { AXE_HOME: join(dir.path, 'home-b') });
    await assert.rejects(vault.list(), (error: AxeError) => {
      assert.ok(error instanceof AxeError);
      assert.equal(error.class, 'terminal');
      const line = error.oneLine();
      assert.match(line, /^Bitwarden Secrets Manager refused the access token [0-9a-f-]{36} from the access token file .*wrong-token \(400\) \(fix: create a new access token for the machine account/);
      assert.ok(!line.includes('WrongClientSecret') && !line.includes(good.split(':')[1]!));
      assert.ok(!line.includes('\n'));
      return true;
    });
  });

  it('an API outage (503) and a server that is gone are transient', async () => {
    const token = sm.issueAccessToken();
    const vault = openVault(config(), { BWS_ACCESS_TOKEN: token.reveal(), AXE_HOME: join(dir.path, 'home-c') });
    assert.ok(Array.isArray(await vault.list()));
    sm.failNext(503, 1);
    await assert.rejects(vault.list(), (error: AxeError) => error.class === 'transient' && /answered 503/.test(error.message));
    const gone = openVault(config({ api_url: 'http://127.0.0.1:9/api', identity_url: 'http://127.0.0.1:9/identity' }), { BWS_ACCESS_TOKEN: token.reveal(), AXE_HOME: join(dir.path, 'home-d') });
    await assert.rejects(gone.list(), (error: AxeError) => error.class === 'transient' && /cannot reach Bitwarden Secrets Manager identity server/.test(error.message));
  });

  it('axe customers ingest demo --apply writes the pack\'s three secrets to Secrets Manager; axe secret list reads them back', async () => {
    const token = sm.issueAccessToken();
    const home = join(dir.path, 'home-cli');
    const repo = await exampleRepo(join(dir.path, 'cli'));
    const tokenFile = join(dir.path, 'cli-token');
    await writeFile(tokenFile, `${token.reveal()}\n`, { mode: 0o600 });
    await mkdir(home, { recursive: true });
    await writeFile(
      join(home, 'config.yaml'),
      [
        'repo:',
        `  url: ${repo}`,
        'vault:',
        '  provider: bitwarden-sm',
        `  api_url: ${sm.apiUrl}`,
        `  identity_url: ${sm.identityUrl}`,
        `  organization_id: ${sm.organizationId}`,
        `  project_id: ${sm.projectId}`,
        `  access_token_file: ${tokenFile}`,
        'cloudflare:',
        '  account_id: 0123456789abcdef0123456789abcdef',
        '',
      ].join('\n'),
    );
    const env = { AXE_HOME: home, AXE_REPO: repo };
    const first = await axe(['customers', 'ingest', 'demo', SAMPLE_PACK, '--apply'], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal((await git(repo, 'rev-list', '--count', 'main..onboard/demo')).trim(), '1');
    const names = ['AZURE_DEMO_BLUEPRINT_CLIENT_SECRET', 'AZURE_DEMO_FRAME_MCP_CLIENT_SECRET', 'AZURE_DEMO_VAULTWARDEN_CLIENT_SECRET'];
    const key = await organizationKey(token);
    const stored = new Map(sm.stored().map((s) => [decryptEncString(s.key, key).toString('utf8'), decryptEncString(s.value, key).toString('utf8')]));
    for (const name of names) assert.ok(stored.has(name), `${name} is in Secrets Manager`);
    assert.deepEqual(names.map((n) => stored.get(n)).sort(), [...PACK_SECRETS].sort());

    const second = await axe(['customers', 'ingest', 'demo', SAMPLE_PACK, '--apply'], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /nothing to do/);

    const listed = await axe(['secret', 'list', '--customer', 'demo', '--json'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    for (const name of names) assert.ok(listed.stdout.includes(name), `secret list shows ${name}`);
    for (const text of [first.stdout, first.stderr, second.stdout, listed.stdout, listed.stderr]) {
      for (const s of [...PACK_SECRETS, token.reveal().split(':')[1]!]) assert.ok(!text.includes(s), 'no secret in the CLI output');
    }

    const login = await axe(['vault', 'login'], { env, input: '' });
    assert.equal(login.code, 1);
    assert.match(login.stderr, /bitwarden-sm logs in by itself with the machine account's access token \(fix: put the access token in \S+cli-token\)/);

    // A revoked or mistyped token: the CLI says so in one line with the fix (a fresh AXE_HOME, so no kept SDK state).
    await writeFile(tokenFile, `${token.reveal().replace(/^(0\.[^.]+\.)[^:]+/, '$1NotTheSecret')}\n`, { mode: 0o600 });
    const refused = await axe(['secret', 'list', '--customer', 'demo'], { env: { ...env, AXE_HOME: join(dir.path, 'home-cli-2'), AXE_CONFIG: join(home, 'config.yaml') } });
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /^axe: Bitwarden Secrets Manager refused the access token [0-9a-f-]{36} from the access token file \S+ \(400\) \(fix: create a new access token for the machine account in the Secrets Manager web app and put it there\)\n$/);
  });
});
