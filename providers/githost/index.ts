/**
 * The config repo's git host: commit statuses and pull request comments on
 * GitHub (REST v3) or Gitea (/api/v1), with Node's fetch.
 *
 * Rules:
 * - The token comes from the vault as a `Secret` and goes only into the
 *   Authorization header; it is never logged, never in argv, never in an error.
 * - Errors are classified here, once: 401, 403 (not a rate limit), 404 and 422
 *   are terminal, each with its fix; 429, a 403 rate limit, 5xx, a timeout and a
 *   network failure are transient (the caller retries with backoff).
 * - Only the fields listed in GITHOST_FIELD_READS are read from an answer (the
 *   contract test holds them to the published descriptions in contracts/githost/).
 * - GitHub limits a status description to 140 characters; longer ones are cut
 *   (with `…`) for both hosts.
 */
import { AxeError, terminal, transient } from '../../core/errors.js';
import type { Secret } from '../../core/secret.js';

export type GitHostKind = 'github' | 'gitea';
export type CommitState = 'pending' | 'success' | 'failure' | 'error';

export interface CommitStatusInput {
  state: CommitState;
  /** `axe/{customer}`: a later status with the same context replaces this one on the commit. */
  context: string;
  description: string;
  targetUrl?: string;
}

export interface IssueComment {
  id: number;
  body: string;
}

export interface GitHost {
  readonly kind: GitHostKind;
  /** `owner/name`. */
  readonly repo: string;
  setStatus(sha: string, status: CommitStatusInput): Promise<void>;
  /** Every comment of a pull request (its issue), oldest first. */
  listComments(issue: number): Promise<IssueComment[]>;
  createComment(issue: number, body: string): Promise<IssueComment>;
  editComment(id: number, body: string): Promise<IssueComment>;
  readonly stats: { calls: number; errors: number };
}

export interface GitHostOptions {
  kind: GitHostKind;
  /** GitHub: https://api.github.com (or GHE's /api/v3); Gitea: https://HOST/api/v1. */
  apiUrl: string;
  repo: string;
  token: Secret;
  /** The vault item the token came from (named in errors). */
  tokenSecret: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A field the client reads: the operation as the spec names it, the status, the dotted path (`[]` = array items). */
export interface GitHostFieldRead {
  host: GitHostKind;
  method: string;
  path: string;
  status: number;
  field: string;
}

const STATUSES = '/repos/{owner}/{repo}/statuses/{sha}';
const GH_COMMENTS = '/repos/{owner}/{repo}/issues/{issue_number}/comments';
const GH_COMMENT = '/repos/{owner}/{repo}/issues/comments/{comment_id}';
const GT_COMMENTS = '/repos/{owner}/{repo}/issues/{index}/comments';
const GT_COMMENT = '/repos/{owner}/{repo}/issues/comments/{id}';

export const GITHOST_FIELD_READS: readonly GitHostFieldRead[] = [
  ...(['github', 'gitea'] as const).flatMap((host) => {
    const [list, one] = host === 'github' ? [GH_COMMENTS, GH_COMMENT] : [GT_COMMENTS, GT_COMMENT];
    return [
      ...['id', 'body'].map((f) => ({ host, method: 'GET', path: list, status: 200, field: `[].${f}` })),
      ...['id', 'body'].map((f) => ({ host, method: 'POST', path: list, status: 201, field: f })),
      ...['id', 'body'].map((f) => ({ host, method: 'PATCH', path: one, status: 200, field: f })),
    ];
  }),
];

const DESCRIPTION_MAX = 140;
const PAGE = 100;
/** Pages of comments read at most (GitHub: 100 a page). */
const MAX_PAGES = 30;

/** `owner/name` (letters, digits, `.`, `-`, `_`), as both hosts spell a repository. */
export const REPO_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9_.-]+$/;

export function cutDescription(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= DESCRIPTION_MAX ? one : `${one.slice(0, DESCRIPTION_MAX - 1)}…`;
}

function asComment(value: unknown, what: string): IssueComment {
  const v = value as { id?: unknown; body?: unknown } | null;
  if (!v || typeof v.id !== 'number') throw transient(`the git host answered ${what} without a comment id`, { resource: 'git-host', fix: 'check git_host.api_url points at the API (GitHub: https://api.github.com, Gitea: https://HOST/api/v1)' });
  return { id: v.id, body: typeof v.body === 'string' ? v.body : '' };
}

