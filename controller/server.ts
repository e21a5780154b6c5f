/**
 * The controller's HTTP server (fastify): `/metrics`, `/healthz`, `/readyz`,
 * `/status[/:customer]` and the git webhook `POST /hooks/git`.
 *
 * Rules:
 * - The webhook reads the raw body (JSON or GitHub's form encoding) and checks
 *   its HMAC before parsing anything: no secret, no signature or a wrong one
 *   is 401 and nothing is done. A verified body that is not JSON (or a form
 *   without its `payload` field) is 400. A verified push to the branch
 *   triggers a fetch and is answered 202 at once (the fetch runs in the
 *   background). A body over 5 MiB is 413, refused before it is read.
 * - Every webhook answer is logged and counted in `axe_webhook_requests_total`
 *   by result: accepted, ignored, ping, unauthorized, invalid, too_large.
 * - `/readyz` is 200 when every readiness check passes, else 503 with the
 *   checks as JSON (each `{ ok, detail }`, a failing one naming its fix).
 * - `POST /control/{reconcile|suspend|resume}/:customer` (control-api.ts,
 *   controls.ts) needs this start's bearer token: none or a wrong one is 401
 *   and nothing is done; a refusal is its status (400, 404, 409) with
 *   `{ error, fix }`; done is 200 with what was done.
 * - `POST /control/plan` (warm-plan.ts), the same token: a read-only plan of
 *   the applied revision over the controller's connections, 200 with
 *   `{ revision, pid, plan }` (plan: the `--json` of `axe plan`); another
 *   revision is 409 with `{ error, fix, revision }` (the applied one).
 * - Nothing served here carries a secret; status shows names, reasons, fixes.
 * - [git-host] A verified `pull_request` event (opened, reopened, pushed to,
 *   against the watched branch) is handed to the PR planner and answered 202.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Secret } from '../core/secret.js';
import { AxeError } from '../core/errors.js';
import { bearerMatches, type ControlOp } from './control-api.js';
import { ControlRefused, type ControlRequest } from './controls.js';
import type { Controller } from './manager.js';
import { parsePlanRequest } from './warm-plan.js';
import { eventHeader, judgePullRequest, judgePush, type PullRequestRef, signatureHeader, verifySignature } from './webhook.js'; // [git-host] judgePullRequest

export const WEBHOOK_BODY_LIMIT = 5 * 1024 * 1024;
const WEBHOOK_PATH = '/hooks/git';

/** What the server reads from the controller (the seam unit tests fill in). */
export type ServedController = Pick<Controller, 'metrics' | 'log' | 'branch' | 'readiness' | 'status' | 'sync' | 'webhookSecret'> & Partial<Pick<Controller, 'controls' | 'plans' | 'revision'>>;

const CONTROL_OPS: readonly ControlOp[] = ['reconcile', 'suspend', 'resume'];

/** [git-host] Where a verified `pull_request` event goes (controller/pr-plans.ts); unset without git_host. */
export interface ServerHooks {
  pullRequest?(pr: PullRequestRef): void;
}

type ParsedBody = { ok: true; value: unknown } | { ok: false; reason: string };

function parseBody(raw: Buffer, contentType: string | undefined): ParsedBody {
  const form = contentType?.startsWith('application/x-www-form-urlencoded') ?? false;
  const text = form ? new URLSearchParams(raw.toString('utf8')).get('payload') : raw.toString('utf8');
  if (text === null) return { ok: false, reason: 'form body without a payload field' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, reason: form ? 'the payload field is not JSON' : 'the body is not JSON' };
  }
}

