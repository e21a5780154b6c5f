import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControllerMetrics, type MetricSources, type ProviderCounts } from './metrics.js';

function sources(over: Partial<MetricSources> = {}): MetricSources {
  return { queue: () => ({ depth: 3, inFlight: 1, delayed: 2 }), openDrift: () => [], providers: () => [], alerts: () => [], ...over };
}

function series(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('ControllerMetrics', () => {
  it('keeps one axe_resource_info series per resource and drops a removed customer', async () => {
    const m = new ControllerMetrics(sources(), { defaultMetrics: false });
    m.setResource({ customer: 'acme', kind: 'dns', sync: 'Synced', health: 'Healthy', suspended: false });
    m.setResource({ customer: 'acme', kind: 'dns', sync: 'OutOfSync', health: 'Degraded', suspended: false });
    m.setResource({ customer: 'demo', kind: 'dns', sync: 'Unknown', health: 'Suspended', suspended: true });
    let text = await m.text();
    assert.deepEqual(series(text, 'axe_resource_info'), [
      'axe_resource_info{customer="acme",kind="dns",sync="OutOfSync",health="Degraded",suspended="false"} 1',
      'axe_resource_info{customer="demo",kind="dns",sync="Unknown",health="Suspended",suspended="true"} 1',
    ]);
    m.removeCustomer('acme');
    text = await m.text();
    assert.equal(series(text, 'axe_resource_info').length, 1);
  });

  it('reads queue depth and open drift age at scrape time', async () => {
    const m = new ControllerMetrics(sources({ openDrift: () => [{ customer: 'acme', kind: 'dns', openedAt: Date.now() - 90_000 }] }), { defaultMetrics: false });
    const text = await m.text();
    assert.deepEqual(series(text, 'axe_queue_depth'), ['axe_queue_depth 3']);
    assert.deepEqual(series(text, 'axe_drift_open'), ['axe_drift_open{customer="acme",kind="dns"} 1']);
    const age = Number(series(text, 'axe_drift_open_age_seconds')[0]!.split(' ')[1]);
    assert.ok(age >= 89 && age < 100, `age ${age}`);
  });

  it('counts external API calls from the providers’ counters without ever going down', async () => {
    let counts: ProviderCounts[] = [{ provider: 'cloudflare', calls: 10, errors: 1 }];
    const m = new ControllerMetrics(sources({ providers: () => counts }), { defaultMetrics: false });
    assert.deepEqual(series(await m.text(), 'axe_external_requests_total'), ['axe_external_requests_total{provider="cloudflare"} 10']);
    counts = [{ provider: 'cloudflare', calls: 15, errors: 3 }, { provider: 'ssh', calls: 4, errors: null }];
    let text = await m.text();
    assert.deepEqual(series(text, 'axe_external_requests_total'), ['axe_external_requests_total{provider="cloudflare"} 15', 'axe_external_requests_total{provider="ssh"} 4']);
    assert.deepEqual(series(text, 'axe_external_errors_total'), ['axe_external_errors_total{provider="cloudflare"} 3'], 'no made-up zero for a provider that does not count errors');
    counts = [{ provider: 'cloudflare', calls: 2, errors: 0 }]; // reopened provider
    text = await m.text();
    assert.deepEqual(series(text, 'axe_external_requests_total')[0], 'axe_external_requests_total{provider="cloudflare"} 17');
  });

  it('exposes the revision as one info series and validity as 0/1', async () => {
    const m = new ControllerMetrics(sources(), { defaultMetrics: false });
    m.setRevision('abc1234');
    m.setRevision('def5678');
    m.configValid.set(0);
    const text = await m.text();
    assert.deepEqual(series(text, 'axe_config_revision_info'), ['axe_config_revision_info{revision="def5678"} 1']);
    assert.deepEqual(series(text, 'axe_config_valid'), ['axe_config_valid 0']);
  });
});
