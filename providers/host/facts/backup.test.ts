import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBackupObservation, snapshotMade, verifyReport } from './backup.js';

describe('backup observation', () => {
  it('parses observe.sh output: files, schedule, newest snapshot, records', () => {
    const out = [
      'restic=/usr/bin/restic',
      'manager=loop',
      `file=backup.conf ${'a'.repeat(64)} 644`,
      `file=password ${'b'.repeat(64)} 600`,
      'schedule=running',
      'schedule_hash=0123456789abcdef',
      'latest=[{"time":"2026-12-05T07:33:47.510044234Z","short_id":"69dbd3e4","tags":["axe","first"]}]',
      'snapshots=2',
      'size_kb=2048',
      'last-verify.at=1764920000',
      'last-verify.ok=0',
      'last-verify.detail=dump frame.sql does not load',
      'now=1764921000',
    ].join('\n');
    const o = parseBackupObservation(out);
    assert.deepEqual(o.files['password'], { sha256: 'b'.repeat(64), mode: '600' });
    assert.deepEqual(o.repo, { state: 'ok', latest: { id: '69dbd3e4', time: Date.parse('2026-12-05T07:33:47.510Z'), tags: ['axe', 'first'] }, count: 2, sizeBytes: 2048 * 1024 });
    assert.deepEqual(o.schedule, { running: true, hash: '0123456789abcdef' });
    assert.equal(o.lastVerify?.ok, false);
    assert.equal(o.lastVerify?.detail, 'dump frame.sql does not load');
    assert.equal(o.now, 1764921000 * 1000);
    assert.equal(o.offsite, null, 'no off-box repository in backup.conf');
    const off = parseBackupObservation(['offsite=sftp:b@nas:/r/demo', 'offsite_latest=[{"time":"2026-12-05T08:00:00Z","short_id":"0badc0de","tags":["axe"]}]', 'offsite_snapshots=3', 'last-offsite-check.at=1764920000', 'last-offsite-check.ok=1', 'last-offsite-check.detail=structure', 'last-offsite-check.size=4096', 'now=1'].join('\n'));
    assert.deepEqual(off.offsite, { repository: 'sftp:b@nas:/r/demo', repo: { state: 'ok', latest: { id: '0badc0de', time: Date.parse('2026-12-05T08:00:00Z'), tags: ['axe'] }, count: 3, sizeBytes: 4096 }, lastCheck: { at: 1764920000000, ok: true, detail: 'structure', snapshot: null }, sizeBytes: 4096 });
    assert.deepEqual(parseBackupObservation('offsite=sftp:b@nas:/r/demo\noffsite_error=Fatal: unable to open config file: Lstat: file does not exist\nnow=1').offsite?.repo, { state: 'absent' });
    assert.deepEqual(parseBackupObservation('offsite=sftp:b@nas:/r/demo\noffsite_error=subprocess ssh: Permission denied (publickey).\nnow=1').offsite?.repo, { state: 'unreadable', error: 'subprocess ssh: Permission denied (publickey).' });
    assert.deepEqual(parseBackupObservation('restic=/usr/bin/restic\nrepo_error=Fatal: wrong password or no key found\nnow=1').repo, { state: 'unreadable', error: 'Fatal: wrong password or no key found' });
  });
});

describe("the backup scripts' reports", () => {
  it('backup.sh: the snapshot it made, or none', () => {
    assert.equal(snapshotMade('step=dump\nsnapshot=69dbd3e4\n'), '69dbd3e4');
    assert.equal(snapshotMade('snapshot=\nsnapshot=xyz\n'), null);
  });

  it('verify.sh: its steps in order and its ok line', () => {
    assert.deepEqual(verifyReport('step=check\nstep=restore 69dbd3e4\nresult=ok snapshot=69dbd3e4 volumes=1 dumps=2\n'), { steps: ['check', 'restore 69dbd3e4'], ok: { snapshot: '69dbd3e4', volumes: 1, dumps: 2 } });
    assert.deepEqual(verifyReport('step=check\nresult=failed\n'), { steps: ['check'], ok: null });
  });
});
