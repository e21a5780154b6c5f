/**
 * The lab part `cloudflare`: the Cloudflare API v4 emulator and the lab edge,
 * one detached server process (lab/cloudflare/main.ts).
 *
 * Files under `<stateDir>/cloudflare/`:
 *   pid            the server's pid
 *   token          the accepted API token (0600)
 *   state.json     zones, records, tunnels (0600)
 *   endpoint.json  `CloudflareEndpoint`: URLs, account and zone ids, token file
 *   server.log     the server's JSON log (no tokens)
 *
 * Rules:
 * - `up` starts the server unless it already answers; a pid that runs but does
 *   not answer is stopped first (only when it is this emulator's process).
 * - Ports: $AXE_LAB_CF_PORT (API, default 18787) and $AXE_LAB_EDGE_PORT
 *   (edge, default 18788), read at `up`; options given to
 *   `createCloudflarePart` win over both.
 * - `down` stops that pid only and removes `<stateDir>/cloudflare/`.
 */
import { spawn } from 'node:child_process';
import { open, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { terminal } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import type { LabContext, LabPart, LabPartStatus } from '../component.js';
import { newApiToken } from './auth.js';

export const CLOUDFLARE_PART = 'cloudflare';
export const DEFAULT_API_PORT = 18787;
export const DEFAULT_EDGE_PORT = 18788;

/** What `<stateDir>/cloudflare/endpoint.json` holds. */
export interface CloudflareEndpoint {
  /** `http://127.0.0.1:PORT/client/v4`: the SDK's baseURL. */
  apiBaseUrl: string;
  /** `http://127.0.0.1:PORT2`: public requests go here with the customer's Host. */
  edgeUrl: string;
  /** `http://127.0.0.1:PORT/__lab`: health, stats, faults, rate limit, state reset. */
  adminUrl: string;
  accountId: string;
  zone: string;
  zoneId: string;
  /** The 0600 file holding the accepted API token. */
  tokenFile: string;
  pid: number;
}

export interface CloudflarePaths {
  dir: string;
  pid: string;
  token: string;
  state: string;
  endpoint: string;
  log: string;
}

export function cloudflarePaths(stateDir: string): CloudflarePaths {
  const dir = join(stateDir, CLOUDFLARE_PART);
  return { dir, pid: join(dir, 'pid'), token: join(dir, 'token'), state: join(dir, 'state.json'), endpoint: join(dir, 'endpoint.json'), log: join(dir, 'server.log') };
}

/** The endpoint file, or null when the part is not up. */
export async function readCloudflareEndpoint(stateDir: string): Promise<CloudflareEndpoint | null> {
  try {
    return JSON.parse(await readFile(cloudflarePaths(stateDir).endpoint, 'utf8')) as CloudflareEndpoint;
  } catch {
    return null;
  }
}

/** The lab's API token, as a Secret. */
export async function readCloudflareToken(stateDir: string): Promise<Secret> {
  return new Secret((await readFile(cloudflarePaths(stateDir).token, 'utf8')).trim());
}

/** The server entry beside this file: main.ts under tsx, main.js from dist/. */
function serverEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return join(dirname(here), here.endsWith('.ts') ? 'main.ts' : 'main.js');
}

/** Node flags to pass on (the tsx loader), without the test runner's or a debugger's. */
function childExecArgv(): string[] {
  return process.execArgv.filter((arg) => !/^--(test|watch|inspect)/.test(arg));
}

async function readPid(file: string): Promise<number | null> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is this emulator's server (not a recycled pid of something else). */
async function isOurServer(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  if (cmdline === null) return alive(pid);
  return cmdline.split('\0').some((arg) => /[/\\]cloudflare[/\\]main\.(ts|js)$/.test(arg));
}

