/**
 * The vault emulator's organizations: what `bw serve` answers for the
 * organization commands (`bw list organizations`, `bw list org-collections`,
 * `bw create org-collection`, `bw list org-members`, `bw confirm org-member`),
 * over a customer vault's organization as the Vaultwarden server holds it.
 * Shapes from the CLI's own code (@bitwarden/cli 2026.6.0):
 * src/commands/list.command.ts, src/vault/create.command.ts,
 * src/admin-console/commands/confirm.command.ts and the response models under
 * src/admin-console/models/ (see contracts/bw-serve/openapi.trimmed.yaml).
 *
 * Rules (as the CLI behaves):
 * - `organizations` come from bw's cache (the synced profile): an organization
 *   made in the web vault appears after a `/sync`. Each carries the logged-in
 *   user's own membership (`status`, `type`); one where the user is only
 *   invited is not listed.
 * - `org-collections` and `org-members` are read from the server at each call
 *   (the CLI asks the API), for an organization in the cache only
 *   ("Organization not found." otherwise). A member who is neither owner nor
 *   admin sees only the collections assigned to them.
 * - Creating a collection or confirming a member needs the organization's key,
 *   which the user holds once confirmed ("No encryption key for this
 *   organization."); a collection made without `users` is assigned to its
 *   creator (manage), as the CLI does.
 * - `bw get|edit org-collection` read and replace a collection's access
 *   (`users`, `groups`) on the server, for a confirmed member.
 * - Only an accepted member can be confirmed (the CLI's own messages for the
 *   others).
 * - `/__lab/orgs…` (not bw serve) stands for the web vault and the members'
 *   own clients: make an organization (its creator the confirmed owner),
 *   invite, accept.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { isGuid, type EmulatorState, type VaultData } from './state.js';
import type { LabOrganization, OrgCollection, OrgMember, Selection } from './org-types.js';

/** OrganizationUserStatusType / OrganizationUserType, as numbers on the wire. */
export const MEMBER_STATUS = { revoked: -1, invited: 0, accepted: 1, confirmed: 2 } as const;
export const MEMBER_TYPE = { owner: 0, admin: 1, user: 2, custom: 4 } as const;

/** A failed bw command: HTTP 400 `{ success: false, message }`. */
export class OrgError extends Error {}

function orgsOf(data: VaultData): LabOrganization[] {
  data.organizations ??= [];
  return data.organizations;
}

function self(org: LabOrganization, state: EmulatorState): OrgMember | undefined {
  return org.members.find((m) => m.email.toLowerCase() === state.user.email.toLowerCase());
}

function requireGuid(value: string | undefined, option: string): string {
  if (value === undefined || value === '') throw new OrgError(`\`${option}\` option is required.`);
  if (!isGuid(value)) throw new OrgError(`\`${value}\` is not a GUID.`);
  return value.toLowerCase();
}

/** The organization bw knows (cache), and its server copy. */
function known(state: EmulatorState, organizationId: string | undefined): { cached: LabOrganization; server: LabOrganization } {
  const id = requireGuid(organizationId, 'organizationid');
  const cached = orgsOf(state.cache).find((o) => o.id === id && (self(o, state)?.status ?? MEMBER_STATUS.invited) >= MEMBER_STATUS.accepted);
  const server = orgsOf(state.server).find((o) => o.id === id);
  if (!cached || !server) throw new OrgError('Organization not found.');
  return { cached, server };
}

function collectionResponse(c: OrgCollection): Record<string, unknown> {
  return { object: 'collection', id: c.id, organizationId: c.organizationId, name: c.name, externalId: c.externalId };
}

function selections(value: unknown): Selection[] | null {
  if (!Array.isArray(value)) return null;
  return value.map((s: Record<string, unknown>) => ({ id: String(s.id), readOnly: s.readOnly === true, hidePasswords: s.hidePasswords === true, manage: s.manage === true }));
}

