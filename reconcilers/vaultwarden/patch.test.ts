import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { vaultwardenComposeFile } from '../../lab/images/vaultwarden-compose.js';
import { envChanges, envFileChanges, patchVaultCompose, readVaultFile, type VaultPatchSpec } from './patch.js';

const spec: VaultPatchSpec = {
  container: 'axe-vaultwarden',
  required: { SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION: 'true', SIGNUPS_ALLOWED: 'true', SSO_ONLY: 'false', ORGANIZATION_INVITE_AUTO_ACCEPT: 'true' },
  anchor: 'SSO_SIGNUPS_MATCH_EMAIL',
  domainPath: '/vault',
  defaultDomain: 'https://acme.axelabs.ai/vault',
};

describe('vault compose patch', () => {
  test('missing keys go right after the anchor, aligned; DOMAIN gets /vault; every other line is kept', () => {
    const before = vaultwardenComposeFile({ domain: 'https://acme.axelabs.ai', withKeys: false, network: 'axe-acme' });
    const { text, changes } = patchVaultCompose(before, spec);
    assert.deepEqual(changes.map((c) => c.key), ['SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION', 'SIGNUPS_ALLOWED', 'SSO_ONLY', 'ORGANIZATION_INVITE_AUTO_ACCEPT', 'DOMAIN']);
    assert.match(text, /SSO_SIGNUPS_MATCH_EMAIL: "true"\n {6}SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION: "true"\n {6}SIGNUPS_ALLOWED: {9}"true"\n {6}SSO_ONLY: {16}"false"\n {6}ORGANIZATION_INVITE_AUTO_ACCEPT: "true"\n {6}INVITATIONS_ALLOWED:/);
    assert.match(text, /DOMAIN: {18}"https:\/\/acme.axelabs.ai\/vault"/);
    // Only added lines and the DOMAIN line differ.
    const removed = before.split('\n').filter((l) => !text.split('\n').includes(l));
    assert.deepEqual(removed, ['      DOMAIN:                  "https://acme.axelabs.ai"']);
    assert.equal(text.split('\n').length, before.split('\n').length + 4);
    // Patching again changes nothing.
    assert.deepEqual(patchVaultCompose(text, spec), { text, changes: [] });
  });

  test('a wrong value is replaced in place, with its comment kept', () => {
    const before = vaultwardenComposeFile({ domain: 'https://acme.axelabs.ai/vault', withKeys: true, network: 'n' }).replace(/SSO_ONLY:( +)"false"/, 'SSO_ONLY:$1"true"');
    const { text, changes } = patchVaultCompose(before, spec);
    assert.deepEqual(changes, [{ key: 'SSO_ONLY', from: 'true', to: 'false' }]);
    assert.equal(text, before.replace(/SSO_ONLY:( +)"true"/, 'SSO_ONLY:$1"false"'));
    assert.match(text, /SSO_ONLY: +"false" +# D-ops-27/);
  });

  test('unquoted booleans count as their value; a list-style environment is patched too', () => {
    const list = [
      'services:',
      '  axe-vaultwarden:',
      '    image: vaultwarden/server',
      '    environment:',
      '      - DOMAIN=https://acme.axelabs.ai/vault/',
      '      - SSO_SIGNUPS_MATCH_EMAIL=true   # anchor',
      '      - SIGNUPS_ALLOWED=false',
      '      - SSO_ONLY=false',
      '',
    ].join('\n');
    const { text, changes } = patchVaultCompose(list, spec);
    assert.deepEqual(changes.map((c) => `${c.key}=${c.to}`), ['SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION=true', 'SIGNUPS_ALLOWED=true', 'ORGANIZATION_INVITE_AUTO_ACCEPT=true']);
    assert.match(text, /- SSO_SIGNUPS_MATCH_EMAIL=true {3}# anchor\n {6}- "SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION=true"\n {6}- "ORGANIZATION_INVITE_AUTO_ACCEPT=true"\n/);
    assert.match(text, /- "SIGNUPS_ALLOWED=true"\n/);
    const map = 'services:\n  axe-vaultwarden:\n    environment:\n      DOMAIN: https://acme.axelabs.ai/vault\n      SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION: true\n      SIGNUPS_ALLOWED: true\n      SSO_ONLY: false\n      ORGANIZATION_INVITE_AUTO_ACCEPT: true\n';
    assert.deepEqual(envChanges(readVaultFile(map, spec.container).env!, spec), []);
  });

  test('the SSO env file: named under env_file (before environment), its keys dropped from environment, every other line kept; again: nothing', () => {
    const withFile: VaultPatchSpec = { ...spec, envFile: { name: '.env.axe', keys: ['SSO_ENABLED', 'SSO_AUTHORITY', 'SSO_CLIENT_ID', 'SSO_CLIENT_SECRET'] } };
    const before = vaultwardenComposeFile({ domain: 'https://acme.axelabs.ai/vault', withKeys: true, network: 'axe-acme' });
    assert.deepEqual(envFileChanges(readVaultFile(before, spec.container), withFile), { drop: ['SSO_ENABLED', 'SSO_AUTHORITY', 'SSO_CLIENT_ID', 'SSO_CLIENT_SECRET'], addEnvFile: true });
    const { text } = patchVaultCompose(before, withFile);
    const removed = before.split('\n').filter((l) => !text.split('\n').includes(l));
    assert.deepEqual(removed.map((l) => l.trim().split(':')[0]), ['SSO_ENABLED', 'SSO_AUTHORITY', 'SSO_CLIENT_ID', 'SSO_CLIENT_SECRET']);
    assert.deepEqual(text.split('\n').filter((l) => !before.split('\n').includes(l)), ['    env_file: [".env.axe"]']);
    assert.match(text, /restart: unless-stopped\n {4}env_file: \[".env.axe"\]\n {4}environment:\n/);
    const after = readVaultFile(text, spec.container);
    assert.deepEqual(after.envFiles, ['.env.axe']);
    assert.equal(after.env!.get('SSO_SCOPES'), 'email profile offline_access');
    assert.deepEqual(patchVaultCompose(text, withFile), { text, changes: [] });
    // Keys missing too, the anchor right before a dropped line: both in one patch.
    const both = patchVaultCompose(vaultwardenComposeFile({ domain: 'https://acme.axelabs.ai', withKeys: false, network: 'n' }).replace('      INVITATIONS_ALLOWED', '      SSO_CLIENT_ID:           "x"\n      INVITATIONS_ALLOWED').replace(/ {6}SSO_CLIENT_ID: +"\$\{SSO_CLIENT_ID:-\}"\n/, ''), withFile).text;
    assert.match(both, /SSO_SIGNUPS_MATCH_EMAIL: "true"\n {6}SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION: "true"\n(?: {6}.*\n){3} {6}INVITATIONS_ALLOWED:/);
    assert.equal(readVaultFile(both, spec.container).env!.has('SSO_CLIENT_ID'), false);
    // An env_file already there: ours is added to it (a single path, a block list).
    const single = 'services:\n  axe-vaultwarden:\n    env_file: .env\n    environment:\n      DOMAIN: https://acme.axelabs.ai/vault\n';
    assert.deepEqual(readVaultFile(patchVaultCompose(single, { ...withFile, required: {} }).text, spec.container).envFiles, ['.env', '.env.axe']);
    const block = 'services:\n  axe-vaultwarden:\n    env_file:\n      - .env\n    environment:\n      - DOMAIN=https://acme.axelabs.ai/vault\n      - SSO_CLIENT_SECRET=${SSO_CLIENT_SECRET}\n';
    const patched = patchVaultCompose(block, { ...withFile, required: {} }).text;
    assert.equal(patched, 'services:\n  axe-vaultwarden:\n    env_file:\n      - .env\n      - ".env.axe"\n    environment:\n      - DOMAIN=https://acme.axelabs.ai/vault\n');
  });

  test('the file without the service, or with a flow-style environment, is refused (nothing written)', () => {
    assert.throws(() => patchVaultCompose('services:\n  other:\n    image: x\n', spec), /axe-vaultwarden is not in the vault compose file/);
    assert.throws(() => patchVaultCompose('services:\n  axe-vaultwarden:\n    environment: { DOMAIN: x }\n', spec), /flow style/);
    assert.deepEqual(readVaultFile(vaultwardenComposeFile({ domain: 'd', withKeys: false, network: 'axe-x' }), spec.container).externalNetworks, ['axe-x']);
  });
});
