/**
 * The vault-org reconciler: the customer vault's organization, read and
 * changed through the official `bw` CLI's `bw serve` logged in to that vault
 * as its bot owner (config `customer_vaults.{id}.url`; providers/vault/vault-org-client.ts).
 *
 * Rules:
 * - Runs for a customer with a `vaultwarden` slot and a `customer_vaults`
 *   entry in the operator's config; for any other it is not a resource.
 * - Observe reads /status first: locked or logged out, nothing else is read
 *   (the health says how to give the owner session). bw's organization list is
 *   its cache: when the organization is not in it, one /sync (the web vault
 *   may have made it since) and one more look.
 * - The owner session is the unlocked bw serve itself (`axe vault login
 *   --customer C`); it never passes through axe's arguments, plans or logs.
 */
import { envToken } from '../../schemas/common.js';
import { entityId } from '../../schemas/customers.js';
import { VaultOrgClient } from '../../providers/vault/vault-org-client.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { collectionsV1, diffVaultOrg, entityCollection, SHARED_COLLECTION, healthVaultOrg, MEMBER_STATUS, type VaultOrgDesired, type VaultOrgObserved, type VaultOrgPayload } from './diff.js';

function desiredVaultOrg(ctx: CustomerContext): VaultOrgDesired | null {
  const vault = ctx.env.settings.customerVaults?.[ctx.id];
  if (!vault) return null;
  const manifest = [...ctx.env.state.manifests].find(([name, m]) => m.kind === 'vaultwarden' && ctx.env.state.customers.services[name]?.[ctx.id]);
  if (!manifest) return null;
  const [, m] = manifest;
  const c = ctx.customer;
  const bot = `ai@${c.primary_domain}`.toLowerCase();
  const admin = c.vault_admin ?? null;
  const owners = new Set([bot, ...(admin ? [admin] : [])]);
  const members = [...new Set(Object.keys(c.user_entity_map).map((e) => e.toLowerCase()))].filter((e) => !owners.has(e)).sort();
  const entities = c.entities.map(entityId);
  const access: Record<string, string[]> = { [SHARED_COLLECTION]: members };
  for (const entity of entities) {
    access[entityCollection(entity)] = members.filter((m) => Object.entries(c.user_entity_map).some(([email, ids]) => email.toLowerCase() === m && ids.includes(entity)));
  }
  return {
    customer: ctx.id,
    url: vault.url,
    webVault: `https://${c.public_domain}${m.kind === 'vaultwarden' ? m.domain_path : '/vault'}`,
    organization: envToken(ctx.id),
    collections: collectionsV1(entities),
    bot,
    admin,
    members,
    access,
  };
}

async function observeVaultOrg(client: VaultOrgClient, desired: VaultOrgDesired): Promise<VaultOrgObserved> {
  const status = await client.status();
  const user = status.userEmail ?? null;
  if (status.status !== 'unlocked') return { session: status.status, user };
  const named = async () => (await client.organizations()).find((o) => o.name === desired.organization) ?? null;
  let org = await named();
  if (!org) {
    await client.sync();
    org = await named();
  }
  if (!org) return { session: 'unlocked', user, organization: null, collections: null, members: null };
  const organization = { id: org.id, status: org.status, type: org.type };
  if (org.status !== MEMBER_STATUS.confirmed) return { session: 'unlocked', user, organization, collections: null, members: null };
  const [listed, members] = await Promise.all([client.collections(org.id), client.members(org.id)]);
  // Who may use each collection: one `bw get org-collection` each (the list does not say).
  const collections = await Promise.all(listed.map(async (c) => ({ id: c.id, name: c.name, externalId: c.externalId ?? null, ...(await client.collectionAccess(org.id, c.id)) })));
  return {
    session: 'unlocked',
    user,
    organization,
    collections,
    members: members.map((m) => ({ id: m.id, email: m.email, status: m.status, type: m.type })),
  };
}

export const vaultOrgReconciler: ResourceReconciler<VaultOrgDesired, VaultOrgObserved, VaultOrgPayload> = {
  kind: 'vault-org',
  dependsOn: ['vaultwarden'],
  desired: desiredVaultOrg,
  observe(_ctx, desired) {
    return observeVaultOrg(new VaultOrgClient(desired.url), desired);
  },
  diff: diffVaultOrg,
  health: healthVaultOrg,
  async act(_ctx, desired, action) {
    const client = new VaultOrgClient(desired.url);
    const { organizationId, name, memberId, collectionId, users } = action.payload;
    if (action.op === 'create-collection' && name) await client.createCollection(organizationId, name, users);
    else if (action.op === 'set-access' && name && collectionId && users) await client.setCollectionAccess(organizationId, collectionId, { name, externalId: action.payload.externalId ?? null, users, groups: action.payload.groups ?? null });
    else if (action.op === 'confirm' && memberId) await client.confirmMember(organizationId, memberId);
  },
  // Nothing comes from the scan: every observation asks bw serve.
  reads: [],
};