/** `bw list organizations|org-collections|org-members`; undefined for another object. */
export function listOrgObject(state: EmulatorState, object: string, query: Record<string, string | undefined>): unknown[] | undefined {
  switch (object) {
    case 'organizations': {
      const search = (query.search ?? '').trim().toLowerCase();
      return orgsOf(state.cache)
        .map((o) => ({ o, me: self(o, state) }))
        .filter(({ o, me }) => me !== undefined && me.status >= MEMBER_STATUS.accepted && o.name.toLowerCase().includes(search))
        .map(({ o, me }) => ({ object: 'organization', id: o.id, name: o.name, status: me!.status, type: me!.type, enabled: o.enabled }));
    }
    case 'org-collections': {
      const { server } = known(state, query.organizationid);
      const me = self(server, state);
      const all = me !== undefined && me.status === MEMBER_STATUS.confirmed && (me.type === MEMBER_TYPE.owner || me.type === MEMBER_TYPE.admin);
      const search = (query.search ?? '').trim().toLowerCase();
      return server.collections.filter((c) => all || c.users.some((u) => u.id === me?.id)).filter((c) => c.name.toLowerCase().includes(search)).map(collectionResponse);
    }
    case 'org-members': {
      const { server } = known(state, query.organizationid);
      return server.members.map((m) => ({ object: 'org-member', email: m.email, name: m.name, id: m.id, status: m.status, type: m.type, twoFactorEnabled: m.twoFactorEnabled }));
    }
    default:
      return undefined;
  }
}

/** `bw create org-collection`: on the server (bw caches collections at its next sync). */
export function createOrgCollection(state: EmulatorState, body: unknown, query: Record<string, string | undefined>): Record<string, unknown> {
  const organizationId = requireGuid(query.organizationid, 'organizationid');
  const req = (body ?? {}) as Record<string, unknown>;
  if (req.organizationId !== organizationId) throw new OrgError('`organizationid` option does not match request object.');
  const name = typeof req.name === 'string' ? req.name : '';
  if (name.trim() === '') throw new OrgError('Collection name is required.');
  const { server } = known(state, organizationId);
  const me = self(server, state);
  if (me?.status !== MEMBER_STATUS.confirmed) throw new OrgError('No encryption key for this organization.');
  const users = selections(req.users) ?? [{ id: me.id, readOnly: false, hidePasswords: false, manage: true }];
  const collection: OrgCollection = { id: randomUUID(), organizationId, name, externalId: typeof req.externalId === 'string' ? req.externalId : null, users, groups: selections(req.groups) };
  server.collections.push(collection);
  return orgCollectionResponse(collection);
}

function orgCollectionResponse(c: OrgCollection): Record<string, unknown> {
  return { ...collectionResponse(c), object: 'org-collection', groups: c.groups, users: c.users };
}

/** The server's collection `id` of an organization bw knows, for a confirmed member (who holds the key). */
function keyedCollection(state: EmulatorState, id: string, query: Record<string, string | undefined>): OrgCollection {
  if (query.organizationid === undefined || query.organizationid === '') throw new OrgError('`organizationid` option is required.');
  if (!isGuid(id)) throw new OrgError(`\`${id}\` is not a GUID.`);
  const { server } = known(state, query.organizationid);
  if (self(server, state)?.status !== MEMBER_STATUS.confirmed) throw new OrgError('No encryption key for this organization.');
  const collection = server.collections.find((c) => c.id === id.toLowerCase());
  if (!collection) throw new OrgError('Resource not found.');
  return collection;
}

/** `bw get org-collection ID`: the collection with its access (users, groups), from the server. */
export function getOrgCollection(state: EmulatorState, id: string, query: Record<string, string | undefined>): Record<string, unknown> {
  return orgCollectionResponse(keyedCollection(state, id, query));
}

/** `bw edit org-collection ID`: name, externalId, and its users and groups replaced (null: none sent, kept). */
export function editOrgCollection(state: EmulatorState, id: string, body: unknown, query: Record<string, string | undefined>): Record<string, unknown> {
  const req = (body ?? {}) as Record<string, unknown>;
  if (query.organizationid !== undefined && req.organizationId !== query.organizationid.toLowerCase()) throw new OrgError('`organizationid` option does not match request object.');
  const name = typeof req.name === 'string' ? req.name : '';
  if (name.trim() === '') throw new OrgError('Collection name is required.');
  const collection = keyedCollection(state, id, query);
  collection.name = name;
  collection.externalId = typeof req.externalId === 'string' ? req.externalId : null;
  collection.users = selections(req.users) ?? collection.users;
  collection.groups = selections(req.groups) ?? collection.groups;
  return { ...orgCollectionResponse(collection), groups: selections(req.groups), users: selections(req.users) };
}

