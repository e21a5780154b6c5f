import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CollectionView, collectionsV1, diffVaultOrg, healthVaultOrg, MEMBER_STATUS, MEMBER_TYPE, type OrgMemberView, type VaultOrgDesired, type VaultOrgObserved } from './diff.js';

type Unlocked = Extract<VaultOrgObserved, { session: 'unlocked' }>;

const desired: VaultOrgDesired = {
  customer: 'acme',
  url: 'http://127.0.0.1:8091',
  webVault: 'https://acme.axelabs.ai/vault',
  organization: 'ACME',
  collections: collectionsV1(['acme']),
  bot: 'ai@acme.example.com',
  admin: 'it@acme.example.com',
  members: ['kim@acme.example.com'],
  access: { ACME: ['kim@acme.example.com'], 'Shared Tools': ['kim@acme.example.com'] },
};
const ORG = '3f2a1b4c-0000-4000-8000-000000000001';
const member = (email: string, type: number, status: number = MEMBER_STATUS.confirmed): OrgMemberView => ({ id: `id-${email}`, email, status, type });
const use = (id: string, manage = false) => ({ id, readOnly: false, hidePasswords: false, manage });
const collection = (name: string, ...users: string[]): CollectionView => ({ id: `c-${name}`, name, externalId: null, users: [use('id-ai@acme.example.com', true), ...users.map((u) => use(u))], groups: [] });
const converged: Unlocked = {
  session: 'unlocked',
  user: 'ai@acme.example.com',
  organization: { id: ORG, status: MEMBER_STATUS.confirmed, type: MEMBER_TYPE.owner },
  collections: [collection('Shared Tools', 'id-kim@acme.example.com'), collection('ACME', 'id-kim@acme.example.com'), collection('Platform — Infrastructure'), collection('Platform — Service Secrets')],
  members: [member('ai@acme.example.com', MEMBER_TYPE.owner), member('IT@acme.example.com', MEMBER_TYPE.owner), member('kim@acme.example.com', MEMBER_TYPE.user)],
};

