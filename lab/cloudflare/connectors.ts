/**
 * Tunnel connectors as the lab sees them: Docker containers labelled
 * `ai.axelabs.axe.tunnel=<tunnel uuid>`. A running one is a connected
 * cloudflared; the port it publishes for container port 8080 on 127.0.0.1 is
 * where the lab edge sends that tunnel's public traffic.
 *
 * Rules:
 * - One Docker list call answers every tunnel; the answer is cached for at most
 *   `cacheMs` (1 s), so a started or stopped connector shows within a second.
 * - When the engine cannot be reached there are no connectors (and `error` says why);
 *   it never throws into the API.
 */
import Docker from 'dockerode';

export const TUNNEL_LABEL = 'ai.axelabs.axe.tunnel';
export const CONNECTOR_PORT = 8080;

export interface Connector {
  containerId: string;
  name: string;
  running: boolean;
  /** Host port on 127.0.0.1 published for container port 8080, or null. */
  port: number | null;
  /** When the container was created (ISO). */
  createdAt: string;
}

export interface ConnectorSnapshot {
  byTunnel: Map<string, Connector[]>;
  error: string | null;
}

export interface ConnectorSource {
  snapshot(): Promise<ConnectorSnapshot>;
}

export function dockerConnectorSource(options: { cacheMs?: number; docker?: Docker } = {}): ConnectorSource {
  const docker = options.docker ?? new Docker();
  const cacheMs = options.cacheMs ?? 1000;
  let cached: { at: number; value: ConnectorSnapshot } | null = null;
  let inflight: Promise<ConnectorSnapshot> | null = null;

  async function load(): Promise<ConnectorSnapshot> {
    const byTunnel = new Map<string, Connector[]>();
    try {
      const containers = await docker.listContainers({ all: true, filters: { label: [TUNNEL_LABEL] } });
      for (const info of containers) {
        const tunnel = info.Labels[TUNNEL_LABEL]?.toLowerCase();
        if (!tunnel) continue;
        const published = info.Ports.find((p) => p.PrivatePort === CONNECTOR_PORT && p.Type === 'tcp' && p.PublicPort && (p.IP === '127.0.0.1' || p.IP === '0.0.0.0'));
        const connector: Connector = {
          containerId: info.Id,
          name: (info.Names[0] ?? info.Id).replace(/^\//, ''),
          running: info.State === 'running',
          port: published ? published.PublicPort : null,
          createdAt: new Date(info.Created * 1000).toISOString(),
        };
        byTunnel.set(tunnel, [...(byTunnel.get(tunnel) ?? []), connector]);
      }
      return { byTunnel, error: null };
    } catch (error) {
      return { byTunnel, error: `docker engine not reachable: ${(error as Error).message.split('\n')[0]}` };
    }
  }

  return {
    async snapshot() {
      if (cached && Date.now() - cached.at < cacheMs) return cached.value;
      inflight ??= load().finally(() => {
        inflight = null;
      });
      const value = await inflight;
      cached = { at: Date.now(), value };
      return value;
    },
  };
}

/** A source with no connectors at all (for an emulator started without Docker). */
export const noConnectors: ConnectorSource = {
  snapshot: () => Promise.resolve({ byTunnel: new Map(), error: null }),
};
