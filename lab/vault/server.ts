/**
 * The vault emulator: an HTTP server on loopback that answers like `bw serve`
 * (the Bitwarden CLI's Vault Management API) for the calls axe makes, over the
 * state in ./state.ts. The wire shapes follow the CLI's own serve code:
 * `{ success: true, data }`, lists as `data: { object: 'list', data: [...] }`,
 * every failure HTTP 400 with `{ success: false, message }`.
 *
 * Rules:
 * - A locked vault refuses every vault route (lists, objects, templates) with
 *   400 "Vault is locked.", as `bw serve` does; /status, /unlock, /lock and
 *   /sync answer locked or not.
 * - Like `bw serve`'s origin protection, a request carrying an Origin header,
 *   or a Host other than localhost / 127.0.0.1 / [::1] with this port, is
 *   refused with 403 and Koa's default body, `Forbidden` (text/plain).
 * - An unknown route answers 404 `Not Found` (text/plain), as Koa's router does.
 * - `record` (tests only, off by default) is given every bw serve exchange
 *   (never an `/__lab/` one) after its answer is sent: the contract tests check
 *   them against contracts/bw-serve/openapi.trimmed.yaml.
 * - The master password and the session are never logged and never in an
 *   error message; request logging is off.
 * - `/__lab/` is the lab's own admin API (not part of `bw serve`): server-side
 *   edits, counters, lock, fault injection. It never returns an item's value.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Secret } from '../../core/secret.js';
import { confirmOrgMember, createOrgCollection, editOrgCollection, getOrgCollection, listOrgObject, orgAdminRoutes, OrgError } from './orgs.js';
import {
  cloneData,
  filterItems,
  hashSession,
  isGuid,
  ITEM_LOGIN,
  ITEM_SECURE_NOTE,
  loadState,
  newState,
  saveState,
  searchItems,
  type BwField,
  type BwItem,
  type BwItemType,
  type BwLogin,
  type EmulatorState,
  type VaultData,
} from './state.js';

/** One request to the bw serve routes and its answer, as the `record` hook sees it. */
export interface VaultExchange {
  method: string;
  /** Without the query string. */
  path: string;
  query: Record<string, string | string[]>;
  /** Lower-case names, as received. */
  headers: Record<string, string>;
  /** The parsed JSON body; undefined when none (or when refused before parsing). */
  requestBody: unknown;
  status: number;
  /** Its media type without parameters, e.g. `application/json`; '' when none. */
  responseType: string;
  /** Parsed JSON for application/json, else the text; undefined when empty. */
  responseBody: unknown;
}

export interface VaultEmulatorOptions {
  /** Folder of `items.json`; default a fresh temp folder, removed by close(). */
  dir?: string;
  /** Default 0 (any free port). Always bound to 127.0.0.1. */
  port?: number;
  /** The master password; default a random one (returned). */
  password?: Secret;
  /** Start unlocked (a session is issued and returned). Default false: locked, like a fresh `bw serve`. */
  unlocked?: boolean;
  /** Like `BW_SESSION` in `bw serve`'s environment: starts unlocked when it is the live session of the state. */
  session?: Secret;
  email?: string;
  /** Collections of the user's organization, made when the state is new. */
  collections?: Array<{ name: string; organizationId?: string }>;
  /** Tests only: called with every bw serve exchange (see VaultExchange). Off by default. */
  record?: (exchange: VaultExchange) => void;
}

