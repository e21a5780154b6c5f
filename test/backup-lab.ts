/**
 * Backups with the real restic binary, registered by test/deploy.test.ts in its
 * lab on the customer that deploy and day two left converged (one lab start
 * and one D-day fewer). The D-day's backup (schedule installed, first snapshot
 * with the dump and the volume) is asserted in deploy's first test, the
 * snapshot taken before a migrating hook in its blue/green swap; here: the
 * off-box repository (restic over sftp to another lab host's sshd, with the
 * demo host's own key) observed beside the local one, and Degraded with the
 * fix when the key is refused; forgotten snapshots go Degraded backup-stale,
 * the real BackupStale rule fires on the controller's metrics (promtool), and
 * the controller's own reconcile takes the catch-up snapshot (tagged stale):
 * Healthy, the alert resolved; with the repository unreadable a migrating
 * release stops before its hook, the old one serving; the restore drill
 * passes, and fails with the reason on a corrupted pack file; the restic
 * password is never in an output, an argv or a plan.
 *
 * The tests run in order and build on each other.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { labSshCredentials, sshTarget } from '../lab/hosts/index.js';
import { connect, type HostConnection, shellQuote } from '../providers/host/ssh.js';
import { RECONCILERS } from '../reconcilers/engine.js';
import { container, deployCli, docker, editManifest, fetchPublic, onHost, type DeployLab } from './deploy-fixture.js';
import { git, ROOT, tempDir } from './helpers.js';
import { openLabController } from './lab-controller.js';
import type { TestLab } from './lab-fixture.js';

const exec = promisify(execFile);

export const RESTIC = 'RESTIC_PASSWORD_FILE=$HOME/.axe/backup/password /usr/bin/restic -r $HOME/.axe/backup/repo';

/** The backup row of the last report in the output (after the plan when applied): `  backup  Synced  Healthy  Fresh: …`. */
export function backupRow(stdout: string): string {
  return stdout.split('\n').filter((l) => /^\s+backup\s/.test(l)).pop() ?? `no backup row in:\n${stdout}`;
}

/** frame's hook log entries (on its data volume, read through the postgres container that mounts it too). */
export async function hookLog(id: string): Promise<Array<{ at: string; hook: string; version: string }>> {
  const postgres = await container('postgres', `${id}-frame`);
  const text = await docker('exec', postgres, 'cat', '/var/lib/postgresql/data/hooks.log');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { at: string; hook: string; version: string });
}

/**
 * The real BackupStale rule (deploy/prometheus/alerts.yml) evaluated by promtool on the
 * controller's scraped axe_backup_* values: each held for the rule's whole window and
 * shifted so that at the evaluation time each snapshot is as old as it is now (a 0, no
 * snapshot, stays 0). Returns the firing alerts as `BackupStale customer repository`.
 */
