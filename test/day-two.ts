/**
 * The runbook's day two (D+1/D+2) as desired state, end to end, registered by
 * test/deploy.test.ts after its own tests and run in its lab (test/deploy-fixture.ts:
 * real sshd host, Docker, Compose v2, the Cloudflare emulator and edge, the service
 * stand-ins) on the customer those tests left converged: one lab start and one
 * D-day deploy for both. The tests run in order: the demo customer is handed off,
 * gets a new entity and admins by commits to the config repo, and a degraded stack
 * refuses the handoff. The Postgres password is rotated in between.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { startVaultEmulator } from '../lab/vault/index.js';
import { container, type DeployLab, deployCli, docker, onHost, poll } from './deploy-fixture.js';
import { git } from './helpers.js';
import type { TestLab } from './lab-fixture.js';

const exec = promisify(execFile);
let lab: TestLab;
let id = '';
let packSecrets: string[] = [];
const ENTITY = 'branch';

/** Edits customers.yaml in the operator's clone and commits it (what a merged pull request brings). */
async function commitCustomers(message: string, edit: (text: string) => string): Promise<void> {
  const file = join(lab.repo, 'customers.yaml');
  const before = await readFile(file, 'utf8');
  const text = edit(before);
  assert.notEqual(text, before, `the edit changed nothing: ${message}`);
  await writeFile(file, text);
  await git(lab.repo, 'commit', '-qam', message);
}

/** The demo customer's block: an edit applied only inside it. */
function inDemo(edit: (block: string) => string): (text: string) => string {
  return (text) => text.replace(new RegExp(`(\\n  ${id}:\\n[\\s\\S]*?)(\\n    onboarded:)`), (_all, block: string, tail: string) => edit(block) + tail);
}

/** The JSON lines a stand-in appended to its hooks log. */
async function hookLines(service: string, project: string, data = '/data'): Promise<Array<{ hook: string; result: string; args: Record<string, unknown> }>> {
  const text = await docker('exec', await container(service, project), 'cat', `${data}/hooks.log`).catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { hook: string; result: string; args: Record<string, unknown> });
}

/** The frame color the proxy serves. */
async function activeFrame(): Promise<string> {
  return docker('exec', await container('axe-frame-proxy', `${id}-frame`), 'cat', '/state/active').catch(() => 'frame-mcp-blue');
}

function assertNoSecret(results: ReadonlyArray<{ stdout: string; stderr: string }>, values: readonly string[]): void {
  for (const value of values) for (const r of results) assert.ok(!r.stdout.includes(value) && !r.stderr.includes(value), 'a secret value reached the output');
}

/** Every process's command line on this machine, sampled every 50 ms until stopped (the values must never be in one). */
function psSampler(): { stop(): Promise<{ samples: number; text: string }> } {
  const seen = new Set<string>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const out = await exec('ps', ['-eo', 'args']).then((r) => r.stdout, () => '');
      for (const l of out.split('\n')) seen.add(l);
      samples++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { samples, text: [...seen].join('\n') };
    },
  };
}

