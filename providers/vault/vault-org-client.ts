/**
 * The customer vault's organization through the official `bw` CLI: a `bw serve`
 * (the Vault Management API) logged in to the customer's Vaultwarden as its
 * bot owner (`ai@{domain}`), one per customer vault, on the operator's machine
 * (config `customer_vaults.{id}.url`). The calls are the CLI's own commands:
 * `bw list organizations`, `bw list org-collections`, `bw create
 * org-collection`, `bw get|edit org-collection` (who may use it), `bw list
 * org-members`, `bw confirm org-member`.
 *
 * Rules:
 * - Transport and error classes are BwServeClient's (vaultwarden-client.ts).
 * - bw's 400 answers (`BwServeRejection`) are returned to the caller as
 *   terminal VaultErrors `rejected` carrying bw's one-line message; a locked
 *   vault is found by /status first, never by reading a message.
 * - What bw cannot do (make an organization, invite a member, change a
 *   member's role) is not here: those need an owner in the web vault.
 * - Names and e-mails are not secrets; no value leaves through this client.
 */
import { BwServeClient, BwServeRejection, type BwFieldRead, type BwStatus, envelopeReads, VaultError } from './vaultwarden-client.js';

/** The organization operations, as contracts/bw-serve/openapi.trimmed.yaml names them. */
export const ORG_OPERATIONS = [
  { method: 'GET', path: '/list/object/organizations' },
  { method: 'GET', path: '/list/object/org-collections' },
  { method: 'POST', path: '/object/org-collection' },
  { method: 'GET', path: '/list/object/org-members' },
  { method: 'POST', path: '/confirm/org-member/{id}' },
  { method: 'GET', path: '/object/org-collection/{id}' },
  { method: 'PUT', path: '/object/org-collection/{id}' },
] as const satisfies ReadonlyArray<Pick<BwFieldRead, 'method' | 'path'>>;

/** Every field of those answers this client reads (checked against the spec by test/vault-contract.test.ts). */
export const ORG_FIELD_READS: readonly BwFieldRead[] = [
  ...envelopeReads(ORG_OPERATIONS, { data: false }),
  ...['id', 'name', 'status', 'type', 'enabled'].map((f): BwFieldRead => ({ method: 'GET', path: '/list/object/organizations', status: 200, field: `data.data[].${f}` })),
  ...['id', 'name', 'externalId'].map((f): BwFieldRead => ({ method: 'GET', path: '/list/object/org-collections', status: 200, field: `data.data[].${f}` })),
  { method: 'POST', path: '/object/org-collection', status: 200, field: 'data.id' },
  { method: 'GET', path: '/object/org-collection/{id}', status: 200, field: 'data.users' },
  { method: 'GET', path: '/object/org-collection/{id}', status: 200, field: 'data.groups' },
  ...['id', 'readOnly', 'hidePasswords', 'manage'].map((f): BwFieldRead => ({ method: 'GET', path: '/object/org-collection/{id}', status: 200, field: `data.users[].${f}` })),
  ...['id', 'email', 'status', 'type'].map((f): BwFieldRead => ({ method: 'GET', path: '/list/object/org-members', status: 200, field: `data.data[].${f}` })),
];

/** `bw list organizations`: one organization and the logged-in user's own membership in it. */
export interface BwOrganization {
  id: string;
  name: string;
  /** OrganizationUserStatusType: -1 revoked, 0 invited, 1 accepted, 2 confirmed. */
  status: number;
  /** OrganizationUserType: 0 owner, 1 admin, 2 user, 4 custom. */
  type: number;
  enabled: boolean;
}

export interface BwOrgCollection {
  id: string;
  name: string;
  externalId?: string | null;
}

/** Who may use a collection (SelectionReadOnly): a member's id in the organization. */
export interface BwSelection {
  id: string;
  readOnly: boolean;
  hidePasswords: boolean;
  manage: boolean;
}

export interface BwOrgMember {
  id: string;
  email: string;
  status: number;
  type: number;
}

interface BwList<T> {
  data: T[];
}

export class VaultOrgClient {
  readonly #bw: BwServeClient;

  constructor(url: string, timeoutMs?: number) {
    this.#bw = new BwServeClient({ url, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  get url(): string {
    return this.#bw.url;
  }

  status(): Promise<BwStatus> {
    return this.#bw.status();
  }

  async sync(): Promise<void> {
    await this.#call('POST', '/sync', undefined, 'bw sync');
  }

  async organizations(): Promise<BwOrganization[]> {
    return (await this.#call<BwList<BwOrganization>>('GET', '/list/object/organizations', undefined, 'bw list organizations')).data;
  }

  async collections(organizationId: string): Promise<BwOrgCollection[]> {
    return (await this.#call<BwList<BwOrgCollection>>('GET', `/list/object/org-collections?organizationId=${encodeURIComponent(organizationId)}`, undefined, 'bw list org-collections')).data;
  }

  /** `bw create org-collection` with who may use it (bw assigns it to its creator when `users` is absent). Returns the new id. */
  async createCollection(organizationId: string, name: string, users?: BwSelection[]): Promise<string> {
    const body = { organizationId, name, externalId: null, groups: [], ...(users ? { users } : {}) };
    return (await this.#call<{ id: string }>('POST', `/object/org-collection?organizationId=${encodeURIComponent(organizationId)}`, body, `bw create org-collection ${JSON.stringify(name)}`)).id;
  }

  /** `bw get org-collection`: who may use it, members and groups (null when bw answers none). */
  async collectionAccess(organizationId: string, id: string): Promise<{ users: BwSelection[] | null; groups: BwSelection[] | null }> {
    const data = await this.#call<{ users?: BwSelection[] | null; groups?: BwSelection[] | null }>('GET', `/object/org-collection/${encodeURIComponent(id)}?organizationId=${encodeURIComponent(organizationId)}`, undefined, 'bw get org-collection');
    return { users: data.users ?? null, groups: data.groups ?? null };
  }

  /** `bw edit org-collection`: the whole collection sent back (name, external id, groups as read) with its users replaced. */
  async setCollectionAccess(organizationId: string, id: string, c: { name: string; externalId: string | null; users: BwSelection[]; groups: BwSelection[] | null }): Promise<void> {
    const body = { organizationId, name: c.name, externalId: c.externalId, groups: c.groups, users: c.users };
    await this.#call('PUT', `/object/org-collection/${encodeURIComponent(id)}?organizationId=${encodeURIComponent(organizationId)}`, body, `bw edit org-collection ${JSON.stringify(c.name)}`);
  }

  async members(organizationId: string): Promise<BwOrgMember[]> {
    return (await this.#call<BwList<BwOrgMember>>('GET', `/list/object/org-members?organizationId=${encodeURIComponent(organizationId)}`, undefined, 'bw list org-members')).data;
  }

  async confirmMember(organizationId: string, memberId: string): Promise<void> {
    await this.#call('POST', `/confirm/org-member/${encodeURIComponent(memberId)}?organizationId=${encodeURIComponent(organizationId)}`, undefined, 'bw confirm org-member');
  }

  async #call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body: unknown, what: string): Promise<T> {
    try {
      return await this.#bw.request<T>(method, path, body);
    } catch (error) {
      if (!(error instanceof BwServeRejection)) throw error;
      throw new VaultError('rejected', 'terminal', `${what} failed at ${this.#bw.url}: ${error.bwMessage}`, { fix: 'check the customer vault in its web vault (signed in as its owner), then run the command again', cause: error });
    }
  }
}
