import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CATCH_ALL } from '../tunnel-ingress.js';
import { type CloudflaredObserved, desiredCloudflared, diffCloudflared, healthCloudflared, sha256 } from './diff.js';
import { frame } from '../../providers/host/facts/fact.js';
import { parseObservation, serviceSpec } from './service.js';

const credentialsSha = sha256('{"AccountTag":"a","TunnelSecret":"s","TunnelID":"t-1"}\n');
const desired = desiredCloudflared({
  customer: 'demo',
  tunnelId: 't-1',
  ingress: [{ hostname: 'demo.axelabs.ai', path: '^/frame(/|$)', service: 'http://frame-proxy:8080' }, CATCH_ALL],
  credentialsItem: 'CLOUDFLARED_DEMO_CREDENTIALS',
  credentialsDigest: `sha256:${credentialsSha.slice(0, 12)}`,
  publicDomain: 'demo.axelabs.ai',
  serviceSpec: serviceSpec('auto', 'img', [], 20241),
});
const converged: CloudflaredObserved = {
  manager: 'container',
  config: { sha256: desired.configSha256!, mode: '644' },
  credentials: { sha256: credentialsSha, mode: '600' },
  service: { state: 'running', ready: true, hash: desired.serviceHash },
  publicTrace: { ok: true, status: 200, detail: 'ok' },
};

