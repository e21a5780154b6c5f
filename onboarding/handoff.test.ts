import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CustomerResult, KindResult } from '../reconcilers/engine.js';
import type { Kind } from '../reconcilers/types.js';
import { loadRepo } from '../schemas/repo.js';
import { EXAMPLE_REPO } from '../test/helpers.js';
import { handoff, renderBlockers, renderHandoff } from './handoff.js';

const load = await loadRepo(EXAMPLE_REPO);
assert.ok(load.ok);
const state = load.ok ? load.state : (undefined as never);

function kind(k: Kind, over: Partial<KindResult> = {}): KindResult {
  return { kind: k, sync: 'Synced', health: { status: 'Healthy', reason: 'Ok', message: 'ok' }, actions: [], applied: [], observed: null, durationMs: 1, context: false, ...over };
}

function result(resources: KindResult[]): CustomerResult {
  return { customer: 'demo', mode: 'apply', suspended: false, resources, sync: 'Synced', health: 'Healthy' };
}

const healthy = result((['host', 'tunnel', 'dns', 'cloudflared', 'vault-items', 'stack', 'vaultwarden', 'entities', 'ingress', 'endpoints'] as Kind[]).map((k) => kind(k)));

describe('handoff', () => {
  it('healthy demo: URLs of frame and blueprint, the vault SSO link and identifier, versions, onboarding links', () => {
    const h = handoff(state.customers, state.manifests, healthy);
    assert.ok(h.ready);
    assert.deepEqual(h.facts.services, [
      { service: 'blueprint', url: 'https://demo.axelabs.ai/', version: 'v1.0.0' },
      { service: 'frame', url: 'https://demo.axelabs.ai/frame', version: 'v1.0.0' },
      { service: 'hive', url: null, version: 'v1.0.0' },
    ]);
    assert.equal(h.facts.vaultSso, 'https://demo.axelabs.ai/vault/#/sso');
    assert.equal(h.facts.ssoIdentifier, 'DEMO');
    const ko = renderHandoff(h.facts, 'ko').join('\n');
    assert.match(ko, /Demo Company IT 담당자님께/);
    assert.match(ko, /SSO 직링크: https:\/\/demo\.axelabs\.ai\/vault\/#\/sso/);
    assert.match(ko, /SSO Identifier \(조직 이름\): DEMO/);
    assert.match(ko, /frame v1\.0\.0: https:\/\/demo\.axelabs\.ai\/frame/);
    assert.match(ko, /신규 직원 온보딩: https:\/\/docs\.axelabs\.ai\/onboard\n/);
    const en = renderHandoff(h.facts, 'en').join('\n');
    assert.match(en, /SSO identifier \(organization name\): DEMO/);
    assert.match(en, /blueprint v1\.0\.0: https:\/\/demo\.axelabs\.ai\/\n/);
  });

  it('refused while a resource is not Healthy and Synced: which one, why, which trap; context kinds are not judged', () => {
    const degraded = result([
      ...healthy.resources.filter((k) => k.kind !== 'stack' && k.kind !== 'vaultwarden' && k.kind !== 'dns'),
      kind('stack', { health: { status: 'Degraded', reason: 'RolledBack', message: 'frame: v1.2.0 never got healthy' } }),
      kind('vaultwarden', { sync: 'OutOfSync', health: { status: 'Degraded', reason: 'KeysMissing', message: 'SIGNUPS_ALLOWED missing', trap: { trap: 'vaultwarden-keys-missing', fix: 'axe vault bootstrap demo --apply' } } }),
      kind('dns', { context: true, health: { status: 'Degraded', reason: 'X', message: 'x' } }),
    ]);
    const h = handoff(state.customers, state.manifests, degraded);
    assert.ok(!h.ready);
    assert.deepEqual(h.blockers.map((b) => `${b.kind} ${b.reason}`), ['stack RolledBack', 'vaultwarden KeysMissing']);
    const lines = renderBlockers(h.blockers);
    assert.match(lines[1]!, /vaultwarden: Degraded\/OutOfSync KeysMissing: SIGNUPS_ALLOWED missing \[trap vaultwarden-keys-missing: axe vault bootstrap demo --apply\]/);
  });

  it('a Healthy resource with changes pending, a failed observation or a suspended customer also refuse', () => {
    const pending = handoff(state.customers, state.manifests, result([kind('entities', { sync: 'OutOfSync', actions: [{ kind: 'entities', op: 'register', target: 'entity:frame/x', summary: 'register x in frame', payload: null }] })]));
    assert.ok(!pending.ready && /1 change\(s\) pending: register x in frame/.test(pending.blockers[0]!.message));
    const failed = handoff(state.customers, state.manifests, result([kind('host', { error: { class: 'transient', message: 'ssh timed out' } })]));
    assert.ok(!failed.ready && failed.blockers[0]!.error === 'ssh timed out');
    const suspended = handoff(state.customers, state.manifests, { ...healthy, suspended: true });
    assert.ok(!suspended.ready && suspended.blockers[0]!.reason === 'Suspended');
  });
});
