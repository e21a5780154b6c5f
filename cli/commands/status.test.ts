import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { History, type ResourceRow } from '../../controller/history.js';
import { statusFromHistory } from '../../controller/status.js';
import { healthChecks, evaluateChecks, type ChecksDesired } from '../../reconcilers/checks/diff.js';
import { tempDir } from '../../test/helpers.js';
import { renderStatus } from './status.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const desired: ChecksDesired = {
  customer: 'demo',
  checks: [{ service: 'frame', name: 'audit-log', description: "frame's audit_log is on and records journal entries", project: 'demo-frame', container: '@active', blueGreen: null, command: ['frame', 'audit-status'], expect: [{ field: 'enabled', equals: true }, { field: 'entries', min: 1 }], detail: 'reason', fix: "Turn frame's audit log back on." }],
};

/** The checks row as the controller records it, from a probe's answer. */
function checksRow(answer: Record<string, unknown>): ResourceRow {
  const health = healthChecks(desired, evaluateChecks(desired, new Map([['frame/audit-log', { state: 'ran', code: 0, stdout: JSON.stringify(answer), stderr: '' }]]), NOW));
  return row({ kind: 'checks', health: health.status, reason: health.reason, message: health.message, trap: health.trap?.trap ?? null, fix: health.trap?.fix ?? null });
}

function row(over: Partial<ResourceRow>): ResourceRow {
  return { customer: 'demo', kind: 'dns', sync: 'Synced', health: 'Healthy', reason: 'Ready', message: 'ok', trap: null, fix: null, error_class: null, mode: 'apply', suspended: 0, revision: 'r1', desired: 'sha256:1', synced_desired: 'sha256:1', last_reconcile: NOW, last_change: NOW, pending: '', ...over };
}

test('axe status: the D+7 checks per customer (backups fresh, the audit log active), in the table, the D+7 line and --json; failing: Degraded with the reason and the fix', async () => {
  await using dir = await tempDir('status-d7');
  const h = History.open(join(dir.path, 'history.sqlite'));
  try {
    h.recordRevision({ id: 'r1', valid: true, subject: 'seed' });
    h.markApplied('r1');
    h.putResource(row({ kind: 'backup', reason: 'Fresh', message: 'Fresh: newest snapshot a1b2c3d4 2h old (max_age 26h), 3 snapshots' }));
    h.putResource(checksRow({ enabled: true, entries: 3 }));
    h.putResource(row({ customer: 'acme' }));

    const healthy = statusFromHistory(h);
    const demo = healthy.customers.find((c) => c.customer === 'demo')!;
    assert.deepEqual(demo.dayPlus7, {
      backup: { health: 'Healthy', reason: 'Fresh', message: 'Fresh: newest snapshot a1b2c3d4 2h old (max_age 26h), 3 snapshots', fix: null },
      checks: { health: 'Healthy', reason: 'ChecksPassing', message: "frame audit-log: frame's audit_log is on and records journal entries (enabled true, entries 3)", fix: null },
    });
    assert.equal(healthy.customers.find((c) => c.customer === 'acme')!.dayPlus7, undefined, 'a customer without backups or checks has no D+7 field');
    const text = renderStatus(healthy).join('\n');
    assert.match(text, /\ndemo\s+checks\s+Synced\s+Healthy\s+ChecksPassing\s+\S+ ago\s+\S+ ago\s+frame audit-log: frame's audit_log is on and records journal entries \(enabled true, entries 3\)\n/);
    assert.match(text, /\nD\+7 demo: backups fresh ok, service checks ok$/m);
    assert.doesNotMatch(text, /D\+7 acme|! demo\/checks/);

    // The audit log switched off: the row, the D+7 line and the note with the trap's fix.
    h.putResource(checksRow({ enabled: false, entries: 3, reason: 'audit logging is switched off' }));
    const degraded = statusFromHistory(h, { customer: 'demo' });
    assert.deepEqual([degraded.customers[0]!.health, degraded.customers[0]!.dayPlus7?.checks?.reason], ['Degraded', 'CheckFailing']);
    const lines = renderStatus(degraded).join('\n');
    assert.match(lines, /\ndemo\s+checks\s+Synced\s+Degraded\s+CheckFailing\s+.*frame audit-log fails: enabled is false \(want true\): audit logging is switched off\n/);
    assert.match(lines, /\nD\+7 demo: backups fresh ok, service checks Degraded \(CheckFailing\)$/m);
    assert.match(lines, /\n! demo\/checks: service-check-failed: frame's check audit-log fails on the Mac mini of demo \(wanted: frame's audit_log is on and records journal entries\)\. Turn frame's audit log back on\. To see its answer, on the host: docker compose -p demo-frame exec <the live color> frame audit-status\.$/m);
    // --json carries the same view.
    const json = JSON.parse(JSON.stringify(degraded)) as typeof degraded;
    assert.equal(json.customers[0]!.dayPlus7?.checks?.fix, degraded.customers[0]!.resources.find((r) => r.kind === 'checks')!.fix);
  } finally {
    h.close();
  }
});
