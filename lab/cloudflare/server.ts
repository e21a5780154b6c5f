/**
 * The Cloudflare emulator: the v4 API (fastify) and the lab edge, on
 * 127.0.0.1, sharing one state. `startCloudflareEmulator` runs it in-process
 * (tests, on port 0); lab/cloudflare/main.ts runs it as the lab's detached server.
 *
 * Rules:
 * - /client/v4 requests pass, in order: the fault switch, authentication, the
 *   rate limit; every one is counted in the stats when answered.
 * - Every /client/v4 answer, error or not, is a v4 envelope and carries CF-RAY.
 * - Tokens are never logged: the log has method, route and status only.
 * - The account id is fixed (`LAB_ACCOUNT_ID`) and zone ids derive from their
 *   names, so every lab run shows the same ids.
 */
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Secret } from '../../core/secret.js';
import { authenticate, newApiToken } from './auth.js';
import { type ConnectorSource, dockerConnectorSource } from './connectors.js';
import { startEdge } from './edge.js';
import { FaultSwitch } from './faults.js';
import { DEFAULT_RATE_LIMIT, type RateLimit, RateLimiter, rateLimited } from './rate-limit.js';
import { adminRoutes } from './routes/admin.js';
import type { ApiContext } from './routes/context.js';
import { dnsRoutes } from './routes/dns.js';
import { tunnelRoutes } from './routes/tunnels.js';
import { zoneRoutes } from './routes/zones.js';
import { StateStore } from './state.js';
import { ApiStats } from './stats.js';
import { failure, rayId, V4Failure } from './v4.js';

/** The lab account: the same id on every machine and run. */
export const LAB_ACCOUNT_ID = createHash('md5').update('axelab-account').digest('hex');
export const LAB_ZONE = 'axelabs.ai';
export const API_PREFIX = '/client/v4';
export const ADMIN_PREFIX = '/__lab';

export interface CloudflareEmulatorOptions {
  /** Listen address for both listeners (default 127.0.0.1). */
  host?: string;
  /** API (and admin) port; 0 picks a free one (default 0). */
  apiPort?: number;
  /** Edge port; 0 picks a free one (default 0). */
  edgePort?: number;
  /** The 0600 JSON state file; without it the state lives in memory only. */
  stateFile?: string;
  /** Accepted API tokens; one is generated when none are given. */
  tokens?: Secret[];
  accountId?: string;
  /** Zones present from the start (default ['axelabs.ai']). */
  zones?: string[];
  rateLimit?: RateLimit;
  /** Where tunnel connectors come from (default: Docker containers labelled with the tunnel id). */
  connectors?: ConnectorSource;
  /** Log requests (JSON lines on stdout, no headers); default false. */
  logger?: boolean;
  /** Tests only (off by default): called with every /client/v4 request and its answer, for the contract tests. */
  record?: (exchange: RecordedExchange) => void;
}

/** One /client/v4 call as the wire saw it; `path` is relative to /client/v4, as the spec's paths are. */
export interface RecordedExchange {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  requestBody?: unknown;
  status: number;
  responseBody: unknown;
}

