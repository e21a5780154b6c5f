import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorPage, EDGE_ERRORS, lookupEdgeRoute, originForm, requestHostname, traceText } from './edge-lookup.js';
import type { DnsRecordState, EmulatorState, TunnelState } from './state.js';

const TUNNEL = '6ff42ae2-765d-4adf-8112-31c55c1551ef';
function rec(name: string, type: string, content: string, proxied: boolean): DnsRecordState {
  return { id: name + type, zone_id: 'z1', name, type, content, proxied, ttl: 1, comment: null, tags: [], created_on: '', modified_on: '' };
}
const tunnel: TunnelState = {
  id: TUNNEL, name: 'axe-demo', config_src: 'cloudflare', secret: 's', created_at: '', deleted_at: null,
  config: null, config_version: 0, config_updated_at: null, conns_active_at: null, conns_inactive_at: null,
};
const state: EmulatorState = {
  version: 1,
  accountId: 'acc',
  zones: [{ id: 'z1', name: 'axelabs.ai', created_on: '', modified_on: '' }],
  records: [
    rec('demo.axelabs.ai', 'CNAME', `${TUNNEL}.cfargotunnel.com`, true),
    rec('plain.axelabs.ai', 'A', '192.0.2.1', false),
    rec('origin.axelabs.ai', 'A', '192.0.2.1', true),
    rec('alias.axelabs.ai', 'CNAME', 'demo.axelabs.ai', true),
    rec('*.apps.axelabs.ai', 'CNAME', `${TUNNEL}.cfargotunnel.com`, true),
    rec('gone.axelabs.ai', 'CNAME', '00000000-0000-4000-8000-000000000000.cfargotunnel.com', true),
    rec('txt.axelabs.ai', 'TXT', 'hello', false),
  ],
  tunnels: [tunnel],
};

describe('lab edge lookup', () => {
  it('takes the hostname from an absolute URL or the Host header, without port', () => {
    assert.equal(requestHostname('/x', 'Demo.axelabs.ai:18788'), 'demo.axelabs.ai');
    assert.equal(requestHostname('http://demo.axelabs.ai/frame?x=1', '127.0.0.1:18788'), 'demo.axelabs.ai');
    assert.equal(requestHostname('/x', undefined), null);
    assert.equal(originForm('http://demo.axelabs.ai/frame?x=1'), '/frame?x=1');
    assert.equal(originForm('/a/b'), '/a/b');
  });

  it('routes a proxied CNAME to <uuid>.cfargotunnel.com to that tunnel', () => {
    const route = lookupEdgeRoute('demo.axelabs.ai', state);
    assert.equal(route.kind, 'tunnel');
    assert.ok(route.kind === 'tunnel' && route.tunnel === tunnel);
  });

  it('follows a proxied CNAME inside the zone, and a wildcard for a name with no record', () => {
    const alias = lookupEdgeRoute('alias.axelabs.ai', state);
    assert.ok(alias.kind === 'tunnel' && alias.tunnelId === TUNNEL);
    const wild = lookupEdgeRoute('x.y.apps.axelabs.ai', state);
    assert.ok(wild.kind === 'tunnel' && wild.tunnelId === TUNNEL);
  });

  it('tells no zone, no record, DNS-only, a non-tunnel origin and an unknown tunnel apart', () => {
    assert.equal(lookupEdgeRoute('example.com', state).kind, 'no-zone');
    assert.equal(lookupEdgeRoute('missing.axelabs.ai', state).kind, 'no-record');
    assert.equal(lookupEdgeRoute('txt.axelabs.ai', state).kind, 'no-record');
    assert.equal(lookupEdgeRoute('plain.axelabs.ai', state).kind, 'dns-only');
    assert.equal(lookupEdgeRoute('origin.axelabs.ai', state).kind, 'origin');
    const gone = lookupEdgeRoute('gone.axelabs.ai', state);
    assert.ok(gone.kind === 'tunnel' && gone.tunnel === null);
  });

  it('writes the trace in key=value lines with colo=LAB', () => {
    const text = traceText({ hostname: 'demo.axelabs.ai', ip: '127.0.0.1', userAgent: 'axe', httpVersion: '1.1', now: 1_700_000_000_123 });
    const fields = Object.fromEntries(text.trim().split('\n').map((l) => l.split('=') as [string, string]));
    assert.equal(fields.h, 'demo.axelabs.ai');
    assert.equal(fields.colo, 'LAB');
    assert.equal(fields.ts, '1700000000.123');
    assert.equal(fields.http, 'http/1.1');
    for (const key of ['fl', 'ip', 'visit_scheme', 'uag', 'loc', 'tls', 'sni', 'warp', 'gateway', 'kex']) assert.ok(key in fields, key);
  });

  it('answers errors as "error code: N" to non-browsers and as an HTML page to browsers', () => {
    const error = { ...EDGE_ERRORS.tunnel, detail: 'no connector' };
    assert.deepEqual(errorPage(error, 'ray-LAB', 'demo.axelabs.ai', '*/*'), { status: 530, contentType: 'text/plain; charset=UTF-8', body: 'error code: 1033\n' });
    const html = errorPage(error, 'ray-LAB', 'demo.axelabs.ai', 'text/html,*/*');
    assert.equal(html.status, 530);
    assert.match(html.body, /Error<\/span> <span>1033/);
    assert.match(html.body, /no connector/);
  });
});
