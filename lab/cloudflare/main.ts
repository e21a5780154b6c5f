/**
 * The lab's Cloudflare emulator as a detached server process (started by
 * `cloudflarePart.up`, lab/cloudflare/index.ts):
 *
 *   node [--import tsx] lab/cloudflare/main.(ts|js) --dir <stateDir>/cloudflare
 *
 * Reads the accepted token from `<dir>/token` (0600; never from argv or env),
 * keeps its state in `<dir>/state.json`, listens on $AXE_LAB_CF_PORT (API and
 * /__lab) and $AXE_LAB_EDGE_PORT (edge), 0 for any free port, and, once both
 * listen, writes `<dir>/endpoint.json` with the real URLs and its pid.
 * $AXE_LAB_CF_RATE_LIMIT is `N/SECONDS` (default 1200/300).
 * SIGTERM or SIGINT: closes both listeners, saves the state, exits 0.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Secret } from '../../core/secret.js';
import type { CloudflareEndpoint } from './index.js';
import { DEFAULT_RATE_LIMIT, type RateLimit } from './rate-limit.js';
import { LAB_ZONE, startCloudflareEmulator } from './server.js';

function parsePort(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name}=${value} is not a port number (0-65535)`);
  return port;
}

function parseRateLimit(value: string | undefined): RateLimit {
  if (value === undefined || value === '') return DEFAULT_RATE_LIMIT;
  const match = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(value.trim());
  if (!match) throw new Error(`AXE_LAB_CF_RATE_LIMIT=${value} is not N/SECONDS (e.g. 1200/300)`);
  return { limit: Number(match[1]), windowMs: Number(match[2]) * 1000 };
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--dir');
  const dir = i >= 0 ? process.argv[i + 1] : undefined;
  if (!dir) throw new Error('usage: main --dir <stateDir>/cloudflare');
  const tokenFile = join(dir, 'token');
  const token = new Secret((await readFile(tokenFile, 'utf8')).trim());
  const emulator = await startCloudflareEmulator({
    apiPort: parsePort(process.env.AXE_LAB_CF_PORT, 'AXE_LAB_CF_PORT', 18787),
    edgePort: parsePort(process.env.AXE_LAB_EDGE_PORT, 'AXE_LAB_EDGE_PORT', 18788),
    rateLimit: parseRateLimit(process.env.AXE_LAB_CF_RATE_LIMIT),
    stateFile: join(dir, 'state.json'),
    tokens: [token],
    zones: [LAB_ZONE],
    logger: true,
  });
  const endpoint: CloudflareEndpoint = {
    apiBaseUrl: emulator.apiBaseUrl,
    edgeUrl: emulator.edgeUrl,
    adminUrl: emulator.adminUrl,
    accountId: emulator.accountId,
    zone: emulator.zone,
    zoneId: emulator.zoneId,
    tokenFile,
    pid: process.pid,
  };
  const file = join(dir, 'endpoint.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify(endpoint, null, 2)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`axe lab cloudflare emulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
