import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { vaultwardenComposeFile } from '../../lab/images/vaultwarden-compose.js';
import { diffVaultwarden, healthVaultwarden, type VaultwardenDesired, type VaultwardenObserved } from './diff.js';
import { readVaultFile } from './patch.js';

const desired: VaultwardenDesired = {
  customer: 'acme',
  publicDomain: 'acme.axelabs.ai',
  composeFile: '~/.axe/vault/docker-compose.yml',
  container: 'axe-vaultwarden',
  required: { SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION: 'true', SIGNUPS_ALLOWED: 'true', SSO_ONLY: 'false', ORGANIZATION_INVITE_AUTO_ACCEPT: 'true' },
  anchor: 'SSO_SIGNUPS_MATCH_EMAIL',
  domainPath: '/vault',
  defaultDomain: 'https://acme.axelabs.ai/vault',
  defaultProject: 'acme-vault',
  port: 80,
  alivePath: '/vault/alive',
};

function observed(withKeys: boolean, containerEnv: Record<string, string> | null, state = 'running'): VaultwardenObserved {
  const text = vaultwardenComposeFile({ domain: withKeys ? 'https://acme.axelabs.ai/vault' : 'https://acme.axelabs.ai', withKeys, network: 'axe-acme' });
  return {
    docker: true,
    file: { text, mode: '644', parsed: readVaultFile(text, 'axe-vaultwarden') },
    container: containerEnv ? { id: 'c1', state, health: 'healthy', project: 'vault', orphaned: false, env: new Map(Object.entries(containerEnv)) } : null,
    networks: new Set(['axe-acme']),
    inside: state === 'running' ? 'ok' : null,
  };
}

const GOOD = { DOMAIN: 'https://acme.axelabs.ai/vault', SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION: 'true', SIGNUPS_ALLOWED: 'true', SSO_ONLY: 'false', ORGANIZATION_INVITE_AUTO_ACCEPT: 'true' };

describe('vaultwarden diff', () => {
  test('converged: the file and the running container have every key: nothing to do, Healthy', () => {
    const o = observed(true, GOOD);
    assert.deepEqual(diffVaultwarden(desired, o), []);
    assert.equal(healthVaultwarden(desired, o).status, 'Healthy');
  });

  test('keys missing: patch then force-recreate once; the traps name the keys and the DOMAIN path', () => {
    const o = observed(false, { DOMAIN: 'https://acme.axelabs.ai' });
    const actions = diffVaultwarden(desired, o);
    assert.deepEqual(actions.map((a) => a.op), ['patch', 'up']);
    assert.equal(actions[1]!.payload.recreate, true);
    const health = healthVaultwarden(desired, o);
    assert.equal(health.trap?.trap, 'vaultwarden-keys-missing');
    assert.match(health.trap!.fix, /lacks SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION, SIGNUPS_ALLOWED, SSO_ONLY, ORGANIZATION_INVITE_AUTO_ACCEPT/);
    assert.deepEqual(health.findings?.map((f) => f.trap), ['vaultwarden-domain-path']);
  });

  test('SSO_ONLY=true in the running vault is its own trap', () => {
    const o = observed(true, { ...GOOD, SSO_ONLY: 'true' });
    assert.deepEqual(diffVaultwarden(desired, o).map((a) => a.op), ['up']);
    assert.equal(healthVaultwarden(desired, o).trap?.trap, 'vaultwarden-sso-only');
  });

  test('a stopped vault is started (not recreated); a missing file is reported, nothing planned', () => {
    assert.deepEqual(diffVaultwarden(desired, observed(true, GOOD, 'exited')).map((a) => [a.op, a.payload.recreate]), [['up', false]]);
    const none = { ...observed(true, null), file: null };
    assert.deepEqual(diffVaultwarden(desired, none), []);
    assert.equal(healthVaultwarden(desired, none).reason, 'NoVault');
  });

  test('the external network the vault joins is created when missing', () => {
    const o = observed(true, GOOD);
    o.networks = new Set();
    assert.deepEqual(diffVaultwarden(desired, o).map((a) => [a.op, a.payload.name]), [['create-network', 'axe-acme']]);
  });
});
