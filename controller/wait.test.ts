/**
 * waitConverged against a real HTTP server on loopback that answers like the
 * controller's GET /status/{customer}, its answers changing over time.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { CustomerStatus, ResourceStatus, StatusView } from './status.js';
import { isConverged, waitConverged } from './wait.js';

function resource(kind: string, sync: string, health: string, message = ''): ResourceStatus {
  return { kind, sync, health, reason: '', message, trap: null, fix: null, errorClass: null, pending: [], lastReconcile: '', lastChange: '', revision: null, drift: null };
}

function customer(revision: string, resources: ResourceStatus[]): CustomerStatus {
  return { customer: 'demo', mode: 'apply', suspended: false, sync: '', health: '', lastReconcile: null, revision, resources };
}

async function serve(answers: Array<CustomerStatus | null>): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = createServer((req, res) => {
    const answer = answers[Math.min(hits, answers.length - 1)] ?? null;
    hits += 1;
    if (req.url !== '/status/demo' || answer === null) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no status"}');
      return;
    }
    const view: StatusView = { generatedAt: '', revision: null, configValid: true, rejected: null, customers: [answer] };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(view));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, close: () => new Promise((r) => server.close(() => r())) };
}

describe('waitConverged', () => {
  it('waits for the wanted revision with every resource Synced/Healthy, reporting each change once', async () => {
    const old = customer('aaa', [resource('tunnel', 'Synced', 'Healthy'), resource('stack', 'Synced', 'Healthy')]);
    const progressing = customer('bbb', [resource('tunnel', 'Synced', 'Healthy'), resource('stack', 'OutOfSync', 'Progressing', 'compose up')]);
    const done = customer('bbb', [resource('tunnel', 'Synced', 'Healthy'), resource('stack', 'Synced', 'Healthy')]);
    const server = await serve([null, old, old, progressing, progressing, done]);
    try {
      const changes: string[] = [];
      const result = await waitConverged(server.url, 'demo', { revision: 'bbb', timeoutMs: 10_000, intervalMs: 10, onChange: (t) => changes.push(t.replace(/\s+/g, ' ')) });
      assert.equal(result.converged, true);
      assert.equal(server.hits(), 6, 'stops polling at the first converged answer');
      // Converged at the old revision is not enough: it kept polling through 'aaa', and showed only what happened at 'bbb'.
      assert.deepEqual(changes, ['tunnel Synced/Healthy', 'stack OutOfSync/Progressing compose up', 'stack Synced/Healthy']);
    } finally {
      await server.close();
    }
  });

  it('gives up at the deadline with the reason', async () => {
    const server = await serve([customer('bbb', [resource('stack', 'OutOfSync', 'Degraded', 'health gate failed')])]);
    try {
      const result = await waitConverged(server.url, 'demo', { revision: 'bbb', timeoutMs: 100, intervalMs: 10 });
      assert.equal(result.converged, false);
      assert.match(result.reason ?? '', /stack OutOfSync\/Degraded \(health gate failed\)/);
    } finally {
      await server.close();
    }
  });

  it('a controller that does not answer is the reason, not a crash', async () => {
    const server = await serve([null]);
    await server.close();
    const result = await waitConverged(server.url, 'demo', { timeoutMs: 50, intervalMs: 10 });
    assert.equal(result.converged, false);
    assert.match(result.reason ?? '', /does not answer/);
  });

  it('isConverged: no resources or another revision is not converged', () => {
    assert.equal(isConverged(null), false);
    assert.equal(isConverged(customer('a', [])), false);
    assert.equal(isConverged(customer('a', [resource('dns', 'Synced', 'Healthy')]), 'b'), false);
    assert.equal(isConverged(customer('a', [resource('dns', 'Synced', 'Healthy')]), 'a'), true);
  });
});