export function openGitHost(options: GitHostOptions): GitHost {
  if (!REPO_PATTERN.test(options.repo)) throw terminal(`git_host.repo ${JSON.stringify(options.repo)} is not owner/name`, { fix: 'set git_host.repo to the config repo as owner/name' });
  const doFetch = options.fetch ?? fetch;
  const base = options.apiUrl.replace(/\/+$/, '');
  const [owner, name] = options.repo.split('/') as [string, string];
  const repoPath = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
  const stats = { calls: 0, errors: 0 };
  const headers: Record<string, string> =
    options.kind === 'github'
      ? { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' }
      : { accept: 'application/json' };
  const scheme = options.kind === 'github' ? 'Bearer' : 'token';

  async function call(method: string, path: string, body?: unknown): Promise<unknown> {
    stats.calls += 1;
    const what = `${method} ${path.split('?')[0]}`;
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers: { ...headers, authorization: `${scheme} ${options.token.reveal()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'user-agent': 'axe-controller' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
    } catch (error) {
      stats.errors += 1;
      const timeout = (error as Error).name === 'TimeoutError';
      throw transient(`the git host did not answer ${what}${timeout ? ' in time' : ''}`, { resource: 'git-host', fix: 'check git_host.api_url and the network; axe retries', cause: timeout ? undefined : error });
    }
    const text = await res.text();
    if (res.ok) {
      try {
        return text ? JSON.parse(text) : null;
      } catch {
        stats.errors += 1;
        throw transient(`the git host answered ${what} with a body that is not JSON`, { resource: 'git-host', fix: 'check git_host.api_url points at the API, not the web UI' });
      }
    }
    stats.errors += 1;
    throw classify(res, what, options);
  }

  async function listComments(issue: number): Promise<IssueComment[]> {
    const path = `${repoPath}/issues/${issue}/comments`;
    if (options.kind === 'gitea') return ((await call('GET', path)) as unknown[] | null ?? []).map((c) => asComment(c, 'a comment list'));
    const out: IssueComment[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const batch = ((await call('GET', `${path}?per_page=${PAGE}&page=${page}`)) as unknown[] | null) ?? [];
      out.push(...batch.map((c) => asComment(c, 'a comment list')));
      if (batch.length < PAGE) break;
    }
    return out;
  }

  return {
    kind: options.kind,
    repo: options.repo,
    stats,
    async setStatus(sha, status) {
      if (!/^[0-9a-f]{40,64}$/.test(sha)) throw terminal(`${sha} is not a full commit id`, { resource: 'git-host', fix: 'set statuses on the full commit id' });
      await call('POST', `${repoPath}/statuses/${sha}`, {
        state: status.state,
        context: status.context,
        description: cutDescription(status.description),
        ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
      });
    },
    listComments,
    async createComment(issue, body) {
      return asComment(await call('POST', `${repoPath}/issues/${issue}/comments`, { body }), 'a new comment');
    },
    async editComment(id, body) {
      return asComment(await call('PATCH', `${repoPath}/issues/comments/${id}`, { body }), 'an edited comment');
    },
  };
}

/** The one-line error for a refused call; the token is named by its vault item, never shown. */
function classify(res: Response, what: string, options: GitHostOptions): AxeError {
  const host = options.kind === 'github' ? 'GitHub' : 'Gitea';
  const at = { resource: 'git-host' } as const;
  const status = res.status;
  const limited = status === 429 || (status === 403 && (res.headers.get('x-ratelimit-remaining') === '0' || res.headers.has('retry-after')));
  if (limited) return transient(`${host} rate-limited ${what} (${status})`, { ...at, fix: 'axe retries after a backoff; fewer customers per revision or a token with a higher limit helps' });
  if (status >= 500) return transient(`${host} failed ${what} (${status})`, { ...at, fix: 'axe retries; check the git host\'s status page if it persists' });
  if (status === 401) return terminal(`${host} refused the token in vault item ${options.tokenSecret} (401) for ${what}`, { ...at, fix: `put a valid token in the vault item ${options.tokenSecret} (axe secrets set ${options.tokenSecret}) and restart the controller` });
  if (status === 403) {
    const need = options.kind === 'github' ? 'a fine-grained token with "Commit statuses: write" and "Pull requests: write" (or a classic one with repo:status and public_repo/repo)' : 'a token with the write:repository and write:issue scopes';
    return terminal(`${host} forbids ${what} with the token in ${options.tokenSecret} (403)`, { ...at, fix: `give the controller ${need} on ${options.repo}` });
  }
  if (status === 404) return terminal(`${host} has no ${what} for ${options.repo} (404), or the token in ${options.tokenSecret} cannot see it`, { ...at, fix: `check git_host.repo (${options.repo}) and git_host.api_url, and that the token has access to the repository` });
  if (status === 422) return terminal(`${host} refused ${what} as invalid (422)`, { ...at, fix: 'the commit may not be in the repository yet (a push not fetched by the host) or its status limit (1000 per context) is reached' });
  return terminal(`${host} answered ${what} with ${status}`, { ...at, fix: `check git_host (${options.kind}, ${options.apiUrl})` });
}
