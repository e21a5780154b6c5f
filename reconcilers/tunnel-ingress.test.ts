import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadRepo } from '../schemas/repo.js';
import { EXAMPLE_REPO } from '../test/helpers.js';
import { CATCH_ALL, desiredIngress } from './tunnel-ingress.js';

const load = await loadRepo(EXAMPLE_REPO);
assert.ok(load.ok);
const state = load.ok ? load.state : (undefined as never);

describe('tunnel ingress', () => {
  it('routes /vault and /frame by path, / last, catch-all at the very end', () => {
    assert.deepEqual(desiredIngress(state.customers, state.manifests, 'acme'), [
      { hostname: 'acme.axelabs.ai', path: '^/frame(/|$)', service: 'http://frame-proxy:8080' },
      { hostname: 'acme.axelabs.ai', path: '^/vault(/|$)', service: 'http://axe-vaultwarden:80' },
      { hostname: 'acme.axelabs.ai', service: 'http://blueprint:3000' },
      CATCH_ALL,
    ]);
  });

  it('a sovereign customer: its domain to its own proxy, then the catch-all', () => {
    assert.deepEqual(desiredIngress(state.customers, state.manifests, 'realchoice'), [{ hostname: 'realchoice.axelabs.ai', service: 'http://localhost:80' }, CATCH_ALL]);
  });
});
