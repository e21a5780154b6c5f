/**
 * The controller's runtime control API, authenticated: `POST
 * /control/{reconcile|suspend|resume}/:customer` and the read-only `POST
 * /control/plan` (warm-plan.ts) on the controller's own
 * listen address, with `Authorization: Bearer <token>`.
 *
 * Rules:
 * - The token is made fresh at every start (32 random bytes) and written with
 *   the URL and pid to `<state_dir>/control.json`, mode 0600 in a 0700
 *   directory: whoever can read it is the operator who runs the controller
 *   (the CLI and `axe mcp` on the same machine read it). The file goes when the
 *   controller stops; a token of an older start is refused (401).
 * - The token is compared in constant time, and never logged or shown.
 * - No controller (no file, its pid gone, nothing answering): one line saying
 *   how to start it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { terminal } from '../core/errors.js';
import { Secret } from '../core/secret.js';
import type { ControlAnswer } from './controls.js';
import { pidAlive } from './pid-lock.js';
import type { PlanAnswer, PlanRequest } from './warm-plan.js';

export type ControlOp = 'reconcile' | 'suspend' | 'resume';

interface Endpoint {
  url: string;
  token: string;
  pid: number;
}

/** JSON with the object keys sorted: the same value, the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What a plan depends on besides the revision (the axe config, the vault, the zone), as a digest: a plan is asked of a controller only when its digest is the command's. */
export function settingsDigest(settings: { config: unknown; vault: unknown; zone: string }): string {
  return createHash('sha256').update(canonical({ config: settings.config, vault: settings.vault, zone: settings.zone })).digest('hex');
}

/** Where a running controller publishes its API: `<state_dir>/control.json`. */
export function controlFile(stateDir: string): string {
  return join(stateDir, 'control.json');
}

/** Makes this start's token and publishes it with the URL (0600); `remove` takes the file back if it is still ours. */
export async function publishControl(stateDir: string, url: string): Promise<{ token: Secret; remove(): Promise<void> }> {
  const token = randomBytes(32).toString('base64url');
  const path = controlFile(stateDir);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ url, token, pid: process.pid } satisfies Endpoint)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return {
    token: new Secret(token),
    async remove() {
      const held = await readEndpoint(path).catch(() => null);
      if (held?.token === token) await rm(path, { force: true });
    },
  };
}

/** True when the `Authorization` header carries this start's token (constant time). */
export function bearerMatches(token: Secret, header: string | undefined): boolean {
  const match = /^Bearer (\S+)$/.exec(header ?? '');
  if (!match) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]!), digest(token.reveal()));
}

async function readEndpoint(path: string): Promise<Endpoint | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return null;
  const value = JSON.parse(text) as Partial<Endpoint>;
  return typeof value.url === 'string' && typeof value.token === 'string' && typeof value.pid === 'number' ? (value as Endpoint) : null;
}

const START = 'start it (axe controller, or axe lab up in the lab) and ask again';

/** A running controller as its control.json names it: the API's URL and token, its pid, the file. */
export interface ControllerEndpoint extends Endpoint {
  file: string;
}

/** The running controller of `stateDir` (its control.json, its pid alive), or a one-line error with the fix when none runs. Reads one small file: a command checks this before anything costlier. */
export async function runningController(stateDir: string, customer?: string): Promise<ControllerEndpoint> {
  const file = controlFile(stateDir);
  const endpoint = await readEndpoint(file).catch(() => null);
  const named = customer !== undefined ? { customer } : {};
  if (!endpoint) throw terminal(`the controller is not running (no ${file})`, { ...named, fix: START });
  if (!pidAlive(endpoint.pid)) throw terminal(`the controller is not running (pid ${endpoint.pid} in ${file} is gone)`, { ...named, fix: START });
  return { ...endpoint, file };
}

/** A control API answer: what was done, or `{ error, fix }`. */
type Answer = Record<string, unknown> & { error?: string; fix?: string };

/**
 * One POST over node:http, the connection closed after it (no keep-alive
 * holding a command's process open): `fetch` would load its HTTP client
 * (undici) at every command start, some 100 ms of CPU for one loopback call.
 */
function post(url: string, token: string, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = httpRequest(url, { method: 'POST', headers, agent: false, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs `body` to the running controller's `path`: its HTTP status and answer, or a one-line error with the fix when it does not answer. */
async function postControl(endpoint: ControllerEndpoint, path: string, body: object, options: { customer?: string; timeoutMs: number }): Promise<{ status: number; answer: Answer }> {
  const customer = options.customer !== undefined ? { customer: options.customer } : {};
  let response: { status: number; text: string };
  try {
    response = await post(`${endpoint.url}${path}`, endpoint.token, JSON.stringify(body), options.timeoutMs);
  } catch {
    throw terminal(`the controller (pid ${endpoint.pid}) does not answer on ${endpoint.url}`, { ...customer, fix: 'check it runs and listens there (its log), or restart it' });
  }
  let answer: Answer = {};
  try {
    answer = JSON.parse(response.text) as Answer;
  } catch {
    // Not JSON: the status alone speaks.
  }
  if (response.status === 401) throw terminal(`the controller (pid ${endpoint.pid}) refused the token in ${endpoint.file}`, { ...customer, fix: 'the controller was restarted or another one runs on that address: ask again, or restart it' });
  return { status: response.status, answer };
}

/** Asks the running controller of `stateDir`; its answer, or a one-line error with the fix. */
export async function askController(stateDir: string, op: ControlOp, customer: string, body: { by: string; kind?: string; reason?: string }): Promise<ControlAnswer> {
  const endpoint = await runningController(stateDir, customer);
  const { status, answer } = await postControl(endpoint, `/control/${op}/${encodeURIComponent(customer)}`, body, { customer, timeoutMs: 10_000 });
  if (status < 200 || status >= 300) throw terminal(answer.error ?? `the controller answered HTTP ${status}`, { customer, ...(answer.fix ? { fix: answer.fix } : {}) });
  return answer as unknown as ControlAnswer;
}

/** A plan asked of the running controller (warm-plan.ts, `runningController` found it): its answer, or why there is none (no answer, a refusal). */
export async function askPlan(endpoint: ControllerEndpoint, request: PlanRequest, timeoutMs = 300_000): Promise<{ ok: true; answer: PlanAnswer } | { ok: false; why: string }> {
  try {
    const { status, answer } = await postControl(endpoint, '/control/plan', request, { timeoutMs });
    if (status === 200) return { ok: true, answer: answer as unknown as PlanAnswer };
    const error = answer.error ?? `HTTP ${status}`;
    return { ok: false, why: status === 409 ? error : `the controller (pid ${endpoint.pid}) refused the plan: ${error}` };
  } catch (error) {
    return { ok: false, why: error instanceof Error ? error.message : String(error) };
  }
}
