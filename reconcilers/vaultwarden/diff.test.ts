import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { vaultwardenComposeFile } from '../../lab/images/vaultwarden-compose.js';
import { diffVaultwarden, healthVaultwarden, type VaultwardenDesired, type VaultwardenObserved } from './diff.js';
import { sha256 } from '../templates.js';
import { patchVaultCompose, readVaultFile } from './patch.js';

const SSO = { SSO_AUTHORITY: 'https://login.microsoftonline.com/tenant-guid/v2.0', SSO_CLIENT_ID: 'client-guid', SSO_CLIENT_SECRET: 'the-client-secret', SSO_ENABLED: 'true' };
const SSO_KEYS = Object.keys(SSO).sort();
const hashes = (values: Record<string, string>) => new Map(Object.entries(values).map(([k, v]) => [k, v ? sha256(v) : null]));
const RENDERED = { ok: true as const, sha256: 'f'.repeat(64), values: hashes(SSO) as Map<string, string> };

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
  sso: { path: '~/.axe/vault/.env.axe', vars: SSO_KEYS.map((name) => ({ name, kind: 'value' as const, value: '' })) },
  envFile: { name: '.env.axe', keys: SSO_KEYS },
};

/** The lab's vault file (bootstrapped: patched, its SSO env file named, when withKeys), a container running with `sso`. */
function observed(withKeys: boolean, containerEnv: Record<string, string> | null, state = 'running', sso: Record<string, string> = SSO): VaultwardenObserved {
  const lab = vaultwardenComposeFile({ domain: withKeys ? 'https://acme.axelabs.ai/vault' : 'https://acme.axelabs.ai', withKeys, network: 'axe-acme' });
  const text = withKeys ? patchVaultCompose(lab, desired).text : lab;
  return {
    docker: true,
    file: { text, mode: '644', parsed: readVaultFile(text, 'axe-vaultwarden') },
    container: containerEnv ? { id: 'c1', state, health: 'healthy', project: 'vault', orphaned: false, env: new Map(Object.entries(containerEnv)), sso: hashes(sso) } : null,
    networks: new Set(['axe-acme']),
    inside: state === 'running' ? 'ok' : null,
    envFile: withKeys ? { mode: '600', sha256: RENDERED.sha256 } : null,
    ssoRender: RENDERED,
  };
}

const GOOD = { DOMAIN: 'https://acme.axelabs.ai/vault', SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION: 'true', SIGNUPS_ALLOWED: 'true', SSO_ONLY: 'false', ORGANIZATION_INVITE_AUTO_ACCEPT: 'true' };

