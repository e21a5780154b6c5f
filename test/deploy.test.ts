/**
 * `axe deploy` end to end in an isolated lab (test/deploy-fixture.ts): a
 * sovereign customer refused, a fresh customer deployed from its pack and a
 * no-op plan after it, the vault patched once, a blue/green swap under a 50 ms
 * public poller with no failed request, a broken release rolled back; then,
 * on the customer that deploy left converged, a plain stack whose compose up
 * fails rolled back, a rotated frame MCP token, drift on the host (a stopped
 * container, an edited env file, a removed network), a frame proxy routing to
 * the wrong color (ingress), pull-mode secrets on the host.
 *
 * Then the runbook's day two (test/day-two.ts) and the backups
 * (test/backup-lab.ts) on the same customer.
 *
 * One lab for the file (one lab start and one D-day deploy, not three); the
 * tests run in order and build on each other.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { HostConnection } from '../providers/host/ssh.js';
import { container, deployCli, docker, editManifest, fetchPublic, onHost, poll, startDeployLab, stopDeployLab } from './deploy-fixture.js';
import { backupRow, backupTests, hookLog, RESTIC } from './backup-lab.js';
import { dayTwoTests } from './day-two.js';
import { untagServiceImages } from './prepare-lab.js';
import type { DeployLab } from './deploy-fixture.js';
import type { TestLab } from './lab-fixture.js';

let lab: TestLab;
let id = '';
let sovereign = '';
let packSecrets: string[] = [];
let host: HostConnection;
let deployLab: DeployLab;

/** No secret of the pack (nor the generated ones on the host's env files) in any of these outputs. */
function assertNoSecret(results: ReadonlyArray<{ stdout: string; stderr: string }>): void {
  for (const value of packSecrets) {
    for (const r of results) assert.ok(!r.stdout.includes(value) && !r.stderr.includes(value), 'a secret value reached the output');
  }
}

/** The frame-mcp colors' vars from the manifest (env.services), besides what the compose file sets itself: one PII passphrase per entity (the demo's one entity is its id). */
const frameMcpVars = () => ['AXE_CUSTOMER', 'AZURE_AD_CLIENT_ID', 'AZURE_AD_CLIENT_SECRET', 'AZURE_AD_TENANT_ID', `FRAME_PII_PASSPHRASE_${id.toUpperCase()}`, 'FRAME_PUBLIC_URL', 'POSTGRES_PASSWORD'];

/**
 * The names of the vars a container was given by axe (its Config.Env less the
 * image's own and what the compose file's `environment:` sets); values never leave docker.
 */
async function envNames(service: string, project: string): Promise<string[]> {
  const id = await container(service, project);
  assert.ok(id, `${service} in ${project}`);
  const names = (format: string) => docker('inspect', '--format', format, id).then((out) => out.split('\n').filter(Boolean).map((l) => l.slice(0, l.indexOf('='))));
  const image = new Set(await docker('inspect', '--format', '{{.Config.Image}}', id).then((img) => docker('image', 'inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', img)).then((out) => out.split('\n').filter(Boolean).map((l) => l.slice(0, l.indexOf('=')))));
  const own = new Set(['COLOR', 'FRAME_DATA_DIR', 'PGDATA', 'PROXY_STATE_FILE', 'HIVE_DATA_DIR', 'BLUEPRINT_DATA_DIR']);
  return (await names('{{range .Config.Env}}{{println .}}{{end}}')).filter((n) => !image.has(n) && !own.has(n)).sort();
}

before(async () => {
  // Images built from older stand-in sources go first (test/prepare-lab.ts); test/run.sh has done it
  // before the first lab file, and the files before this one built them anew from the current sources.
  if (process.env.AXE_TEST_LAB_PREPARED !== '1') await untagServiceImages();
  deployLab = await startDeployLab();
  ({ lab, id, sovereign, packSecrets, host } = deployLab);
});

after(stopDeployLab);

