/**
 * Backups end to end in one isolated lab (test/deploy-fixture.ts) with the
 * real restic binary on the demo host: a fresh customer converges with its
 * schedule installed and a first snapshot; forgotten snapshots go Degraded
 * backup-stale and recover; a migrating release takes its snapshot before
 * the hook, and stops before it when the repository cannot be read; the
 * restore drill passes, and fails with the reason on a corrupted pack file;
 * the restic password is never in an output, an argv or a plan.
 *
 * The tests run in order and build on each other.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { container, deployCli, docker, editManifest, fetchPublic, onHost, startDeployLab, stopDeployLab } from './deploy-fixture.js';
import type { TestLab } from './lab-fixture.js';

const exec = promisify(execFile);
let lab: TestLab;
let id = '';
let password = '';
const outputs: Array<{ stdout: string; stderr: string }> = [];

async function cli(args: string[]) {
  const result = await deployCli(args);
  outputs.push(result);
  return result;
}

const RESTIC = 'RESTIC_PASSWORD_FILE=$HOME/.axe/backup/password /usr/bin/restic -r $HOME/.axe/backup/repo';

/** The backup row of the last report in the output (after the plan when applied): `  backup  Synced  Healthy  Fresh: …`. */
function backupRow(stdout: string): string {
  return stdout.split('\n').filter((l) => /^\s+backup\s/.test(l)).pop() ?? `no backup row in:\n${stdout}`;
}

/** frame's hook log entries (on its data volume, read through the postgres container that mounts it too). */
async function hookLog(): Promise<Array<{ at: string; hook: string; version: string }>> {
  const postgres = await container('postgres', `${id}-frame`);
  const text = await docker('exec', postgres, 'cat', '/var/lib/postgresql/data/hooks.log');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { at: string; hook: string; version: string });
}

before(async () => {
  ({ lab, id } = await startDeployLab());
});

after(async () => {
  await stopDeployLab();
});

