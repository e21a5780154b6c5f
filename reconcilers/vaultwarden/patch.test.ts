import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { vaultwardenComposeFile } from '../../lab/images/vaultwarden-compose.js';
import { envChanges, patchVaultCompose, readVaultFile, type VaultPatchSpec } from './patch.js';

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

  test('the file without the service, or with a flow-style environment, is refused (nothing written)', () => {
    assert.throws(() => patchVaultCompose('services:\n  other:\n    image: x\n', spec), /axe-vaultwarden is not in the vault compose file/);
    assert.throws(() => patchVaultCompose('services:\n  axe-vaultwarden:\n    environment: { DOMAIN: x }\n', spec), /flow style/);
    assert.deepEqual(readVaultFile(vaultwardenComposeFile({ domain: 'd', withKeys: false, network: 'axe-x' }), spec.container).externalNetworks, ['axe-x']);
  });
});
