/**
 * The customer vault's organization (runbook D+2; decisions D-ops-29, D-ops-32):
 * an organization named for the customer (its SSO identifier, `DEMO`), the
 * collection structure v1, the dual identity and the employees' memberships.
 *
 * - Collections v1: `Platform — Service Secrets`, `Platform — Infrastructure`
 *   (operator only), one per entity (named like the organization: the entity
 *   id in capitals), `Shared Tools`: four for a one-entity customer, six for
 *   three entities.
 * - Dual identity: the bot `ai@{primary_domain}` (the account the customer
 *   vault's `bw serve` is logged in as) and the human admin
 *   `customers.{id}.vault_admin`, both confirmed owners.
 * - Members: every e-mail of `user_entity_map`, confirmed, with access (read
 *   and write) to its entities' collections and `Shared Tools`; the Platform
 *   collections are for the operator only (no member of type user or custom).
 *
 * Rules: pure. What bw can do is planned: a missing collection is created
 * (`bw create org-collection`), a member who accepted is confirmed (`bw
 * confirm org-member`), a collection's access is set (`bw edit
 * org-collection`; a new collection is created with it). Access is only added
 * to the entity and shared collections (someone the customer gave access
 * keeps it); the Platform ones lose their employees. What needs an owner in the web vault (make the
 * organization, invite, make someone owner) is never planned: the health names
 * each missing thing and the exact fix. Nothing is planned without an owner
 * session (a locked or logged-out bw), nor is anything guessed: the health
 * says what to run.
 */
import type { Action, Health } from '../types.js';

export const PLATFORM_COLLECTIONS = ['Platform — Service Secrets', 'Platform — Infrastructure'] as const;
export const SHARED_COLLECTION = 'Shared Tools';
export const MEMBER_STATUS = { revoked: -1, invited: 0, accepted: 1, confirmed: 2 } as const;
export const MEMBER_TYPE = { owner: 0, admin: 1, user: 2, custom: 4 } as const;

export interface VaultOrgDesired {
  customer: string;
  /** The bw serve logged in to this customer's vault. */
  url: string;
  /** The customer's web vault, for the fixes: `https://{public_domain}/vault`. */
  webVault: string;
  /** The organization's name (its SSO identifier): the customer id in capitals. */
  organization: string;
  /** Collection structure v1, in order. */
  collections: string[];
  /** The bot owner, `ai@{primary_domain}`. */
  bot: string;
  /** The human owner (`vault_admin`); null when customers.yaml names none. */
  admin: string | null;
  /** The employees of `user_entity_map` (lower case, sorted), owners left out. */
  members: string[];
  /** Collection name → the employees who use it (entity collections: those mapped to the entity; Shared Tools: all). */
  access: Record<string, string[]>;
}

/** Who may use a collection: a member's id in the organization (bw's SelectionReadOnly). */
export interface SelectionView {
  id: string;
  readOnly: boolean;
  hidePasswords: boolean;
  manage: boolean;
}

export interface CollectionView {
  id: string;
  name: string;
  externalId: string | null;
  /** Null: bw answered none. */
  users: SelectionView[] | null;
  /** Sent back as they are when the users change. */
  groups: SelectionView[] | null;
}

export interface OrgMemberView {
  id: string;
  email: string;
  status: number;
  type: number;
}

export type VaultOrgObserved =
  | { session: 'locked' | 'unauthenticated'; user: string | null }
  | {
      session: 'unlocked';
      user: string | null;
      /** The organization of that name and the session user's own membership in it; null when bw knows none. */
      organization: { id: string; status: number; type: number } | null;
      /** The collections with their access (null: not readable, the session user is not a confirmed owner). */
      collections: CollectionView[] | null;
      members: OrgMemberView[] | null;
    };

export interface VaultOrgPayload {
  organizationId: string;
  name?: string;
  collectionId?: string;
  externalId?: string | null;
  /** The collection's whole access list, as it is to be. */
  users?: SelectionView[];
  groups?: SelectionView[] | null;
  memberId?: string;
  email?: string;
}

/** An entity's collection: its id in capitals, like the organization's name. */
export function entityCollection(entityId: string): string {
  return entityId.toUpperCase();
}

/** The v1 collection names for these entity ids. */
export function collectionsV1(entityIds: readonly string[]): string[] {
  return [...PLATFORM_COLLECTIONS, ...entityIds.map(entityCollection), SHARED_COLLECTION];
}

function owners(desired: VaultOrgDesired): string[] {
  return desired.admin ? [desired.bot, desired.admin] : [desired.bot];
}