describe('axe deploy (lab)', () => {
  test('a sovereign customer is refused with the exact message, nothing touched', async () => {
    const result = await deployCli(['deploy', 'frame', sovereign, '--apply']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`service frame is not declared for ${sovereign}`));
    assert.match(result.stderr, /sovereign/);
    const all = await deployCli(['deploy', 'customer', sovereign, '--apply']);
    assert.equal(all.code, 1);
    assert.match(all.stderr, new RegExp(`no service is declared for ${sovereign}`));
    assert.equal(await docker('ps', '-aq', '--filter', `label=ai.axelabs.axe.customer=${sovereign}`), '');
  });

  test('deploy customer --from-pack --apply: frame, blueprint, hive and the vault healthy, entities registered, public endpoints answer; then the plan is empty', async (t) => {
    // Without --apply: one plan, made as if the pack were ingested (its secrets count as present); nothing changes.
    const dry = await deployCli(['deploy', 'customer', id, '--from-pack', join(lab.stateDir, 'pack.json')]);
    assert.equal(dry.code, 2, `${dry.stdout}\n${dry.stderr}`);
    assert.match(dry.stdout, /\+ blueprint: render \.env\.local/);
    assert.doesNotMatch(dry.stdout, /AZURE_.*_CLIENT_SECRET.*missing|EnvBlocked/);
    assert.equal(await onHost('ls -A ~/.axe'), 'vault', 'nothing written on the host');
    assert.equal(await docker('ps', '-aq', '--filter', `label=ai.axelabs.axe.customer=${id}`), '');
    const started = Date.now();
    const result = await deployCli(['deploy', 'customer', id, '--from-pack', join(lab.stateDir, 'pack.json'), '--apply']);
    t.diagnostic(`deploy customer took ${Date.now() - started} ms`);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    // One plan first, then the work.
    const planAt = result.stdout.indexOf('Applying them now.');
    assert.ok(planAt > 0 && result.stdout.indexOf('Applied ') > planAt, result.stdout);
    assert.match(result.stdout, /\+ frame: compose up --wait/);
    for (const kind of ['stack', 'vaultwarden', 'entities', 'ingress', 'endpoints']) assert.match(result.stdout, new RegExp(`\\n  ${kind}\\s+Synced\\s+Healthy`), `${kind} not healthy:\n${result.stdout}`);
    // No secret value in any output.
    const generated = await onHost(`grep -h -E "^(POSTGRES_PASSWORD|NEXTAUTH_SECRET|FRAME_MCP_TOKEN|AZURE_AD_CLIENT_SECRET)=" ~/.axe/stacks/*/.env.local | cut -d= -f2-`);
    for (const value of [...packSecrets, ...generated.split('\n')]) {
      assert.ok(value.length > 8);
      assert.ok(!result.stdout.includes(value) && !result.stderr.includes(value), 'a secret value reached the output');
    }
    assert.equal(await onHost('stat -c %a ~/.axe/stacks/frame/.env.local ~/.axe/stacks/blueprint/.env.local ~/.axe/stacks/hive/.env.local | sort -u'), '600');

    // The backup (after the stacks): the restic password pushed 0600 and in no output, the repository made, the
    // schedule running without the controller, a first snapshot holding the dump taken in the container and the volume.
    assert.match(result.stdout, /✓ push the restic password from the vault \(BACKUP_\w+_RESTIC_PASSWORD; missing on the host\), mode 0600/);
    assert.match(result.stdout, /✓ initialise the restic repository/);
    assert.match(result.stdout, /✓ install the backup schedule as a detached loop/);
    assert.match(result.stdout, /✓ take a snapshot of dump frame\.sql, volume axe-\w+-frame-data \(none in the repository\)/);
    assert.match(backupRow(result.stdout), /Synced\s+Healthy\s+Fresh: newest snapshot [0-9a-f]{8} 0m old \(max_age 26h\), 1 snapshot/);
    const password = await onHost('cat ~/.axe/backup/password');
    assert.ok(password.length >= 32);
    assert.ok(!result.stdout.includes(password) && !result.stderr.includes(password), 'the restic password reached the output');
    assert.equal(await onHost('stat -c %a ~/.axe/backup/password'), '600');
    assert.match(await onHost('kill -0 "$(cat ~/.axe/backup/schedule.pid)" && echo running'), /running/, 'the schedule runs without the controller');
    assert.deepEqual((JSON.parse(await onHost(`${RESTIC} snapshots --json`)) as Array<{ tags: string[] }>).map((s) => s.tags), [['axe', 'first']]);
    const files = await onHost(`${RESTIC} ls latest`);
    assert.match(files, /\/dumps\/frame\.sql$/m);
    assert.match(files, /\/volumes\/axe-\w+-frame-data\.tar$/m);

    // Each container gets only the vars its manifest gives it (env.services), from its own 0600 file: Postgres
    // and the proxy never carry the Entra client secret. Names only are compared, never values.
    assert.deepEqual(await envNames('postgres', `${id}-frame`), ['POSTGRES_PASSWORD']);
    assert.deepEqual(await envNames('axe-frame-proxy', `${id}-frame`), []);
    assert.deepEqual(await envNames('frame-mcp-blue', `${id}-frame`), frameMcpVars());
    assert.deepEqual(await envNames('blueprint', `${id}-blueprint`), ['AXE_CUSTOMER', 'AZURE_AD_CLIENT_ID', 'AZURE_AD_CLIENT_SECRET', 'AZURE_AD_TENANT_ID', 'FRAME_MCP_TOKEN', 'NEXTAUTH_SECRET', 'NEXTAUTH_URL']);
    assert.deepEqual(await envNames('hive-mcp', `${id}-hive`), ['AXE_CUSTOMER', 'HIVE_FRAME_URL', `HIVE_PII_PASSPHRASE_${id.toUpperCase()}`]);
    assert.equal(await onHost('stat -c %a ~/.axe/stacks/*/.env.axe.* | sort -u'), '600');
    assert.equal(await onHost('ls -A ~/.axe/stacks/frame | grep "^.env.axe." | tr "\\n" " "'), '.env.axe.axe-frame-proxy .env.axe.frame-mcp-blue .env.axe.frame-mcp-green .env.axe.postgres');

    // Containers carry our labels; the frame proxy serves blue.
    const labels = await docker('inspect', '--format', '{{index .Config.Labels "ai.axelabs.axe.customer"}} {{index .Config.Labels "ai.axelabs.axe.ref"}}', await container('hive-mcp', `${id}-hive`));
    assert.equal(labels, `${id} v1.0.0`);
    const frame = await fetchPublic('/frame/version');
    assert.equal(frame.status, 200);
    assert.deepEqual({ color: JSON.parse(frame.body).color, version: JSON.parse(frame.body).version }, { color: 'blue', version: '1.0.0' });
    for (const path of ['/frame/health', '/api/health', '/vault/alive']) assert.equal((await fetchPublic(path)).status, 200, path);
    // Entities: registered once in frame and in hive.
    const frameEntities = JSON.parse(await docker('exec', await container('frame-mcp-blue', `${id}-frame`), 'frame', 'list-entities', '--json')) as Array<{ id: string }>;
    const hiveEntities = JSON.parse(await docker('exec', await container('hive-mcp', `${id}-hive`), 'hive', 'list-entities', '--json')) as Array<{ id: string }>;
    assert.deepEqual(frameEntities.map((e) => e.id), [id]);
    assert.deepEqual(hiveEntities.map((e) => e.id), [id]);
    // The vault: patched in place, serving under /vault with the four keys.
    const compose = await onHost('cat ~/.axe/vault/docker-compose.yml');
    assert.match(compose, /SSO_SIGNUPS_MATCH_EMAIL: "true"\n\s+SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION: "true"/);
    assert.match(compose, /# Customer vault \(Vaultwarden\)/, 'the rest of the file is kept');
    const config = JSON.parse((await fetchPublic('/vault/lab/config')).body) as { DOMAIN: string; keys: Record<string, { value: string }> };
    assert.equal(config.DOMAIN, `https://${id}.axelabs.ai/vault`);
    assert.equal(config.keys.SSO_ONLY?.value, 'false');

    const plan = await lab.axe(['plan', id]);
    assert.equal(plan.code, 0, `${plan.stdout}\n${plan.stderr}`);
    assert.match(plan.stdout, /Plan: 0 change\(s\)/);
    assertNoSecret([dry, plan]);
  });

  test('vault bootstrap: its Entra SSO settings reached the vault (0600 env file, client id, secret by sha256); untouched when the keys are there; SSO_ONLY=true is seen, patched and recreated once', async () => {
    const startedAt = async () => JSON.parse((await fetchPublic('/vault/lab/started')).body).started as string;
    // Its Entra SSO settings reached the vault (the deploy rendered them): the env file beside the compose file,
    // 0600, named under env_file; the running container has the pack's client id and secret (compared by sha256).
    const pack = JSON.parse(await readFile(join(lab.stateDir, 'pack.json'), 'utf8')) as { tenant_id: string; apps: { vaultwarden: { client_id: string; client_secret: string } } };
    assert.equal(await onHost('stat -c %a ~/.axe/vault/.env.axe'), '600');
    assert.match(await onHost('cat ~/.axe/vault/docker-compose.yml'), /env_file: \["\.env\.axe"\]/);
    assert.doesNotMatch(await onHost('cat ~/.axe/vault/docker-compose.yml'), /SSO_CLIENT_SECRET/, 'no SSO secret key left in the compose file');
    const vaultEnv = new Map((await docker('inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', await container('axe-vaultwarden', `${id}-vault`))).split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
    const sum = (v: string | undefined) => createHash('sha256').update(v ?? '').digest('hex');
    assert.equal(vaultEnv.get('SSO_CLIENT_ID'), pack.apps.vaultwarden.client_id);
    assert.equal(vaultEnv.get('SSO_AUTHORITY'), `https://login.microsoftonline.com/${pack.tenant_id}/v2.0`);
    assert.equal(vaultEnv.get('SSO_ENABLED'), 'true');
    assert.ok((vaultEnv.get('SSO_CLIENT_SECRET') ?? '') !== '' && sum(vaultEnv.get('SSO_CLIENT_SECRET')) === sum(pack.apps.vaultwarden.client_secret), "the vault's SSO_CLIENT_SECRET is not the pack's (values not shown)");
    vaultEnv.clear();
    const first = await startedAt();
    const noop = await deployCli(['vault', 'bootstrap', id, '--apply']);
    assert.equal(noop.code, 0, noop.stderr);
    assert.match(noop.stdout, /Applied 0 change\(s\)/);
    assert.equal(await startedAt(), first, 'no recreate when nothing changed');

    await onHost(`sed -i 's/SSO_ONLY:\\( *\\)"false"/SSO_ONLY:\\1"true"/' ~/.axe/vault/docker-compose.yml`);
    const plan = await deployCli(['vault', 'bootstrap', id]);
    assert.equal(plan.code, 2);
    assert.match(plan.stdout, /SSO_ONLY "false" \(was "true"\)/);
    assertNoSecret([plan]);
    const fixed = await deployCli(['vault', 'bootstrap', id, '--apply']);
    assert.equal(fixed.code, 0, fixed.stderr);
    const second = await startedAt();
    assert.notEqual(second, first, 'recreated after the patch');
    const again = await deployCli(['vault', 'bootstrap', id, '--apply']);
    assert.match(again.stdout, /Applied 0 change\(s\)/);
    assert.equal(await startedAt(), second);
  });

  test('a new frame ref: blue/green swap under a 50 ms public poller, 0 failed requests', async (t) => {
    await editManifest('frame', (text) => text.replace('ref: v1.0.0', 'ref: v1.1.0'));
    const poller = poll();
    await new Promise((r) => setTimeout(r, 500));
    const result = await deployCli(['deploy', 'frame', id, '--apply']);
    await new Promise((r) => setTimeout(r, 500));
    const summary = await poller.stop();
    t.diagnostic(`swap under load: ${summary.ok} requests, ${summary.failed} failed, seen ${summary.seen.join(' → ')}`);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /bring up frame-mcp-green at v1.1.0/);
    // frame's migrate hook is migrating: a snapshot is taken, and waited for, before it runs.
    const gateAt = result.stderr.indexOf('take a backup snapshot and wait for it');
    assert.ok(gateAt >= 0 && gateAt < result.stderr.indexOf('blue/green: bring up'), `snapshot before the swap:\n${result.stderr}`);
    const pre = (JSON.parse(await onHost(`${RESTIC} snapshots --json --tag pre-release`)) as Array<{ time: string }>).map((s) => Date.parse(s.time.replace(/(\.\d{3})\d+/, '$1')));
    assert.equal(pre.length, 1, 'one pre-release snapshot');
    const migrated = (await hookLog(id)).filter((e) => e.hook === 'migrate' && e.version === '1.1.0');
    assert.equal(migrated.length, 1, 'the migrate hook ran once for 1.1.0');
    assert.ok(pre[0]! < Date.parse(migrated[0]!.at), `snapshot ${new Date(pre[0]!).toISOString()} before the hook ${migrated[0]!.at}`);
    assert.equal(summary.failed, 0, `failed requests: ${summary.errors.slice(0, 5).join(', ')}`);
    assert.ok(summary.ok >= 40, `too few requests: ${summary.ok}`);
    assert.deepEqual(summary.seen, ['blue@1.0.0', 'green@1.1.0']);
    assert.equal(await docker('inspect', '--format', '{{.State.Status}}', await container('frame-mcp-blue', `${id}-frame`)), 'exited');
    assert.deepEqual(await envNames('frame-mcp-green', `${id}-frame`), frameMcpVars(), 'the other color gets the same vars');
    const plan = await deployCli(['deploy', 'frame', id]);
    assert.equal(plan.code, 0, plan.stdout);
  });

  test('a release that never gets healthy: rolled back, the old color keeps serving, Degraded with the reason', async (t) => {
    await editManifest('frame', (text) => text.replace('ref: v1.1.0', 'ref: v1.2.0-broken').replace('timeout_seconds: 120', 'timeout_seconds: 6'));
    const poller = poll();
    const result = await deployCli(['deploy', 'frame', id, '--apply']);
    const summary = await poller.stop();
    t.diagnostic(`broken release: ${summary.ok} requests, ${summary.failed} failed`);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /stack\s+OutOfSync\s+Degraded\s+RolledBack: .*frame-mcp-blue at v1.2.0-broken never became healthy .*green keeps serving/);
    assert.match(result.stderr, /deploy frame .*: stack not done/);
    assert.equal(summary.failed, 0, summary.errors.slice(0, 5).join(', '));
    assert.deepEqual(summary.seen, ['green@1.1.0']);
    assert.equal(await container('frame-mcp-blue', `${id}-frame`), '', 'the failed color is removed');
    // The checkout and env file are what the serving color runs; the plan still wants the new ref.
    assert.equal(await onHost('cd ~/.axe/stacks/frame && git describe --tags --exact-match HEAD'), 'v1.1.0');
    assert.equal(await onHost('grep ^AXE_REF= ~/.axe/stacks/frame/.env.local && stat -c %a ~/.axe/stacks/frame/.env.local'), 'AXE_REF=v1.1.0\n600');
    const honest = await deployCli(['deploy', 'frame', id]);
    assert.equal(honest.code, 2, honest.stdout);
    assert.match(honest.stdout, /frame: fetch and check out v1\.2\.0-broken/);
    assert.match(honest.stdout, /bring up frame-mcp-blue at v1\.2\.0-broken/);

    // Back to the good ref: the checkout and env are restored, no swap needed.
    await editManifest('frame', (text) => text.replace('ref: v1.2.0-broken', 'ref: v1.1.0').replace('timeout_seconds: 6', 'timeout_seconds: 120'));
    const back = await deployCli(['deploy', 'frame', id, '--apply']);
    assert.equal(back.code, 0, `${back.stdout}\n${back.stderr}`);
    assert.doesNotMatch(back.stdout, /blue\/green/);
    const plan = await deployCli(['deploy', 'frame', id]);
    assert.equal(plan.code, 0, plan.stdout);
  });
});

