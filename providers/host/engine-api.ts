/**
 * The Docker Engine API of a host over its existing SSH connection, for the
 * scan's engine facts (facts/engine.ts): every HTTP request is a fresh
 * direct-streamlocal channel to the engine's unix socket (a host fact found
 * by the probe), so no process is started on the host for it. The scan asks
 * with plain GETs answered as JSON (`EngineApi`); dockerode
 * (docker-engine.ts) uses the same channels for the controller's event
 * streams. Plain `node:http` here, not dockerode: loading dockerode costs a
 * new `axe plan` process more than a second of CPU on a busy machine.
 *
 * Rules:
 * - Only reads: the scan's facts GET; anything that changes the host is an
 *   action (Compose, the CLI).
 * - `batchEngine` chooses per batch: the API of the host's connection for the
 *   socket its probe found, or null (not known yet, or failed within
 *   ENGINE_RETRY_MS: the batch then runs the shell form of its engine facts).
 *   NODE_DEBUG=axe-engine logs each choice.
 */
import { Agent, type AgentOptions, request } from 'node:http';
import type { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import type { HostConnection } from './ssh.js';

/** An http.Agent whose every connection is a fresh SSH channel to `socket` on the host. */
export class StreamLocalAgent extends Agent {
  readonly #connection: HostConnection;
  readonly #socket: string;

  constructor(connection: HostConnection, socket: string, options: AgentOptions = {}) {
    super({ keepAlive: false, ...options });
    this.#connection = connection;
    this.#socket = socket;
  }

  override createConnection(_options: unknown, callback?: (error: Error | null, stream: Duplex) => void): Duplex | undefined {
    this.#connection.openUnixSocket(this.#socket).then(
      (stream) => callback?.(null, withSocketMethods(stream)),
      (error: Error) => callback?.(error, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/** Node's HTTP client calls a few net.Socket methods that an SSH channel lacks; they mean nothing on a channel. */
function withSocketMethods(stream: Duplex): Duplex {
  const s = stream as Duplex & Record<string, unknown>;
  for (const name of ['setNoDelay', 'setKeepAlive', 'setTimeout', 'ref', 'unref']) {
    if (typeof s[name] !== 'function') s[name] = () => stream;
  }
  return stream;
}

/** The Engine API's reads: GET `path` with `query` (object values as JSON, as the API's `filters`), the answer's JSON. */
export interface EngineApi {
  get(path: string, query?: Record<string, string | number | boolean | object>): Promise<unknown>;
}

/** One Engine API call (an engine fact's, facts/engine.ts); its answer is JSON-able. */
export type EngineCall = (engine: EngineApi) => Promise<unknown>;

/** The query string of an Engine API call (pure): object values as JSON. */
export function engineQuery(query: Record<string, string | number | boolean | object> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) params.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The Engine API at `socket` on the host behind `connection`. */
export function engineApiOverSsh(connection: HostConnection, socket: string): EngineApi {
  const agent = new StreamLocalAgent(connection, socket);
  return {
    get: (path, query) =>
      new Promise((resolve, reject) => {
        const req = request({ agent, host: 'docker', path: `${path}${engineQuery(query)}`, method: 'GET' }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('error', reject);
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`the engine answered ${path} with HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`));
            try {
              resolve(JSON.parse(body));
            } catch {
              reject(new Error(`the engine's answer to ${path} is not JSON`));
            }
          });
        });
        req.on('error', reject);
        req.end();
      }),
  };
}

/** The engine debug log (NODE_DEBUG=axe-engine): which batches use the engine, and why not. */
export const engineDebug = debuglog('axe-engine');

/** How long a host whose engine failed a batch gets its engine facts by the shell. */
export const ENGINE_RETRY_MS = 60_000;

const clients = new WeakMap<HostConnection, { socket: string; api: EngineApi; downUntil: number }>();

/** The engine for a batch over `connection`, or null: the socket is not known, or it failed lately. */
export function batchEngine(connection: HostConnection, socket: string | null | undefined, now = Date.now()): EngineApi | null {
  const host = connection.target?.name ?? 'the host';
  if (!socket) {
    engineDebug('%s: the engine socket is not known (not probed yet, or a TCP DOCKER_HOST): engine facts by the shell', host);
    return null;
  }
  let client = clients.get(connection);
  if (!client || client.socket !== socket) {
    client = { socket, api: engineApiOverSsh(connection, socket), downUntil: 0 };
    clients.set(connection, client);
  }
  if (client.downUntil > now) {
    engineDebug('%s: the engine at %s failed lately: engine facts by the shell', host, socket);
    return null;
  }
  return client.api;
}

/** The engine of `connection` failed a batch: its next batches use the shell form for ENGINE_RETRY_MS. */
export function engineFailed(connection: HostConnection, error: unknown, now = Date.now()): void {
  const client = clients.get(connection);
  if (client) client.downUntil = now + ENGINE_RETRY_MS;
  engineDebug('%s: the engine did not answer (%s): engine facts by the shell, again in %d s', connection.target?.name ?? 'the host', error instanceof Error ? error.message : String(error), ENGINE_RETRY_MS / 1000);
}
