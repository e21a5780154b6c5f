import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { tempDir } from '../test/helpers.js';
import { History, type ResourceRow } from './history.js';

function row(over: Partial<ResourceRow> = {}): ResourceRow {
  return {
    customer: 'acme',
    kind: 'dns',
    sync: 'Synced',
    health: 'Healthy',
    reason: 'Ready',
    message: 'ok',
    trap: null,
    fix: null,
    error_class: null,
    mode: 'apply',
    suspended: 0,
    revision: 'r1',
    desired: 'sha256:1',
    synced_desired: 'sha256:1',
    last_reconcile: 1,
    last_change: 1,
    pending: '',
    ...over,
  };
}

describe('History', () => {
  it('uses WAL, keeps everything across a reopen, and serves a read-only reader while the writer is open', async () => {
    await using dir = await tempDir('history');
    const path = join(dir.path, 'history.sqlite');
    const h = History.open(path);
    assert.equal(h.db.pragma('journal_mode', { simple: true }), 'wal');
    h.recordRevision({ id: 'r1', valid: true, subject: 'seed' });
    h.markApplied('r1');
    h.recordRevision({ id: 'r2', valid: false, issues: [{ file: 'customers.yaml', line: 3, col: 5, path: 'customers.x', message: 'bad' }] });
    h.putResource(row());
    const id = h.beginReconcile('acme', 'r1', ['startup']);
    h.finishReconcile(id, { sync: 'Synced', health: 'Healthy', applied: 0, pending: 0, errors: 0 });
    h.event({ type: 'action', customer: 'acme', kind: 'dns', revision: 'r1', op: 'create', target: 'dns:acme.axelabs.ai', message: 'create CNAME' });

    const reader = History.openReadOnly(path);
    assert.ok(reader);
    assert.equal(reader.resources().length, 1);
    assert.equal(reader.events({ customer: 'acme' })[0]!.op, 'create');
    assert.throws(() => reader.event({ type: 'error', message: 'x' }), /readonly/i);
    reader.close();
    h.close();

    const again = History.open(path);
    assert.equal(again.lastGoodRevision()!.id, 'r1', 'an invalid revision is never the last good one');
    assert.equal(again.latestRevision()!.id, 'r2');
    assert.deepEqual(JSON.parse(again.latestRevision()!.issues!)[0].line, 3);
    assert.equal(again.reconcileCount('acme'), 1);
    assert.equal(again.resource('acme', 'dns')!.health, 'Healthy');
    again.close();
    assert.equal(History.openReadOnly(join(dir.path, 'missing.sqlite')), null);
  });

  it('migrates a status table written before synced_desired: a Synced row keeps what it knew', async () => {
    await using dir = await tempDir('history');
    const path = join(dir.path, 'old.sqlite');
    const old = new Database(path);
    old.exec(`CREATE TABLE resources (
      customer TEXT NOT NULL, kind TEXT NOT NULL, sync TEXT NOT NULL, health TEXT NOT NULL, reason TEXT NOT NULL,
      message TEXT NOT NULL, trap TEXT, fix TEXT, error_class TEXT, mode TEXT NOT NULL, suspended INTEGER NOT NULL,
      revision TEXT, desired TEXT, last_reconcile INTEGER NOT NULL, last_change INTEGER NOT NULL, pending TEXT NOT NULL,
      PRIMARY KEY (customer, kind));
      INSERT INTO resources VALUES ('acme', 'dns', 'Synced', 'Healthy', 'Ready', 'ok', NULL, NULL, NULL, 'apply', 0, 'r1', 'd1', 1, 1, '');
      INSERT INTO resources VALUES ('acme', 'tunnel', 'OutOfSync', 'Degraded', 'X', 'x', NULL, NULL, NULL, 'apply', 0, 'r1', 'd1', 1, 1, '');`);
    old.close();
    const h = History.open(path);
    assert.equal(h.resource('acme', 'dns')!.synced_desired, 'd1');
    assert.equal(h.resource('acme', 'tunnel')!.synced_desired, null);
    h.putResource(row({ kind: 'stack', synced_desired: 'd2' }));
    assert.equal(h.resource('acme', 'stack')!.synced_desired, 'd2');
    h.close();
    History.open(path).close();
  });

  it('writes the ship log line once per customer', async () => {
    await using dir = await tempDir('history');
    const h = History.open(join(dir.path, 'h.sqlite'));
    h.markConverging('demo');
    assert.equal(h.isConverging('demo'), true);
    assert.equal(h.ship('demo', 'r1', 'ship: demo live'), true);
    assert.equal(h.isConverging('demo'), false);
    assert.equal(h.ship('demo', 'r2', 'ship: demo live again'), false);
    assert.equal(h.events({ types: ['ship'] }).length, 1);
    h.close();
  });

  it('opens drift once and closes it, recording whether it was corrected', async () => {
    await using dir = await tempDir('history');
    const h = History.open(join(dir.path, 'h.sqlite'));
    assert.equal(h.openDrift('acme', 'dns', 'r1', 'record deleted', 1000), true);
    assert.equal(h.openDrift('acme', 'dns', 'r1', 'record deleted', 2000), false, 'already open');
    assert.equal(h.openDrifts().length, 1);
    const closed = h.closeDrift('acme', 'dns', true, 3000);
    assert.equal(closed!.opened_at, 1000);
    assert.equal(closed!.corrected, 1);
    assert.equal(h.closeDrift('acme', 'dns', true), null);
    assert.equal(h.openDrift('acme', 'dns', 'r1', 'again', 4000), true, 'a new drift after the old one closed');
    h.close();
  });

  it('keeps action intents until their kind finishes', async () => {
    await using dir = await tempDir('history');
    const path = join(dir.path, 'h.sqlite');
    const h = History.open(path);
    h.intend({ customer: 'acme', kind: 'tunnel', op: 'create', target: 'tunnel:axe-acme', revision: 'r1' });
    h.intend({ customer: 'acme', kind: 'dns', op: 'create', target: 'dns:acme.axelabs.ai', revision: 'r1' });
    h.clearIntents('acme', 'tunnel');
    h.close();
    const after = History.open(path);
    assert.deepEqual(after.intents().map((i) => `${i.customer}/${i.kind}/${i.op}`), ['acme/dns/create']);
    after.clearIntents('acme');
    assert.equal(after.intents().length, 0);
    after.close();
  });
});
