/**
 * A Bitwarden Secrets Manager stand-in the real `@bitwarden/sdk-napi` talks
 * to: the identity server's access-token login and the API server's secrets
 * routes, laid out like a self-hosted install (`<url>/identity`, `<url>/api`).
 * See README.md for what it does not emulate.
 *
 * Rules:
 * - Loopback only, on the port asked for (0: a free one).
 * - One organization, one project, machine accounts with read and write on that
 *   project only. `issueAccessToken()` makes a machine account's access token:
 *   the stand-in keeps its id, a SHA-256 of its client secret and the login
 *   payload (the organization key encrypted under the token's derived key),
 *   never the token's own key.
 * - Secrets are stored exactly as the SDK sends them: key, value and note are
 *   EncStrings made by the client under the organization key; a body field
 *   that is not a type-2 EncString is refused with 400.
 * - Bearer tokens are JWTs the stand-in signs (HS256, its own random key) with
 *   the claims the SDK reads (`exp`, `sub`, `organization`, `scope`); the SDK
 *   does not check the signature, the stand-in does.
 * - `record` receives every exchange (method, server, path, query, headers,
 *   request and response bodies) for the contract test; it is a test hook
 *   and nothing is written to disk.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Secret } from '../../core/secret.js';
import { accessTokenPayloadKey, encryptEncString, isEncString } from './crypto.js';

export interface RecordedExchange {
  server: 'identity' | 'api' | 'other';
  method: string;
  /** The path below the server's base (`/connect/token`, `/secrets/{id}`). */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  requestBody?: unknown;
  status: number;
  responseBody?: unknown;
}

/** A secret as the stand-in stores it: EncStrings only. */
export interface StoredSecret {
  id: string;
  organizationId: string;
  projectId: string;
  key: string;
  value: string;
  note: string;
  creationDate: string;
  revisionDate: string;
}

export interface SecretsManagerStandInOptions {
  port?: number;
  host?: string;
  organizationId?: string;
  projectId?: string;
  projectName?: string;
  /** Seconds a bearer token lives (default 3600, the real server's). */
  tokenLifetimeSeconds?: number;
  record?: (exchange: RecordedExchange) => void;
}

export interface SecretsManagerStandIn {
  url: string;
  identityUrl: string;
  apiUrl: string;
  organizationId: string;
  projectId: string;
  /** A new machine account's access token (read and write on the project). */
  issueAccessToken(): Secret;
  /** What the server holds, as stored (EncStrings). */
  stored(): StoredSecret[];
  /** The next `count` API requests answer `status` (a 5xx), as an outage would. */
  failNext(status: number, count: number): void;
  counters: { logins: number; failedLogins: number; apiRequests: number };
  close(): Promise<void>;
}

interface MachineAccount {
  tokenId: string;
  serviceAccountId: string;
  secretHash: Buffer;
  encryptedPayload: string;
}

interface Claims {
  exp: number;
  sub: string;
  organization: string;
  client_id: string;
}

