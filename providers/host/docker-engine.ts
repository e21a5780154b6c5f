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
 * - The scan's engine facts do not load dockerode: they use the same
 *   channels through engine-api.ts (plain GETs).
 */
import Docker from 'dockerode';
import { StreamLocalAgent } from './engine-api.js';
import type { HostConnection } from './ssh.js';

/** A dockerode client for the engine at `socket` on the host behind `connection`. */
export function engineOverSsh(connection: HostConnection, socket: string): Docker {
  // The host and port only fill the Host header; every request goes through the agent.
  return new Docker({ protocol: 'http', host: 'docker', port: 80, agent: new StreamLocalAgent(connection, socket) } as Docker.DockerOptions);
}