async function health(endpoint: CloudflareEndpoint): Promise<{ ok: boolean; pid?: number } | null> {
  try {
    const response = await fetch(`${endpoint.adminUrl}/health`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return null;
    return (await response.json()) as { ok: boolean; pid?: number };
  } catch {
    return null;
  }
}

/** The running server's endpoint when it answers and is the pid on file; else null. */
async function answering(stateDir: string): Promise<CloudflareEndpoint | null> {
  const paths = cloudflarePaths(stateDir);
  const [endpoint, pid] = await Promise.all([readCloudflareEndpoint(stateDir), readPid(paths.pid)]);
  if (!endpoint || pid === null || endpoint.pid !== pid) return null;
  const answer = await health(endpoint);
  return answer?.ok && answer.pid === pid ? endpoint : null;
}

async function stopPid(pid: number): Promise<void> {
  if (!alive(pid) || !(await isOurServer(pid))) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines = text.trim().split('\n').filter(Boolean);
  return lines.slice(-1)[0] ?? '';
}

function portOption(value: number | undefined, env: string | undefined, name: string, fallback: number): string {
  if (value !== undefined) return String(value);
  if (env === undefined || env === '') return String(fallback);
  if (!/^\d+$/.test(env) || Number(env) > 65535) throw terminal(`${name}=${env} is not a port number`, { fix: `set ${name} to a free port (0-65535) or unset it` });
  return env;
}

export interface CloudflarePartOptions {
  /** API port (0 = any free one); default $AXE_LAB_CF_PORT or 18787. */
  apiPort?: number;
  /** Edge port (0 = any free one); default $AXE_LAB_EDGE_PORT or 18788. */
  edgePort?: number;
  /** How long `up` waits for the server to answer (default 15 s). */
  startTimeoutMs?: number;
}

export function createCloudflarePart(options: CloudflarePartOptions = {}): LabPart {
  return {
    name: CLOUDFLARE_PART,

    async up(ctx: LabContext): Promise<void> {
      const paths = cloudflarePaths(ctx.stateDir);
      if (await answering(ctx.stateDir)) return;
      await mkdir(paths.dir, { recursive: true, mode: 0o700 });
      const stale = await readPid(paths.pid);
      if (stale !== null) await stopPid(stale);
      await rm(paths.endpoint, { force: true });
      const token = await readFile(paths.token, 'utf8').catch(() => null);
      if (token === null) await writeFile(paths.token, `${newApiToken().reveal()}\n`, { mode: 0o600, flag: 'wx' });

      const env = {
        ...process.env,
        AXE_LAB_CF_PORT: portOption(options.apiPort, process.env.AXE_LAB_CF_PORT, 'AXE_LAB_CF_PORT', DEFAULT_API_PORT),
        AXE_LAB_EDGE_PORT: portOption(options.edgePort, process.env.AXE_LAB_EDGE_PORT, 'AXE_LAB_EDGE_PORT', DEFAULT_EDGE_PORT),
      };
      const log = await open(paths.log, 'a', 0o600);
      let exited: number | null = null;
      try {
        const child = spawn(process.execPath, [...childExecArgv(), serverEntry(), '--dir', paths.dir], { detached: true, stdio: ['ignore', log.fd, log.fd], env });
        child.on('exit', (code) => {
          exited = code ?? 1;
        });
        if (child.pid === undefined) throw terminal('could not start the Cloudflare emulator', { fix: `see ${paths.log}` });
        await writeFile(paths.pid, `${child.pid}\n`);
        child.unref();
      } finally {
        await log.close();
      }

      const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
      while (Date.now() < deadline) {
        const endpoint = await answering(ctx.stateDir);
        if (endpoint) {
          ctx.log(`cloudflare: API ${endpoint.apiBaseUrl}, edge ${endpoint.edgeUrl}`);
          return;
        }
        if (exited !== null) {
          const last = await logTail(paths.log);
          const fix = /EADDRINUSE/.test(last)
            ? `a port is taken: set AXE_LAB_CF_PORT / AXE_LAB_EDGE_PORT to free ports (now ${env.AXE_LAB_CF_PORT} / ${env.AXE_LAB_EDGE_PORT})`
            : `see ${paths.log}`;
          throw terminal(`the Cloudflare emulator exited (code ${exited}): ${last.slice(0, 300)}`, { resource: 'lab/cloudflare', fix });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw terminal('the Cloudflare emulator did not answer in time', { resource: 'lab/cloudflare', fix: `see ${paths.log}, then run axe lab up again` });
    },

    async down(ctx: LabContext): Promise<void> {
      const paths = cloudflarePaths(ctx.stateDir);
      const pid = await readPid(paths.pid);
      if (pid !== null) await stopPid(pid);
      await rm(paths.dir, { recursive: true, force: true });
    },

    async status(ctx: LabContext): Promise<LabPartStatus> {
      const paths = cloudflarePaths(ctx.stateDir);
      const endpoint = await answering(ctx.stateDir);
      if (endpoint) {
        return { name: CLOUDFLARE_PART, ready: true, detail: `API ${endpoint.apiBaseUrl}, edge ${endpoint.edgeUrl}, zone ${endpoint.zone} (pid ${endpoint.pid}; a stand-in, not Cloudflare)` };
      }
      const pid = await readPid(paths.pid);
      if (pid === null) return { name: CLOUDFLARE_PART, ready: false, detail: 'not started (run axe lab up)' };
      if (!alive(pid)) return { name: CLOUDFLARE_PART, ready: false, detail: `server pid ${pid} is not running (see ${paths.log}; run axe lab up)` };
      const written = await readCloudflareEndpoint(ctx.stateDir);
      return { name: CLOUDFLARE_PART, ready: false, detail: `server pid ${pid} does not answer${written ? ` at ${written.adminUrl}/health` : ''} (see ${paths.log}; run axe lab up)` };
    },
  };
}

/** The part for `labParts()`: ports from the environment or the defaults. */
export const cloudflarePart: LabPart = createCloudflarePart();