function find(observed: { members: OrgMemberView[] | null }, email: string): OrgMemberView | undefined {
  return observed.members?.find((m) => m.email.toLowerCase() === email);
}

const PLATFORM: ReadonlySet<string> = new Set(PLATFORM_COLLECTIONS);

function use(id: string, manage = false): SelectionView {
  return { id, readOnly: false, hidePasswords: false, manage };
}

/** The members (present, not revoked) who should use `name` and do not in `users`. */
function missingUsers(desired: VaultOrgDesired, observed: { members: OrgMemberView[] | null }, name: string, users: readonly SelectionView[]): OrgMemberView[] {
  return (desired.access[name] ?? []).flatMap((email) => {
    const m = find(observed, email);
    return m && m.status !== MEMBER_STATUS.revoked && !users.some((u) => u.id === m.id) ? [m] : [];
  });
}

/** Employees (type user or custom) listed on an operator-only collection. */
function strayUsers(observed: { members: OrgMemberView[] | null }, c: CollectionView): OrgMemberView[] {
  if (!PLATFORM.has(c.name)) return [];
  return (c.users ?? []).flatMap((u) => {
    const m = observed.members?.find((x) => x.id === u.id);
    return m && (m.type === MEMBER_TYPE.user || m.type === MEMBER_TYPE.custom) ? [m] : [];
  });
}

export function diffVaultOrg(desired: VaultOrgDesired, observed: VaultOrgObserved | null): Action<VaultOrgPayload>[] {
  if (observed?.session !== 'unlocked' || !observed.organization || observed.collections === null) return [];
  const organizationId = observed.organization.id;
  const actions: Action<VaultOrgPayload>[] = [];
  const target = (what: string) => `vault-org:${desired.customer}/${what}`;
  const bot = find(observed, desired.bot);
  for (const name of desired.collections) {
    const c = observed.collections.find((x) => x.name === name);
    if (!c) {
      // Made with its access at once; bw would otherwise give it to its creator only.
      const members = missingUsers(desired, observed, name, []);
      const users = bot ? [use(bot.id, true), ...members.map((m) => use(m.id))] : undefined;
      const who = members.length ? `, for ${members.map((m) => m.email).join(', ')}` : '';
      actions.push({ kind: 'vault-org', op: 'create-collection', target: target(`collection/${name}`), summary: `create collection "${name}" in ${desired.organization}${who} (bw create org-collection)`, payload: { organizationId, name, ...(users ? { users } : {}) } });
      continue;
    }
    const users = c.users ?? [];
    const add = missingUsers(desired, observed, name, users);
    const remove = strayUsers(observed, c);
    if (add.length === 0 && remove.length === 0) continue;
    const next = [...users.filter((u) => !remove.some((m) => m.id === u.id)), ...add.map((m) => use(m.id))];
    const what = [add.length ? `give ${add.map((m) => m.email).join(', ')} access` : '', remove.length ? `remove ${remove.map((m) => m.email).join(', ')} (operator only)` : ''].filter(Boolean).join(', ');
    actions.push({ kind: 'vault-org', op: 'set-access', target: target(`collection/${name}`), summary: `"${name}": ${what} (bw edit org-collection)`, payload: { organizationId, collectionId: c.id, name, externalId: c.externalId, users: next, groups: c.groups } });
  }
  for (const email of [...owners(desired), ...desired.members]) {
    const member = find(observed, email);
    if (member?.status !== MEMBER_STATUS.accepted) continue;
    actions.push({ kind: 'vault-org', op: 'confirm', target: target(`member/${email}`), summary: `confirm ${email} in ${desired.organization} (bw confirm org-member)`, payload: { organizationId, memberId: member.id, email } });
  }
  return actions;
}

const ROLE = { [MEMBER_TYPE.owner]: 'owner', [MEMBER_TYPE.admin]: 'admin', [MEMBER_TYPE.user]: 'user', [MEMBER_TYPE.custom]: 'custom' } as Record<number, string>;

