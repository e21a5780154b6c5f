/**
 * The vault emulator's state: what the Vaultwarden server holds (`server`) and
 * what the `bw` CLI behind `bw serve` has cached of it (`cache`).
 *
 * Rules:
 * - Reads through the API come from `cache`; `/sync` replaces `cache` with a copy
 *   of `server` and stamps `lastSync`. A change made "on the server" (the admin
 *   route: another client, the web vault) is invisible until the next sync: the
 *   runbook's stale `bw` cache.
 * - Writes through the API go to both, with one new revisionDate, as `bw` does
 *   (it saves to the server and then to its cache). An edit whose cached copy is
 *   older than the server's is refused like Vaultwarden refuses it.
 * - The state file is plain JSON holding the item values: it is written
 *   atomically (temp file + rename) with mode 0600 in a 0700 folder, and never
 *   logged. The master password is not in it; of the session only a SHA-256 is.
 */
import { createHash, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LabOrganization } from './org-types.js';

const FORMAT = 'axe-lab-vault/v1';

/** Bitwarden cipher types, as numbers on the wire. */
export type BwItemType = 1 | 2 | 3 | 4 | 5;
export const ITEM_LOGIN = 1;
export const ITEM_SECURE_NOTE = 2;

export interface BwField {
  name: string | null;
  value: string | null;
  /** 0 text, 1 hidden, 2 boolean, 3 linked. */
  type: number;
  linkedId: number | null;
}

export interface BwLoginUri {
  match: number | null;
  uri: string | null;
}

export interface BwLogin {
  uris: BwLoginUri[];
  username: string | null;
  password: string | null;
  totp: string | null;
  passwordRevisionDate: string | null;
  fido2Credentials: unknown[];
}

export interface BwPasswordHistory {
  lastUsedDate: string;
  password: string;
}

export interface BwItem {
  passwordHistory: BwPasswordHistory[] | null;
  revisionDate: string;
  creationDate: string;
  deletedDate: string | null;
  object: 'item';
  id: string;
  organizationId: string | null;
  folderId: string | null;
  type: BwItemType;
  reprompt: number;
  name: string;
  notes: string | null;
  favorite: boolean;
  fields: BwField[];
  login?: BwLogin;
  secureNote?: { type: number };
  collectionIds: string[];
}

export interface BwFolder {
  object: 'folder';
  id: string;
  name: string;
}

export interface BwCollection {
  object: 'collection';
  id: string;
  organizationId: string;
  name: string;
  externalId: string | null;
}

export interface VaultData {
  items: BwItem[];
  folders: BwFolder[];
  collections: BwCollection[];
  /** Organizations with their members and collections (./orgs.ts); absent in older state files. */
  organizations?: LabOrganization[];
}

export interface EmulatorState {
  format: typeof FORMAT;
  user: { id: string; email: string };
  serverUrl: string;
  /** The Vaultwarden server's truth. */
  server: VaultData;
  /** bw's local copy: the server as of `lastSync`, plus the writes made through bw. */
  cache: VaultData;
  lastSync: string | null;
  /** SHA-256 (hex) of the session the last unlock issued; null after `lock`. */
  sessionHash: string | null;
}

export interface NewStateOptions {
  email?: string;
  serverUrl?: string;
  collections?: Array<{ name: string; organizationId?: string }>;
}

export function emptyData(): VaultData {
  return { items: [], folders: [], collections: [], organizations: [] };
}

export function cloneData(data: VaultData): VaultData {
  return structuredClone(data);
}

export function newState(options: NewStateOptions = {}): EmulatorState {
  const orgId = randomUUID();
  const server = emptyData();
  for (const c of options.collections ?? []) {
    server.collections.push({ object: 'collection', id: randomUUID(), organizationId: c.organizationId ?? orgId, name: c.name, externalId: null });
  }
  return {
    format: FORMAT,
    user: { id: randomUUID(), email: options.email ?? 'operator@axe.invalid' },
    serverUrl: options.serverUrl ?? 'https://vault.lab.invalid',
    server,
    // A logged-in bw has synced once at login.
    cache: cloneData(server),
    lastSync: new Date().toISOString(),
    sessionHash: null,
  };
}

export function hashSession(session: string): string {
  return createHash('sha256').update(session).digest('hex');
}

/** Reads the state file; null when it does not exist. Throws on a file of another format. */
export async function loadState(path: string): Promise<EmulatorState | null> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const state = JSON.parse(raw) as EmulatorState;
  if (state.format !== FORMAT) throw new Error(`${path} is not a lab vault state file`);
  return state;
}

/** Writes the whole state atomically, mode 0600, in a 0700 folder. */
export async function saveState(path: string, state: EmulatorState): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** bw's basic search: name, id prefix (≥ 8 characters), the login's username, its URIs. */
export function searchItems(items: BwItem[], query: string): BwItem[] {
  const q = query.trim().toLowerCase();
  if (q === '') return items;
  return items.filter((item) => {
    if (item.name.toLowerCase().includes(q)) return true;
    if (q.length >= 8 && item.id.startsWith(q)) return true;
    if (item.login?.username?.toLowerCase().includes(q)) return true;
    return item.login?.uris.some((u) => u.uri?.toLowerCase().includes(q)) ?? false;
  });
}

export interface ItemFilter {
  search?: string;
  folderId?: string;
  collectionId?: string;
  organizationId?: string;
  trash?: boolean;
}

/**
 * `bw list items` filtering: deleted items only with `trash`; folder, collection
 * and organization filters are alternatives (an item matching any passes), with
 * `null` / `notnull` meaning none / any; the search then narrows the result.
 */
export function filterItems(items: BwItem[], filter: ItemFilter): BwItem[] {
  let out = items.filter((item) => (filter.trash ? item.deletedDate !== null : item.deletedDate === null));
  const { folderId, collectionId, organizationId } = filter;
  if (folderId !== undefined || collectionId !== undefined || organizationId !== undefined) {
    out = out.filter((item) => {
      if (folderId !== undefined) {
        if (folderId === 'notnull' && item.folderId !== null) return true;
        if ((folderId === 'null' ? null : folderId) === item.folderId) return true;
      }
      if (organizationId !== undefined) {
        if (organizationId === 'notnull' && item.organizationId !== null) return true;
        if ((organizationId === 'null' ? null : organizationId) === item.organizationId) return true;
      }
      if (collectionId !== undefined) {
        if (collectionId === 'notnull' && item.collectionIds.length > 0) return true;
        if (collectionId === 'null' && item.collectionIds.length === 0) return true;
        if (item.collectionIds.includes(collectionId)) return true;
      }
      return false;
    });
  }
  return filter.search ? searchItems(out, filter.search) : out;
}
