/**
 * The Docker Engine API of a customer's Mac mini through `dockerode`, over
 * the host's existing SSH connection: every HTTP request to the engine is a
 * direct-streamlocal channel to the engine's unix socket (a host fact found
 * by the probe: Docker Desktop, OrbStack and colima each keep it elsewhere).
 * No process is started on the host for it (docker-modem's own `ssh`
 * protocol would run `docker system dial-stdio` there).
 *
 * Rules:
 * - One engine client per host connection; it dies with the connection.
 * - Errors reach the caller as dockerode gives them; callers that keep a
 *   stream (the event watcher) reconnect with backoff.
 */
import { Agent, type AgentOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import type { HostConnection } from './ssh.js';

/** An http.Agent whose every connection is a fresh SSH channel to `socket` on the host. */
class StreamLocalAgent extends Agent {
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

/** A dockerode client for the engine at `socket` on the host behind `connection`. */
export function engineOverSsh(connection: HostConnection, socket: string): Docker {
  // The host and port only fill the Host header; every request goes through the agent.
  return new Docker({ protocol: 'http', host: 'docker', port: 80, agent: new StreamLocalAgent(connection, socket) } as Docker.DockerOptions);
}