describe('vault-org diff', () => {
  test('structure v1: four collections for one entity, one per entity for several (six for three)', () => {
    assert.deepEqual(collectionsV1(['realchoice']), ['Platform — Service Secrets', 'Platform — Infrastructure', 'REALCHOICE', 'Shared Tools']);
    assert.equal(collectionsV1(['axec', 'axev', 'axep']).length, 6);
  });

  test('converged: the organization, its v1 collections, both owners and the members confirmed: nothing planned, Healthy', () => {
    assert.deepEqual(diffVaultOrg(desired, converged), []);
    assert.deepEqual(healthVaultOrg(desired, converged), {
      status: 'Healthy',
      reason: 'Organized',
      message: 'ACME: 4 collections (v1), owners ai@acme.example.com and it@acme.example.com, 1 member(s) confirmed',
    });
  });

  test('collections missing: each is created once, and the health names each with the fix', () => {
    const observed: VaultOrgObserved = { ...converged, collections: [collection('ACME', 'id-kim@acme.example.com')] };
    const actions = diffVaultOrg(desired, observed);
    assert.deepEqual(actions.map((a) => [a.op, a.payload.name, a.payload.organizationId, a.payload.users?.map((u) => u.id)]), [
      ['create-collection', 'Platform — Service Secrets', ORG, ['id-ai@acme.example.com']],
      ['create-collection', 'Platform — Infrastructure', ORG, ['id-ai@acme.example.com']],
      ['create-collection', 'Shared Tools', ORG, ['id-ai@acme.example.com', 'id-kim@acme.example.com']],
    ]);
    assert.equal(actions[2]!.summary, 'create collection "Shared Tools" in ACME, for kim@acme.example.com (bw create org-collection)');
    const health = healthVaultOrg(desired, observed);
    assert.equal(health.reason, 'CollectionsMissing');
    assert.match(health.message, /lacks 3 of the 4 collections of structure v1: "Platform — Service Secrets", "Platform — Infrastructure", "Shared Tools"; fix: axe apply acme --only vault-org --apply$/);
  });

  test('no owner session: nothing planned, the fix is axe vault login --customer; logged out: bw login as the bot', () => {
    const locked: VaultOrgObserved = { session: 'locked', user: 'ai@acme.example.com' };
    assert.deepEqual(diffVaultOrg(desired, locked), []);
    const health = healthVaultOrg(desired, locked);
    assert.equal(health.reason, 'OwnerSessionMissing');
    assert.match(health.message, /fix: axe vault login --customer acme/);
    const out = healthVaultOrg(desired, { session: 'unauthenticated', user: null });
    assert.equal(out.reason, 'NotLoggedIn');
    assert.match(out.message, /bw config server https:\/\/acme\.axelabs\.ai\/vault and bw login ai@acme\.example\.com/);
    assert.equal(healthVaultOrg(desired, { ...converged, user: 'someone@acme.example.com' }).reason, 'WrongIdentity');
  });

  test('what bw cannot do is never planned: a missing organization, an owner not invited or not owner, an employee not invited', () => {
    const noOrg: VaultOrgObserved = { session: 'unlocked', user: null, organization: null, collections: null, members: null };
    assert.deepEqual(diffVaultOrg(desired, noOrg), []);
    const missing = healthVaultOrg(desired, noOrg);
    assert.deepEqual([missing.status, missing.reason], ['Missing', 'OrganizationMissing']);
    assert.match(missing.message, /sign in to https:\/\/acme\.axelabs\.ai\/vault as ai@acme\.example\.com, create the organization ACME/);

    const notOwner: Unlocked = { ...converged, organization: { id: ORG, status: MEMBER_STATUS.confirmed, type: MEMBER_TYPE.user }, collections: null };
    assert.deepEqual(diffVaultOrg(desired, notOwner), []);
    assert.equal(healthVaultOrg(desired, notOwner).reason, 'NotOwner');

    const partial: Unlocked = { ...converged, members: [member('ai@acme.example.com', MEMBER_TYPE.owner), member('it@acme.example.com', MEMBER_TYPE.admin)] };
    assert.deepEqual(diffVaultOrg(desired, partial), []);
    const health = healthVaultOrg(desired, partial);
    assert.equal(health.reason, 'MembersMissing');
    assert.match(health.message, /make it@acme\.example\.com Owner; invite kim@acme\.example\.com as User \(bw cannot invite or change roles\)/);

    assert.equal(healthVaultOrg({ ...desired, admin: null }, converged).reason, 'AdminNotSet');
  });

  test('access: a member mapped to an entity gets its collection and Shared Tools; an employee on a Platform collection is removed; someone else the customer added stays', () => {
    const other = 'id-guest@acme.example.com';
    const observed: Unlocked = {
      ...converged,
      members: [...converged.members!, member('guest@acme.example.com', MEMBER_TYPE.user)],
      collections: [collection('Shared Tools', other), collection('ACME'), collection('Platform — Infrastructure', 'id-kim@acme.example.com'), collection('Platform — Service Secrets')],
    };
    const actions = diffVaultOrg(desired, observed);
    assert.deepEqual(actions.map((a) => [a.op, a.payload.name, a.payload.users?.map((u) => u.id)]), [
      ['set-access', 'Platform — Infrastructure', ['id-ai@acme.example.com']],
      ['set-access', 'ACME', ['id-ai@acme.example.com', 'id-kim@acme.example.com']],
      ['set-access', 'Shared Tools', ['id-ai@acme.example.com', other, 'id-kim@acme.example.com']],
    ]);
    assert.deepEqual(actions.map((a) => a.summary), [
      '"Platform — Infrastructure": remove kim@acme.example.com (operator only) (bw edit org-collection)',
      '"ACME": give kim@acme.example.com access (bw edit org-collection)',
      '"Shared Tools": give kim@acme.example.com access (bw edit org-collection)',
    ]);
    const health = healthVaultOrg(desired, observed);
    assert.equal(health.reason, 'AccessDrift');
    assert.match(health.message, /kim@acme\.example\.com cannot use "ACME"/);
    assert.match(health.message, /kim@acme\.example\.com can use "Platform — Infrastructure" \(operator only\)/);
  });

  test('an accepted member is confirmed once; an invited one is waited for', () => {
    const observed: Unlocked = {
      ...converged,
      members: [member('ai@acme.example.com', MEMBER_TYPE.owner), member('it@acme.example.com', MEMBER_TYPE.owner, MEMBER_STATUS.accepted), member('kim@acme.example.com', MEMBER_TYPE.user, MEMBER_STATUS.invited)],
    };
    assert.deepEqual(diffVaultOrg(desired, observed).map((a) => [a.op, a.payload.memberId]), [['confirm', 'id-it@acme.example.com']]);
    assert.equal(healthVaultOrg(desired, observed).reason, 'ConfirmPending');
    const waiting: Unlocked = { ...observed, members: observed.members!.map((m) => (m.status === MEMBER_STATUS.accepted ? { ...m, status: MEMBER_STATUS.confirmed } : m)) };
    assert.deepEqual(diffVaultOrg(desired, waiting), []);
    assert.deepEqual([healthVaultOrg(desired, waiting).status, healthVaultOrg(desired, waiting).reason], ['Progressing', 'InvitePending']);
  });
});
