/**
 * A small client of `bw serve` (the Bitwarden CLI's Vault Management API) on
 * loopback, and the errors of talking to it, classified here once.
 *
 * Rules:
 * - Requests are JSON over fetch with a timeout; an empty POST sends no body.
 * - Classified by what happened, never by message text: connection refused
 *   (`unreachable`, transient: start `bw serve`), timeout or reset
 *   (`unreachable`, transient), HTTP 5xx (`server-error`, transient), HTTP 403
 *   (`refused`, terminal: bw serve's Host/Origin protection), any other
 *   non-JSON or unexpected answer (`bad-response`, terminal).
 * - HTTP 400 with `{ success: false, message }` is bw's "this command failed"
 *   (locked, not found, refused edit…): it is returned as `BwServeRejection`
 *   for the caller to classify (by asking /status, not by reading the message);
 *   a failed /status itself is classified here (`rejected`, terminal).
 * - A request body may hold a secret: it is never logged and never part of an
 *   error; bw's own message is one line and carries no value.
 */
import { AxeError, type AxeErrorOptions, type ErrorClass } from '../../core/errors.js';

export type VaultErrorReason =
  | 'unreachable'
  | 'server-error'
  | 'refused'
  | 'bad-response'
  | 'locked'
  | 'unauthenticated'
  | 'rejected'
  | 'sync-failed'
  | 'wrong-password';

/** Every error of the vaultwarden provider; `reason` is for code, the message for people. */
export class VaultError extends AxeError {
  readonly reason: VaultErrorReason;

  constructor(reason: VaultErrorReason, errorClass: ErrorClass, message: string, options: AxeErrorOptions = {}) {
    super(errorClass, message, { resource: 'vault', ...options });
    this.name = 'VaultError';
    this.reason = reason;
  }
}

/** bw serve's HTTP 400 `{ success: false, message }`: the command failed. */
export class BwServeRejection extends Error {
  readonly bwMessage: string;

  constructor(path: string, bwMessage: string) {
    super(`bw serve refused ${path}: ${bwMessage}`);
    this.name = 'BwServeRejection';
    this.bwMessage = bwMessage;
  }
}

/**
 * A field of a bw serve answer that axe reads: the operation (method and the
 * path as contracts/bw-serve/openapi.trimmed.yaml names it), the answer's HTTP
 * status, and the field's place in the JSON body (dots; `[]` for every item of
 * an array). The contract tests check every one against the trimmed spec.
 *
 * Rule: a read of an answer's field is declared here (the envelope, /status)
 * or in vaultwarden.ts's `PROVIDER_FIELD_READS` (everything else), beside the
 * code that reads it.
 */
export interface BwFieldRead {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  status: number;
  field: string;
}

/** The operations axe calls, as the trimmed spec names them. */
export const BW_SERVE_OPERATIONS = [
  { method: 'GET', path: '/status' },
  { method: 'POST', path: '/unlock' },
  { method: 'POST', path: '/sync' },
  { method: 'GET', path: '/list/object/folders' },
  { method: 'POST', path: '/object/folder' },
  { method: 'GET', path: '/list/object/items' },
  { method: 'POST', path: '/object/item' },
  { method: 'PUT', path: '/object/item/{id}' },
] as const satisfies ReadonlyArray<Pick<BwFieldRead, 'method' | 'path'>>;

/** The envelope fields `request` reads of each operation: `success` (and `data`, unless the caller lists its fields) of a success, `success` and `message` of an HTTP 400. */
export function envelopeReads(operations: ReadonlyArray<Pick<BwFieldRead, 'method' | 'path'>>, options: { data: boolean }): BwFieldRead[] {
  return operations.flatMap(({ method, path }): BwFieldRead[] => [
    { method, path, status: 200, field: 'success' },
    ...(options.data ? [{ method, path, status: 200, field: 'data' }] : []),
    { method, path, status: 400, field: 'success' },
    { method, path, status: 400, field: 'message' },
  ]);
}

