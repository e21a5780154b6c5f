/**
 * The git push webhook (`POST /hooks/git`), GitHub and Gitea style.
 *
 * Rules:
 * - Every request must carry `X-Hub-Signature-256: sha256=<hex>` (GitHub,
 *   Gitea) or `X-Gitea-Signature: <hex>`: the HMAC-SHA256 of the raw body
 *   under the shared secret. Compared in constant time. No secret configured,
 *   no signature, or a wrong one: the request is refused and nothing is done.
 * - Only a push to the watched branch triggers a fetch; a ping is answered;
 *   any other event or branch is acknowledged and ignored.
 * - The payload is only a hint: the controller fetches the branch itself and
 *   never trusts a commit id from the body.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../core/secret.js';

/** `sha256=<hex>` of `body` under `secret` (what GitHub puts in X-Hub-Signature-256). */
export function signBody(secret: Secret, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret.reveal()).update(body).digest('hex')}`;
}

/** The signature header of a request, normalised to `sha256=<hex>`, or null. */
export function signatureHeader(headers: Record<string, string | string[] | undefined>): string | null {
  const pick = (name: string): string | null => {
    const v = headers[name];
    return typeof v === 'string' ? v.trim() : Array.isArray(v) && typeof v[0] === 'string' ? v[0].trim() : null;
  };
  const hub = pick('x-hub-signature-256');
  if (hub) return hub;
  const gitea = pick('x-gitea-signature');
  if (gitea) return gitea.startsWith('sha256=') ? gitea : `sha256=${gitea}`;
  return null;
}

/** True only for a correct HMAC-SHA256 signature of `body`. */
export function verifySignature(secret: Secret | null, body: Buffer, header: string | null): boolean {
  if (!secret || secret.length === 0 || !header) return false;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', secret.reveal()).update(body).digest();
  const given = Buffer.from(match[1]!, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export type PushVerdict = { action: 'sync'; ref: string; after: string | null } | { action: 'ping' } | { action: 'ignore'; reason: string };

/** What to do with a verified request: its event name and parsed body. */
export function judgePush(event: string | null, body: unknown, branch: string): PushVerdict {
  if (event === 'ping') return { action: 'ping' };
  if (event !== null && event !== 'push') return { action: 'ignore', reason: `event ${event} is not a push` };
  if (!body || typeof body !== 'object') return { action: 'ignore', reason: 'no push payload' };
  const { ref, after } = body as { ref?: unknown; after?: unknown };
  if (typeof ref !== 'string') return { action: 'ignore', reason: 'no ref in the payload' };
  if (ref !== `refs/heads/${branch}`) return { action: 'ignore', reason: `push to ${ref}, not refs/heads/${branch}` };
  return { action: 'sync', ref, after: typeof after === 'string' && /^[0-9a-f]{7,64}$/.test(after) ? after : null };
}

/** The event name from GitHub's or Gitea's header. */
export function eventHeader(headers: Record<string, string | string[] | undefined>): string | null {
  for (const name of ['x-github-event', 'x-gitea-event', 'x-gogs-event']) {
    const v = headers[name];
    if (typeof v === 'string' && v) return v;
  }
  return null;
}

/** A pull request to plan: its number, head commit and branches (from a verified `pull_request` event). */
export interface PullRequestRef {
  number: number;
  headSha: string;
  headRef: string;
  baseRef: string;
}

export type PullRequestVerdict = { action: 'plan'; pr: PullRequestRef } | { action: 'ignore'; reason: string };

/** Actions after which the head may have moved: GitHub's `synchronize`, Gitea's `synchronized`. */
const PLANNED_ACTIONS = new Set(['opened', 'reopened', 'synchronize', 'synchronized']);

/**
 * What to do with a verified `pull_request` event (GitHub's or Gitea's payload):
 * plan it when it is open, targets the watched branch, and was opened, reopened
 * or pushed to. The commit id is used only to name the plan; the controller
 * fetches the head itself.
 */
export function judgePullRequest(body: unknown, branch: string): PullRequestVerdict {
  if (!body || typeof body !== 'object') return { action: 'ignore', reason: 'no pull_request payload' };
  const b = body as { action?: unknown; number?: unknown; pull_request?: { number?: unknown; state?: unknown; head?: { sha?: unknown; ref?: unknown }; base?: { ref?: unknown } } };
  const pr = b.pull_request;
  const number = typeof b.number === 'number' ? b.number : pr?.number;
  if (!pr || typeof number !== 'number' || !Number.isInteger(number) || number < 1) return { action: 'ignore', reason: 'no pull request number in the payload' };
  if (typeof b.action !== 'string' || !PLANNED_ACTIONS.has(b.action)) return { action: 'ignore', reason: `pull request action ${String(b.action)} is not planned` };
  if (pr.state !== undefined && pr.state !== 'open') return { action: 'ignore', reason: `pull request #${number} is ${String(pr.state)}` };
  const headSha = pr.head?.sha;
  const headRef = pr.head?.ref;
  const baseRef = pr.base?.ref;
  if (typeof headSha !== 'string' || !/^[0-9a-f]{40,64}$/.test(headSha) || typeof headRef !== 'string' || typeof baseRef !== 'string') return { action: 'ignore', reason: 'pull request without head.sha, head.ref or base.ref' };
  if (baseRef !== branch) return { action: 'ignore', reason: `pull request #${number} targets ${baseRef}, not ${branch}` };
  if (!/^[\w./-]+$/.test(headRef) || headRef.includes('..')) return { action: 'ignore', reason: 'pull request head.ref is not a plain branch name' };
  return { action: 'plan', pr: { number, headSha, headRef, baseRef } };
}
