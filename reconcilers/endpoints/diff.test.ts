import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadRepo, serviceOrder } from '../../schemas/repo.js';
import { desiredEndpoints, diffEndpoints, healthEndpoints } from './diff.js';

const examples = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'examples', 'customers');

describe('endpoints', () => {
  test("a customer's declared services' public health URLs; none for a sovereign one; limited to a service on request", async () => {
    const load = await loadRepo(examples);
    assert.ok(load.ok);
    const { customers, manifests } = load.state;
    const order = serviceOrder(manifests);
    const acme = desiredEndpoints(customers, manifests, 'acme', order);
    assert.deepEqual(acme?.endpoints, [
      { service: 'frame', url: 'https://acme.axelabs.ai/frame/health' },
      { service: 'blueprint', url: 'https://acme.axelabs.ai/api/health' },
      { service: 'vaultwarden', url: 'https://acme.axelabs.ai/vault/alive' },
    ]);
    assert.equal(desiredEndpoints(customers, manifests, 'realchoice', order), null);
    assert.deepEqual(desiredEndpoints(customers, manifests, 'acme', order, ['frame'])?.endpoints.map((e) => e.service), ['frame']);
  });

  test('Healthy only when every endpoint answers 200; never an action', () => {
    const desired = { customer: 'acme', endpoints: [{ service: 'frame', url: 'https://a/frame/health' }, { service: 'blueprint', url: 'https://a/api/health' }] };
    assert.deepEqual(diffEndpoints(), []);
    const ok = new Map([['https://a/frame/health', { status: 200, detail: 'HTTP 200' }], ['https://a/api/health', { status: 200, detail: 'HTTP 200' }]]);
    assert.equal(healthEndpoints(desired, ok).status, 'Healthy');
    const down = new Map([['https://a/frame/health', { status: 200, detail: 'HTTP 200' }], ['https://a/api/health', { status: 530, detail: 'HTTP 530' }]]);
    const health = healthEndpoints(desired, down);
    assert.equal(health.status, 'Degraded');
    assert.equal(health.message, 'https://a/api/health: HTTP 530');
  });
});
