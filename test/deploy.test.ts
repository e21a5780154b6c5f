/**
 * `axe deploy` end to end in an isolated lab (test/deploy-fixture.ts): a
 * sovereign customer refused, a fresh customer deployed from its pack and a
 * no-op plan after it, the vault patched once, a blue/green swap under a 50 ms
 * public poller with no failed request, a broken release rolled back.
 * test/deploy-drift.test.ts has the rest (failed plain stack, rotated token,
 * drift, ingress, pull mode) in a lab of its own.
 *
 * One lab for the file; the tests run in order and build on each other.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { container, deployCli, docker, editManifest, fetchPublic, onHost, poll, startDeployLab, stopDeployLab } from './deploy-fixture.js';
import type { TestLab } from './lab-fixture.js';

let lab: TestLab;
let id = '';
let sovereign = '';
let packSecrets: string[] = [];

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
  ({ lab, id, sovereign, packSecrets } = await startDeployLab());
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