async function backupAlerts(metrics: string): Promise<string[]> {
  const lines = metrics.split('\n').filter((l) => l.startsWith('axe_backup_last_snapshot_timestamp_seconds{') || l.startsWith('axe_backup_max_age_seconds{'));
  const maxAge = Math.max(...lines.filter((l) => l.startsWith('axe_backup_max_age')).map((l) => Number(l.split(' ').pop())));
  assert.ok(maxAge > 0, `axe_backup_max_age_seconds in:\n${lines.join('\n')}`);
  const evalSeconds = maxAge + 20 * 60;
  const now = Date.now() / 1000;
  const series = lines.map((l) => {
    const [name, value] = l.split(' ') as [string, string];
    const v = Number(value);
    const shifted = l.startsWith('axe_backup_last_snapshot') && v > 0 ? Math.round(v - now + evalSeconds) : v;
    return { series: name, values: `${shifted}x${Math.ceil(evalSeconds / 60) + 5}` };
  });
  await using dir = await tempDir('backup-rule');
  // One expectation per customer/repository: promtool prints what fired when it differs.
  const test = { rule_files: [join(ROOT, 'deploy', 'prometheus', 'alerts.yml')], evaluation_interval: '1m', tests: [{ interval: '1m', input_series: series, alert_rule_test: [{ eval_time: `${evalSeconds}s`, alertname: 'BackupStale', exp_alerts: [] }] }] };
  await writeFile(join(dir.path, 'test.yml'), stringify(test));
  try {
    await exec('promtool', ['test', 'rules', join(dir.path, 'test.yml')]);
    return [];
  } catch (error) {
    const out = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`;
    const got = out.slice(out.indexOf('got:'));
    assert.ok(out.includes('got:'), out);
    return [...got.matchAll(/alertname="BackupStale", customer="([^"]+)",[^}]*repository="([^"]+)"/g)].map((m) => `BackupStale ${m[1]} ${m[2]}`).sort();
  }
}

/** Registers the backup tests; `get` gives the deploy lab once its `before` has run. */
export function backupTests(get: () => DeployLab): void {
  let lab: TestLab;
  let id = '';
  let password = '';
  const outputs: Array<{ stdout: string; stderr: string }> = [];
  let nasHost: HostConnection | null = null;
  let demoHost: HostConnection;
  let offsite = '';
  async function cli(args: string[]) {
    const result = await deployCli(args);
    outputs.push(result);
    return result;
  }

  describe('backup (lab, real restic)', () => {
    before(async () => {
      ({ lab, id, host: demoHost } = get());
      password = await onHost('cat ~/.axe/backup/password');
    });
    after(() => nasHost?.close());

    test('the off-box repository over sftp (another lab host, the demo host\'s own key): both observed, Healthy; unreadable is Degraded with the SSH fix', async (t) => {
      const started = Date.now();
      // The "NAS": the acme lab host's real sshd, reached from the demo host with the demo host's own key.
      const nas = lab.hosts.find((h) => h.name === lab.ids.acme)!;
      const pub = await onHost('mkdir -p ~/.ssh && chmod 700 ~/.ssh && { [ -f ~/.ssh/id_ed25519 ] || ssh-keygen -q -t ed25519 -N "" -C axe-backup -f ~/.ssh/id_ed25519; } && cat ~/.ssh/id_ed25519.pub');
      nasHost = await connect(sshTarget(nas), await labSshCredentials(lab.stateDir));
      assert.equal((await nasHost.exec(`printf '%s\\n' ${shellQuote(pub)} >> ~/.ssh/authorized_keys`)).code, 0);
      await onHost(`printf "Host nas\\n  HostName 127.0.0.1\\n  Port ${nas.port}\\n  User ${nas.user}\\n  IdentityFile ~/.ssh/id_ed25519\\n  BatchMode yes\\n  ConnectTimeout 10\\n" > ~/.ssh/config && chmod 600 ~/.ssh/config && ssh-keyscan -p ${nas.port} -t ed25519 127.0.0.1 2>/dev/null >> ~/.ssh/known_hosts`);
      // The host's own SSH reaches the NAS (what the customer's IT sets up): a plain login by key.
      const login = await demoHost.exec(`/bin/sh -c 'ssh nas echo reached 2>&1'`);
      assert.equal(login.stdout.trim(), 'reached', `ssh from the demo host to the NAS: ${login.stdout}${login.stderr}\n${await readFile(join(lab.stateDir, 'hosts', nas.name, 'sshd.log'), 'utf8').catch(() => 'no sshd.log')}`);
      const repository = `sftp:${nas.user}@nas:${nas.home}/restic/${id}`;
      offsite = `RESTIC_PASSWORD_FILE=$HOME/.axe/backup/password /usr/bin/restic -r ${repository}`;
      const configFile = lab.env.AXE_CONFIG!;
      const config = parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
      await writeFile(configFile, stringify({ ...config, backup: { ...(config.backup as object), offsite: { repository: `sftp:${nas.user}@nas:${nas.home}/restic/{customer}` } } }), { mode: 0o600 });

      const plan = await cli(['apply', id, '--only', 'backup']);
      assert.match(plan.stdout, /\+ push backup\.conf to ~\/\.axe\/backup/);
      assert.match(plan.stdout, /\+ take a snapshot of .* \(off-box: no snapshot in the off-box repository yet, max_age 26h\)/);
      const applied = await cli(['apply', id, '--only', 'backup', '--apply']);
      assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
      assert.match(backupRow(applied.stdout), /Synced\s+Healthy\s+Fresh: newest snapshot [0-9a-f]{8} \d+m old .*; off-box newest [0-9a-f]{8} 0m old, 1 snapshot\(s\)/);
      // On the NAS, as the NAS user: the repository restic made there, with the snapshot tagged offsite.
      assert.equal((await nasHost.exec(`/bin/sh -c 'test -f ~/restic/${id}/config && echo yes'`)).stdout.trim(), 'yes');
      const remote = JSON.parse(await onHost(`${offsite} snapshots --json`)) as Array<{ tags: string[] }>;
      assert.deepEqual(remote.map((s) => s.tags), [['axe', 'offsite']]);
      assert.match(await onHost('cat ~/.axe/backup/last-offsite-check'), /^ok=1$/m);
      const converged = await cli(['apply', id, '--only', 'backup']);
      assert.equal(converged.code, 0, `converged plans nothing:\n${converged.stdout}`);
      assert.match(backupRow(converged.stdout), /Synced\s+Healthy\s+Fresh: .*; off-box newest/);

      // The NAS no longer takes the host's key: nothing planned (a snapshot would not reach it), Degraded with the fix.
      await nasHost.exec(`/bin/sh -c 'cp ~/.ssh/authorized_keys ~/.ssh/authorized_keys.bak && grep -v axe-backup ~/.ssh/authorized_keys.bak > ~/.ssh/authorized_keys'`);
      try {
        const refused = await cli(['apply', id, '--only', 'backup']);
        assert.match(backupRow(refused.stdout), /Synced\s+Degraded\s+OffsiteUnreadable: .*restic cannot read the off-box repository sftp:\S+: .*(Permission denied|connection closed|unable to start the sftp session)/i);
        assert.match(refused.stdout, /! backup-offsite-unreadable: restic cannot read the off-box repository .*ssh -o BatchMode=yes/);
        assert.doesNotMatch(refused.stdout, /\+ take a snapshot/);
      } finally {
        await nasHost.exec(`/bin/sh -c 'mv ~/.ssh/authorized_keys.bak ~/.ssh/authorized_keys'`);
      }
      const back = await cli(['apply', id, '--only', 'backup']);
      assert.equal(back.code, 0, back.stdout);
      assert.match(backupRow(back.stdout), /Synced\s+Healthy/);
      t.diagnostic(`off-box test took ${Date.now() - started} ms`);
    });

    test('forgotten snapshots: Degraded backup-stale, BackupStale fires on the controller\'s metrics, the controller takes the catch-up snapshot (tag stale) and it recovers', async (t) => {
      const started = Date.now();
      await onHost(`${RESTIC} forget $(${RESTIC} snapshots --json | sed 's/"short_id":"\\([0-9a-f]*\\)"/\\n\\1\\n/g' | grep -x '[0-9a-f]\\{8\\}')`);
      const stale = await cli(['apply', id, '--only', 'backup']);
      assert.equal(stale.code, 2, stale.stdout);
      assert.match(backupRow(stale.stdout), /OutOfSync\s+Degraded\s+BackupStale: the repository holds no snapshot/);
      assert.match(stale.stdout, /! backup-stale: The backups of \w+ are stale \(no snapshot in the repository; max_age 26h\).*axe backup now/);
      assert.match(stale.stdout, /\+ take a snapshot of .* \(none in the repository\)/);

      // The controller on this lab, on what the operator's clone has (merged to main): demo observed only first,
      // every kind but the backup's (and what it depends on) suspended; acme suspended.
      const base = (await git(lab.repo, 'rev-parse', 'HEAD')).trim();
      const others = RECONCILERS.map((r) => r.kind).filter((k) => !['host', 'vault-items', 'backup'].includes(k));
      const policy = async (mode: string, message: string): Promise<void> => {
        const file = join(lab.repo, 'customers.yaml');
        const text = (await git(lab.repo, 'show', `${base}:customers.yaml`))
          .replace(`  ${id}:\n`, `  ${id}:\n    policy: { mode: ${mode}, suspend_kinds: [${others.join(', ')}] }\n`)
          .replace(`  ${lab.ids.acme}:\n`, `  ${lab.ids.acme}:\n    policy: { suspend: true }\n`);
        await writeFile(file, text);
        await git(lab.repo, 'commit', '-q', '-m', message, '--', 'customers.yaml');
        await git(lab.repo, 'push', '-qf', 'origin', 'HEAD:main');
      };
      await policy('observe', 'backup test: the controller observes demo');
      // Its own state dir: the CLI's checks against "the revision the controller runs" stay on the operator's clone.
      await using state = await tempDir('backup-controller');
      const { running, stop } = await openLabController(lab.env, { config: { state_dir: state.path } });
      try {
        const c = running.controller;
        const backupStatus = () => c.status(id).customers[0]?.resources.find((r) => r.kind === 'backup');
        await c.queue.idle();
        const degraded = backupStatus();
        assert.deepEqual([degraded?.health, degraded?.reason], ['Degraded', 'BackupStale'], JSON.stringify(degraded));
        assert.match(JSON.stringify(degraded), /backup-stale/);
        const firing = await backupAlerts(await (await fetch(`${running.url}/metrics`)).text());
        assert.deepEqual(firing, [`BackupStale ${id} local`], 'the real rule fires for the local repository only (the off-box one is fresh)');

        // demo in apply: the controller's own reconcile takes the snapshot.
        await policy('apply', 'backup test: the controller applies demo');
        await c.sync('manual');
        await c.queue.idle();
        const healthy = backupStatus();
        assert.deepEqual([healthy?.health, healthy?.reason], ['Healthy', 'Fresh'], JSON.stringify(healthy));
        const snaps = JSON.parse(await onHost(`${RESTIC} snapshots --json`)) as Array<{ tags: string[] }>;
        assert.deepEqual(snaps.map((s) => s.tags), [['axe', 'stale']], 'one catch-up snapshot, by the controller, tagged stale');
        assert.deepEqual(await backupAlerts(await (await fetch(`${running.url}/metrics`)).text()), [], 'BackupStale resolved');
      } finally {
        await stop();
        // The operator's clone as it was (the CLI reads it): only customers.yaml was committed.
        await git(lab.repo, 'reset', '-q', '--soft', base);
        await git(lab.repo, 'checkout', '-q', base, '--', 'customers.yaml');
      }
      t.diagnostic(`controller stale test took ${Date.now() - started} ms`);

      const now = await cli(['backup', 'now', id, '--json']);
      assert.equal(now.code, 0, now.stderr);
      const taken = JSON.parse(now.stdout) as { snapshot: string };
      assert.match(taken.snapshot, /^[0-9a-f]{8}$/);
      assert.match(await onHost(`${RESTIC} snapshots --json latest`), new RegExp(`"tags":\\["axe","now"\\].*"short_id":"${taken.snapshot}"`));
    });

    test('a migrating release with the repository unreadable stops before its hook, the old release serving', async () => {
      const serving = JSON.parse((await fetchPublic('/frame/version')).body) as { version: string };
      const ref = `v${serving.version}`;
      const other = ref === 'v1.1.0' ? 'v1.0.0' : 'v1.1.0';
      const since = Date.now();
      await onHost('chmod 000 ~/.axe/backup/repo/keys');
      try {
        await editManifest('frame', (text) => text.replace(`ref: ${ref}`, `ref: ${other}`));
        const plan = await cli(['apply', id, '--only', 'backup']);
        assert.match(plan.stdout, /! backup-repo-unreadable: restic cannot read the backup repository/);
        const stopped = await cli(['deploy', 'frame', id, '--apply']);
        assert.equal(stopped.code, 1, stopped.stdout);
        assert.match(`${stopped.stdout}\n${stopped.stderr}`, /frame: release stopped before the migrating hook migrate: no snapshot: restic cannot read the backup repository \(.+\); left: the running release untouched, still serving/);
        assert.doesNotMatch(stopped.stderr, /blue\/green: bring up/, 'nothing of the release ran');
        assert.equal(JSON.parse((await fetchPublic('/frame/version')).body).version, serving.version, 'the old release serves');
        assert.equal(await onHost('cd ~/.axe/stacks/frame && git describe --tags --exact-match HEAD'), ref, 'the checkout untouched');
        assert.equal((await hookLog(id)).filter((e) => e.hook === 'migrate' && Date.parse(e.at) >= since).length, 0, 'the hook did not run');
      } finally {
        await onHost('chmod 700 ~/.axe/backup/repo/keys');
        await editManifest('frame', (text) => text.replace(`ref: ${other}`, `ref: ${ref}`));
      }
    });

    test('axe backup verify: the drill restores, checks and loads the dump; a corrupted pack file fails it with the reason', async () => {
      const ok = await cli(['backup', 'verify', id, '--json']);
      assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
      const json = JSON.parse(ok.stdout) as { ok: boolean; steps: string[]; detail: string };
      assert.equal(json.ok, true);
      assert.match(json.detail, /^restic check ok, restored [0-9a-f]{8}, 1 volume\(s\) read back, 1 dump\(s\) loaded into a throwaway container; scratch removed$/);
      assert.equal(json.steps[0], 'restic check');
      assert.ok(json.steps.some((s) => /^load frame\.sql into a throwaway axelab-frame-postgres:v1\.\d\.0-dump1-rot1-hc1 container$/.test(s)), json.steps.join('; '));
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
}
