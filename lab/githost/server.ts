/**
 * A stand-in for the commit-status and issue-comment endpoints of GitHub's
 * REST API and Gitea's /api/v1, on 127.0.0.1, recording every call. Not a git
 * host: see README.md for what it does not emulate.
 *
 * Rules:
 * - One kind per instance (`github`: paths at the root, `Authorization: Bearer|token`;
 *   `gitea`: paths under /api/v1, `Authorization: token|Bearer`).
 * - A wrong or missing token is 401; an unknown repository or pull request is 404; a
 *   status or comment without its required field is 422 (GitHub) or 400/422-free (Gitea: 400).
 * - Answers carry only fields of the published schemas (contracts/githost/).
 * - The token is never logged or recorded; recorded exchanges keep method, path, query, bodies.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Secret } from '../../core/secret.js';

export type StandInKind = 'github' | 'gitea';

export interface RecordedCall {
  method: string;
  /** Relative to the API base (what the spec's paths are). */
  path: string;
  query: Record<string, string>;
  requestBody?: unknown;
  status: number;
  responseBody: unknown;
}

export interface StoredStatus {
  sha: string;
  state: string;
  context: string;
  description: string;
  targetUrl: string | null;
  at: number;
}

export interface StoredComment {
  id: number;
  issue: number;
  body: string;
  createdAt: string;
  updatedAt: string;
  edits: number;
}

export interface GitHostStandIn {
  kind: StandInKind;
  /** The API base URL the client is given (`git_host.api_url`). */
  apiUrl: string;
  /** owner/name of the one repository it serves. */
  repo: string;
  calls: RecordedCall[];
  statuses: StoredStatus[];
  comments: StoredComment[];
  /** Makes `number` an open pull request (comments on others are 404). */
  openPull(number: number): void;
  /** The next `count` API calls answer `status` (429, 500, 502…) without doing anything. */
  failNext(status: number, count?: number): void;
  /** The newest status of each context on a commit. */
  latest(sha: string): Map<string, StoredStatus>;
  close(): Promise<void>;
}

const BOT = { id: 41898282, login: 'axe-bot', node_id: 'MDQ6VXNlcjQxODk4Mjgy', type: 'Bot', site_admin: false };

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

