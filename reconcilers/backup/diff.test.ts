import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadRepo } from '../../schemas/repo.js';
import { EXAMPLE_REPO } from '../../test/helpers.js';
import { type BackupObserved, diffBackup, formatAge, healthBackup } from './diff.js';
import { resticPasswordItem } from '../vault-names.js';
import { desiredBackup, observeScript } from './host.js';

const loaded = await loadRepo(EXAMPLE_REPO);
if (!loaded.ok) throw new Error('examples do not load');
const state = loaded.state;
const desired = desiredBackup({ customer: 'demo', customers: state.customers, manifests: state.manifests, toolPaths: [], offsite: null, intervalMinutes: 360, verifyEveryDays: 30 })!;
const NOW = Date.parse('2026-12-05T10:00:00Z');

/** The host as the backup kind leaves it: files, password, repository, schedule and a fresh snapshot. */
function converged(): BackupObserved {
  const files = Object.fromEntries(desired.files.map((f) => [f.path, { sha256: f.sha256, mode: f.mode.toString(8) }]));
  return {
    restic: '/usr/bin/restic',
    manager: 'loop',
    files: { ...files, password: { sha256: 'abcdef012345' + '0'.repeat(52), mode: '600' } },
    passwordDigest: 'sha256:abcdef012345',
    schedule: { running: true, hash: desired.scheduleHash },
    repo: { state: 'ok', latest: { id: 'a1b2c3d4', time: NOW - 3 * 3_600_000, tags: ['axe', 'schedule'] }, count: 4, sizeBytes: 3 * 1_048_576 },
    lastRun: { at: NOW - 3 * 3_600_000, ok: true, detail: '', snapshot: 'a1b2c3d4' },
    lastCheck: { at: NOW - 3 * 3_600_000, ok: true, detail: 'subset 3/10', snapshot: null },
    lastVerify: null,
    now: NOW,
  };
}

describe('backup desired state', () => {
  it('comes from the manifests: frame dumps Postgres and its data volume; max_age the strictest', () => {
    assert.deepEqual(desired.services, ['frame']);
    assert.equal(desired.maxAge, '26h');
    assert.equal(desired.passwordItem, resticPasswordItem('demo'));
    assert.deepEqual(
      desired.items.map((i) => (i.kind === 'dump' ? `dump ${i.project}/${i.container}:${i.file}` : `volume ${i.name}`)),
      ['dump demo-frame/postgres:frame.sql', 'volume axe-demo-frame-data'],
    );
  });

  it('pushes the backup shell files as they are in providers/host/scripts/backup/ (its own lib.sh, not the executor\'s), 0755', () => {
    const dir = join(import.meta.dirname, '../../providers/host/scripts/backup');
    assert.deepEqual(
      desired.files.filter((f) => f.path.startsWith('bin/')).map((f) => ({ path: f.path, text: f.text, mode: f.mode })),
      ['lib.sh', 'backup.sh', 'verify.sh', 'schedule.sh'].map((name) => ({ path: `bin/${name}`, text: readFileSync(join(dir, name), 'utf8'), mode: 0o755 })),
    );
    assert.match(desired.files.find((f) => f.path === 'bin/lib.sh')!.text, /find_tool\(\)/);
    assert.ok(observeScript([]).endsWith(readFileSync(join(dir, 'observe.sh'), 'utf8')), 'the observation runs observe.sh');
  });

  it('a sovereign customer (no service slot) has no backup', () => {
    assert.equal(desiredBackup({ customer: 'realchoice', customers: state.customers, manifests: state.manifests, toolPaths: [], offsite: null, intervalMinutes: 360, verifyEveryDays: 30 }), null);
  });
});