export function healthVaultOrg(desired: VaultOrgDesired, observed: VaultOrgObserved | null): Health {
  const { customer, organization: org, bot, webVault } = desired;
  const apply = `axe apply ${customer} --only vault-org --apply`;
  if (!observed) return { status: 'Unknown', reason: 'NotObserved', message: `the customer vault's bw serve at ${desired.url} could not be read` };
  if (observed.session === 'unauthenticated') {
    return { status: 'Degraded', reason: 'NotLoggedIn', message: `the bw behind ${desired.url} is not logged in: ${org} cannot be checked; fix: as the user that runs that bw serve, bw config server ${webVault} and bw login ${bot}, then axe vault login --customer ${customer}` };
  }
  if (observed.session !== 'unlocked') {
    return { status: 'Degraded', reason: 'OwnerSessionMissing', message: `the customer vault's bw serve at ${desired.url} is locked (no owner session): ${org} and its ${desired.collections.length} collections cannot be checked; fix: axe vault login --customer ${customer} (the master password of ${bot}, from a hidden prompt or stdin)` };
  }
  if (observed.user && observed.user.toLowerCase() !== bot) {
    return { status: 'Degraded', reason: 'WrongIdentity', message: `the bw behind ${desired.url} is logged in as ${observed.user}, not the bot owner ${bot}; fix: bw logout, bw login ${bot} there, then axe vault login --customer ${customer}` };
  }
  if (!observed.organization) {
    return { status: 'Missing', reason: 'OrganizationMissing', message: `no organization ${org} for ${bot} in ${webVault}; fix: sign in to ${webVault} as ${bot}, create the organization ${org} (bw cannot create one), then ${apply}` };
  }
  const me = observed.organization;
  if (me.type !== MEMBER_TYPE.owner || me.status !== MEMBER_STATUS.confirmed || observed.collections === null) {
    return { status: 'Degraded', reason: 'NotOwner', message: `${bot} is ${ROLE[me.type] ?? `type ${me.type}`} (status ${me.status}) of ${org}, not a confirmed owner; fix: an owner of ${org} makes ${bot} Owner and confirms it in ${webVault} (Admin Console → Members)` };
  }
  const have = new Set(observed.collections.map((c) => c.name));
  const missing = desired.collections.filter((c) => !have.has(c));
  if (missing.length) {
    return { status: 'Degraded', reason: 'CollectionsMissing', message: `${org} lacks ${missing.length} of the ${desired.collections.length} collections of structure v1: ${missing.map((c) => `"${c}"`).join(', ')}; fix: ${apply}` };
  }
  if (!desired.admin) {
    return { status: 'Degraded', reason: 'AdminNotSet', message: `no human owner for ${org} beside ${bot} (dual identity, D-ops-29); fix: set customers.${customer}.vault_admin to the customer admin's e-mail` };
  }
  const notInvited = [...owners(desired), ...desired.members].filter((e) => !find(observed, e));
  const notOwner = owners(desired).filter((e) => {
    const m = find(observed, e);
    return m && m.type !== MEMBER_TYPE.owner;
  });
  if (notInvited.length || notOwner.length) {
    const parts = [
      ...owners(desired).filter((e) => notInvited.includes(e)).map((e) => `invite ${e} as Owner`),
      ...notOwner.map((e) => `make ${e} Owner`),
      ...(desired.members.some((e) => notInvited.includes(e)) ? [`invite ${desired.members.filter((e) => notInvited.includes(e)).join(', ')} as User`] : []),
    ];
    return { status: 'Degraded', reason: 'MembersMissing', message: `${org} in ${webVault}: ${parts.join('; ')} (bw cannot invite or change roles); fix: an owner does it in ${webVault} (Admin Console → Members), then ${apply} confirms them once accepted` };
  }
  const collections = observed.collections;
  const access = collections.flatMap((c) => [
    ...missingUsers(desired, observed, c.name, c.users ?? []).map((m) => `${m.email} cannot use "${c.name}"`),
    ...strayUsers(observed, c).map((m) => `${m.email} can use "${c.name}" (operator only)`),
  ]);
  if (access.length) return { status: 'Degraded', reason: 'AccessDrift', message: `${org}: ${access.join('; ')}; fix: ${apply}` };
  const pending = [...owners(desired), ...desired.members].filter((e) => find(observed, e)!.status !== MEMBER_STATUS.confirmed);
  const accepted = pending.filter((e) => find(observed, e)!.status === MEMBER_STATUS.accepted);
  if (accepted.length) return { status: 'Progressing', reason: 'ConfirmPending', message: `accepted, not yet confirmed in ${org}: ${accepted.join(', ')}; fix: ${apply}` };
  if (pending.length) return { status: 'Progressing', reason: 'InvitePending', message: `invited to ${org}, not yet accepted: ${pending.join(', ')} (they sign in at ${webVault}/#/sso)` };
  return { status: 'Healthy', reason: 'Organized', message: `${org}: ${desired.collections.length} collections (v1), owners ${owners(desired).join(' and ')}, ${desired.members.length} member(s) confirmed` };
}
