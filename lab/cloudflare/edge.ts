/**
 * The lab edge: a plain-HTTP listener standing in for Cloudflare's edge, so a
 * public-endpoint check works through the lab. A request for a customer's
 * hostname (Host header or absolute-form URL) is looked up in the emulator's
 * DNS; a proxied CNAME to `<uuid>.cfargotunnel.com` sends it to a running
 * connector of that tunnel (its published 127.0.0.1 port for 8080), streamed
 * both ways.
 *
 * Rules:
 * - The request goes on unchanged (method, path, headers, body) except the
 *   hop-by-hop headers; the edge sets `Host` to the visitor's hostname and adds
 *   `Cf-Connecting-IP`, `CF-RAY`, `X-Forwarded-For`, `X-Forwarded-Proto`,
 *   `CF-Visitor`, `CF-IPCountry` and `CDN-Loop` (a visitor cannot forge them).
 * - `/cdn-cgi/trace` on a proxied hostname is answered by the edge itself.
 * - No zone → 530/1001; no record → 530/1016; a tunnel with no running,
 *   reachable connector → 530/1033; a DNS-only record → 421 and a proxied
 *   non-tunnel origin → 502, each saying why (the lab cannot reach them).
 * - Every answer carries `CF-RAY` and `Server: cloudflare`; a `x-axe-lab-detail`
 *   header says what the lab found when the edge itself answered an error.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { Connector, ConnectorSource } from './connectors.js';
import { EDGE_ERRORS, type EdgeError, errorPage, lookupEdgeRoute, originForm, requestHostname, traceText } from './edge-lookup.js';
import type { StateStore } from './state.js';
import { rayId } from './v4.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Headers only the edge may set: a visitor's own values are dropped. */
const EDGE_SET = new Set(['cf-connecting-ip', 'cf-ray', 'cf-visitor', 'cf-ipcountry', 'cdn-loop', 'x-forwarded-proto', 'true-client-ip']);

export interface EdgeOptions {
  store: StateStore;
  connectors: ConnectorSource;
  log: FastifyBaseLogger;
}

function clientIp(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
}

function forwardHeaders(req: IncomingMessage, hostname: string, ray: string): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (HOP_BY_HOP.has(name) || EDGE_SET.has(name) || value === undefined) continue;
    headers[name] = value;
  }
  const ip = clientIp(req);
  const previous = req.headers['x-forwarded-for'];
  headers.host = hostname;
  headers['cf-connecting-ip'] = ip;
  headers['cf-ray'] = ray;
  headers['cf-visitor'] = '{"scheme":"http"}';
  headers['cf-ipcountry'] = 'XX';
  headers['cdn-loop'] = 'cloudflare';
  headers['x-forwarded-for'] = previous ? `${String(previous)}, ${ip}` : ip;
  headers['x-forwarded-proto'] = 'http';
  return headers;
}

