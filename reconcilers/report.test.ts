/**
 * A pass's JSON read back (`resultsFromJson`, how `axe plan` renders the
 * controller's plan) renders as the pass itself: the same JSON, text and
 * markdown, context resources and observations left out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CustomerResult } from './engine.js';
import { planExitCode, renderMarkdown, renderText, resultJson, resultsFromJson } from './report.js';

const trap = { trap: 'cloudflare-token-missing' as const, fix: 'axe secret push CLOUDFLARE_API_TOKEN' };
const results: CustomerResult[] = [
  {
    customer: 'acme',
    mode: 'apply',
    suspended: false,
    sync: 'OutOfSync',
    health: 'Degraded',
    resources: [
      { kind: 'host', sync: 'Synced', health: { status: 'Healthy', reason: 'Reachable', message: 'ok' }, actions: [], applied: [], observed: { secret: 'never shown' }, context: true, durationMs: 3 },
      { kind: 'dns', sync: 'OutOfSync', health: { status: 'Missing', reason: 'NotFound', message: 'no record' }, actions: [{ kind: 'dns', op: 'create', target: 'dns:acme.axelabs.ai', summary: 'create CNAME acme.axelabs.ai', payload: { token: 'x' } }], applied: [], observed: null, context: false, durationMs: 7 },
      { kind: 'tunnel', sync: 'Unknown', health: { status: 'Unknown', reason: 'Error', message: 'token missing', trap }, actions: [], applied: [], observed: null, context: false, error: { class: 'terminal', message: 'token missing', fix: 'push it' }, durationMs: 1 },
    ],
  },
  { customer: 'demo', mode: 'observe', suspended: true, sync: 'Unknown', health: 'Suspended', resources: [] },
];

describe('report: a pass as JSON, and back', () => {
  it('the JSON read back renders the same JSON, text, markdown and exit code', () => {
    const json = resultJson(results, false);
    const back = resultsFromJson(JSON.parse(JSON.stringify(json)) as typeof json);
    assert.deepEqual(resultJson(back, false), json);
    assert.equal(renderText(back, false), renderText(results, false));
    assert.equal(renderMarkdown(back, 'axe plan'), renderMarkdown(results, 'axe plan'));
    assert.equal(planExitCode(back), 1);
    assert.doesNotMatch(JSON.stringify(json), /never shown|"token":/, 'observations and payloads are not in the JSON');
  });
});