/** Registers the day-two tests; `get` gives the deploy lab once its `before` has run. */
export function dayTwoTests(get: () => DeployLab): void {
  describe('day two (lab)', () => {
    before(() => {
      ({ lab, id, packSecrets } = get());
    });

    test('handoff: printed for the healthy demo (ko text, en --json)', async () => {
      // deploy.test.ts left demo converged, frame on v1.1.0 (its swap; the broken release rolled back).
      const ko = await deployCli(['handoff', id]);
      assert.equal(ko.code, 0, `${ko.stdout}\n${ko.stderr}`);
      assert.match(ko.stdout, new RegExp(`SSO 직링크: https://${id}\\.axelabs\\.ai/vault/#/sso`));
      assert.match(ko.stdout, new RegExp(`SSO Identifier \\(조직 이름\\): ${id.toUpperCase()}`));
      assert.match(ko.stdout, new RegExp(`frame v1\\.1\\.0: https://${id}\\.axelabs\\.ai/frame\\n`));
      assert.match(ko.stdout, new RegExp(`blueprint v1\\.0\\.0: https://${id}\\.axelabs\\.ai/\\n`));
      assert.match(ko.stdout, /신규 직원 온보딩: https:\/\/docs\.axelabs\.ai\/onboard/);
      const en = await deployCli(['handoff', id, '--lang', 'en', '--json']);
      assert.equal(en.code, 0, en.stderr);
      const body = JSON.parse(en.stdout) as { ready: boolean; facts: { vaultSso: string }; message: string };
      assert.equal(body.ready, true);
      assert.equal(body.facts.vaultSso, `https://${id}.axelabs.ai/vault/#/sso`);
      assert.match(body.message, /Employee onboarding: https:\/\/docs\.axelabs\.ai\/onboard/);
      assertNoSecret([ko, en], packSecrets);
    });

    test('a new entity by commit: PR plan shows its passphrases, the stacks and the registration; apply generates both passphrases, frame swaps under a poller with no failed request, both services register it; plan clean after', async (t) => {
      await commitCustomers(`demo: entity ${ENTITY}`, inDemo((block) => block.replace(/entities: \["([^"]+)"\]/, `entities: ["$1", { id: "${ENTITY}", legal_name: "Demo Branch Ltd." }]`)));
      const token = ENTITY.toUpperCase();
      const names = [`FRAME_${id.toUpperCase()}_${token}_PII_PASSPHRASE`, `HIVE_${id.toUpperCase()}_${token}_PII_PASSPHRASE`];

      // The pull request's plan: the passphrases to generate (the runbook's trap named), then what they change.
      const pr = await deployCli(['plan', '--base', 'HEAD~1', '--head', 'HEAD', '--markdown']);
      assert.equal(pr.code, 2, `${pr.stdout}\n${pr.stderr}`);
      for (const name of names) assert.match(pr.stdout, new RegExp(`generate ${name}`));
      assert.match(pr.stdout, /pii-passphrase-missing/);
      assert.match(pr.stdout, new RegExp(`register ${ENTITY} \\(Demo Branch Ltd\\.\\) in frame`));
      assert.match(pr.stdout, new RegExp(`register ${ENTITY} \\(Demo Branch Ltd\\.\\) in hive`));

      const colorBefore = await activeFrame();
      const poller = poll();
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const applied = await deployCli(['apply', id, '--apply', '--only', 'vault-items,stack,entities']);
      t.diagnostic(`apply with the new entity took ${Date.now() - started} ms`);
      await new Promise((r) => setTimeout(r, 300));
      const summary = await poller.stop();
      t.diagnostic(`under the poller: ${summary.ok} requests, ${summary.failed} failed, seen ${summary.seen.join(' → ')}`);
      assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
      assert.equal(summary.failed, 0, `failed requests: ${summary.errors.slice(0, 5).join(', ')}`);
      assert.notEqual(await activeFrame(), colorBefore, 'frame swapped colors for its new env');
      assert.equal(summary.seen.length, 2, `served by both colors in turn: ${summary.seen.join(' → ')}`);

      // Both passphrases exist in the vault, by name.
      const list = await deployCli(['secret', 'list', '--customer', id, '--json']);
      const rows = (JSON.parse(list.stdout) as { secrets: Array<{ name: string; present: boolean }> }).secrets;
      for (const name of names) assert.equal(rows.find((r) => r.name === name)?.present, true, `${name} in the vault`);
      // Registered in both, each with its passphrase in its env; the PII operation works.
      const frameCtr = await container(await activeFrame(), `${id}-frame`);
      const hiveCtr = await container('hive-mcp', `${id}-hive`);
      const frameIds = (JSON.parse(await docker('exec', frameCtr, 'frame', 'list-entities', '--json')) as Array<{ id: string }>).map((e) => e.id);
      const hiveIds = (JSON.parse(await docker('exec', hiveCtr, 'hive', 'list-entities', '--json')) as Array<{ id: string }>).map((e) => e.id);
      assert.deepEqual([frameIds, hiveIds], [[id, ENTITY], [id, ENTITY]]);
      const registered = (await hookLines('hive-mcp', `${id}-hive`)).filter((l) => l.hook === 'register-entity' && l.args.id === ENTITY);
      assert.deepEqual(registered.map((l) => [l.result, l.args.pii]), [['created', true]], 'hive registered it once, with its passphrase present');
      assert.match(await docker('exec', frameCtr, 'frame', 'pii-check', '--id', ENTITY), /"result":"ok"/);
      assert.match(await docker('exec', hiveCtr, 'hive', 'pii-check', '--id', ENTITY), /"result":"ok"/);

      const plan = await deployCli(['plan', id, '--only', 'vault-items,stack,entities']);
      assert.equal(plan.code, 0, `${plan.stdout}\n${plan.stderr}`);
      const secrets = await onHost(`grep -h "_PII_PASSPHRASE_" ~/.axe/stacks/frame/.env.local ~/.axe/stacks/hive/.env.local | cut -d= -f2-`);
      assert.equal(secrets.split('\n').length, 4, 'two entities, two services');
      assertNoSecret([pr, applied, list, plan], [...packSecrets, ...secrets.split('\n')]);
    });

    test('admins: a new e-mail is granted once, a second pass does nothing; removal keeps the role under keep and demotes under demote-others', async () => {
      const project = `${id}-blueprint`;
      const changes = async () => (await hookLines('blueprint', project)).filter((l) => l.hook === 'set-role' && l.result === 'changed').map((l) => `${String(l.args.email)}:${String(l.args.to)}`);
      const it = `it@${id}.example.com`;
      const cfo = `cfo@${id}.example.com`;
      await commitCustomers('demo: admins', inDemo((block) => `${block}\n    admins: ["${it}", "${cfo}"]`));
      const first = await deployCli(['apply', id, '--apply', '--only', 'admins']);
      assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
      assert.deepEqual((await changes()).sort(), [`${cfo}:admin`, `${it}:admin`]);
      const second = await deployCli(['apply', id, '--apply', '--only', 'admins']);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /Applied 0 change\(s\)|admins\s+Synced\s+Healthy/);
      assert.equal((await changes()).length, 2, 'the second pass changed no role');

      // Removed from the list under keep (the default): still admin, named in the health; nothing planned.
      await commitCustomers('demo: cfo leaves the admins list', inDemo((block) => block.replace(`, "${cfo}"`, '')));
      const kept = await deployCli(['plan', id, '--only', 'admins']);
      assert.equal(kept.code, 0, kept.stdout);
      assert.match(kept.stdout, new RegExp(`also admin, kept \\(admins_policy keep\\): ${cfo.replace(/\./g, '\\.')} in blueprint`));
      // demote-others: the list is the whole set.
      await commitCustomers('demo: admins_policy demote-others', inDemo((block) => `${block}\n    admins_policy: demote-others`));
      const demoted = await deployCli(['apply', id, '--apply', '--only', 'admins']);
      assert.equal(demoted.code, 0, `${demoted.stdout}\n${demoted.stderr}`);
      assert.match(demoted.stdout, new RegExp(`demote ${cfo.replace(/\./g, '\\.')} in blueprint`));
      assert.deepEqual((await changes()).slice(2), [`${cfo}:user`]);
      const admins = JSON.parse(await docker('exec', await container('blueprint', project), 'blueprint', 'list-admins', '--json')) as Array<{ email: string }>;
      assert.deepEqual(admins.map((a) => a.email), [it]);
    });

    test('secret rotate of the Postgres password: the hook changes the database before frame restarts, frame serves throughout, the old value is gone from every env file, no value in outputs, logs or history; then the whole plan is clean', async (t) => {
      const name = `FRAME_${id.toUpperCase()}_POSTGRES_PASSWORD`;
      const envFiles = () => onHost('cat ~/.axe/stacks/*/.env.local ~/.axe/stacks/*/.env.axe.* ~/.axe/vault/.env.axe 2>/dev/null');
      const valueIn = (text: string) => /^POSTGRES_PASSWORD=(.+)$/m.exec(text)?.[1]?.replace(/^'|'$/g, '') ?? '';
      const old = valueIn(await envFiles());
      assert.ok(old.length >= 16, 'the deployed Postgres password');

      const plan = await deployCli(['secret', 'rotate', name]);
      assert.equal(plan.code, 2, `${plan.stdout}\n${plan.stderr}`);
      assert.match(plan.stdout, /first: frame hook rotate_postgres_password in postgres \(pg-rotate-password\), new value on stdin/);
      assert.match(plan.stdout, /restart frame \(POSTGRES_PASSWORD\): blue\/green/);

      const colorBefore = await activeFrame();
      const poller = poll();
      const argv = psSampler();
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const rotated = await deployCli(['secret', 'rotate', name, '--customer', id, '--apply']);
      const commandLines = await argv.stop();
      t.diagnostic(`${commandLines.samples} samples of every process's command line on this machine (the lab host's sshd and docker run here)`);
      t.diagnostic(`rotate --apply took ${Date.now() - started} ms`);
      await new Promise((r) => setTimeout(r, 300));
      const summary = await poller.stop();
      t.diagnostic(`under the poller: ${summary.ok} requests, ${summary.failed} failed, seen ${summary.seen.join(' → ')}`);
      assert.equal(rotated.code, 0, `${rotated.stdout}\n${rotated.stderr}`);
      assert.equal(summary.failed, 0, `failed requests: ${summary.errors.slice(0, 5).join(', ')}`);
      const colorAfter = await activeFrame();
      assert.notEqual(colorAfter, colorBefore, 'frame swapped colors for the new password');

      // The hook ran before the new color started (the database's rotation record is older than the container).
      const rotations = (await docker('exec', await container('postgres', `${id}-frame`), 'cat', '/var/lib/postgresql/data/rotations.log')).split('\n').map((l) => JSON.parse(l) as { at: string });
      assert.equal(rotations.length, 1);
      const newStarted = await docker('inspect', '--format', '{{.State.StartedAt}}', await container(colorAfter, `${id}-frame`));
      assert.ok(Date.parse(rotations[0]!.at) < Date.parse(newStarted), `hook at ${rotations[0]!.at}, ${colorAfter} started ${newStarted}`);

      // The old value is gone from every env file on the host; the new one is there (and is not the old).
      const files = await envFiles();
      assert.ok(!files.includes(old), 'the old value is still in an env file');
      const fresh = valueIn(files);
      assert.ok(fresh.length >= 16 && fresh !== old);
      // No value in the outputs, the stand-ins' logs or the history.
      const history = await deployCli(['history', id, '--json']);
      assert.match(history.stdout, new RegExp(`rotated ${name} \\(`));
      const logs = (await docker('exec', await container('postgres', `${id}-frame`), 'sh', '-c', 'cat /var/lib/postgresql/data/*.log')) + (await docker('logs', await container(colorAfter, `${id}-frame`)).catch(() => ''));
      assertNoSecret([plan, rotated, history, { stdout: logs, stderr: '' }, { stdout: commandLines.text, stderr: '' }], [old, fresh]);

      const clean = await deployCli(['plan', id]);
      assert.equal(clean.code, 0, `${clean.stdout}\n${clean.stderr}`);
      assertNoSecret([clean], [old, fresh]);
    });

    test('handoff refuses a degraded demo, naming the resource', async () => {
      await docker('stop', '-t', '1', await container('hive-mcp', `${id}-hive`));
      const refused = await deployCli(['handoff', id]);
      assert.equal(refused.code, 1, refused.stdout);
      assert.equal(refused.stdout, '');
      assert.match(refused.stderr, /not ready for handoff/);
      assert.match(refused.stderr, /\n  stack: (Degraded|Missing|Progressing|Unknown)\/[A-Za-z]+ [A-Za-z]+: .*hive/);
    });
    test("the customer vault's organization: status names what is missing with its fix (owner session, organization, each v1 collection); with the owner session the collections are made and accepted owners and members confirmed once; the second pass does nothing", async (t) => {
      const started = Date.now();
      const ID = id.toUpperCase();
      const bot = `ai@${id}.example.com`;
      const admin = `it@${id}.example.com`;
      const kim = `kim@${id}.example.com`;
      // The customer vault's own bw serve (the stand-in, locked like a fresh bw serve), logged in as the bot owner.
      await using vault = await startVaultEmulator({ email: bot });
      const config = lab.env.AXE_CONFIG!;
      const configBefore = await readFile(config, 'utf8');
      await writeFile(config, stringify({ ...(parse(configBefore) as Record<string, unknown>), customer_vaults: { [id]: { url: vault.url } } }));
      t.after(() => writeFile(config, configBefore));
      await commitCustomers('demo: vault admin and an employee', inDemo((block) => block.replace('user_entity_map: {}', `user_entity_map: { "${kim}": ["${id}"] }\n    vault_admin: "${admin}"`)));

      type Row = { kind: string; sync: string; health: { status: string; reason: string; message: string }; actions: Array<{ op: string; summary: string }>; applied: unknown[] };
      const vaultOrg = async (args: string[]): Promise<{ code: number; row: Row; out: { stdout: string; stderr: string } }> => {
        const out = await deployCli([...args, '--only', 'vault-org', '--json']);
        assert.ok(out.stdout.startsWith('{'), `axe ${args.join(' ')} printed no JSON (exit ${out.code}): ${out.stderr}`);
        const body = JSON.parse(out.stdout) as { customers: Array<{ resources: Row[] }> };
        const row = body.customers[0]!.resources.find((r) => r.kind === 'vault-org');
        assert.ok(row, `no vault-org resource:\n${out.stdout}\n${out.stderr}`);
        return { code: out.code, row, out };
      };

      // No owner session: nothing can be read; the fix names the command.
      const locked = await vaultOrg(['plan', id]);
      assert.deepEqual([locked.row.health.reason, locked.row.actions], ['OwnerSessionMissing', []]);
      assert.match(locked.row.health.message, new RegExp(`fix: axe vault login --customer ${id} \\(the master password of ${bot.replace(/\./g, '\\.')}`));

      // The owner session, given once: the master password on stdin, never an argument.
      const argv = psSampler();
      const login = await lab.axe(['vault', 'login', '--customer', id], vault.password.reveal());
      const commandLines = await argv.stop();
      assert.equal(login.code, 0, `${login.stdout}\n${login.stderr}`);
      assert.match(login.stdout, new RegExp(`${id}'s vault unlocked for ${bot.replace(/\./g, '\\.')}`));
      const sessionFile = join(lab.env.AXE_HOME!, 'customer-vaults', `bw-session-${id}.json`);
      assert.equal((await stat(sessionFile)).mode & 0o777, 0o600);
      const session = (JSON.parse(await readFile(sessionFile, 'utf8')) as { session: string }).session;

      // No organization yet: bw cannot make one; the fix is the web vault, signed in as the bot.
      const noOrg = await vaultOrg(['plan', id]);
      assert.deepEqual([noOrg.row.health.status, noOrg.row.health.reason, noOrg.row.actions], ['Missing', 'OrganizationMissing', []]);
      assert.match(noOrg.row.health.message, new RegExp(`sign in to https://${id}\\.axelabs\\.ai/vault as ${bot.replace(/\./g, '\\.')}, create the organization ${ID} `));

      // Made in the web vault (the stand-in's admin API), with the human owner and the employee invited and accepted.
      const admin_ = async (path: string, body: unknown) => (await (await fetch(`${vault.adminUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { id: string };
      const org = await admin_('/orgs', { name: ID });
      await admin_(`/orgs/${org.id}/members`, { email: admin, type: 'owner', accepted: true });
      await admin_(`/orgs/${org.id}/members`, { email: kim, type: 'user', accepted: true });

      // Status names each missing collection of structure v1 with the fix (one entity: four; with the entity added above: five); the plan creates them and confirms both.
      const branch = (await readFile(join(lab.repo, 'customers.yaml'), 'utf8')).includes(`id: "${ENTITY}"`);
      const wanted = ['Platform — Service Secrets', 'Platform — Infrastructure', ID, ...(branch ? [ENTITY.toUpperCase()] : []), 'Shared Tools'];
      const missing = await vaultOrg(['plan', id]);
      assert.equal(missing.code, 2, missing.out.stderr);
      assert.equal(missing.row.health.reason, 'CollectionsMissing');
      assert.match(missing.row.health.message, new RegExp(`lacks ${wanted.length} of the ${wanted.length} collections of structure v1: ${wanted.map((c) => `"${c}"`).join(', ')}; fix: axe apply ${id} --only vault-org --apply`));
      assert.deepEqual(missing.row.actions.map((a) => a.op), [...wanted.map(() => 'create-collection'), 'confirm', 'confirm']);

      const applied = await vaultOrg(['apply', id, '--apply']);
      assert.equal(applied.code, 0, `${applied.out.stdout}\n${applied.out.stderr}`);
      assert.equal(applied.row.applied.length, wanted.length + 2);
      assert.deepEqual([applied.row.sync, applied.row.health.status], ['Synced', 'Healthy']);
      const server = (await (await fetch(`${vault.adminUrl}/orgs`)).json()) as Array<{ name: string; collections: Array<{ name: string; users: Array<{ id: string }> }>; members: Array<{ id: string; email: string; status: number }> }>;
      assert.deepEqual(server.map((o) => [o.name, o.collections.map((c) => c.name).sort()]), [[ID, [...wanted].sort()]]);
      assert.deepEqual(server[0]!.members.map((m) => [m.email, m.status]), [[bot, 2], [admin, 2], [kim, 2]]);
      // The employee uses their entity's collection and Shared Tools, not the operator's Platform ones.
      const kimId = server[0]!.members.find((m) => m.email === kim)!.id;
      const usedBy = server[0]!.collections.filter((c) => c.users.some((u) => u.id === kimId)).map((c) => c.name);
      assert.deepEqual(usedBy.sort(), [ID, 'Shared Tools'].sort());

      // The second pass does nothing.
      const second = await vaultOrg(['apply', id, '--apply']);
      assert.equal(second.code, 0, second.out.stderr);
      assert.deepEqual([second.row.applied, second.row.actions, second.row.health.reason], [[], [], 'Organized']);
      assert.equal((await (await fetch(`${vault.adminUrl}/orgs`)).json() as Array<{ collections: unknown[] }>)[0]!.collections.length, wanted.length);
      assertNoSecret([locked.out, login, noOrg.out, missing.out, applied.out, second.out, { stdout: commandLines.text, stderr: '' }], [vault.password.reveal(), session]);
      t.diagnostic(`the vault organization test took ${Date.now() - started} ms`);
    });

    test("D+7: frame's audit log as status: active on the converged demo; switched off in the stand-in, the checks row is Degraded with frame's reason and the fix; back on, active; nothing is ever planned", async (t) => {
      const started = Date.now();
      type Row = { kind: string; sync: string; health: { status: string; reason: string; message: string; trap?: { trap: string; fix: string } }; actions: unknown[] };
      const checks = async (): Promise<{ code: number; row: Row }> => {
        const out = await deployCli(['plan', id, '--only', 'checks', '--json']);
        assert.ok(out.stdout.startsWith('{'), `axe plan printed no JSON (exit ${out.code}): ${out.stderr}`);
        const row = (JSON.parse(out.stdout) as { customers: Array<{ resources: Row[] }> }).customers[0]!.resources.find((r) => r.kind === 'checks');
        assert.ok(row, `no checks resource:\n${out.stdout}`);
        return { code: out.code, row };
      };
      const active = /^frame audit-log: frame's audit_log is on and records journal entries \(enabled true, entries [1-9]\d*, newest_at \d+[smhd] ago\)$/;
      const on = await checks();
      assert.deepEqual([on.code, on.row.sync, on.row.health.status, on.row.health.reason, on.row.actions], [0, 'Synced', 'Healthy', 'ChecksPassing', []]);
      assert.match(on.row.health.message, active);

      // The lab switch in the stand-in (on frame's data volume): its audit log records nothing any more.
      const live = await container(await activeFrame(), `${id}-frame`);
      await docker('exec', live, 'touch', '/data/audit.disabled');
      t.after(() => docker('exec', live, 'rm', '-f', '/data/audit.disabled').catch(() => undefined));
      const off = await deployCli(['plan', id, '--only', 'checks']);
      assert.match(off.stdout, /\n {2}checks\s+Synced\s+Degraded\s+CheckFailing: frame audit-log fails: enabled is false \(want true\): audit logging is switched off \(\/data\/audit\.disabled exists\): no journal entry is recorded\n/, off.stdout);
      assert.match(off.stdout, new RegExp(`\\n {6}! service-check-failed: frame's check audit-log fails on the Mac mini of ${id} \\(wanted: frame's audit_log is on and records journal entries\\)\\. Turn frame's audit log back on .*docker compose -p ${id}-frame logs`), off.stdout);
      assert.match(off.stdout, /Plan: 0 change\(s\)/, 'a failing check plans nothing: a person fixes it');

      await docker('exec', live, 'rm', '/data/audit.disabled');
      const back = await checks();
      assert.deepEqual([back.code, back.row.health.status, back.row.health.reason, back.row.actions], [0, 'Healthy', 'ChecksPassing', []]);
      assert.match(back.row.health.message, active);
      t.diagnostic(`the D+7 audit log test took ${Date.now() - started} ms`);
    });
  });
}