function queryRecord(url: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const i = url.indexOf('?');
  for (const [key, value] of new URLSearchParams(i < 0 ? '' : url.slice(i + 1))) {
    const seen = out[key];
    out[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return out;
}

export interface CloudflareEmulator {
  /** `http://127.0.0.1:PORT/client/v4`: the SDK's baseURL. */
  apiBaseUrl: string;
  /** `http://127.0.0.1:PORT2`: send public requests here with the customer's Host. */
  edgeUrl: string;
  /** `http://127.0.0.1:PORT/__lab`: health, stats, faults, rate limit, state reset. */
  adminUrl: string;
  /** The first accepted token. */
  token: Secret;
  accountId: string;
  zone: string;
  zoneId: string;
  store: StateStore;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function envelopeHooks(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cf-ray', rayId());
    return payload;
  });
  app.setErrorHandler((error: FastifyError | V4Failure, request, reply) => {
    if (error instanceof V4Failure) {
      return reply.code(error.status).headers(error.headers).send(failure(error.errors));
    }
    if (error.statusCode === 400 && (error.code?.startsWith('FST_ERR_CTP') || error instanceof SyntaxError)) {
      return reply.code(400).send(failure([{ code: 6007, message: 'Malformed JSON in request body' }]));
    }
    if (error.statusCode === 413) return reply.code(413).send(failure([{ code: 6008, message: 'Request body too large' }]));
    request.log.error({ err: error }, 'handler failed');
    return reply.code(500).send(failure([{ code: 10001, message: 'Internal server error (lab emulator bug: see its log)' }]));
  });
  app.setNotFoundHandler((_request, reply) => {
    reply.code(400).send(failure([{ code: 7000, message: 'No route for that URI' }]));
  });
}

/** Starts the API and the edge; resolves once both listen. */
export async function startCloudflareEmulator(options: CloudflareEmulatorOptions = {}): Promise<CloudflareEmulator> {
  const host = options.host ?? '127.0.0.1';
  const accountId = options.accountId ?? LAB_ACCOUNT_ID;
  const zones = options.zones ?? [LAB_ZONE];
  const tokens = options.tokens && options.tokens.length > 0 ? options.tokens : [newApiToken()];
  const store = await StateStore.open({ file: options.stateFile, accountId, zones: zones.map((name) => ({ name })) });
  const connectors = options.connectors ?? dockerConnectorSource();
  const faults = new FaultSwitch();
  const stats = new ApiStats();
  const limiter = new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT);

  const app = Fastify({
    logger: options.logger ? { level: 'info', redact: ['req.headers.authorization'] } : false,
    bodyLimit: 1024 * 1024,
  });
  // Empty bodies with a JSON content type (the SDK's DELETE) are no body, not an error.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new V4Failure(400, { code: 6007, message: 'Malformed JSON in request body' }), undefined);
    }
  });

  const ctx: ApiContext = { store, connectors };
  await app.register(
    async (api) => {
      envelopeHooks(api);
      const record = options.record;
      if (record) {
        api.addHook('onSend', async (request, reply, payload) => {
          const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
          let responseBody: unknown = null;
          try {
            responseBody = text === '' ? null : (JSON.parse(text) as unknown);
          } catch {
            responseBody = text;
          }
          record({
            method: request.method,
            path: (request.url.split('?')[0] ?? '').slice(API_PREFIX.length),
            query: queryRecord(request.url),
            ...(request.body === undefined ? {} : { requestBody: request.body }),
            status: reply.statusCode,
            responseBody,
          });
          return payload;
        });
      }
      api.addHook('onResponse', async (request, reply) => {
        const route = request.routeOptions.url?.slice(API_PREFIX.length) || '(unmatched)';
        stats.record(request.method, route, reply.statusCode);
      });
      api.addHook('onRequest', async () => {
        const latency = faults.settings.latencyMs;
        if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
        const fault = faults.take();
        if (fault) throw fault;
      });
      api.addHook('onRequest', async (request) => {
        const verifyRoute = request.routeOptions.url === `${API_PREFIX}/user/tokens/verify`;
        const result = authenticate({ authorization: request.headers.authorization, 'x-auth-key': request.headers['x-auth-key'] }, tokens, { verifyRoute });
        if ('failure' in result) throw result.failure;
        const wait = limiter.take(createHash('sha256').update(result.token.reveal()).digest('hex').slice(0, 16));
        if (wait !== null) throw rateLimited(wait);
      });
      zoneRoutes(api, ctx);
      dnsRoutes(api, ctx);
      tunnelRoutes(api, ctx);
    },
    { prefix: API_PREFIX },
  );

  let endpoints = { apiBaseUrl: '', edgeUrl: '' };
  await app.register(
    async (admin) => {
      adminRoutes(admin, {
        store,
        faults,
        stats,
        limiter,
        health: () => ({ ok: true, pid: process.pid, accountId, zone: zones[0] ?? null, zoneId: store.state.zones[0]?.id ?? null, ...endpoints }),
      });
    },
    { prefix: ADMIN_PREFIX },
  );

  await app.listen({ host, port: options.apiPort ?? 0 });
  const edge: Server = startEdge({ store, connectors, log: app.log });
  try {
    await new Promise<void>((resolve, reject) => {
      edge.once('error', reject);
      edge.listen(options.edgePort ?? 0, host, () => {
        edge.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await app.close();
    throw error;
  }

  const apiPort = (app.server.address() as AddressInfo).port;
  const edgePort = (edge.address() as AddressInfo).port;
  const base = `http://${host}:${apiPort}`;
  endpoints = { apiBaseUrl: `${base}${API_PREFIX}`, edgeUrl: `http://${host}:${edgePort}` };
  const zoneName = zones[0] ?? LAB_ZONE;
  const zoneId = store.state.zones.find((z) => z.name === zoneName)?.id ?? '';

  let closed: Promise<void> | null = null;
  function close(): Promise<void> {
    closed ??= (async () => {
      edge.closeAllConnections();
      await new Promise<void>((resolve) => edge.close(() => resolve()));
      await app.close();
      await store.save();
    })();
    return closed;
  }

  const [token] = tokens;
  if (!token) throw new Error('no API token');
  return {
    ...endpoints,
    adminUrl: `${base}${ADMIN_PREFIX}`,
    token,
    accountId,
    zone: zoneName,
    zoneId,
    store,
    close,
    [Symbol.asyncDispose]: close,
  };
}