describe('backup (lab, real restic)', () => {
  test('a fresh customer converges with the schedule installed and a first snapshot; the plan is then empty and Healthy with the age', async (t) => {
    const started = Date.now();
    const deploy = await cli(['deploy', 'customer', id, '--from-pack', `${lab.stateDir}/pack.json`, '--apply']);
    t.diagnostic(`deploy customer (with the backup) took ${Date.now() - started} ms`);
    assert.equal(deploy.code, 0, `${deploy.stdout}\n${deploy.stderr}`);
    password = await onHost('cat ~/.axe/backup/password');
    assert.match(deploy.stdout, /✓ push the restic password from the vault \(BACKUP_\w+_RESTIC_PASSWORD; missing on the host\), mode 0600/);
    assert.match(deploy.stdout, /✓ initialise the restic repository/);
    assert.match(deploy.stdout, /✓ install the backup schedule as a detached loop/);
    assert.match(deploy.stdout, /✓ take a snapshot of dump frame\.sql, volume axe-\w+-frame-data \(none in the repository\)/);
    assert.match(backupRow(deploy.stdout), /Synced\s+Healthy\s+Fresh: newest snapshot [0-9a-f]{8} 0m old \(max_age 26h\), 1 snapshot/);

    assert.ok(password.length >= 32);
    assert.equal(await onHost('stat -c %a ~/.axe/backup/password'), '600');
    assert.match(await onHost('kill -0 "$(cat ~/.axe/backup/schedule.pid)" && echo running'), /running/, 'the schedule runs without the controller');
    const snaps = JSON.parse(await onHost(`${RESTIC} snapshots --json`)) as Array<{ tags: string[] }>;
    assert.deepEqual(snaps.map((s) => s.tags), [['axe', 'first']]);
    // The snapshot holds the dump (taken in the container) and the volume, not live files only.
    const files = await onHost(`${RESTIC} ls latest`);
    assert.match(files, /\/dumps\/frame\.sql$/m);
    assert.match(files, /\/volumes\/axe-\w+-frame-data\.tar$/m);

    const plan = await cli(['apply', id, '--only', 'backup']);
    assert.equal(plan.code, 0, `${plan.stdout}\n${plan.stderr}`);
    assert.match(backupRow(plan.stdout), /Synced\s+Healthy\s+Fresh: newest snapshot [0-9a-f]{8} \d+m old \(max_age 26h\)/);
  });

  test('forgotten snapshots: Degraded backup-stale with the fix, then a new snapshot and Healthy again', async () => {
    await onHost(`${RESTIC} forget $(${RESTIC} snapshots --json | sed 's/"short_id":"\\([0-9a-f]*\\)"/\\n\\1\\n/g' | grep -x '[0-9a-f]\\{8\\}')`);
    const stale = await cli(['apply', id, '--only', 'backup']);
    assert.equal(stale.code, 2, stale.stdout);
    assert.match(backupRow(stale.stdout), /OutOfSync\s+Degraded\s+BackupStale: the repository holds no snapshot/);
    assert.match(stale.stdout, /! backup-stale: The backups of \w+ are stale \(no snapshot in the repository; max_age 26h\).*axe backup now/);
    assert.match(stale.stdout, /\+ take a snapshot of .* \(none in the repository\)/);
    const fixed = await cli(['apply', id, '--only', 'backup', '--apply']);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(backupRow(fixed.stdout), /Synced\s+Healthy/);

    const now = await cli(['backup', 'now', id, '--json']);
    assert.equal(now.code, 0, now.stderr);
    const taken = JSON.parse(now.stdout) as { snapshot: string };
    assert.match(taken.snapshot, /^[0-9a-f]{8}$/);
    assert.match(await onHost(`${RESTIC} snapshots --json latest`), new RegExp(`"tags":\\["axe","now"\\].*"short_id":"${taken.snapshot}"`));
  });

  test('a migrating release: the snapshot is taken before the hook; with the repository unreadable the release stops before it, the old one serving', async () => {
    await editManifest('frame', (text) => text.replace('ref: v1.0.0', 'ref: v1.1.0'));
    const release = await cli(['deploy', 'frame', id, '--apply']);
    assert.equal(release.code, 0, `${release.stdout}\n${release.stderr}`);
    const gateAt = release.stderr.indexOf('take a backup snapshot and wait for it');
    assert.ok(gateAt >= 0 && gateAt < release.stderr.indexOf('blue/green: bring up'), `snapshot before the swap:\n${release.stderr}`);
    const pre = (JSON.parse(await onHost(`${RESTIC} snapshots --json --tag pre-release`)) as Array<{ time: string }>).map((s) => Date.parse(s.time.replace(/(\.\d{3})\d+/, '$1')));
    assert.equal(pre.length, 1, 'one pre-release snapshot');
    const migrated = (await hookLog()).filter((e) => e.hook === 'migrate' && e.version === '1.1.0');
    assert.equal(migrated.length, 1, 'the migrate hook ran once for 1.1.0');
    assert.ok(pre[0]! < Date.parse(migrated[0]!.at), `snapshot ${new Date(pre[0]!).toISOString()} before the hook ${migrated[0]!.at}`);

    await onHost('chmod 000 ~/.axe/backup/repo/keys');
    try {
      await editManifest('frame', (text) => text.replace('ref: v1.1.0', 'ref: v1.0.0'));
      const plan = await cli(['apply', id, '--only', 'backup']);
      assert.match(plan.stdout, /! backup-repo-unreadable: restic cannot read the backup repository/);
      const stopped = await cli(['deploy', 'frame', id, '--apply']);
      assert.equal(stopped.code, 1, stopped.stdout);
      assert.match(`${stopped.stdout}\n${stopped.stderr}`, /frame: release stopped before the migrating hook migrate: no snapshot: restic cannot read the backup repository \(.+\); left: the running release untouched, still serving/);
      assert.doesNotMatch(stopped.stderr, /blue\/green: bring up/, 'nothing of the release ran');
      assert.equal(JSON.parse((await fetchPublic('/frame/version')).body).version, '1.1.0', 'the old release serves');
      assert.equal(await onHost('cd ~/.axe/stacks/frame && git describe --tags --exact-match HEAD'), 'v1.1.0', 'the checkout untouched');
      assert.equal((await hookLog()).filter((e) => e.hook === 'migrate' && e.version === '1.0.0' && Date.parse(e.at) > pre[0]!).length, 0, 'the hook did not run');
    } finally {
      await onHost('chmod 700 ~/.axe/backup/repo/keys');
      await editManifest('frame', (text) => text.replace('ref: v1.0.0', 'ref: v1.1.0'));
    }
  });

  test('axe backup verify: the drill restores, checks and loads the dump; a corrupted pack file fails it with the reason', async () => {
    const ok = await cli(['backup', 'verify', id, '--json']);
    assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
    const json = JSON.parse(ok.stdout) as { ok: boolean; steps: string[]; detail: string };
    assert.equal(json.ok, true);
    assert.match(json.detail, /^restic check ok, restored [0-9a-f]{8}, 1 volume\(s\) read back, 1 dump\(s\) loaded into a throwaway container; scratch removed$/);
    assert.equal(json.steps[0], 'restic check');
    assert.ok(json.steps.some((s) => /^load frame\.sql into a throwaway axelab-frame-postgres:v1\.\d\.0-dump1-rot1 container$/.test(s)), json.steps.join('; '));
    assert.equal(await onHost('ls -d ~/.axe/backup/scratch.* 2>/dev/null | wc -l'), '0', 'scratch removed');
    assert.equal(await docker('ps', '-aq', '--filter', `label=ai.axelabs.axe.backup-drill=${id}`), '', 'the throwaway container is gone');

    // Corrupt every pack file that holds only file data (trees intact), in place, same size: restic's
    // structure check does not read data, the restore of the newest snapshot does, and names the file
    // that cannot be restored. Which packs hold data is read from restic's own index.
    const dataPacks = new Set<string>();
    for (const index of (await onHost(`${RESTIC} list index`)).split('\n').filter(Boolean)) {
      const { packs } = JSON.parse(await onHost(`${RESTIC} cat index ${index}`)) as { packs: Array<{ id: string; blobs: Array<{ type: string }> }> };
      for (const pack of packs) if (pack.blobs.every((b) => b.type === 'data')) dataPacks.add(pack.id);
    }
    assert.ok(dataPacks.size > 0, 'the repository has data packs');
    for (const pack of dataPacks) {
      await onHost(`f=~/.axe/backup/repo/data/${pack.slice(0, 2)}/${pack}; chmod u+w "$f"; printf "corrupted-by-test" | /bin/dd of="$f" bs=1 seek=64 conv=notrunc 2>/dev/null`);
    }
    const bad = await cli(['backup', 'verify', id]);
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(bad.stdout, /restore drill FAILED: restic restore [0-9a-f]{8}: \/(volumes|dumps)\/\S+: ciphertext verification failed \(the data in the repository is corrupt\)/);
    assert.match(await onHost('cat ~/.axe/backup/last-verify'), /^ok=0$/m);
    const plan = await cli(['apply', id, '--only', 'backup']);
    assert.match(backupRow(plan.stdout), /Degraded\s+(RestoreDrillFailed|CheckFailed)/);
  });

  test('the restic password is in no output, plan or argv', async () => {
    assert.ok(password);
    for (const r of outputs) assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), 'the restic password reached an output');
    const { stdout } = await exec('ps', ['-eo', 'args']);
    assert.ok(!stdout.includes(password), 'the restic password is in a process argv');
    assert.ok(!(await onHost('cat ~/.axe/backup/backup.conf ~/.axe/backup/schedule.log ~/.axe/backup/last-* 2>/dev/null || true')).includes(password));
  });
});