describe('axe deploy after a good deploy (lab)', () => {
  test('a plain stack whose compose up --wait fails: rolled back to the previous ref, env and containers; Degraded with the step; the error says what was left', async () => {
    const hiveBefore = await container('hive-mcp', `${id}-hive`);
    await editManifest('hive', (text) => text.replace('ref: v1.0.0', 'ref: v1.1.0').replace('HIVE_FRAME_URL:', 'AXE_LAB_FAIL_HEALTH: { value: "1" }\n    HIVE_FRAME_URL:').replace('hive-mcp: [', 'hive-mcp: [AXE_LAB_FAIL_HEALTH, ').replace(/(health:\n  inside: .*\n)/, '$1  timeout_seconds: 8\n'));
    const restore = () => editManifest('hive', (text) => text.replace('ref: v1.1.0', 'ref: v1.0.0').replace('    AXE_LAB_FAIL_HEALTH: { value: "1" }\n', '').replace('hive-mcp: [AXE_LAB_FAIL_HEALTH, ', 'hive-mcp: [').replace('  timeout_seconds: 8\n', ''));
    try {
      const result = await deployCli(['deploy', 'hive', id, '--apply']);
      assert.equal(result.code, 1, result.stdout);
      // Compose's `up --wait` fails on the unhealthy container; once in a while Compose 2.26 returns 0 while the
      // recreated container's health is still `starting`, and axe's own health gate (the next step) catches it.
      assert.match(
        result.stdout,
        /stack\s+OutOfSync\s+Degraded\s+RolledBack: .*hive: step (compose up failed for v1\.1\.0 \(.*hive-mcp .*health .*\)|health failed for v1\.1\.0 \(\/health\/ready on port 8090 did not answer 2xx\)); rolled back, v1\.0\.0 serves again \(checkout, env file and containers restored\); fix the release or its env in services\/hive\.yaml/,
      );
      assert.match(result.stderr, /deploy hive .*: stack not done/);
      // The previous good state serves: v1.0.0 containers healthy, checkout and env file back.
      const hive = await container('hive-mcp', `${id}-hive`);
      assert.notEqual(hive, hiveBefore, 'compose recreated the old container');
      assert.equal(await docker('inspect', '--format', '{{.State.Health.Status}} {{index .Config.Labels "ai.axelabs.axe.ref"}}', hive), 'healthy v1.0.0');
      assert.equal(await onHost('cd ~/.axe/stacks/hive && git describe --tags --exact-match HEAD'), 'v1.0.0');
      assert.equal(await onHost('grep -c -e ^AXE_LAB_FAIL_HEALTH= -e ^AXE_REF=v1.1.0 ~/.axe/stacks/hive/.env.local || true'), '0');
    } finally {
      // Back to the good manifest (also when an assertion failed, so the next tests start from it): nothing to do.
      await restore();
    }
    const plan = await deployCli(['deploy', 'hive', id]);
    assert.equal(plan.code, 0, plan.stdout);
  });

  test("a rotated frame MCP token: blueprint's env and container are drift, shown masked and corrected", async () => {
    const frameCtr = (await docker('ps', '-q', '--filter', `label=com.docker.compose.project=${id}-frame`, '--filter', 'label=com.docker.compose.service=frame-mcp-green')) || (await container('frame-mcp-blue', `${id}-frame`));
    const old = await docker('exec', frameCtr, 'frame', 'mcp-token');
    await docker('exec', frameCtr, 'rm', '-f', '/data/mcp-token');
    const token = await docker('exec', frameCtr, 'frame', 'mcp-token');
    assert.notEqual(token, old);
    const plan = await lab.axe(['plan', id]);
    assert.equal(plan.code, 2, plan.stdout);
    assert.match(plan.stdout, /\+ blueprint: render \.env\.local .*FRAME_MCP_TOKEN is not the value frame's frame_mcp_token hook gives now \(value masked\)/);
    assert.match(plan.stdout, /\+ blueprint: compose up --wait .*blueprint \(FRAME_MCP_TOKEN changed\)/);
    assert.ok(!plan.stdout.includes(token) && !plan.stdout.includes(old) && !plan.stderr.includes(token), 'a token value reached the plan');
    const apply = await deployCli(['deploy', 'blueprint', id, '--apply']);
    assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}`);
    assert.ok(!apply.stdout.includes(token) && !apply.stderr.includes(token));
    const env = await docker('inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', await container('blueprint', `${id}-blueprint`));
    assert.ok(env.split('\n').includes(`FRAME_MCP_TOKEN=${token}`), 'the blueprint container runs with the token frame issues now');
    const again = await deployCli(['deploy', 'blueprint', id]);
    assert.equal(again.code, 0, again.stdout);
  });

  test('drift: a stopped container, an edited env file, a removed network: seen by plan, corrected by apply', async () => {
    const hive = await container('hive-mcp', `${id}-hive`);
    await docker('stop', '-t', '1', hive);
    await docker('network', 'rm', `${id}-hive_default`);
    const before = await onHost('sha256sum ~/.axe/stacks/blueprint/.env.local | cut -d" " -f1');
    await onHost(`sed -i 's/^AXE_REF=.*/AXE_REF=edited-by-hand/' ~/.axe/stacks/blueprint/.env.local && chmod 644 ~/.axe/stacks/blueprint/.env.local`);

    const plan = await lab.axe(['plan', id]);
    assert.equal(plan.code, 2, plan.stdout);
    assert.match(plan.stdout, /\+ blueprint: render \.env\.local .*on the host sha256:/);
    assert.match(plan.stdout, /\+ hive: compose up --wait .*hive-mcp \(exited, recreated: its network was removed\)/);
    assert.doesNotMatch(plan.stdout, /edited-by-hand/);
    const apply = await lab.axe(['apply', id, '--apply']);
    assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}`);
    assert.equal(await onHost('sha256sum ~/.axe/stacks/blueprint/.env.local | cut -d" " -f1'), before);
    assert.equal(await onHost('stat -c %a ~/.axe/stacks/blueprint/.env.local'), '600');
    assert.equal(await docker('inspect', '--format', '{{.State.Status}}', await container('hive-mcp', `${id}-hive`)), 'running');
    const again = await lab.axe(['plan', id]);
    assert.equal(again.code, 0, again.stdout);
  });

  test("ingress: a frame proxy whose state was edited by hand routes /frame to a color that is not running; seen, switched back to axe's active color, nothing else moved", async () => {
    const proxy = await container('axe-frame-proxy', `${id}-frame`);
    const active = (await docker('exec', proxy, 'frame-proxy-switch')).trim();
    assert.match(active, /^frame-mcp-(blue|green)$/);
    const [color, other] = active === 'frame-mcp-blue' ? ['blue', 'green'] : ['green', 'blue'];
    const serving = await container(active, `${id}-frame`);
    assert.equal(await container(`frame-mcp-${other}`, `${id}-frame`), '', 'the idle color has no container');
    // A hand edit (or a restore) of the proxy's state volume: it now routes to the idle color, which is not running.
    await docker('exec', proxy, 'sh', '-c', `echo frame-mcp-${other} > /state/active`);
    assert.equal((await fetchPublic('/frame/version')).status, 502, 'public /frame is down');
    const plan = await lab.axe(['plan', id, '--only', 'ingress']);
    assert.equal(plan.code, 2, plan.stdout);
    assert.match(plan.stdout, new RegExp(`ingress\\s+OutOfSync\\s+Degraded\\s+RoutedToDownColor: /frame: axe-frame-proxy routes to frame-mcp-${other}, which is not running`));
    assert.match(plan.stdout, new RegExp(`/frame: axe-frame-proxy routes to frame-mcp-${other}, axe's active color is ${active} \\(running\\): switch axe-frame-proxy back to ${color}`));
    assert.doesNotMatch(plan.stdout, /stack\s+OutOfSync/, 'the colors are not the stack kind\'s to move');
    const apply = await lab.axe(['apply', id, '--apply']);
    assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}`);
    assert.match(apply.stdout, new RegExp(`\\n  ingress\\s+Synced\\s+Healthy\\s+Routed: /frame → axe-frame-proxy → ${active}`));
    const frame = await fetchPublic('/frame/version');
    assert.equal(frame.status, 200);
    assert.equal(JSON.parse(frame.body).color, color);
    assert.equal(await container(active, `${id}-frame`), serving, 'the serving color kept, not recreated');
    assert.equal(await container(`frame-mcp-${other}`, `${id}-frame`), '', 'the idle color not started');
    const again = await lab.axe(['plan', id]);
    assert.equal(again.code, 0, again.stdout);
  });

  test("pull mode (env.secrets: pull): the host's bw session is observed; missing, wrong mode, not unlocked are named traps with the instruction for the customer's IT; nothing is pushed", async () => {
    await editManifest('blueprint', (text) => text.replace('  file: .env.local\n', '  file: .env.local\n  secrets: pull\n'));
    const envBefore = await onHost('sha256sum ~/.axe/stacks/blueprint/.env.local | cut -d" " -f1');
    const missing = await deployCli(['deploy', 'blueprint', id, '--apply']);
    assert.equal(missing.code, 1, missing.stdout);
    assert.match(missing.stdout, /stack\s+Synced\s+Degraded\s+HostSessionUnusable: blueprint: the next deploy cannot pull its secrets/);
    assert.match(missing.stdout, new RegExp(`host-bw-session-missing.*no bw session at ~/\\.bw-session.*bw config server https://${id}\\.axelabs\\.ai/vault; bw login; \\(umask 077; bw unlock --raw > ~/\\.bw-session\\)`));
    const session = `s-${randomBytes(16).toString('base64url')}`;
    await host.writeFile('~/.bw-session', session, 0o644);
    const mode = await deployCli(['deploy', 'blueprint', id]);
    assert.match(mode.stdout, /host-bw-session-mode.*~\/\.bw-session on the Mac mini is mode 644, not 0600/);
    await onHost('chmod 600 ~/.bw-session');
    // The lab's bw is the real CLI, never logged in: the session cannot unlock anything.
    await onHost('echo "AXE_REF=edited-by-hand" >> ~/.axe/stacks/blueprint/.env.local');
    const locked = await deployCli(['deploy', 'blueprint', id, '--apply']);
    assert.match(locked.stdout, /host-bw-session-locked.*no longer unlocks its vault \(bw status: unauthenticated\)/);
    assert.match(locked.stdout, /Applied 0 change\(s\)/, 'no render without a usable session');
    for (const out of [missing, mode, locked]) assert.ok(!out.stdout.includes(session) && !out.stderr.includes(session), 'the session value reached the output');
    await onHost('rm -f ~/.bw-session');
    await editManifest('blueprint', (text) => text.replace('  secrets: pull\n', ''));
    const back = await deployCli(['deploy', 'blueprint', id, '--apply']);
    assert.equal(back.code, 0, `${back.stdout}\n${back.stderr}`);
    assert.equal(await onHost('sha256sum ~/.axe/stacks/blueprint/.env.local | cut -d" " -f1'), envBefore);
  });
});

dayTwoTests(() => deployLab);
backupTests(() => deployLab);
