/**
 * The vault-org reconciler through the real client against the lab's bw serve
 * stand-in (in this process): locked, no organization, missing collections
 * created and an accepted owner confirmed, then nothing planned.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startVaultEmulator } from '../../lab/vault/index.js';
import { VaultOrgClient } from '../../providers/vault/vault-org-client.js';
import { vaultLogin } from '../../providers/vault/vaultwarden.js';
import type { SessionStore } from '../../providers/vault/session-store.js';
import type { CustomerContext } from '../runtime.js';
import { collectionsV1, type VaultOrgDesired } from './diff.js';
import { vaultOrgReconciler } from './index.js';

const KIM = 'kim@acme.example.com';
const noStore: SessionStore = { kind: 'file', location: 'memory', save: async (session, ttl = 0) => ({ session, expiresAt: new Date(Date.now() + ttl) }), load: async () => null, clear: async () => undefined };

describe('vault-org reconciler (bw serve stand-in)', () => {
  test('locked → OwnerSessionMissing; no organization → its fix; then the collections are created with their access, owner and member confirmed once, access drift corrected; a second pass plans nothing', async () => {
    await using vault = await startVaultEmulator({ email: 'ai@acme.example.com' });
    const desired: VaultOrgDesired = { customer: 'acme', url: vault.url, webVault: 'https://acme.axelabs.ai/vault', organization: 'ACME', collections: collectionsV1(['acme', 'acmeus']), bot: 'ai@acme.example.com', admin: 'it@acme.example.com', members: [KIM], access: { ACMEUS: [KIM], 'Shared Tools': [KIM] } };
    const ctx = {} as CustomerContext;
    const r = vaultOrgReconciler;
    const pass = async () => {
      const observed = await r.observe(ctx, desired);
      return { observed, actions: r.diff(desired, observed), health: r.health(desired, observed) };
    };

    const locked = await pass();
    assert.deepEqual([locked.actions, locked.health.reason], [[], 'OwnerSessionMissing']);
    await vaultLogin({ url: vault.url, password: vault.password, store: noStore });
    assert.equal((await pass()).health.reason, 'OrganizationMissing');

    const org = (await (await fetch(`${vault.adminUrl}/orgs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ACME' }) })).json()) as { id: string };
    await fetch(`${vault.adminUrl}/orgs/${org.id}/members`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'it@acme.example.com', type: 'owner', accepted: true }) });
    await fetch(`${vault.adminUrl}/orgs/${org.id}/members`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: KIM, type: 'user', accepted: true }) });
    const before = await pass();
    assert.equal(before.health.reason, 'CollectionsMissing');
    assert.match(before.health.message, /lacks 5 of the 5 collections/);
    assert.deepEqual(before.actions.map((a) => a.op), ['create-collection', 'create-collection', 'create-collection', 'create-collection', 'create-collection', 'confirm', 'confirm']);
    for (const action of before.actions) await r.act(ctx, desired, action);

    const after = await pass();
    assert.deepEqual(after.actions, []);
    assert.equal(after.health.status, 'Healthy', after.health.message);
    type Server = Array<{ collections: Array<{ id: string; name: string; users: Array<{ id: string }> }>; members: Array<{ id: string; email: string }> }>;
    const server = (await (await fetch(`${vault.adminUrl}/orgs`)).json()) as Server;
    assert.deepEqual(server[0]!.collections.map((c) => c.name), ['Platform — Service Secrets', 'Platform — Infrastructure', 'ACME', 'ACMEUS', 'Shared Tools']);
    const id = (email: string) => server[0]!.members.find((m) => m.email === email)!.id;
    const users = (name: string) => server[0]!.collections.find((c) => c.name === name)!.users.map((u) => u.id);
    assert.deepEqual(users('ACMEUS'), [id('ai@acme.example.com'), id(KIM)]);
    assert.deepEqual(users('Platform — Service Secrets'), [id('ai@acme.example.com')]);

    // Drift: kim put on a Platform collection by hand, taken off ACMEUS: one edit each, then nothing.
    const edit = async (name: string, ids: string[]) => {
      const c = server[0]!.collections.find((x) => x.name === name)!;
      await new VaultOrgClient(vault.url).setCollectionAccess(org.id, c.id, { name, externalId: null, groups: [], users: ids.map((u) => ({ id: u, readOnly: false, hidePasswords: false, manage: false })) });
    };
    await edit('Platform — Infrastructure', [id('ai@acme.example.com'), id(KIM)]);
    await edit('ACMEUS', [id('ai@acme.example.com')]);
    const drift = await pass();
    assert.deepEqual([drift.health.reason, drift.actions.map((a) => [a.op, a.payload.name])], ['AccessDrift', [['set-access', 'Platform — Infrastructure'], ['set-access', 'ACMEUS']]]);
    for (const action of drift.actions) await r.act(ctx, desired, action);
    const fixed = await pass();
    assert.deepEqual([fixed.actions, fixed.health.status], [[], 'Healthy']);
  });
});