/** `controlToken`: this start's API token (control-api.ts), null until published; without it the control routes answer 503. */
export async function startServer(controller: ServedController, listen: { host: string; port: number }, controlToken: () => Secret | null = () => null, hooks: ServerHooks = {} /* [git-host] */): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false, bodyLimit: WEBHOOK_BODY_LIMIT });
  // Fastify refuses an oversized body before the route runs: count and log it here.
  app.setErrorHandler((error: { statusCode?: number; code?: string; message?: string }, req, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    const path = req.url.split('?')[0];
    if (status === 413 && path === WEBHOOK_PATH) {
      const bytes = Number(req.headers['content-length']);
      controller.metrics.webhookRequests.inc({ result: 'too_large' });
      controller.log.warn({ remote: req.ip, bytes: Number.isFinite(bytes) ? bytes : null, limit: WEBHOOK_BODY_LIMIT }, 'webhook body too large');
      return reply.code(413).send({ error: `body larger than ${WEBHOOK_BODY_LIMIT} bytes` });
    }
    if (status >= 500) controller.log.error({ path, code: error.code ?? null }, 'request failed');
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : (error.message ?? 'bad request') });
  });
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

  app.post(WEBHOOK_PATH, async (req, reply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const headers = req.headers as Record<string, string | string[] | undefined>;
    const secret: Secret | null = await controller.webhookSecret();
    if (!verifySignature(secret, raw, signatureHeader(headers))) {
      controller.metrics.webhookRequests.inc({ result: 'unauthorized' });
      controller.log.warn({ remote: req.ip, signed: signatureHeader(headers) !== null, configured: secret !== null }, 'webhook refused');
      return reply.code(401).send({ error: secret ? 'invalid or missing X-Hub-Signature-256' : 'webhook secret not configured in the vault' });
    }
    const body = parseBody(raw, req.headers['content-type']);
    if (!body.ok) {
      controller.metrics.webhookRequests.inc({ result: 'invalid' });
      controller.log.warn({ remote: req.ip, reason: body.reason, bytes: raw.length }, 'webhook body invalid');
      return reply.code(400).send({ error: `${body.reason}: send the push event as JSON (application/json) or GitHub's form encoding` });
    }
    if (eventHeader(headers) === 'pull_request') {
      // [git-host] plan the PR and comment on it (controller/pr-plans.ts), when git_host is configured.
      const pr = hooks.pullRequest ? judgePullRequest(body.value, controller.branch) : { action: 'ignore' as const, reason: 'pull_request webhooks need git_host in the axe config' };
      controller.metrics.webhookRequests.inc({ result: pr.action === 'plan' ? 'accepted' : 'ignored' });
      if (pr.action === 'ignore') return reply.code(202).send({ ignored: pr.reason });
      controller.log.info({ pr: pr.pr.number, head: pr.pr.headSha }, 'webhook pull request');
      hooks.pullRequest?.(pr.pr);
      return reply.code(202).send({ accepted: true, plan: pr.pr.number });
    }
    const verdict = judgePush(eventHeader(headers), body.value, controller.branch);
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

  /** The control API's gate: this start's token, or 503 (not ready) / 401 (none or a wrong one) and nothing is done. */
  const admitted = (req: FastifyRequest, reply: FastifyReply): boolean => {
    const token = controlToken();
    if (!token || !controller.controls) {
      void reply.code(503).send({ error: 'the control API is not ready', fix: 'wait for the controller to finish starting' });
      return false;
    }
    if (bearerMatches(token, req.headers.authorization)) return true;
    controller.log.warn({ remote: req.ip, path: req.url.split('?')[0] }, 'control request refused (token)');
    void reply.code(401).send({ error: 'missing or wrong bearer token', fix: 'use the token the controller wrote to <state_dir>/control.json (axe reconcile|suspend|resume|plan do)' });
    return false;
  };
  const refusal = (reply: FastifyReply, error: unknown, extra: object = {}) => {
    if (!(error instanceof AxeError)) throw error;
    return reply.code(error instanceof ControlRefused ? error.status : 500).send({ error: error.message, ...(error.fix ? { fix: error.fix } : {}), ...extra });
  };

  // A read-only plan over the controller's connections (warm-plan.ts): never acts, leases or records.
  app.post('/control/plan', async (req, reply) => {
    if (!admitted(req, reply)) return reply;
    const plans = controller.plans;
    const body = parseBody(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), 'application/json');
    const request = body.ok ? parsePlanRequest(body.value) : body.reason;
    if (!plans || typeof request === 'string') return reply.code(plans ? 400 : 404).send({ error: plans ? request : 'no plans here', fix: 'use axe plan' });
    try {
      return reply.code(200).send(await plans.plan(request));
    } catch (error) {
      return refusal(reply, error, { revision: controller.revision });
    }
  });

  app.post<{ Params: { op: string; customer: string } }>('/control/:op/:customer', async (req, reply) => {
    if (!admitted(req, reply)) return reply;
    const controls = controller.controls!;
    const op = req.params.op as ControlOp;
    if (!CONTROL_OPS.includes(op)) return reply.code(404).send({ error: `no control "${req.params.op}"`, fix: `use ${CONTROL_OPS.join(', ')}` });
    const body = parseBody(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), 'application/json');
    const value = (body.ok ? body.value : null) as Partial<Record<keyof ControlRequest, unknown>> | null;
    if (!value || typeof value.by !== 'string' || !value.by.trim() || (value.kind !== undefined && typeof value.kind !== 'string') || (value.reason !== undefined && typeof value.reason !== 'string')) {
      return reply.code(400).send({ error: 'the body must be JSON { by, kind?, reason? } (strings)', fix: 'use axe reconcile|suspend|resume' });
    }
    const request: ControlRequest = { by: value.by.trim().slice(0, 200), ...(value.kind ? { kind: value.kind as string } : {}), ...(value.reason !== undefined ? { reason: String(value.reason).slice(0, 500) } : {}) };
    try {
      return reply.code(200).send(controls[op](req.params.customer, request));
    } catch (error) {
      return refusal(reply, error);
    }
  });

  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return { app, url: `http://${host}:${port}` };
}
