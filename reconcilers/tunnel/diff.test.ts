import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadRepo } from '../../schemas/repo.js';
import { EXAMPLE_REPO } from '../../test/helpers.js';
import { CATCH_ALL, credentialsItemName, desiredIngress, diffTunnel, healthTunnel, tunnelName, type TunnelDesired, type TunnelObserved } from './diff.js';

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
  const desired: TunnelDesired = { customer: 'demo', name: tunnelName('demo'), credentialsItem: credentialsItemName('demo') };
  const converged: TunnelObserved = { tunnel: { id: 't-1', name: 'axe-demo', status: 'healthy' }, credentialsDigest: 'sha256:0123456789ab' };

  it('converged state plans nothing and is Healthy', () => {
    assert.deepEqual(diffTunnel(desired, converged), []);
    assert.equal(healthTunnel(desired, converged).status, 'Healthy');
  });

  it('creates a missing tunnel, keeping its credentials in the vault', () => {
    const actions = diffTunnel(desired, { tunnel: null, credentialsDigest: null });
    assert.deepEqual(actions.map((a) => a.op), ['create']);
    assert.equal(actions[0]?.payload.credentialsItem, 'CLOUDFLARED_DEMO_CREDENTIALS');
    assert.equal(healthTunnel(desired, null).status, 'Missing');
  });

  it('never re-creates a tunnel that exists, even when its credentials item is gone', () => {
    const actions = diffTunnel(desired, { ...converged, credentialsDigest: null });
    assert.deepEqual(actions.map((a) => a.op), ['adopt']);
    assert.equal(actions[0]?.payload.tunnelId, 't-1');
    assert.equal(healthTunnel(desired, { ...converged, credentialsDigest: null }).reason, 'CredentialsNotInVault');
  });

  it('not connected yet is Progressing; down and degraded are Degraded, each with its reason', () => {
    const t = converged.tunnel!;
    assert.equal(healthTunnel(desired, { ...converged, tunnel: { ...t, status: 'inactive' } }).status, 'Progressing');
    assert.deepEqual(
      (['down', 'degraded'] as const).map((status) => healthTunnel(desired, { ...converged, tunnel: { ...t, status } })).map((h) => [h.status, h.reason]),
      [
        ['Degraded', 'Disconnected'],
        ['Degraded', 'DegradedConnections'],
      ],
    );
  });
});
