/**
 * The runbook's day two (D+1/D+2) as desired state, end to end in one lab
 * (test/deploy-fixture.ts: real sshd host, Docker, Compose v2, the Cloudflare
 * emulator and edge, the service stand-ins). The tests share the lab and run
 * in order: the demo customer is deployed from its pack, handed off, gets a
 * new entity and admins by commits to the config repo, and a degraded stack
 * refuses the handoff.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { container, deployCli, docker, onHost, poll, startDeployLab, stopDeployLab } from './deploy-fixture.js';
import { git } from './helpers.js';
import type { TestLab } from './lab-fixture.js';

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

before(async () => {
  // The service stand-ins are built by compose from their repos under a ref tag: an image left by an
  // older checkout of the stand-ins would be reused as is (lab/services/frame/README.md). Untag those
  // not in use so this run builds from the current sources (pii-check, blueprint roles).
  for (const image of ['axelab-frame-mcp', 'axelab-hive-mcp', 'axelab-blueprint-web']) {
    for (const ref of ['v1.0.0', 'v1.1.0']) await docker('image', 'rm', `${image}:${ref}`).catch(() => undefined);
  }
  ({ lab, id, packSecrets } = await startDeployLab());
});

after(stopDeployLab);

describe('day two (lab)', () => {
  test('handoff: refused before the deploy naming what is missing; printed for the healthy demo (ko and en)', async (t) => {
    const early = await deployCli(['handoff', id]);
    assert.equal(early.code, 1, early.stdout);
    assert.equal(early.stdout, '', 'nothing printed for the customer');
    assert.match(early.stderr, new RegExp(`${id} is not ready for handoff`));
    assert.match(early.stderr, /\n  stack: (Missing|Degraded|Unknown)\//);

    const started = Date.now();
    const deployed = await deployCli(['deploy', 'customer', id, '--from-pack', join(lab.stateDir, 'pack.json'), '--apply']);
    t.diagnostic(`deploy customer took ${Date.now() - started} ms`);
    assert.equal(deployed.code, 0, `${deployed.stdout}\n${deployed.stderr}`);

    const ko = await deployCli(['handoff', id]);
    assert.equal(ko.code, 0, `${ko.stdout}\n${ko.stderr}`);
    assert.match(ko.stdout, new RegExp(`SSO 직링크: https://${id}\\.axelabs\\.ai/vault/#/sso`));
    assert.match(ko.stdout, new RegExp(`SSO Identifier \\(조직 이름\\): ${id.toUpperCase()}`));
    assert.match(ko.stdout, new RegExp(`frame v1\\.0\\.0: https://${id}\\.axelabs\\.ai/frame\\n`));
    assert.match(ko.stdout, new RegExp(`blueprint v1\\.0\\.0: https://${id}\\.axelabs\\.ai/\\n`));
    assert.match(ko.stdout, /신규 직원 온보딩: https:\/\/docs\.axelabs\.ai\/onboard/);
    const en = await deployCli(['handoff', id, '--lang', 'en', '--json']);
    assert.equal(en.code, 0, en.stderr);
    const body = JSON.parse(en.stdout) as { ready: boolean; facts: { vaultSso: string }; message: string };
    assert.equal(body.ready, true);
    assert.equal(body.facts.vaultSso, `https://${id}.axelabs.ai/vault/#/sso`);
    assert.match(body.message, /Employee onboarding: https:\/\/docs\.axelabs\.ai\/onboard/);
    assertNoSecret([early, deployed, ko, en], packSecrets);
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
    const applied = await deployCli(['apply', id, '--apply']);
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

    const plan = await deployCli(['plan', id]);
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
    const strict = await deployCli(['plan', id, '--only', 'admins']);
    assert.equal(strict.code, 2, strict.stdout);
    assert.match(strict.stdout, new RegExp(`demote ${cfo.replace(/\./g, '\\.')} in blueprint`));
    const demoted = await deployCli(['apply', id, '--apply', '--only', 'admins']);
    assert.equal(demoted.code, 0, `${demoted.stdout}\n${demoted.stderr}`);
    assert.deepEqual((await changes()).slice(2), [`${cfo}:user`]);
    const admins = JSON.parse(await docker('exec', await container('blueprint', project), 'blueprint', 'list-admins', '--json')) as Array<{ email: string }>;
    assert.deepEqual(admins.map((a) => a.email), [it]);
    const again = await deployCli(['plan', id]);
    assert.equal(again.code, 0, again.stdout);
  });

  test('handoff refuses a degraded demo, naming the resource', async () => {
    await docker('stop', '-t', '1', await container('hive-mcp', `${id}-hive`));
    const refused = await deployCli(['handoff', id]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /not ready for handoff/);
    assert.match(refused.stderr, /\n  stack: (Degraded|Missing|Progressing|Unknown)\/[A-Za-z]+ [A-Za-z]+: .*hive/);
    const json = await deployCli(['handoff', id, '--json']);
    assert.equal(json.code, 1);
    assert.ok((JSON.parse(json.stdout) as { blockers: Array<{ kind: string }> }).blockers.some((b) => b.kind === 'stack'));
  });
});
