/**
 * The lab's own switches, under /__lab (outside /client/v4, so the SDK never
 * reaches them and they are neither counted, rate limited nor faulted):
 *
 *   GET  /__lab/health          { ok, pid, accountId, zone, zoneId, apiBaseUrl, edgeUrl }
 *   GET  /__lab/stats           request counters (stats.ts); POST /__lab/stats/reset
 *   GET  /__lab/faults          the fault switch; PUT|POST merges fields, DELETE clears
 *                               { latencyMs, failNext, failStatus, rateLimitNext, retryAfterSeconds }
 *   GET  /__lab/rate-limit      { limit, windowSeconds }; PUT|POST sets it
 *   POST /__lab/state/reset     forgets every record and tunnel (zones keep their ids)
 *
 * They answer plain JSON (no v4 envelope); a bad value is a 400 `{ error }`.
 * They need no token: the listener is on 127.0.0.1 only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FaultSwitch } from '../faults.js';
import type { RateLimiter } from '../rate-limit.js';
import type { StateStore } from '../state.js';
import type { ApiStats } from '../stats.js';

export interface AdminContext {
  store: StateStore;
  faults: FaultSwitch;
  stats: ApiStats;
  limiter: RateLimiter;
  health: () => Record<string, unknown>;
}

function patchOf(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

export function adminRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/health', async () => ctx.health());

  app.get('/stats', async () => ctx.stats.snapshot());
  app.post('/stats/reset', async () => {
    ctx.stats.reset();
    return ctx.stats.snapshot();
  });

  app.get('/faults', async () => ctx.faults.settings);
  async function setFaults(request: FastifyRequest, reply: FastifyReply) {
    try {
      return ctx.faults.set(patchOf(request));
    } catch (error) {
      return reply.code(400).send({ error: (error as Error).message });
    }
  }
  app.put('/faults', setFaults);
  app.post('/faults', setFaults);
  app.delete('/faults', async () => {
    ctx.faults.clear();
    return ctx.faults.settings;
  });

  const rateLimitView = () => ({ limit: ctx.limiter.settings.limit, windowSeconds: ctx.limiter.settings.windowMs / 1000 });
  app.get('/rate-limit', async () => rateLimitView());
  async function setRateLimit(request: FastifyRequest, reply: FastifyReply) {
    const patch = patchOf(request);
    const limit = patch.limit ?? ctx.limiter.settings.limit;
    const windowSeconds = patch.windowSeconds ?? ctx.limiter.settings.windowMs / 1000;
    try {
      if (typeof limit !== 'number' || typeof windowSeconds !== 'number') throw new Error('limit and windowSeconds must be numbers');
      ctx.limiter.configure({ limit, windowMs: windowSeconds * 1000 });
      return rateLimitView();
    } catch (error) {
      return reply.code(400).send({ error: (error as Error).message });
    }
  }
  app.put('/rate-limit', setRateLimit);
  app.post('/rate-limit', setRateLimit);

  app.post('/state/reset', async () => {
    await ctx.store.reset();
    return { ok: true };
  });
}