/** `bw confirm org-member ID`: an accepted member becomes confirmed (gets the organization's key). */
export function confirmOrgMember(state: EmulatorState, object: string, id: string, query: Record<string, string | undefined>): void {
  if (object !== 'org-member') throw new OrgError('Unknown object.');
  if (query.organizationid === undefined || query.organizationid === '') throw new OrgError('--organizationid <organizationid> required.');
  if (!isGuid(id)) throw new OrgError(`\`${id}\` is not a GUID.`);
  const organizationId = requireGuid(query.organizationid, 'organizationid');
  const cached = orgsOf(state.cache).find((o) => o.id === organizationId);
  const server = orgsOf(state.server).find((o) => o.id === organizationId);
  if (!cached || !server || self(server, state)?.status !== MEMBER_STATUS.confirmed) throw new OrgError('No encryption key for this organization.');
  const member = server.members.find((m) => m.id === id.toLowerCase());
  if (!member) throw new OrgError('Member id does not exist for this organization.');
  if (member.status === MEMBER_STATUS.invited) throw new OrgError('User must accept the invitation before they can be confirmed.');
  if (member.status === MEMBER_STATUS.confirmed) throw new OrgError('User is already confirmed.');
  if (member.status === MEMBER_STATUS.revoked) throw new OrgError('User is revoked and cannot be confirmed.');
  member.status = MEMBER_STATUS.confirmed;
}

const TYPES: Record<string, number> = MEMBER_TYPE;

/**
 * The lab's stand-in for the web vault and the members' clients (not bw serve):
 * - `POST /__lab/orgs { name }`: a new organization on the server, the emulator's user its confirmed owner;
 * - `POST /__lab/orgs/:id/members { email, type?: owner|admin|user, accepted? }`: an invitation (accepted: the member accepted it);
 * - `GET /__lab/orgs`: the server's organizations, members and collections (names, ids, statuses).
 */
export function orgAdminRoutes(app: FastifyInstance, state: EmulatorState, persist: () => Promise<void>): void {
  app.get('/__lab/orgs', async () => orgsOf(state.server));
  app.post('/__lab/orgs', async (request, reply) => {
    const name = (request.body as Record<string, unknown> | null)?.name;
    if (typeof name !== 'string' || name === '') return reply.code(400).send({ error: 'name is required' });
    const org: LabOrganization = { id: randomUUID(), name, enabled: true, members: [], collections: [] };
    org.members.push({ id: randomUUID(), userId: state.user.id, email: state.user.email, name: null, status: MEMBER_STATUS.confirmed, type: MEMBER_TYPE.owner, twoFactorEnabled: false });
    orgsOf(state.server).push(org);
    await persist();
    return { id: org.id, name };
  });
  app.post('/__lab/orgs/:id/members', async (request, reply) => {
    const org = orgsOf(state.server).find((o) => o.id === (request.params as { id: string }).id);
    const body = (request.body ?? {}) as Record<string, unknown>;
    const email = typeof body.email === 'string' ? body.email.toLowerCase() : '';
    const type = TYPES[typeof body.type === 'string' ? body.type : 'user'];
    if (!org || !email || type === undefined) return reply.code(400).send({ error: 'an organization id, email and type owner|admin|user|custom are required' });
    const status = body.accepted === true ? MEMBER_STATUS.accepted : MEMBER_STATUS.invited;
    const existing = org.members.find((m) => m.email === email);
    if (existing) Object.assign(existing, { type, status: Math.max(existing.status, status) });
    else org.members.push({ id: randomUUID(), userId: randomUUID(), email, name: null, status, type, twoFactorEnabled: false });
    await persist();
    return { id: (existing ?? org.members.at(-1))!.id };
  });
}