describe('backup diff', () => {
  it('converged state plans nothing and is Healthy with the snapshot age', () => {
    assert.deepEqual(diffBackup(desired, converged()), []);
    const h = healthBackup(desired, converged());
    assert.equal(h.status, 'Healthy');
    assert.match(h.message, /newest snapshot a1b2c3d4 3h 0m old \(max_age 26h\), 4 snapshot\(s\), 3\.0 MiB/);
  });

  it('a fresh host: files, password, repository, schedule, first snapshot, in that order', () => {
    const fresh: BackupObserved = { ...converged(), files: {}, passwordDigest: null, schedule: { running: false, hash: null }, repo: { state: 'absent' }, lastRun: null, lastCheck: null };
    assert.deepEqual(diffBackup(desired, fresh).map((a) => a.op), ['push-files', 'push-password', 'init-repo', 'install-schedule', 'snapshot']);
    assert.equal(healthBackup(desired, fresh).status, 'Missing');
  });

  it('a stale snapshot plans a new one and is Degraded backup-stale with the fix', () => {
    const old = converged();
    old.repo = { state: 'ok', latest: { id: 'a1b2c3d4', time: NOW - 27 * 3_600_000, tags: [] }, count: 1, sizeBytes: 0 };
    assert.deepEqual(diffBackup(desired, old).map((a) => `${a.op}:${a.payload.reason}`), ['snapshot:stale']);
    const h = healthBackup(desired, old);
    assert.equal(h.status, 'Degraded');
    assert.equal(h.trap?.trap, 'backup-stale');
    assert.match(h.trap!.fix, /the newest snapshot is 27h 0m old; max_age 26h.*axe backup now demo/);
  });

  it('no snapshot at all (forgotten): a new one is planned', () => {
    const none = converged();
    none.repo = { state: 'ok', latest: null, count: 0, sizeBytes: 0 };
    assert.deepEqual(diffBackup(desired, none).map((a) => a.op), ['snapshot']);
    assert.equal(healthBackup(desired, none).trap?.trap, 'backup-stale');
  });

  it('an unreadable repository is never initialised over: nothing planned, Degraded backup-repo-unreadable', () => {
    const bad = converged();
    bad.repo = { state: 'unreadable', error: 'Fatal: wrong password or no key found' };
    assert.deepEqual(diffBackup(desired, bad), []);
    const h = healthBackup(desired, bad);
    assert.equal(h.trap?.trap, 'backup-repo-unreadable');
    assert.match(h.trap!.fix, /never initialise a new repository/);
  });

  it('a password file with another mode or value is pushed again; a changed script too', () => {
    const drift = converged();
    drift.files = { ...drift.files, password: { ...drift.files['password']!, mode: '644' }, 'bin/backup.sh': { sha256: '0'.repeat(64), mode: '755' } };
    assert.deepEqual(diffBackup(desired, drift).map((a) => a.op), ['push-files', 'push-password']);
    assert.doesNotMatch(JSON.stringify(diffBackup(desired, drift)), /abcdef/);
  });

  it('a failed restore drill is Degraded RestoreDrillFailed; a stopped schedule is reinstalled', () => {
    const o = converged();
    o.lastVerify = { at: NOW, ok: false, detail: 'restic check: Fatal: repository contains errors', snapshot: null };
    o.schedule = { running: false, hash: desired.scheduleHash };
    assert.deepEqual(diffBackup(desired, o).map((a) => a.op), ['install-schedule']);
    assert.equal(healthBackup(desired, { ...o, schedule: { running: true, hash: desired.scheduleHash } }).reason, 'RestoreDrillFailed');
  });

  it('a restore drill older than twice its interval is overdue; a recent one is named in the Healthy message', () => {
    const o = converged();
    o.lastVerify = { at: NOW - 61 * 86_400_000, ok: true, detail: '', snapshot: 'a1b2c3d4' };
    assert.equal(healthBackup(desired, o).reason, 'RestoreDrillOverdue');
    o.lastVerify = { at: NOW - 2 * 86_400_000, ok: true, detail: '', snapshot: 'a1b2c3d4' };
    assert.match(healthBackup(desired, o).message, /restore drill ok 2d 0h ago$/);
    assert.deepEqual(diffBackup(desired, o), []);
  });

  it('restic missing on the host: nothing planned, the fix says brew install restic', () => {
    const h = healthBackup(desired, { ...converged(), restic: null });
    assert.equal(h.trap?.trap, 'host-restic-missing');
    assert.deepEqual(diffBackup(desired, { ...converged(), restic: null }), []);
  });

  it('a forgotten repository (no snapshot, a run before): the catch-up is tagged stale; a never-run one first', () => {
    const none = converged();
    none.repo = { state: 'ok', latest: null, count: 0, sizeBytes: 0 };
    assert.deepEqual(diffBackup(desired, none).map((a) => a.payload.reason), ['stale']);
    assert.deepEqual(diffBackup(desired, { ...none, lastRun: null }).map((a) => a.payload.reason), ['first']);
  });

  describe('the off-box repository', () => {
    const REPO = 'sftp:backup@nas.example.com:/srv/restic/demo';
    const withOffsite = desiredBackup({ customer: 'demo', customers: state.customers, manifests: state.manifests, toolPaths: [], offsite: 'sftp:backup@nas.example.com:/srv/restic/{customer}', intervalMinutes: 360, verifyEveryDays: 30 })!;
    const base = (): BackupObserved => {
      const o = converged();
      o.files = { ...o.files, 'backup.conf': { sha256: withOffsite.files[0]!.sha256, mode: '644' } };
      o.offsite = { repository: REPO, repo: { state: 'ok', latest: { id: 'e5f6a7b8', time: NOW - 3 * 3_600_000, tags: ['axe', 'schedule'] }, count: 4, sizeBytes: 0 }, lastCheck: { at: NOW, ok: true, detail: 'structure', snapshot: null }, sizeBytes: 3 * 1_048_576 };
      return o;
    };

    it('backup.conf names it with {customer} filled in', () => {
      assert.equal(withOffsite.offsite, REPO);
      assert.match(withOffsite.files[0]!.text, /^OFFSITE='sftp:backup@nas\.example\.com:\/srv\/restic\/demo'$/m);
    });

    it('converged with a fresh off-box repository: nothing planned, Healthy naming both', () => {
      assert.deepEqual(diffBackup(withOffsite, base()), []);
      const h = healthBackup(withOffsite, base());
      assert.equal(h.status, 'Healthy');
      assert.match(h.message, /newest snapshot a1b2c3d4 3h 0m old .*; off-box newest e5f6a7b8 3h 0m old, 4 snapshot\(s\)/);
    });

    it('stale or empty off-box: a snapshot (it goes to both) is planned, Degraded backup-offsite-stale naming the repository', () => {
      const stale = base();
      stale.offsite!.repo = { state: 'ok', latest: { id: 'e5f6a7b8', time: NOW - 30 * 3_600_000, tags: [] }, count: 1, sizeBytes: 0 };
      assert.deepEqual(diffBackup(withOffsite, stale).map((a) => `${a.op}:${a.payload.reason}`), ['snapshot:offsite']);
      const h = healthBackup(withOffsite, stale);
      assert.deepEqual([h.status, h.reason, h.trap?.trap], ['Degraded', 'OffsiteStale', 'backup-offsite-stale']);
      assert.match(h.trap!.fix, /the newest off-box snapshot is 30h 0m old; max_age 26h\) at sftp:backup@nas\.example\.com:\/srv\/restic\/demo.*axe backup now demo/);
      const absent = base();
      absent.offsite!.repo = { state: 'absent' };
      assert.deepEqual(diffBackup(withOffsite, absent).map((a) => a.op), ['snapshot']);
      assert.equal(healthBackup(withOffsite, absent).reason, 'OffsiteStale');
    });

    it('configured but not on the host yet: the files are pushed, then a snapshot takes it there', () => {
      const before = converged();
      assert.deepEqual(diffBackup(withOffsite, before).map((a) => a.op), ['push-files', 'snapshot']);
    });

    it('unreadable off-box (the host key refused): nothing planned, Degraded backup-offsite-unreadable with the SSH fix', () => {
      const bad = base();
      bad.offsite!.repo = { state: 'unreadable', error: 'subprocess ssh: Permission denied (publickey).' };
      assert.deepEqual(diffBackup(withOffsite, bad), []);
      const h = healthBackup(withOffsite, bad);
      assert.deepEqual([h.status, h.reason, h.trap?.trap], ['Degraded', 'OffsiteUnreadable', 'backup-offsite-unreadable']);
      assert.match(h.trap!.fix, /Permission denied.*ssh -o BatchMode=yes/);
      const check = base();
      check.offsite!.lastCheck = { at: NOW, ok: false, detail: 'Fatal: repository contains errors', snapshot: null };
      assert.equal(healthBackup(withOffsite, check).reason, 'OffsiteCheckFailed');
    });

    it('a stale local repository is named first', () => {
      const o = base();
      o.repo = { state: 'ok', latest: { id: 'a1b2c3d4', time: NOW - 27 * 3_600_000, tags: [] }, count: 1, sizeBytes: 0 };
      o.offsite!.repo = { state: 'absent' };
      assert.equal(healthBackup(withOffsite, o).reason, 'BackupStale');
      assert.deepEqual(diffBackup(withOffsite, o).map((a) => `${a.op}:${a.payload.reason}`), ['snapshot:stale']);
    });
  });

  it('formats ages', () => {
    assert.deepEqual([formatAge(59_000), formatAge(3_600_000 * 5 + 60_000 * 12), formatAge(86_400_000 * 3)], ['0m', '5h 12m', '3d 0h']);
  });
});