describe('vaultwarden diff', () => {
  test('converged: the file and the running container have every key: nothing to do, Healthy', () => {
    const o = observed(true, GOOD);
    assert.deepEqual(diffVaultwarden(desired, o), []);
    assert.equal(healthVaultwarden(desired, o).status, 'Healthy');
  });

  test('keys missing: (the SSO env file rendered,) patch then force-recreate once; the traps name the keys and the DOMAIN path', () => {
    const o = observed(false, { DOMAIN: 'https://acme.axelabs.ai' });
    const actions = diffVaultwarden(desired, o);
    assert.deepEqual(actions.map((a) => a.op), ['render-env', 'patch', 'up']);
    assert.equal(actions[2]!.payload.recreate, true);
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

  test('a running vault with SSO_CLIENT_ID and SSO_CLIENT_SECRET empty is Degraded SsoNotConfigured, naming them and the fix; bootstrap renders, recreates', () => {
    const o = observed(true, GOOD, 'running', { ...SSO, SSO_CLIENT_ID: '', SSO_CLIENT_SECRET: '' });
    const health = healthVaultwarden(desired, o);
    assert.equal(health.status, 'Degraded');
    assert.equal(health.reason, 'SsoNotConfigured');
    assert.match(health.message, /axe-vaultwarden runs with SSO_CLIENT_ID, SSO_CLIENT_SECRET empty: .*fix: axe vault bootstrap acme --apply/);
    const actions = diffVaultwarden(desired, o);
    assert.deepEqual(actions.map((a) => a.op), ['up']);
    assert.match(actions[0]!.summary, /force-recreate axe-vaultwarden \(its SSO settings: SSO_CLIENT_ID empty, SSO_CLIENT_SECRET empty\)/);
    // A value other than the rendered one (a rotated secret): named, never shown.
    const rotated = healthVaultwarden(desired, observed(true, GOOD, 'running', { ...SSO, SSO_CLIENT_SECRET: 'an-old-secret' }));
    assert.match(rotated.message, /SSO_CLIENT_SECRET other than rendered .*\(values masked\)/);
    assert.doesNotMatch(JSON.stringify(rotated), /an-old-secret|the-client-secret/);
  });

  test('a vault never bootstrapped for SSO: render the env file, name it in the compose file (keys out of environment), recreate', () => {
    const lab = vaultwardenComposeFile({ domain: 'https://acme.axelabs.ai/vault', withKeys: true, network: 'axe-acme' });
    const o = { ...observed(true, GOOD, 'running', { ...SSO, SSO_CLIENT_ID: '', SSO_CLIENT_SECRET: '', SSO_AUTHORITY: 'https://login.microsoftonline.com//v2.0' }), file: { text: lab, mode: '644', parsed: readVaultFile(lab, 'axe-vaultwarden') }, envFile: null };
    const actions = diffVaultwarden(desired, o);
    assert.deepEqual(actions.map((a) => a.op), ['render-env', 'patch', 'up']);
    assert.match(actions[0]!.summary, /render ~\/.axe\/vault\/.env.axe \(4 SSO vars, mode 0600\) from the vault and customers.yaml \(new file\)/);
    assert.match(actions[1]!.summary, /env_file .env.axe, SSO_AUTHORITY, SSO_CLIENT_ID, SSO_CLIENT_SECRET, SSO_ENABLED out of environment/);
    // A hand-edited env file (or its mode) is rendered again.
    assert.deepEqual(diffVaultwarden(desired, observed(true, GOOD)).length, 0);
    assert.deepEqual(diffVaultwarden(desired, { ...observed(true, GOOD), envFile: { mode: '644', sha256: RENDERED.sha256 } }).map((a) => a.op), ['render-env']);
    assert.deepEqual(diffVaultwarden(desired, { ...observed(true, GOOD), envFile: { mode: '600', sha256: 'e'.repeat(64) } }).map((a) => a.op), ['render-env']);
  });

  test('the vault item missing: Degraded naming it and the fix; nothing rendered, the compose file not pointed at a file that is not there', () => {
    const lab = vaultwardenComposeFile({ domain: 'https://acme.axelabs.ai/vault', withKeys: true, network: 'axe-acme' });
    const o = { ...observed(true, GOOD, 'running', { ...SSO, SSO_CLIENT_SECRET: '' }), file: { text: lab, mode: '644', parsed: readVaultFile(lab, 'axe-vaultwarden') }, envFile: null, ssoRender: { ok: false as const, missingSecrets: ['AZURE_ACME_VAULTWARDEN_CLIENT_SECRET'], missingFields: [] } };
    assert.deepEqual(diffVaultwarden(desired, o), []);
    const health = healthVaultwarden(desired, o);
    assert.equal(health.reason, 'SsoNotConfigured');
    assert.match(health.message, /SSO_CLIENT_SECRET empty; its SSO settings cannot be rendered \(missing from the operator vault: AZURE_ACME_VAULTWARDEN_CLIENT_SECRET\).*axe secret push AZURE_ACME_VAULTWARDEN_CLIENT_SECRET --service vaultwarden --customer acme, then axe vault bootstrap acme --apply/);
  });

  test('the external network the vault joins is created when missing', () => {
    const o = observed(true, GOOD);
    o.networks = new Set();
    assert.deepEqual(diffVaultwarden(desired, o).map((a) => [a.op, a.payload.name]), [['create-network', 'axe-acme']]);
  });
});