describe('cloudflared diff', () => {
  it('converged state plans nothing and is Healthy', () => {
    assert.deepEqual(diffCloudflared(desired, converged), []);
    assert.equal(healthCloudflared(desired, converged).status, 'Healthy');
  });

  it('renders the tunnel id and the ingress with the catch-all last', () => {
    assert.match(desired.configText!, /^tunnel: t-1$/m);
    assert.match(desired.configText!, /service: http_status:404\n$/);
  });

  it('a fresh host gets config, credentials and a start', () => {
    const fresh: CloudflaredObserved = { ...converged, config: null, credentials: null, service: { state: 'missing', ready: null, hash: null }, publicTrace: null };
    assert.deepEqual(diffCloudflared(desired, fresh).map((a) => a.op), ['push-config', 'push-credentials', 'reload']);
    assert.equal(healthCloudflared(desired, fresh).reason, 'ConfigMissing');
  });

  it('an edited config on the host is pushed back and the service restarted', () => {
    const drifted = { ...converged, config: { sha256: 'f'.repeat(64), mode: '644' } };
    assert.deepEqual(diffCloudflared(desired, drifted).map((a) => a.op), ['push-config', 'reload']);
    assert.equal(healthCloudflared(desired, drifted).reason, 'ConfigDrift');
  });

  it('credentials readable by others are re-pushed 0600', () => {
    const loose = { ...converged, credentials: { sha256: credentialsSha, mode: '644' } };
    const actions = diffCloudflared(desired, loose);
    assert.deepEqual(actions.map((a) => a.op), ['push-credentials', 'reload']);
    assert.match(actions[0]!.summary, /mode 644/);
  });

  it('a stopped service is restarted; one started with other settings too', () => {
    assert.deepEqual(diffCloudflared(desired, { ...converged, service: { state: 'stopped', ready: null, hash: desired.serviceHash } }).map((a) => a.op), ['reload']);
    assert.deepEqual(diffCloudflared(desired, { ...converged, service: { state: 'running', ready: true, hash: 'old' } }).map((a) => a.op), ['reload']);
  });

  it('public trace failing is Degraded with the URL; a gui/ domain load names the trap', () => {
    const h = healthCloudflared(desired, { ...converged, publicTrace: { ok: false, status: 530, detail: 'HTTP 530' } });
    assert.equal(h.reason, 'PublicUnreachable');
    assert.match(h.message, /demo\.axelabs\.ai\/cdn-cgi\/trace/);
    assert.equal(healthCloudflared(desired, { ...converged, launchdGuiDomain: true }).trap?.trap, 'launchd-gui-domain');
  });

  it('plans the whole setup before the tunnel exists', () => {
    const early = desiredCloudflared({ customer: 'demo', tunnelId: null, ingress: [CATCH_ALL], credentialsItem: 'X', credentialsDigest: null, publicDomain: 'demo.axelabs.ai', serviceSpec: '' });
    assert.deepEqual(diffCloudflared(early, null).map((a) => a.op), ['push-config', 'push-credentials', 'reload']);
  });

  it('parses the host observation of both managers', () => {
    const d = '/h/.axe/cloudflared';
    const files = frame('files', `${'a'.repeat(64)}  ${d}/config.yml\n${'b'.repeat(64)} *${d}/credentials.json\n644 5-1.25-1.25-9 ${d}/config.yml\n600 7-1.5-1.5-10 ${d}/credentials.json`);
    const inspected = JSON.stringify([{ Name: '/axe-cloudflared-demo', State: { Status: 'running', Health: { Status: 'healthy' } }, Config: { Labels: { 'ai.axelabs.axe.service-hash': 'h1' } } }]);
    const c = parseObservation(frame('manager', 'container') + files + frame('container', inspected), 'demo', 20241);
    const want = { config: { sha256: 'a'.repeat(64), mode: '644' }, credentials: { sha256: 'b'.repeat(64), mode: '600' } };
    assert.deepEqual(c, { manager: 'container', ...want, state: 'running', ready: true, hash: 'h1', guiDomain: false });
    const l = parseObservation(frame('manager', 'launchd') + frame('job', 'state = running') + frame('ready', '', 22) + frame('loaded', 'h2') + frame('gui', ''), 'demo', 20241);
    assert.equal(l.manager, 'launchd');
    assert.equal(l.ready, false);
    assert.equal(l.hash, 'h2');
    assert.equal(l.guiDomain, true);
    assert.equal(parseObservation(frame('manager', 'launchd') + frame('job', '', 113) + frame('loaded', 'h2') + frame('gui', '', 1), 'demo', 20241).state, 'missing');
    assert.equal(parseObservation(frame('manager', 'container') + frame('container', ''), 'demo', 20241).state, 'missing');
    assert.equal(parseObservation(frame('manager', 'none'), 'demo', 20241).manager, 'none');
    // The engine API's list (what the scan reads by curl on the engine's socket): exact name, health from Status.
    const listed = (name: string, state: string, status: string) =>
      frame('manager', 'container') + frame('container', JSON.stringify([{ Names: [`/${name}`], State: state, Status: status, Labels: { 'ai.axelabs.axe.service-hash': 'h3' } }]));
    assert.deepEqual(pick(parseObservation(listed('axe-cloudflared-demo', 'running', 'Up 3 minutes (healthy)'), 'demo', 20241)), { state: 'running', ready: true, hash: 'h3' });
    assert.deepEqual(pick(parseObservation(listed('axe-cloudflared-demo', 'running', 'Up 4 seconds (health: starting)'), 'demo', 20241)), { state: 'running', ready: false, hash: 'h3' });
    assert.deepEqual(pick(parseObservation(listed('axe-cloudflared-demo', 'exited', 'Exited (137) 2 seconds ago'), 'demo', 20241)), { state: 'stopped', ready: null, hash: 'h3' });
    assert.deepEqual(pick(parseObservation(listed('axe-cloudflared-demo', 'running', 'Up 1 second'), 'demo', 20241)), { state: 'running', ready: null, hash: 'h3' });
    assert.equal(parseObservation(listed('axe-cloudflared-demo2', 'running', 'Up 1 second'), 'demo', 20241).state, 'missing', 'another name is not ours');
    assert.equal(parseObservation(frame('manager', 'container') + frame('container', '[]'), 'demo', 20241).state, 'missing');
  });
});

function pick(o: { state: string; ready: boolean | null; hash: string | null }): { state: string; ready: boolean | null; hash: string | null } {
  return { state: o.state, ready: o.ready, hash: o.hash };
}
