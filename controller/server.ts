/**
 * The controller's HTTP server (fastify): `/metrics`, `/healthz`, `/readyz`,
 * `/status[/:customer]` and the git webhook `POST /hooks/git`.
 *
 * Rules:
 * - The webhook reads the raw body (JSON or GitHub's form encoding) and checks
 *   its HMAC before parsing anything: no secret, no signature or a wrong one
 *   is 401 and nothing is done. A verified push to the branch triggers a
 *   fetch and is answered 202 at once (the fetch runs in the background).
 * - Nothing served here carries a secret; status shows names, reasons, fixes.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Controller } from './controller.js';
import { eventHeader, judgePush, signatureHeader, verifySignature } from './webhook.js';

const WEBHOOK_BODY_LIMIT = 5 * 1024 * 1024;

function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  try {
    if (contentType?.startsWith('application/x-www-form-urlencoded')) {
      const payload = new URLSearchParams(raw.toString('utf8')).get('payload');
      return payload ? JSON.parse(payload) : null;
    }
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
}

export async function startServer(controller: Controller, listen: { host: string; port: number }): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false, bodyLimit: WEBHOOK_BODY_LIMIT });
  // Keep the raw bytes: the signature is over them, not over a re-serialised object.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async (_req, reply) => {
    const readiness = await controller.readiness();
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await controller.metrics.text();
    return reply.header('content-type', controller.metrics.registry.contentType).send(text);
  });

  app.get('/status', async () => controller.status());

  app.get<{ Params: { customer: string } }>('/status/:customer', async (req, reply) => {
    const view = controller.status(req.params.customer);
    if (view.customers.length === 0) return reply.code(404).send({ error: `no status for customer ${req.params.customer}` });
    return view;
  });

  app.post('/hooks/git', async (req, reply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const headers = req.headers as Record<string, string | string[] | undefined>;
    const secret = await controller.webhookSecret();
    if (!verifySignature(secret, raw, signatureHeader(headers))) {
      controller.metrics.webhookRequests.inc({ result: 'unauthorized' });
      controller.log.warn({ remote: req.ip, signed: signatureHeader(headers) !== null, configured: secret !== null }, 'webhook refused');
      return reply.code(401).send({ error: secret ? 'invalid or missing X-Hub-Signature-256' : 'webhook secret not configured in the vault' });
    }
    const verdict = judgePush(eventHeader(headers), parseBody(raw, req.headers['content-type']), controller.branch);
    if (verdict.action === 'ping') {
      controller.metrics.webhookRequests.inc({ result: 'ping' });
      return reply.code(200).send({ ok: true });
    }
    if (verdict.action === 'ignore') {
      controller.metrics.webhookRequests.inc({ result: 'ignored' });
      return reply.code(202).send({ ignored: verdict.reason });
    }
    controller.metrics.webhookRequests.inc({ result: 'accepted' });
    controller.log.info({ ref: verdict.ref, after: verdict.after }, 'webhook push');
    void controller.sync('webhook').catch((error: unknown) => controller.log.error({ err: error }, 'webhook sync failed'));
    return reply.code(202).send({ accepted: true });
  });

  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return { app, url: `http://${host}:${port}` };
}