export async function startGitHostStandIn(options: { kind: StandInKind; token: Secret; repo?: string; host?: string }): Promise<GitHostStandIn> {
  const kind = options.kind;
  const repo = options.repo ?? 'axelabs/config';
  const prefix = kind === 'gitea' ? '/api/v1' : '';
  const calls: RecordedCall[] = [];
  const statuses: StoredStatus[] = [];
  const comments: StoredComment[] = [];
  const pulls = new Set<number>();
  const faults: number[] = [];
  let nextId = 1000;
  let base = '';

  const errorBody = (status: number, message: string): unknown => {
    if (kind === 'github') return status === 422 ? { message, documentation_url: 'https://docs.github.com/rest', errors: [{ resource: 'Status', code: 'missing_field', field: 'state' }] } : { message, documentation_url: 'https://docs.github.com/rest' };
    return status === 404 ? { errors: [message], message: 'The target couldn\'t be found.', url: `${base}/swagger` } : { message, url: `${base}/swagger` };
  };

  const commentJson = (c: StoredComment): unknown => {
    const html = `${base.replace(/\/api\/v1$/, '')}/${repo}/pull/${c.issue}#issuecomment-${c.id}`;
    if (kind === 'gitea') return { id: c.id, body: c.body, html_url: html, user: { id: BOT.id, login: BOT.login }, created_at: c.createdAt, updated_at: c.updatedAt };
    return { id: c.id, node_id: `IC_${c.id}`, url: `${base}/repos/${repo}/issues/comments/${c.id}`, body: c.body, html_url: html, user: BOT, created_at: c.createdAt, updated_at: c.updatedAt, issue_url: `${base}/repos/${repo}/issues/${c.issue}`, author_association: 'NONE' };
  };

  const statusJson = (s: StoredStatus, id: number): unknown => {
    const at = new Date(s.at).toISOString().replace(/\.\d+Z$/, 'Z');
    if (kind === 'gitea') return { id, status: s.state, context: s.context, description: s.description, target_url: s.targetUrl ?? '', url: `${base}/repos/${repo}/statuses/${s.sha}`, creator: { id: BOT.id, login: BOT.login }, created_at: at, updated_at: at };
    return { url: `${base}/repos/${repo}/statuses/${s.sha}`, avatar_url: null, id, node_id: `SC_${id}`, state: s.state, description: s.description, target_url: s.targetUrl, context: s.context, created_at: at, updated_at: at, creator: BOT };
  };

  async function route(req: IncomingMessage, method: string, path: string): Promise<{ status: number; body: unknown; request?: unknown }> {
    const auth = req.headers.authorization ?? '';
    const given = /^(?:Bearer|token) (.+)$/.exec(auth)?.[1];
    if (!given || given !== options.token.reveal()) return { status: 401, body: kind === 'github' ? { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' } : { message: 'user does not exist', url: `${base}/swagger` } };
    const parsed = await readJson(req);
    if (!parsed.ok) return { status: 400, body: { message: 'Problems parsing JSON' } };
    const request = parsed.value;
    const m = /^\/repos\/([^/]+)\/([^/]+)\/(.+)$/.exec(path);
    if (!m || `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}` !== repo) return { status: 404, body: errorBody(404, 'Not Found'), request };
    const rest = m[3]!;
    const body = (request ?? {}) as Record<string, unknown>;
    let r: RegExpExecArray | null;
    if (method === 'POST' && (r = /^statuses\/([0-9a-f]{40,64})$/.exec(rest))) {
      const states = kind === 'github' ? ['error', 'failure', 'pending', 'success'] : ['pending', 'success', 'error', 'failure', 'warning'];
      if (typeof body.state !== 'string' || !states.includes(body.state)) return { status: kind === 'github' ? 422 : 400, body: errorBody(kind === 'github' ? 422 : 400, 'Validation Failed'), request };
      const s: StoredStatus = { sha: r[1]!, state: body.state, context: typeof body.context === 'string' ? body.context : 'default', description: typeof body.description === 'string' ? body.description : '', targetUrl: typeof body.target_url === 'string' ? body.target_url : null, at: Date.now() };
      statuses.push(s);
      return { status: 201, body: statusJson(s, nextId++), request };
    }
    if ((r = /^issues\/(\d+)\/comments$/.exec(rest)) && (method === 'GET' || method === 'POST')) {
      const issue = Number(r[1]);
      if (!pulls.has(issue)) return { status: 404, body: errorBody(404, 'Not Found'), request };
      if (method === 'GET') return { status: 200, body: comments.filter((c) => c.issue === issue).map(commentJson) };
      if (typeof body.body !== 'string') return { status: 422, body: errorBody(422, 'Validation Failed'), request };
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const c: StoredComment = { id: nextId++, issue, body: body.body, createdAt: now, updatedAt: now, edits: 0 };
      comments.push(c);
      return { status: 201, body: commentJson(c), request };
    }
    if (method === 'PATCH' && (r = /^issues\/comments\/(\d+)$/.exec(rest))) {
      const c = comments.find((x) => x.id === Number(r![1]));
      if (!c) return { status: 404, body: errorBody(404, 'Not Found'), request };
      if (typeof body.body !== 'string') return { status: 422, body: errorBody(422, 'Validation Failed'), request };
      c.body = body.body;
      c.edits += 1;
      c.updatedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      return { status: 200, body: commentJson(c), request };
    }
    return { status: 404, body: errorBody(404, 'Not Found'), request };
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = (req.method ?? 'GET').toUpperCase();
    if (!url.pathname.startsWith(`${prefix}/`)) return send(res, 404, { message: 'Not Found' });
    const path = url.pathname.slice(prefix.length);
    const query = Object.fromEntries(url.searchParams);
    const fault = faults.shift();
    const work = fault !== undefined ? Promise.resolve({ status: fault, body: { message: fault === 429 ? 'API rate limit exceeded' : 'Server Error' } as unknown, request: undefined as unknown }) : route(req, method, path);
    work.then(
      (out) => {
        calls.push({ method, path, query, ...(out.request === undefined ? {} : { requestBody: out.request }), status: out.status, responseBody: out.body });
        if (fault === 429) res.setHeader('retry-after', '1');
        send(res, out.status, out.body);
      },
      () => send(res, 500, { message: 'stand-in error' }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  base = `http://127.0.0.1:${address.port}${prefix}`;
  return {
    kind,
    apiUrl: base,
    repo,
    calls,
    statuses,
    comments,
    openPull: (n) => void pulls.add(n),
    failNext: (status, count = 1) => {
      for (let i = 0; i < count; i++) faults.push(status);
    },
    latest(sha) {
      const out = new Map<string, StoredStatus>();
      for (const s of statuses) if (s.sha === sha) out.set(s.context, s);
      return out;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
