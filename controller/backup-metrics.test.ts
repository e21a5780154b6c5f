import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { BackupObserved } from '../reconcilers/backup/diff.js';
import { BackupMetrics } from './backup-metrics.js';

const observed: BackupObserved = {
  restic: '/usr/bin/restic',
  manager: 'loop',
  files: {},
  passwordDigest: null,
  schedule: { running: true, hash: 'h' },
  repo: { state: 'ok', latest: { id: 'a1b2c3d4', time: 1_764_900_000_000, tags: [] }, count: 3, sizeBytes: 4096 },
  lastRun: null,
  lastCheck: { at: 1_764_900_000_000, ok: true, detail: '', snapshot: null },
  lastVerify: { at: 1_764_800_000_000, ok: false, detail: 'restic check: Fatal: repository contains errors', snapshot: null },
  now: 1_764_910_000_000,
  maxAgeMs: 26 * 3_600_000,
};

test('axe_backup_* carry the observation per customer, no error text; a removed customer leaves nothing', async () => {
  const registry = new Registry();
  const m = new BackupMetrics(registry);
  m.record('demo', observed);
  m.record('acme', null);
  const text = await registry.metrics();
  assert.match(text, /^axe_backup_last_snapshot_timestamp_seconds\{customer="demo",repository="local"\} 1764900000$/m);
  assert.match(text, /^axe_backup_max_age_seconds\{customer="demo"\} 93600$/m);
  assert.match(text, /^axe_backup_snapshots\{customer="demo",repository="local"\} 3$/m);
  assert.match(text, /^axe_backup_repository_size_bytes\{customer="demo",repository="local"\} 4096$/m);
  assert.match(text, /^axe_backup_check_success\{customer="demo",repository="local"\} 1$/m);
  assert.match(text, /^axe_backup_last_verify_timestamp_seconds\{customer="demo"\} 1764800000$/m);
  assert.match(text, /^axe_backup_last_verify_success\{customer="demo"\} 0$/m);
  assert.doesNotMatch(text, /acme|Fatal/);
  m.record('demo', { ...observed, repo: { state: 'ok', latest: null, count: 0, sizeBytes: 0 } });
  assert.match(await registry.metrics(), /^axe_backup_last_snapshot_timestamp_seconds\{customer="demo",repository="local"\} 0$/m, 'no snapshot: 0, so BackupStale fires');
  assert.doesNotMatch(await registry.metrics(), /repository="offsite"/, 'no off-box repository configured: no offsite series');

  // The off-box repository: its own series; not made yet is 0 (BackupStale fires for it); unconfigured again removes them.
  m.record('demo', { ...observed, offsite: { repository: 'sftp:b@nas:/r/demo', repo: { state: 'absent' }, lastCheck: null, sizeBytes: null } });
  assert.match(await registry.metrics(), /^axe_backup_last_snapshot_timestamp_seconds\{customer="demo",repository="offsite"\} 0$/m);
  m.record('demo', { ...observed, offsite: { repository: 'sftp:b@nas:/r/demo', repo: { state: 'ok', latest: { id: 'ffff0000', time: 1_764_905_000_000, tags: [] }, count: 2, sizeBytes: 0 }, lastCheck: { at: 1, ok: false, detail: 'Fatal: x', snapshot: null }, sizeBytes: 8192 } });
  const both = await registry.metrics();
  assert.match(both, /^axe_backup_last_snapshot_timestamp_seconds\{customer="demo",repository="offsite"\} 1764905000$/m);
  assert.match(both, /^axe_backup_last_snapshot_timestamp_seconds\{customer="demo",repository="local"\} 1764900000$/m);
  assert.match(both, /^axe_backup_snapshots\{customer="demo",repository="offsite"\} 2$/m);
  assert.match(both, /^axe_backup_repository_size_bytes\{customer="demo",repository="offsite"\} 8192$/m);
  assert.match(both, /^axe_backup_check_success\{customer="demo",repository="offsite"\} 0$/m);
  assert.doesNotMatch(both, /sftp|nas|Fatal/, 'no URL or error text in a label');
  m.record('demo', { ...observed, offsite: null });
  assert.doesNotMatch(await registry.metrics(), /repository="offsite"/);
  m.remove('demo');
  assert.doesNotMatch(await registry.metrics(), /customer="demo"/);
});
