import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadRepo } from '../../schemas/repo.js';
import { EXAMPLE_REPO } from '../../test/helpers.js';
import { desiredVaultItems, diffVaultItems, healthVaultItems } from './diff.js';

const load = await loadRepo(EXAMPLE_REPO);
assert.ok(load.ok);
const state = load.ok ? load.state : (undefined as never);
const acme = desiredVaultItems(state.customers, state.manifests, 'acme');

describe('vault items', () => {
  it('wants every slot secret plus generated ones, per entity too', () => {
    assert.deepEqual(acme.items.map((i) => `${i.name}${i.generate ? '*' : ''}`), [
      'AZURE_ACME_BLUEPRINT_CLIENT_SECRET',
      'AZURE_ACME_FRAME_MCP_CLIENT_SECRET',
      'AZURE_ACME_VAULTWARDEN_CLIENT_SECRET',
      'BACKUP_ACME_RESTIC_PASSWORD*',
      'BLUEPRINT_ACME_NEXTAUTH_SECRET*',
      'FRAME_ACME_ACMEC_PII_PASSPHRASE*',
      'FRAME_ACME_ACMEV_PII_PASSPHRASE*',
      'FRAME_ACME_POSTGRES_PASSWORD*',
      'HIVE_ACME_ACMEC_PII_PASSPHRASE*',
      'HIVE_ACME_ACMEV_PII_PASSPHRASE*',
    ]);
  });

  it('converged state plans nothing and is Healthy', () => {
    const all = new Set(acme.items.map((i) => i.name));
    assert.deepEqual(diffVaultItems(acme, all), []);
    assert.equal(healthVaultItems(acme, all).status, 'Healthy');
  });

  it('generates only generated kinds; never plans a value', () => {
    const actions = diffVaultItems(acme, new Set(['AZURE_ACME_BLUEPRINT_CLIENT_SECRET']));
    assert.deepEqual(actions.map((a) => a.payload.name), ['BACKUP_ACME_RESTIC_PASSWORD', 'BLUEPRINT_ACME_NEXTAUTH_SECRET', 'FRAME_ACME_ACMEC_PII_PASSPHRASE', 'FRAME_ACME_ACMEV_PII_PASSPHRASE', 'FRAME_ACME_POSTGRES_PASSWORD', 'HIVE_ACME_ACMEC_PII_PASSPHRASE', 'HIVE_ACME_ACMEV_PII_PASSPHRASE']);
    assert.ok(actions.every((a) => !('value' in a.payload)));
  });

  it('a missing client secret is Degraded with the pack trap; a missing PII passphrase names the entity', () => {
    const noClient = new Set(acme.items.map((i) => i.name).filter((n) => n !== 'AZURE_ACME_BLUEPRINT_CLIENT_SECRET'));
    assert.equal(healthVaultItems(acme, noClient).trap?.trap, 'blueprint-sso-missing');
    const noPii = new Set(acme.items.map((i) => i.name).filter((n) => n !== 'FRAME_ACME_ACMEV_PII_PASSPHRASE'));
    const health = healthVaultItems(acme, noPii);
    assert.equal(health.trap?.trap, 'pii-passphrase-missing');
    assert.match(health.trap!.fix, /acmev/);
  });

  it('a sovereign customer wants nothing from the vault', () => {
    assert.deepEqual(desiredVaultItems(state.customers, state.manifests, 'realchoice').items, []);
  });
});
