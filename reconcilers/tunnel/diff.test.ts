import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TunnelObserved } from '../tunnel-ingress.js';
import { credentialsItemName } from '../vault-names.js';
import { diffTunnel, healthTunnel, tunnelName, type TunnelDesired } from './diff.js';

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
