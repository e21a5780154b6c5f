import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Secret } from '../core/secret.js';
import type { Controller } from './manager.js';
import { createLogger } from './logger.js';
import { ControllerMetrics } from './metrics.js';
import { type ServedController, startServer, WEBHOOK_BODY_LIMIT } from './server.js';
import { signBody } from './webhook.js';

const secret = new Secret('test-webhook-secret');

function counter(text: string, result: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`axe_webhook_requests_total{result="${result}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('controller HTTP server: webhook answers', () => {
  const lines: Array<Record<string, unknown>> = [];
  const syncs: string[] = [];
  let url = '';
  let close: () => Promise<void> = async () => {};
  let ready: Awaited<ReturnType<Controller['readiness']>> = { ready: true, checks: {} };
  const metrics = new ControllerMetrics({ queue: () => ({ depth: 0, inFlight: 0, delayed: 0 }), openDrift: () => [], providers: () => [], alerts: () => [] }, { defaultMetrics: false });

  before(async () => {
    const log = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk, _e, done) {
          for (const l of String(chunk).trim().split('\n')) lines.push(JSON.parse(l) as Record<string, unknown>);
          done();
        },
      }),
    });
    const fake = {
      metrics,
      log,
      branch: 'main',
      readiness: async () => ready,
      status: () => {
        throw new Error('not used');
      },
      sync: async (reason: string) => {
        syncs.push(reason);
        return { result: 'unchanged', revision: 'x' } as const;
      },
      webhookSecret: async () => secret,
    } satisfies ServedController;
    const served = await startServer(fake, { host: '127.0.0.1', port: 0 });
    url = served.url;
    close = () => served.app.close();
  });

  after(() => close());

  async function post(body: Buffer | string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signBody(secret, body), ...headers }, body });
  }

  it('accepts a signed push to the branch (202) and syncs', async () => {
    const response = await post(JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40) }));
    assert.equal(response.status, 202);
    assert.deepEqual(syncs, ['webhook']);
  });

  it('answers 400 with one line to a correctly signed body that is not JSON, and counts it', async () => {
    const before = counter(await metrics.text(), 'invalid');
    const response = await post('ref=refs/heads/main; not json');
    assert.equal(response.status, 400);
    const answer = (await response.json()) as { error: string };
    assert.match(answer.error, /^the body is not JSON: /);
    assert.equal(answer.error.includes('\n'), false);
    const form = await post('nothing=here', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 400);
    assert.match(((await form.json()) as { error: string }).error, /form body without a payload field/);
    assert.equal(counter(await metrics.text(), 'invalid'), before + 2);
    assert.deepEqual(syncs, ['webhook'], 'nothing synced');
    assert.ok(lines.some((l) => l.msg === 'webhook body invalid' && l.reason === 'the body is not JSON'));
  });

  it('still refuses an unsigned body before looking at it (401)', async () => {
    const response = await fetch(`${url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'not json' });
    assert.equal(response.status, 401);
  });

  it('answers 413 to an oversized body, logs it with its size and counts it', async () => {
    const before = counter(await metrics.text(), 'too_large');
    const big = Buffer.alloc(WEBHOOK_BODY_LIMIT + 1024, 0x20);
    const response = await post(big);
    assert.equal(response.status, 413);
    assert.equal(counter(await metrics.text(), 'too_large'), before + 1);
    const logged = lines.find((l) => l.msg === 'webhook body too large');
    assert.ok(logged, 'logged');
    assert.equal(logged.bytes, big.length);
    assert.equal(logged.level, 'warn');
    assert.deepEqual(syncs, ['webhook'], 'nothing synced');
  });

  it('/readyz: 200 when ready, 503 with the checks when not', async () => {
    ready = { ready: true, checks: { revision: { ok: true, detail: 'abc' } } };
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    ready = { ready: false, checks: { bw: { ok: false, detail: 'bw 2026.6.0 crashes' } } };
    const response = await fetch(`${url}/readyz`);
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), ready);
  });
});

describe('controller HTTP server: pull_request webhooks [git-host]', () => {
  it('without git_host a signed pull_request is ignored (202, nothing planned); with it, handed to the planner; unsigned: 401', async () => {
    const metrics = new ControllerMetrics({ queue: () => ({ depth: 0, inFlight: 0, delayed: 0 }), openDrift: () => [], providers: () => [], alerts: () => [] }, { defaultMetrics: false });
    const fake = {
      metrics,
      log: createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) }),
      branch: 'main',
      readiness: async () => ({ ready: true, checks: {} }),
      status: () => {
        throw new Error('not used');
      },
      sync: async () => ({ result: 'unchanged', revision: 'x' }) as const,
      webhookSecret: async () => secret,
    } satisfies ServedController;
    const planned: number[] = [];
    const without = await startServer(fake, { host: '127.0.0.1', port: 0 });
    const withHost = await startServer(fake, { host: '127.0.0.1', port: 0 }, () => null, { pullRequest: (pr) => planned.push(pr.number) });
    try {
      const body = JSON.stringify({ action: 'opened', number: 9, pull_request: { state: 'open', head: { sha: 'd'.repeat(40), ref: 'onboard/x' }, base: { ref: 'main' } } });
      const send = (url: string, signed = true): Promise<Response> => fetch(`${url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', ...(signed ? { 'x-hub-signature-256': signBody(secret, body) } : {}) }, body });
      const ignored = await send(without.url);
      assert.equal(ignored.status, 202);
      assert.deepEqual(await ignored.json(), { ignored: 'pull_request webhooks need git_host in the axe config' });
      assert.equal((await send(withHost.url, false)).status, 401);
      assert.deepEqual(planned, []);
      const accepted = await send(withHost.url);
      assert.equal(accepted.status, 202);
      assert.deepEqual(await accepted.json(), { accepted: true, plan: 9 });
      assert.deepEqual(planned, [9]);
    } finally {
      await without.app.close();
      await withHost.app.close();
    }
  });
});
