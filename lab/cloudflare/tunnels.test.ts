import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Connector } from './connectors.js';
import type { TunnelState } from './state.js';
import { connectionTimes, connectorId, listedConnectors, tunnelFilter, tunnelStatus, tunnelToken, tunnelView, validateTunnelConfig, validateTunnelInput } from './tunnels.js';

function tunnel(over: Partial<TunnelState> = {}): TunnelState {
  return {
    id: '6ff42ae2-765d-4adf-8112-31c55c1551ef',
    name: 'axe-demo',
    config_src: 'cloudflare',
    secret: Buffer.alloc(32, 7).toString('base64'),
    created_at: '2026-01-01T00:00:00Z',
    deleted_at: null,
    config: null,
    config_version: 0,
    config_updated_at: null,
    conns_active_at: null,
    conns_inactive_at: null,
    ...over,
  };
}
const running: Connector = { containerId: 'c1', name: 'cfd', running: true, port: 32768, createdAt: '2026-01-01T00:00:00Z' };
const stopped: Connector = { ...running, running: false };

describe('tunnel ingress validation', () => {
  it('accepts hostname rules followed by the catch-all', () => {
    const config = { ingress: [{ hostname: 'demo.axelabs.ai', path: '^/frame(/|$)', service: 'http://frame:8080' }, { hostname: 'demo.axelabs.ai', service: 'http://web:3000' }, { service: 'http_status:404' }] };
    assert.deepEqual(validateTunnelConfig(config), { config });
  });

  it('rejects a last rule that is not the catch-all, with code 1056 and cloudflared\'s words', () => {
    const result = validateTunnelConfig({ ingress: [{ hostname: 'demo.axelabs.ai', service: 'http://web:3000' }] });
    assert.deepEqual(result, {
      error: { code: 1056, message: 'Bad Configuration: Validation failed: The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)' },
    });
  });

  it('rejects a catch-all before the end, no rules, a bad regex and a service without a scheme', () => {
    const early = validateTunnelConfig({ ingress: [{ service: 'http_status:404' }, { hostname: 'x.axelabs.ai', service: 'http://a:1' }] });
    assert.ok('error' in early && /will never be triggered/.test(early.error.message));
    const empty = validateTunnelConfig({ ingress: [] });
    assert.ok('error' in empty && /doesn't contain any ingress rules/.test(empty.error.message));
    const regex = validateTunnelConfig({ ingress: [{ hostname: 'x.axelabs.ai', path: '(', service: 'http://a:1' }, { service: 'http_status:404' }] });
    assert.ok('error' in regex && /invalid regex/.test(regex.error.message));
    const scheme = validateTunnelConfig({ ingress: [{ service: 'localhost:80' }] });
    assert.ok('error' in scheme && /invalid address/.test(scheme.error.message));
  });
});

describe('tunnel create input', () => {
  it('defaults config_src to local and the secret to "generate"', () => {
    assert.deepEqual(validateTunnelInput({ name: 'axe-demo' }), { input: { name: 'axe-demo', config_src: 'local', secret: null } });
  });
  it('refuses a UUID as name, an unknown config_src and a short secret', () => {
    assert.ok('error' in validateTunnelInput({ name: '6ff42ae2-765d-4adf-8112-31c55c1551ef' }));
    assert.ok('error' in validateTunnelInput({ name: 'x', config_src: 'remote' }));
    assert.ok('error' in validateTunnelInput({ name: 'x', tunnel_secret: Buffer.alloc(16).toString('base64') }));
  });
});

describe('tunnel status, connection times, filters, token', () => {
  it('is inactive before any connector, healthy while one runs, down after', () => {
    assert.equal(tunnelStatus(tunnel(), []), 'inactive');
    assert.equal(tunnelStatus(tunnel(), [running]), 'healthy');
    assert.equal(tunnelStatus(tunnel(), [stopped]), 'down');
    assert.equal(tunnelStatus(tunnel({ conns_active_at: '2026-01-02T00:00:00Z' }), []), 'down');
  });

  it('stamps conns_active_at when connected and conns_inactive_at when the last connector goes', () => {
    const t = tunnel();
    assert.deepEqual(connectionTimes(t, [running], 'T1'), { conns_active_at: 'T1', conns_inactive_at: null });
    Object.assign(t, { conns_active_at: 'T1' });
    assert.equal(connectionTimes(t, [running], 'T2'), null);
    assert.deepEqual(connectionTimes(t, [stopped], 'T3'), { conns_active_at: 'T1', conns_inactive_at: 'T3' });
    Object.assign(t, { conns_inactive_at: 'T3' });
    assert.equal(connectionTimes(t, [], 'T4'), null);
  });

  it('lists deleted tunnels unless is_deleted=false, like the real API', () => {
    const live = tunnel();
    const gone = tunnel({ id: 'x', deleted_at: '2026-01-02T00:00:00Z' });
    const status = () => 'inactive' as const;
    assert.equal([live, gone].filter(tunnelFilter(new URLSearchParams('name=axe-demo'), status)).length, 2);
    assert.deepEqual([live, gone].filter(tunnelFilter(new URLSearchParams('name=axe-demo&is_deleted=false'), status)), [live]);
    assert.deepEqual([live, gone].filter(tunnelFilter(new URLSearchParams('is_deleted=true'), status)), [gone]);
  });

  it('encodes the connector token as base64 JSON {a, t, s}', () => {
    const t = tunnel();
    assert.deepEqual(JSON.parse(Buffer.from(tunnelToken(t, 'acc'), 'base64').toString()), { a: 'acc', t: t.id, s: t.secret });
  });
});

describe('tunnel object and connections, as the published spec has them', () => {
  it('the tunnel object lists no connections (the field is deprecated) and leaves unset timestamps out', () => {
    const view = tunnelView(tunnel(), 'acc', [running]);
    assert.deepEqual(view.connections, []);
    assert.equal(view.status, 'healthy');
    assert.ok(!('deleted_at' in view) && !('conns_active_at' in view) && !('conns_inactive_at' in view));
  });

  it('lists running connectors and stale ones until they are cleaned up', () => {
    const stale: Connector = { ...stopped, containerId: 'c2' };
    assert.deepEqual(listedConnectors([running, stale], new Set()), [running, stale]);
    assert.deepEqual(listedConnectors([running, stale], new Set(['c1', 'c2'])), [running], 'a running connector reconnects at once');
    assert.match(connectorId(stale), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