/** What `request` and `status` read: `success` and `data` of every success, `success` and `message` of every HTTP 400, and /status's template. */
export const CLIENT_FIELD_READS: readonly BwFieldRead[] = [
  ...envelopeReads(BW_SERVE_OPERATIONS, { data: true }),
  { method: 'GET', path: '/status', status: 200, field: 'data.template' },
  { method: 'GET', path: '/status', status: 200, field: 'data.template.status' },
];

export interface BwStatus {
  serverUrl: string | null;
  lastSync: string | null;
  userEmail?: string | null;
  userId?: string | null;
  status: 'locked' | 'unlocked' | 'unauthenticated';
}

export interface BwServeClientOptions {
  /** `bw serve` base URL, e.g. http://127.0.0.1:8087. */
  url: string;
  /** Per request; default 30 000 ms (a sync against a slow server takes a while). */
  timeoutMs?: number;
}

interface Envelope {
  success?: boolean;
  message?: string;
  data?: unknown;
}

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let i = 0; i < 4 && current; i += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? '';
}

export class BwServeClient {
  readonly url: string;
  readonly #timeoutMs: number;

  constructor(options: BwServeClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  get #port(): string {
    return new URL(this.url).port || '8087';
  }

  /** The `data` of a successful answer. Throws VaultError, or BwServeRejection on HTTP 400. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      const code = causeCode(error);
      if (code === 'ECONNREFUSED') {
        throw new VaultError('unreachable', 'transient', `bw serve is not running at ${this.url}`, {
          fix: `start bw serve (bw serve --hostname 127.0.0.1 --port ${this.#port}) as the operator, then axe vault login`,
          cause: error,
        });
      }
      const timedOut = (error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError';
      throw new VaultError('unreachable', 'transient', timedOut ? `bw serve at ${this.url} did not answer ${method} ${path} within ${this.#timeoutMs} ms` : `cannot reach bw serve at ${this.url} (${code ?? 'network error'})`, {
        fix: 'check that bw serve is running and responsive (restart it if it hangs)',
        cause: error,
      });
    }
    const text = await response.text();
    if (response.status >= 500) {
      throw new VaultError('server-error', 'transient', `bw serve answered HTTP ${response.status} to ${method} ${path}`, { fix: 'retry; if it persists, restart bw serve' });
    }
    if (response.status === 403) {
      throw new VaultError('refused', 'terminal', `bw serve at ${this.url} refused the request (origin protection)`, {
        fix: `set vault.url to http://127.0.0.1:${this.#port} or http://localhost:${this.#port} and send no Origin header`,
      });
    }
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      throw new VaultError('bad-response', 'terminal', `${this.url}${path} did not answer JSON (HTTP ${response.status})`, { fix: 'check that vault.url points at bw serve' });
    }
    if (response.status === 400 && envelope.success === false) throw new BwServeRejection(path, firstLine(String(envelope.message ?? 'unknown error')));
    if (!response.ok || envelope.success !== true) {
      throw new VaultError('bad-response', 'terminal', `${this.url}${path} answered HTTP ${response.status} outside the bw serve API`, { fix: 'check that vault.url points at bw serve' });
    }
    return envelope.data as T;
  }

  /** /status's template; its HTTP 400 (the CLI's status command failed) is a terminal VaultError `rejected`, never a BwServeRejection. */
  async status(): Promise<BwStatus> {
    let data: { template?: BwStatus };
    try {
      data = await this.request<{ template?: BwStatus }>('GET', '/status');
    } catch (error) {
      if (!(error instanceof BwServeRejection)) throw error;
      throw new VaultError('rejected', 'terminal', `bw serve at ${this.url} could not read its status: ${error.bwMessage}`, {
        fix: 'check the output of bw serve (run bw status as the same user), restart bw serve, then retry',
        cause: error,
      });
    }
    if (!data?.template || typeof data.template.status !== 'string') {
      throw new VaultError('bad-response', 'terminal', `${this.url}/status has an unexpected shape`, { fix: 'check that vault.url points at bw serve' });
    }
    return data.template;
  }
}
