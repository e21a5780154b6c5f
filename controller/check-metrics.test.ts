import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { CheckResult, ChecksObserved } from '../reconcilers/checks/diff.js';
import { CheckMetrics } from './check-metrics.js';

const result = (verdict: CheckResult['verdict'], name = 'audit-log'): CheckResult => ({ service: 'frame', name, verdict, message: `frame ${name}: audit logging is switched off`, detail: 'audit logging is switched off' });
const observed = (...results: CheckResult[]): ChecksObserved => ({ now: 1, results });

test('axe_service_check_ok: 1 passing, 0 failing or unanswered, no series when not run; no answer text; a gone check or customer leaves nothing', async () => {
  const registry = new Registry();
  const m = new CheckMetrics(registry);
  m.record('demo', observed(result('pass'), result('fail', 'ledger')));
  m.record('acme', null);
  let text = await registry.metrics();
  assert.match(text, /^axe_service_check_ok\{customer="demo",service="frame",check="audit-log"\} 1$/m);
  assert.match(text, /^axe_service_check_ok\{customer="demo",service="frame",check="ledger"\} 0$/m);
  assert.doesNotMatch(text, /acme|switched off/);
  m.record('demo', observed(result('unanswered')));
  text = await registry.metrics();
  assert.match(text, /^axe_service_check_ok\{customer="demo",service="frame",check="audit-log"\} 0$/m);
  assert.doesNotMatch(text, /check="ledger"/, 'a check no longer declared is removed');
  m.record('demo', observed(result('not-run')));
  assert.doesNotMatch(await registry.metrics(), /^axe_service_check_ok\{/m, 'not run: unknown, no series');
  m.record('demo', observed(result('fail')));
  m.remove('demo');
  assert.doesNotMatch(await registry.metrics(), /customer="demo"/);
});