export function startEdge(options: EdgeOptions): Server {
  const { store, connectors, log } = options;
  const turns = new Map<string, number>();

  /** A running connector with a published port, taking turns between several. */
  function pick(tunnelId: string, all: Connector[]): Connector | null {
    const usable = all.filter((c) => c.running && c.port !== null);
    if (usable.length === 0) return null;
    const turn = turns.get(tunnelId) ?? 0;
    turns.set(tunnelId, turn + 1);
    return usable[turn % usable.length] ?? null;
  }

  function answerError(req: IncomingMessage, res: ServerResponse, ray: string, hostname: string, error: EdgeError): void {
    const page = errorPage(error, ray, hostname, req.headers.accept);
    log.info({ host: hostname, code: error.code, status: page.status }, 'edge error');
    res.writeHead(page.status, { 'content-type': page.contentType, 'cf-ray': ray, server: 'cloudflare', 'x-axe-lab-detail': error.detail, 'content-length': Buffer.byteLength(page.body) });
    res.end(page.body);
  }

  function answerText(res: ServerResponse, ray: string, status: number, text: string, detail?: string): void {
    res.writeHead(status, {
      'content-type': 'text/plain; charset=UTF-8',
      'cf-ray': ray,
      server: 'cloudflare',
      'content-length': Buffer.byteLength(text),
      ...(detail ? { 'x-axe-lab-detail': detail } : {}),
    });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ray = rayId();
    const hostname = requestHostname(req.url, req.headers.host);
    if (!hostname) return answerText(res, ray, 400, 'lab edge: the request names no host (send Host: <name> or an absolute URL)\n');
    const route = lookupEdgeRoute(hostname, store.state);
    const path = originForm(req.url);
    if (route.kind === 'no-zone') {
      return answerError(req, res, ray, hostname, { ...EDGE_ERRORS.dnsResolution, detail: `${hostname} is in no zone of the lab account (zones: ${store.state.zones.map((z) => z.name).join(', ')})` });
    }
    if (route.kind === 'no-record') {
      return answerError(req, res, ray, hostname, { ...EDGE_ERRORS.originDns, detail: `zone ${route.zone.name} has no A, AAAA or CNAME record for ${hostname}` });
    }
    if (route.kind === 'dns-only') {
      const detail = `${hostname} is DNS-only (${route.record.type} ${route.record.content}, proxied: false): a real visitor would go to that target directly, not through Cloudflare; the lab edge routes only proxied records`;
      return answerText(res, ray, 421, `lab edge: ${detail}\n`, detail);
    }
    if (path === '/cdn-cgi/trace' || path.startsWith('/cdn-cgi/trace?')) {
      const text = traceText({ hostname, ip: clientIp(req), userAgent: String(req.headers['user-agent'] ?? ''), httpVersion: req.httpVersion, now: Date.now() });
      return answerText(res, ray, 200, text);
    }
    if (route.kind === 'origin') {
      const detail = `${hostname} is proxied to ${route.record.type} ${route.record.content}, which is not a Cloudflare Tunnel: the lab edge reaches origins only through tunnel connectors`;
      return answerText(res, ray, 502, `lab edge: ${detail}\n`, detail);
    }
    if (!route.tunnel) {
      return answerError(req, res, ray, hostname, { ...EDGE_ERRORS.tunnel, detail: `${hostname} points at tunnel ${route.tunnelId}, which does not exist in the lab account (or was deleted)` });
    }
    const snapshot = await connectors.snapshot();
    const connector = pick(route.tunnelId, snapshot.byTunnel.get(route.tunnelId) ?? []);
    if (!connector) {
      const why = snapshot.error ?? `no running container labelled ai.axelabs.axe.tunnel=${route.tunnelId} publishes port 8080 on 127.0.0.1`;
      return answerError(req, res, ray, hostname, { ...EDGE_ERRORS.tunnel, detail: `tunnel ${route.tunnel.name} (${route.tunnelId}) has no connector: ${why}` });
    }
    await forward(req, res, { ray, hostname, path, port: connector.port ?? 0, tunnel: route.tunnelId, connector: connector.name });
  }

  function forward(req: IncomingMessage, res: ServerResponse, target: { ray: string; hostname: string; path: string; port: number; tunnel: string; connector: string }): Promise<void> {
    return new Promise((resolve) => {
      const upstream = httpRequest({ host: '127.0.0.1', port: target.port, method: req.method, path: target.path, headers: forwardHeaders(req, target.hostname, target.ray), agent: false }, (answer) => {
        const headers: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
        }
        headers['cf-ray'] = target.ray;
        headers.server = 'cloudflare';
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
        answer.on('end', resolve);
        answer.on('error', () => {
          res.destroy();
          resolve();
        });
        log.info({ host: target.hostname, tunnel: target.tunnel, connector: target.connector, status: answer.statusCode }, 'edge forwarded');
      });
      upstream.on('error', (error) => {
        if (!res.headersSent) {
          answerError(req, res, target.ray, target.hostname, { ...EDGE_ERRORS.tunnel, detail: `connector ${target.connector} did not answer on 127.0.0.1:${target.port}: ${error.message}` });
        } else {
          res.destroy();
        }
        resolve();
      });
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      req.pipe(upstream);
    });
  }

  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'edge failure');
      if (!res.headersSent) answerText(res, rayId(), 500, 'lab edge: internal error (see the emulator log)\n');
      else res.destroy();
    });
  });
}
