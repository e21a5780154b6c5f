import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadRepo } from '../../schemas/repo.js';
import { EXAMPLE_REPO } from '../../test/helpers.js';
import { CATCH_ALL, desiredIngress, diffTunnel, healthTunnel, tunnelName, type TunnelDesired, type TunnelObserved } from './diff.js';

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

describe('tunnel diff', () => {
  const desired: TunnelDesired = { customer: 'demo', accountId: 'acc', name: tunnelName('demo'), ingress: desiredIngress(state.customers, state.manifests, 'demo') };
  const converged: TunnelObserved = { id: 't-1', name: 'axe-demo', status: 'healthy', connections: 2, ingress: desired.ingress };

  it('converged state plans nothing and is Healthy', () => {
    assert.deepEqual(diffTunnel(desired, converged), []);
    assert.equal(healthTunnel(desired, converged).status, 'Healthy');
  });

  it('creates a missing tunnel, then sets its ingress', () => {
    assert.deepEqual(diffTunnel(desired, null).map((a) => a.op), ['create', 'set-ingress']);
    assert.equal(healthTunnel(desired, null).status, 'Missing');
  });

  it('adopts an existing tunnel: only ingress is set, never a re-create', () => {
    const actions = diffTunnel(desired, { ...converged, ingress: null, status: 'inactive', connections: 0 });
    assert.deepEqual(actions.map((a) => a.op), ['set-ingress']);
    assert.equal(actions[0]?.payload.tunnelId, 't-1');
  });

  it('ingress drift is corrected', () => {
    const drifted = { ...converged, ingress: [{ hostname: 'demo.axelabs.ai', service: 'http://evil:1' }, CATCH_ALL] };
    assert.deepEqual(diffTunnel(desired, drifted).map((a) => a.op), ['set-ingress']);
    assert.equal(healthTunnel(desired, drifted).reason, 'IngressDrift');
  });

  it('not connected yet is Progressing; lost connections are Degraded', () => {
    assert.equal(healthTunnel(desired, { ...converged, status: 'inactive', connections: 0 }).status, 'Progressing');
    assert.equal(healthTunnel(desired, { ...converged, status: 'down', connections: 0 }).status, 'Degraded');
  });
});