class HttpAnswer {
  constructor(
    readonly status: number,
    readonly body?: unknown,
  ) {}
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function errorModel(message: string, validationErrors: Record<string, string[]> | null = null): unknown {
  return { object: 'error', message, validationErrors, exceptionMessage: null, exceptionStackTrace: null, innerExceptionMessage: null };
}

const NOT_FOUND = new HttpAnswer(404, errorModel('Resource not found.'));

function b64url(value: Buffer | string): string {
  return Buffer.from(value).toString('base64url');
}

function hashSecret(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export async function startSecretsManagerStandIn(options: SecretsManagerStandInOptions = {}): Promise<SecretsManagerStandIn> {
  const organizationId = options.organizationId ?? randomUUID();
  const projectId = options.projectId ?? randomUUID();
  const projectName = options.projectName ?? 'axe';
  const lifetime = options.tokenLifetimeSeconds ?? 3600;
  // The organization key: only ever sent encrypted (the login payload); the stand-in never decrypts what the SDK stores.
  const orgKeyBytes = randomBytes(64);
  const jwtKey = randomBytes(32);
  const accounts = new Map<string, MachineAccount>();
  const secrets = new Map<string, StoredSecret>();
  const counters = { logins: 0, failedLogins: 0, apiRequests: 0 };
  let faults = { status: 0, count: 0 };
  let identityIssuer = '';

  function sign(claims: Record<string, unknown>): string {
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt' }));
    const body = b64url(JSON.stringify(claims));
    const sig = createHmac('sha256', jwtKey).update(`${head}.${body}`).digest();
    return `${head}.${body}.${b64url(sig)}`;
  }

  function verify(header: string | undefined): Claims | null {
    const m = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(header ?? '');
    if (!m) return null;
    const expected = createHmac('sha256', jwtKey).update(`${m[1]}.${m[2]}`).digest();
    const got = Buffer.from(m[3]!, 'base64url');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return null;
    const claims = JSON.parse(Buffer.from(m[2]!, 'base64url').toString('utf8')) as Claims;
    if (claims.exp * 1000 <= Date.now()) return null;
    return claims;
  }

  function login(form: URLSearchParams): HttpAnswer {
    const invalid = new HttpAnswer(400, { error: 'invalid_client' });
    if (form.get('grant_type') !== 'client_credentials') return new HttpAnswer(400, { error: 'unsupported_grant_type' });
    if (form.get('scope') !== 'api.secrets') return new HttpAnswer(400, { error: 'invalid_scope' });
    const account = accounts.get(form.get('client_id') ?? '');
    const offered = hashSecret(form.get('client_secret') ?? '');
    if (!account || !timingSafeEqual(offered, account.secretHash)) {
      counters.failedLogins += 1;
      return invalid;
    }
    counters.logins += 1;
    const now = Math.floor(Date.now() / 1000);
    const accessToken = sign({
      nbf: now,
      exp: now + lifetime,
      iss: identityIssuer,
      client_id: account.tokenId,
      sub: account.serviceAccountId,
      organization: organizationId,
      type: 'ServiceAccount',
      jti: randomBytes(16).toString('hex').toUpperCase(),
      iat: now,
      scope: ['api.secrets'],
    });
    return new HttpAnswer(200, { access_token: accessToken, expires_in: lifetime, token_type: 'Bearer', scope: 'api.secrets', encrypted_payload: account.encryptedPayload });
  }

  function project(): { id: string; name: string } {
    return { id: projectId, name: projectName };
  }

  function full(s: StoredSecret): Record<string, unknown> {
    return { object: 'secret', id: s.id, organizationId: s.organizationId, key: s.key, value: s.value, note: s.note, creationDate: s.creationDate, revisionDate: s.revisionDate, projects: [project()], read: true, write: true };
  }

  function base(s: StoredSecret): Record<string, unknown> {
    return { object: 'baseSecret', id: s.id, organizationId: s.organizationId, key: s.key, value: s.value, note: s.note, creationDate: s.creationDate, revisionDate: s.revisionDate, projects: [project()] };
  }

  function identifiers(list: StoredSecret[]): unknown {
    return {
      object: 'SecretsWithProjectsList',
      secrets: list.map((s) => ({ id: s.id, organizationId: s.organizationId, key: s.key, creationDate: s.creationDate, revisionDate: s.revisionDate, projects: [project()], read: true, write: true })),
      projects: [project()],
    };
  }

  /** The body of a create or update, or the 400 to answer. */
  function secretBody(body: unknown): { key: string; value: string; note: string } | HttpAnswer {
    const b = (body ?? {}) as Record<string, unknown>;
    const errors: Record<string, string[]> = {};
    for (const field of ['key', 'value', 'note'] as const) if (!isEncString(b[field])) errors[field] = [`The field ${field} is not a valid encrypted string.`];
    const ids = b.projectIds;
    if (!Array.isArray(ids) || ids.length !== 1 || ids[0] !== projectId) {
      // A machine account may only write secrets into a project it has write access to.
      return NOT_FOUND;
    }
    if (Object.keys(errors).length > 0) return new HttpAnswer(400, errorModel('The model state is invalid.', errors));
    return { key: b.key as string, value: b.value as string, note: b.note as string };
  }

  function api(method: string, path: string, query: URLSearchParams, body: unknown, claims: Claims): HttpAnswer {
    const visible = (): StoredSecret[] => [...secrets.values()].filter((s) => s.organizationId === claims.organization && s.projectId === projectId);
    let m: RegExpExecArray | null;
    if ((m = /^\/organizations\/([^/]+)\/secrets$/.exec(path))) {
      if (m[1] !== claims.organization) return NOT_FOUND;
      if (method === 'GET') return new HttpAnswer(200, identifiers(visible()));
      if (method === 'POST') {
        const input = secretBody(body);
        if (input instanceof HttpAnswer) return input;
        const now = new Date().toISOString();
        const stored: StoredSecret = { id: randomUUID(), organizationId: claims.organization, projectId, ...input, creationDate: now, revisionDate: now };
        secrets.set(stored.id, stored);
        return new HttpAnswer(200, full(stored));
      }
      return new HttpAnswer(405);
    }
    if ((m = /^\/organizations\/([^/]+)\/secrets\/sync$/.exec(path)) && method === 'GET') {
      if (m[1] !== claims.organization) return NOT_FOUND;
      const since = query.get('lastSyncedDate');
      const list = visible();
      const sinceMs = since ? Date.parse(since) : Number.NaN;
      if (since && Number.isNaN(sinceMs)) return new HttpAnswer(400, errorModel('The model state is invalid.', { lastSyncedDate: ['The value is not valid.'] }));
      const hasChanges = !since || list.some((s) => Date.parse(s.revisionDate) > sinceMs);
      return new HttpAnswer(200, { object: 'secretsSync', hasChanges, secrets: hasChanges ? { object: 'list', data: list.map(base), continuationToken: null } : null });
    }
    if (path === '/secrets/get-by-ids' && method === 'POST') {
      const ids = (body as { ids?: unknown } | null)?.ids;
      if (!Array.isArray(ids)) return new HttpAnswer(400, errorModel('The model state is invalid.', { ids: ['The ids field is required.'] }));
      const found = visible().filter((s) => ids.includes(s.id));
      if (found.length !== ids.length) return NOT_FOUND;
      return new HttpAnswer(200, { object: 'list', data: found.map(base), continuationToken: null });
    }
    if ((m = /^\/secrets\/([^/]+)$/.exec(path))) {
      const existing = UUID.test(m[1]!) ? visible().find((s) => s.id === m![1]) : undefined;
      if (!existing) return NOT_FOUND;
      if (method === 'GET') return new HttpAnswer(200, full(existing));
      if (method === 'PUT') {
        const input = secretBody(body);
        if (input instanceof HttpAnswer) return input;
        const updated: StoredSecret = { ...existing, ...input, revisionDate: new Date().toISOString() };
        secrets.set(updated.id, updated);
        return new HttpAnswer(200, full(updated));
      }
      return new HttpAnswer(405);
    }
    return NOT_FOUND;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const server: RecordedExchange['server'] = url.pathname.startsWith('/identity/') ? 'identity' : url.pathname.startsWith('/api/') ? 'api' : 'other';
    const path = server === 'other' ? url.pathname : url.pathname.slice(server.length + 1);
    const contentType = req.headers['content-type'] ?? '';
    let requestBody: unknown;
    let answer: HttpAnswer;
    try {
      if (raw === '') requestBody = undefined;
      else if (contentType.startsWith('application/x-www-form-urlencoded')) requestBody = Object.fromEntries(new URLSearchParams(raw));
      else requestBody = JSON.parse(raw);
      answer = route(server, req.method ?? 'GET', path, url.searchParams, raw, requestBody, req.headers.authorization);
    } catch {
      answer = new HttpAnswer(400, errorModel('The request body is not valid JSON.'));
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    options.record?.({ server, method: req.method ?? 'GET', path, query: Object.fromEntries(url.searchParams), headers, requestBody, status: answer.status, responseBody: answer.body });
    if (answer.body === undefined) {
      res.writeHead(answer.status).end();
      return;
    }
    const text = JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
  }

  function route(server: RecordedExchange['server'], method: string, path: string, query: URLSearchParams, raw: string, body: unknown, authorization: string | undefined): HttpAnswer {
    if (server === 'other') return new HttpAnswer(404);
    if (path === '/alive' && method === 'GET') return new HttpAnswer(200, new Date().toISOString());
    if (server === 'identity') {
      if (path === '/connect/token' && method === 'POST') return login(new URLSearchParams(raw));
      return new HttpAnswer(404);
    }
    counters.apiRequests += 1;
    if (faults.count > 0) {
      faults.count -= 1;
      return new HttpAnswer(faults.status);
    }
    const claims = verify(authorization);
    if (!claims) return new HttpAnswer(401);
    return api(method, path, query, body, claims);
  }

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = http.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${address.port}`;
  identityIssuer = `${url}/identity`;

  return {
    url,
    identityUrl: `${url}/identity`,
    apiUrl: `${url}/api`,
    organizationId,
    projectId,
    issueAccessToken(): Secret {
      const tokenId = randomUUID();
      const clientSecret = randomBytes(22).toString('base64url').replace(/[-_]/g, 'x').slice(0, 30);
      const tokenKey = randomBytes(16);
      const payload = JSON.stringify({ encryptionKey: orgKeyBytes.toString('base64') });
      accounts.set(tokenId, { tokenId, serviceAccountId: randomUUID(), secretHash: hashSecret(clientSecret), encryptedPayload: encryptEncString(payload, accessTokenPayloadKey(tokenKey)) });
      return new Secret(`0.${tokenId}.${clientSecret}:${tokenKey.toString('base64')}`);
    },
    stored: () => [...secrets.values()].map((s) => ({ ...s })),
    failNext(status: number, count: number): void {
      faults = { status, count };
    },
    counters,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