export interface VaultEmulator {
  /** `http://127.0.0.1:PORT`: what `vault.url` points at. */
  url: string;
  /** `${url}/__lab`. */
  adminUrl: string;
  port: number;
  password: Secret;
  /** The session issued at start when `unlocked` was set. */
  session: Secret | null;
  stateFile: string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface VaultCounters {
  requests: number;
  /** Creates, edits and deletes through the API (folders included). */
  writes: number;
  syncs: number;
  unlocks: number;
  failedUnlocks: number;
  lists: number;
  gets: number;
}

interface Fault {
  /** HTTP status to answer (5xx) while `remaining` > 0. */
  status: number | null;
  remaining: number;
  latencyMs: number;
  /** Only paths starting with this are affected ('' = every bw route). */
  path: string;
}

interface BwResponse {
  success: boolean;
  message?: string;
  data?: unknown;
}

class BwError extends Error {}

const LOCKED = 'Vault is locked.';
const NOT_FOUND = 'Not found.';
const OUT_OF_DATE = 'The client copy of this cipher is out of date. Resync the client and try again.';

function message(title: string, text: string | null = null): Record<string, unknown> {
  return { noColor: false, object: 'message', title, message: text };
}

function list(data: unknown[]): Record<string, unknown> {
  return { object: 'list', data };
}

const TEMPLATES: Record<string, unknown> = {
  item: {
    passwordHistory: [],
    revisionDate: null,
    creationDate: null,
    deletedDate: null,
    organizationId: null,
    collectionIds: null,
    folderId: null,
    type: ITEM_LOGIN,
    name: 'Item name',
    notes: 'Some notes about this item.',
    favorite: false,
    fields: [],
    login: null,
    secureNote: null,
    card: null,
    identity: null,
    reprompt: 0,
  },
  'item.field': { name: 'Field name', value: 'Some value', type: 0 },
  'item.login': { uris: [], username: 'jdoe', password: 'myp@ssword123', totp: 'JBSWY3DPEHPK3PXP', fido2Credentials: [] },
  'item.login.uri': { match: null, uri: 'https://google.com' },
  'item.securenote': { type: 0 },
  folder: { name: 'Folder name' },
  collection: { organizationId: '00000000-0000-0000-0000-000000000000', name: 'Collection name', externalId: null },
  'item-collections': ['collection-id1', 'collection-id2'],
};

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function fieldsFrom(value: unknown): BwField[] {
  if (!Array.isArray(value)) return [];
  return value.map((f: Record<string, unknown>) => ({
    name: str(f?.name),
    value: f?.value === null || f?.value === undefined ? null : String(f.value),
    type: typeof f?.type === 'number' ? f.type : 0,
    linkedId: typeof f?.linkedId === 'number' ? f.linkedId : null,
  }));
}

function loginFrom(value: Record<string, unknown>, previous: BwLogin | undefined, now: string): BwLogin {
  const password = str(value.password);
  const uris = Array.isArray(value.uris) ? value.uris.map((u: Record<string, unknown>) => ({ match: typeof u?.match === 'number' ? u.match : null, uri: str(u?.uri) })) : [];
  return {
    uris,
    username: str(value.username),
    password,
    totp: str(value.totp),
    passwordRevisionDate: previous && previous.password !== password ? now : (previous?.passwordRevisionDate ?? null),
    fido2Credentials: [],
  };
}

/**
 * An item from a request body, over `base` for an edit. Like bw's
 * CipherExport.toView: type, name, notes, folder, favorite and reprompt come
 * from the request as given (an edit sends the whole item); login and fields
 * only when present; collection ids are merged.
 */
function itemFromRequest(body: unknown, base: BwItem | null, now: string): BwItem {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BwError('`requestJson` was not provided.');
  const req = body as Record<string, unknown>;
  const type = req.type;
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 1 || type > 5) throw new BwError('The Type field is required.');
  const name = str(req.name);
  if (!name) throw new BwError('The Name field is required.');
  const item: BwItem = {
    passwordHistory: base?.passwordHistory ?? null,
    revisionDate: now,
    creationDate: base?.creationDate ?? now,
    deletedDate: base?.deletedDate ?? null,
    object: 'item',
    id: base?.id ?? randomUUID(),
    organizationId: base?.organizationId ?? str(req.organizationId),
    folderId: str(req.folderId),
    type: type as BwItemType,
    reprompt: typeof req.reprompt === 'number' ? req.reprompt : 0,
    name,
    notes: str(req.notes),
    favorite: req.favorite === true,
    fields: req.fields === undefined ? (base?.fields ?? []) : fieldsFrom(req.fields),
    collectionIds: [...new Set([...(base?.collectionIds ?? []), ...(Array.isArray(req.collectionIds) ? req.collectionIds.filter((c): c is string => typeof c === 'string') : [])])],
  };
  if (type === ITEM_LOGIN) {
    const login = req.login && typeof req.login === 'object' ? loginFrom(req.login as Record<string, unknown>, base?.login, now) : (base?.login ?? loginFrom({}, undefined, now));
    if (base?.login?.password && base.login.password !== login.password) {
      item.passwordHistory = [{ lastUsedDate: now, password: base.login.password }, ...(base.passwordHistory ?? [])].slice(0, 5);
    }
    item.login = login;
  }
  if (type === ITEM_SECURE_NOTE) item.secureNote = { type: 0 };
  return item;
}

