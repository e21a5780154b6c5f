/**
 * The parts of the official `cloudflare` SDK that axe calls: the SDK's own
 * tree-shakable client (`createClient`) with only the resources used — zones,
 * DNS records, cfd_tunnel, its token and its connections — and the SDK's error classes.
 *
 * Rules:
 * - Every SDK import of the product goes through this module (types aside).
 * - The build bundles this module on its own (`npm run build`: esbuild, after
 *   tsc), so the built CLI and controller load these few resources instead of
 *   the SDK's whole client (~140 resource trees, ~45 MB of RSS). Run from the
 *   sources (tsx) it loads the whole SDK: same code, more memory.
 */
import { BaseRecords } from 'cloudflare/resources/dns/records';
import { BaseConnections } from 'cloudflare/resources/zero-trust/tunnels/cloudflared/connections';
import { BaseToken } from 'cloudflare/resources/zero-trust/tunnels/cloudflared/token';
import { BaseCloudflared } from 'cloudflare/resources/zero-trust/tunnels/cloudflared/cloudflared';
import { BaseZones } from 'cloudflare/resources/zones/zones';
import { createClient } from 'cloudflare/tree-shakable';

export { APIConnectionError, APIError } from 'cloudflare/core/error';

export interface SdkOptions {
  apiToken: string;
  baseURL: string;
  maxRetries: number;
  timeout: number;
}

/** A client with `zones`, `dns.records`, `zeroTrust.tunnels.cloudflared` (and its `token` and `connections`). */
export function cloudflareClient(options: SdkOptions) {
  // The tunnel before its token and connections: those resources are attached under the tunnel one.
  return createClient({ ...options, resources: [BaseZones, BaseRecords, BaseCloudflared, BaseToken, BaseConnections] as const });
}

export type CloudflareClient = ReturnType<typeof cloudflareClient>;
