/**
 * GETs a customer's public URL the way a visitor would. With an edge URL set
 * (the lab's Cloudflare edge stand-in), the request goes there with the
 * customer's name in the Host header; without one it goes to the internet.
 *
 * Rules: GET only, a hard timeout, at most 64 KiB of body kept.
 */
import http from 'node:http';
import https from 'node:https';
import { transient } from '../../core/errors.js';

export interface PublicResponse {
  status: number;
  body: string;
}

export function publicFetcher(edgeUrl: string | null): (url: string, timeoutMs?: number) => Promise<PublicResponse> {
  return (url, timeoutMs = 5000) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const via = edgeUrl ? new URL(edgeUrl) : target;
      const client = via.protocol === 'https:' ? https : http;
      const req = client.request(
        {
          protocol: via.protocol,
          hostname: via.hostname,
          port: via.port || (via.protocol === 'https:' ? 443 : 80),
          path: `${target.pathname}${target.search}`,
          method: 'GET',
          headers: { host: target.host, 'user-agent': 'axe-health/1', 'x-forwarded-proto': target.protocol.replace(':', '') },
          timeout: timeoutMs,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (body.length < 65536) body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('timeout', () => req.destroy(transient(`${url} did not answer within ${timeoutMs} ms`, { resource: 'endpoints' })));
      req.on('error', (error) => reject(error));
      req.end();
    });
}