function nowAfter(previous: string | null | undefined): string {
  // Revision dates must strictly increase, even within one millisecond.
  const now = Date.now();
  const prev = previous ? Date.parse(previous) : 0;
  return new Date(Math.max(now, prev + 1)).toISOString();
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function queryOf(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    if (typeof value === 'string') out[key.toLowerCase()] = value;
  }
  return out;
}

function exchangeOf(request: FastifyRequest, reply: FastifyReply, payload: unknown): VaultExchange {
  const url = new URL(request.url, 'http://bw.invalid');
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? values[0]! : values;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  const responseType = String(reply.getHeader('content-type') ?? '').split(';')[0]!.trim();
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
  let responseBody: unknown = text === '' ? undefined : text;
  if (text !== '' && responseType === 'application/json') responseBody = JSON.parse(text);
  return { method: request.method, path: url.pathname, query, headers, requestBody: request.body, status: reply.statusCode, responseType, responseBody };
}

/** Builds the emulator over a loaded state; `persist` is called after every change. */
export function buildVaultApp(options: {
  state: EmulatorState;
  password: Secret;
  persist: () => Promise<void>;
  port: () => number;
  record?: (exchange: VaultExchange) => void;
}): { app: FastifyInstance; counters: VaultCounters; unlock(): Secret; isUnlocked(): boolean; setUnlocked(session: Secret | null): void } {
  const { state, password, persist } = options;
  let unlocked = false;
  const counters: VaultCounters = { requests: 0, writes: 0, syncs: 0, unlocks: 0, failedUnlocks: 0, lists: 0, gets: 0 };
  const fault: Fault = { status: null, remaining: 0, latencyMs: 0, path: '' };
  const app = Fastify({ logger: false });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      const error = new Error('invalid JSON body') as Error & { statusCode: number };
      error.statusCode = 400;
      done(error, undefined);
    }
  });

  function issueSession(): Secret {
    const session = new Secret(randomBytes(64).toString('base64'));
    state.sessionHash = hashSession(session.reveal());
    unlocked = true;
    return session;
  }

  app.addHook('onRequest', async (request, reply) => {
    const admin = request.url.startsWith('/__lab');
    if (!admin) {
      const port = options.port();
      const allowed = new Set([`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]);
      if (request.headers.origin !== undefined || !allowed.has(String(request.headers.host ?? '').toLowerCase())) {
        return reply.code(403).type('text/plain; charset=utf-8').send('Forbidden');
      }
      counters.requests += 1;
      if (fault.path === '' || request.url.startsWith(fault.path)) {
        if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
        if (fault.status !== null && fault.remaining > 0) {
          fault.remaining -= 1;
          if (fault.remaining === 0) fault.status = null;
          return reply.code(fault.status ?? 503).type('text/plain').send('lab fault injected');
        }
      }
    }
    return undefined;
  });

  app.setNotFoundHandler(async (_request, reply) => reply.code(404).type('text/plain; charset=utf-8').send('Not Found'));

  const record = options.record;
  if (record) {
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.url.startsWith('/__lab')) return payload;
      record(exchangeOf(request, reply, payload));
      return payload;
    });
  }

  function send(reply: FastifyReply, response: BwResponse): FastifyReply {
    return reply.code(response.success ? 200 : 400).send(response);
  }

  /** Runs a vault route: refuses when locked, maps BwError to the 400 envelope. */
  async function vault(reply: FastifyReply, fn: () => Promise<unknown> | unknown): Promise<FastifyReply> {
    if (!unlocked) return send(reply, { success: false, message: LOCKED });
    try {
      const data = await fn();
      return send(reply, data === undefined ? { success: true } : { success: true, data });
    } catch (error) {
      if (error instanceof BwError || error instanceof OrgError) return send(reply, { success: false, message: error.message });
      throw error;
    }
  }

  function findCached(id: string): BwItem {
    const key = id.toLowerCase();
    if (isGuid(key)) {
      const item = state.cache.items.find((i) => i.id === key);
      if (!item) throw new BwError(NOT_FOUND);
      return item;
    }
    const found = searchItems(
      state.cache.items.filter((i) => i.deletedDate === null),
      key,
    );
    if (found.length === 0) throw new BwError(NOT_FOUND);
    if (found.length > 1) {
      throw new BwError(`More than one result was found. Try getting a specific object by \`id\` instead. The following objects were found:${found.map((i) => `\n${i.id}`).join('')}`);
    }
    return found[0]!;
  }

  /** Applies one write to server and cache alike. */
  async function write(apply: (data: VaultData) => void): Promise<void> {
    apply(state.server);
    apply(state.cache);
    counters.writes += 1;
    await persist();
  }

  function upsert<T extends { id: string }>(list: T[], value: T): void {
    const index = list.findIndex((x) => x.id === value.id);
    if (index === -1) list.push(structuredClone(value));
    else list[index] = structuredClone(value);
  }

  // --- bw serve routes ---------------------------------------------------

  app.get('/status', async (_request, reply) =>
    send(reply, {
      success: true,
      data: {
        object: 'template',
        template: { serverUrl: state.serverUrl, lastSync: state.lastSync, userEmail: state.user.email, userId: state.user.id, status: unlocked ? 'unlocked' : 'locked' },
      },
    }),
  );

  app.post('/unlock', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const given = typeof body.password === 'string' ? body.password : '';
    // bw serve runs with BW_NOINTERACTION, so the CLI's unlock answers a missing or empty password with its non-interactive message.
    if (given === '') return send(reply, { success: false, message: 'Master password is required. Try again in interactive mode or provide a password file or environment variable.' });
    if (!safeEqual(given, password.reveal())) {
      counters.failedUnlocks += 1;
      return send(reply, { success: false, message: 'Invalid master password.' });
    }
    counters.unlocks += 1;
    const session = issueSession();
    await persist();
    const raw = session.reveal();
    const text = `\nTo unlock your vault, set your session key to the \`BW_SESSION\` environment variable. ex:\n$ export BW_SESSION="${raw}"\n> $env:BW_SESSION="${raw}"\n\nYou can also pass the session key to any command with the \`--session\` option. ex:\n$ bw list items --session ${raw}`;
    return send(reply, { success: true, data: { ...message('Your vault is now unlocked!', text), raw } });
  });

  app.post('/lock', async (_request, reply) => {
    unlocked = false;
    state.sessionHash = null;
    await persist();
    return send(reply, { success: true, data: message('Your vault is locked.') });
  });

  app.post('/sync', async (_request, reply) => {
    state.cache = cloneData(state.server);
    state.lastSync = new Date().toISOString();
    counters.syncs += 1;
    await persist();
    return send(reply, { success: true, data: message('Syncing complete.') });
  });

  app.get('/list/object/:object', async (request, reply) => {
    const { object } = request.params as { object: string };
    return vault(reply, () => {
      counters.lists += 1;
      const q = queryOf(request);
      switch (object.toLowerCase()) {
        case 'items':
          return list(
            filterItems(state.cache.items, {
              ...(q.search !== undefined ? { search: q.search } : {}),
              ...(q.folderid !== undefined ? { folderId: q.folderid } : {}),
              ...(q.collectionid !== undefined ? { collectionId: q.collectionid } : {}),
              ...(q.organizationid !== undefined ? { organizationId: q.organizationid } : {}),
              trash: q.trash === 'true' || q.trash === '',
            }),
          );
        case 'folders': {
          const search = (q.search ?? '').trim().toLowerCase();
          const folders = [...state.cache.folders].sort((a, b) => a.name.localeCompare(b.name)).filter((f) => f.name.toLowerCase().includes(search));
          const noFolder = { object: 'folder', id: null, name: 'No Folder' };
          return list([...folders, ...('no folder'.includes(search) ? [noFolder] : [])]);
        }
        case 'collections':
          return list(state.cache.collections.filter((c) => (q.organizationid ? c.organizationId === q.organizationid : true)).filter((c) => c.name.toLowerCase().includes((q.search ?? '').toLowerCase())));
        default: {
          const orgObjects = listOrgObject(state, object.toLowerCase(), q);
          if (orgObjects === undefined) throw new BwError('Unknown object.');
          return list(orgObjects);
        }
      }
    });
  });

  app.get('/object/:object/:id', async (request, reply) => {
    const { object, id } = request.params as { object: string; id: string };
    return vault(reply, () => {
      counters.gets += 1;
      switch (object.toLowerCase()) {
        case 'item':
          return findCached(id);
        case 'password': {
          const item = findCached(id);
          if (!item.login?.password) throw new BwError('No password available for this login.');
          return { object: 'string', data: item.login.password };
        }
        case 'notes': {
          const item = findCached(id);
          if (!item.notes) throw new BwError('No notes available for this item.');
          return { object: 'string', data: item.notes };
        }
        case 'folder': {
          const folder = state.cache.folders.find((f) => f.id === id.toLowerCase());
          if (!folder) throw new BwError(NOT_FOUND);
          return folder;
        }
        case 'collection': {
          const collection = state.cache.collections.find((c) => c.id === id.toLowerCase());
          if (!collection) throw new BwError(NOT_FOUND);
          return collection;
        }
        case 'org-collection':
          return getOrgCollection(state, id, queryOf(request));
        case 'template': {
          const template = TEMPLATES[id.toLowerCase()];
          if (template === undefined) throw new BwError('Unknown template object.');
          return { object: 'template', template };
        }
        default:
          throw new BwError('Unknown object.');
      }
    });
  });

  app.post('/object/:object', async (request, reply) => {
    const { object } = request.params as { object: string };
    return vault(reply, async () => {
      switch (object.toLowerCase()) {
        case 'item': {
          const item = itemFromRequest(request.body, null, nowAfter(null));
          if (item.folderId !== null && !state.server.folders.some((f) => f.id === item.folderId)) throw new BwError('Folder not found.');
          await write((data) => upsert(data.items, item));
          return item;
        }
        case 'folder': {
          const name = str((request.body as Record<string, unknown> | null)?.name);
          if (!name) throw new BwError('The Name field is required.');
          const folder = { object: 'folder' as const, id: randomUUID(), name };
          await write((data) => upsert(data.folders, folder));
          return folder;
        }
        case 'org-collection': {
          const created = createOrgCollection(state, request.body, queryOf(request));
          counters.writes += 1;
          await persist();
          return created;
        }
        default:
          throw new BwError('Unknown object.');
      }
    });
  });

  app.post('/confirm/:object/:id', async (request, reply) => {
    const { object, id } = request.params as { object: string; id: string };
    return vault(reply, async () => {
      confirmOrgMember(state, object.toLowerCase(), id, queryOf(request));
      counters.writes += 1;
      await persist();
      return undefined;
    });
  });

  app.put('/object/:object/:id', async (request, reply) => {
    const { object, id } = request.params as { object: string; id: string };
    return vault(reply, async () => {
      const key = id.toLowerCase();
      switch (object.toLowerCase()) {
        case 'item': {
          const cached = state.cache.items.find((i) => i.id === key);
          if (!cached) throw new BwError(NOT_FOUND);
          if (cached.deletedDate !== null) throw new BwError('You may not edit a deleted item. Use the restore command first.');
          const onServer = state.server.items.find((i) => i.id === key);
          if (!onServer) throw new BwError('Cipher does not exist.');
          if (onServer.revisionDate !== cached.revisionDate) throw new BwError(OUT_OF_DATE);
          const item = itemFromRequest(request.body, cached, nowAfter(onServer.revisionDate));
          if (item.folderId !== null && !state.server.folders.some((f) => f.id === item.folderId)) throw new BwError('Folder not found.');
          await write((data) => upsert(data.items, item));
          return item;
        }
        case 'folder': {
          const folder = state.cache.folders.find((f) => f.id === key);
          if (!folder) throw new BwError(NOT_FOUND);
          const name = str((request.body as Record<string, unknown> | null)?.name);
          if (!name) throw new BwError('The Name field is required.');
          const renamed = { ...folder, name };
          await write((data) => upsert(data.folders, renamed));
          return renamed;
        }
        case 'org-collection': {
          const edited = editOrgCollection(state, id, request.body, queryOf(request));
          counters.writes += 1;
          await persist();
          return edited;
        }
        default:
          throw new BwError('Unknown object.');
      }
    });
  });

  app.delete('/object/:object/:id', async (request, reply) => {
    const { object, id } = request.params as { object: string; id: string };
    return vault(reply, async () => {
      const key = id.toLowerCase();
      const permanent = queryOf(request).permanent === 'true';
      switch (object.toLowerCase()) {
        case 'item': {
          if (!state.cache.items.some((i) => i.id === key)) throw new BwError(NOT_FOUND);
          const when = new Date().toISOString();
          await write((data) => {
            if (permanent) data.items = data.items.filter((i) => i.id !== key);
            else for (const i of data.items) if (i.id === key) i.deletedDate = when;
          });
          return undefined;
        }
        case 'folder': {
          if (!state.cache.folders.some((f) => f.id === key)) throw new BwError(NOT_FOUND);
          await write((data) => {
            data.folders = data.folders.filter((f) => f.id !== key);
            for (const i of data.items) if (i.folderId === key) i.folderId = null;
          });
          return undefined;
        }
        default:
          throw new BwError('Unknown object.');
      }
    });
  });

  // --- the lab's admin API -----------------------------------------------

  orgAdminRoutes(app, state, persist);

  app.get('/__lab/state', async () => ({
    status: unlocked ? 'unlocked' : 'locked',
    lastSync: state.lastSync,
    counters,
    fault,
    server: { items: state.server.items.map(({ id, name, folderId, revisionDate, deletedDate }) => ({ id, name, folderId, revisionDate, deletedDate })), folders: state.server.folders },
    cache: { items: state.cache.items.map(({ id, name, folderId, revisionDate, deletedDate }) => ({ id, name, folderId, revisionDate, deletedDate })), folders: state.cache.folders },
  }));

  /**
   * Creates or changes an item on the server only (another client, the web
   * vault): `{ name, password?, notes?, folder?, fields? }`. Matched by name
   * (and folder when given); bw sees it after its next /sync.
   */
  app.post('/__lab/server/items', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const name = str(body.name);
    if (!name) return reply.code(400).send({ error: 'name is required' });
    let folderId: string | null = null;
    const folderName = str(body.folder);
    if (folderName) {
      let folder = state.server.folders.find((f) => f.name === folderName);
      if (!folder) {
        folder = { object: 'folder', id: randomUUID(), name: folderName };
        state.server.folders.push(folder);
      }
      folderId = folder.id;
    }
    const existing = state.server.items.find((i) => i.name === name && i.deletedDate === null && (folderName ? i.folderId === folderId : true));
    const password = str(body.password);
    const notes = str(body.notes);
    const req: Record<string, unknown> = {
      type: password !== null || existing?.type === ITEM_LOGIN ? ITEM_LOGIN : ITEM_SECURE_NOTE,
      name,
      notes: notes ?? existing?.notes ?? null,
      folderId: folderId ?? existing?.folderId ?? null,
      ...(password !== null ? { login: { ...(existing?.login ?? {}), password } } : {}),
      ...(body.fields !== undefined ? { fields: body.fields } : {}),
    };
    const item = itemFromRequest(req, existing ?? null, nowAfter(existing?.revisionDate));
    upsert(state.server.items, item);
    await persist();
    return { id: item.id, revisionDate: item.revisionDate, action: existing ? 'updated' : 'created' };
  });

  /** Deletes an item on the server only (permanently). */
  app.delete('/__lab/server/items/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const before = state.server.items.length;
    state.server.items = state.server.items.filter((i) => i.id !== id.toLowerCase());
    if (state.server.items.length === before) return reply.code(404).send({ error: 'no such item' });
    await persist();
    return { deleted: id };
  });

  app.post('/__lab/lock', async () => {
    unlocked = false;
    state.sessionHash = null;
    await persist();
    return { status: 'locked' };
  });

  /** `{ status?: 5xx, count?: n, latencyMs?: n, path?: '/list' }`: the next `count` bw requests (under `path`) fail with `status`, each after `latencyMs`. */
  app.post('/__lab/faults', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const status = typeof body.status === 'number' ? body.status : null;
    if (status !== null && (status < 500 || status > 599)) return reply.code(400).send({ error: 'status must be 5xx' });
    fault.status = status;
    fault.remaining = status === null ? 0 : typeof body.count === 'number' ? body.count : 1;
    fault.latencyMs = typeof body.latencyMs === 'number' ? body.latencyMs : 0;
    fault.path = str(body.path) ?? '';
    return fault;
  });

  app.delete('/__lab/faults', async () => {
    Object.assign(fault, { status: null, remaining: 0, latencyMs: 0, path: '' });
    return fault;
  });

  app.post('/__lab/counters/reset', async () => {
    Object.assign(counters, { requests: 0, writes: 0, syncs: 0, unlocks: 0, failedUnlocks: 0, lists: 0, gets: 0 });
    return counters;
  });

  return {
    app,
    counters,
    unlock: issueSession,
    isUnlocked: () => unlocked,
    setUnlocked(session: Secret | null) {
      unlocked = session !== null && state.sessionHash !== null && safeEqual(hashSession(session.reveal()), state.sessionHash);
    },
  };
}

/** Starts the emulator on 127.0.0.1 (in this process). */
export async function startVaultEmulator(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'axe-lab-vault-')));
  const stateFile = join(dir, 'items.json');
  const state =
    (await loadState(stateFile)) ??
    newState({ ...(options.email ? { email: options.email } : {}), ...(options.collections ? { collections: options.collections } : {}) });
  const password = options.password ?? new Secret(randomBytes(18).toString('base64url'));
  // Writes are serialised so the file always holds one whole state.
  let queue: Promise<void> = Promise.resolve();
  const persist = (): Promise<void> => {
    queue = queue.then(() => saveState(stateFile, state));
    return queue;
  };
  let port = 0;
  const built = buildVaultApp({ state, password, persist, port: () => port, ...(options.record ? { record: options.record } : {}) });
  let session: Secret | null = null;
  if (options.session) built.setUnlocked(options.session);
  if (options.unlocked) session = built.unlock();
  await persist();
  await built.app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  port = (built.app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let closed = false;
  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    await built.app.close();
    await queue.catch(() => undefined);
    if (ownDir) await rm(dir, { recursive: true, force: true });
  }
  return { url, adminUrl: `${url}/__lab`, port, password, session, stateFile, close, [Symbol.asyncDispose]: close };
}
