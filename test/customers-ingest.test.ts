import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Secret } from '../core/secret.js';
import { applyPlan } from '../onboarding/apply.js';
import { planIngest } from '../onboarding/plan.js';
import { openConfigRepo } from '../providers/git/config-repo.js';
import type { PutResult, VaultEntry, VaultItemMeta, VaultProvider } from '../providers/vault/types.js';
import { loadFile } from '../schemas/load.js';
import { Pack } from '../schemas/pack.js';
import { loadRepo } from '../schemas/repo.js';
import { axe, exampleRepo, git, SAMPLE_PACK, tempDir } from './helpers.js';

const SECRETS = ['SAMPLE-not-a-secret-blueprint-9f8e7d', 'SAMPLE-not-a-secret-vaultwarden-6c5b4a', 'SAMPLE-not-a-secret-frame-mcp-3a2b1c'];

async function setup(name: string) {
  const dir = await tempDir(name);
  const repo = await exampleRepo(dir.path);
  const env = { AXE_HOME: join(dir.path, 'home'), AXE_REPO: repo };
  return { dir, repo, env };
}

function assertNoSecret(...texts: string[]): void {
  for (const text of texts) for (const s of SECRETS) assert.ok(!text.includes(s), 'a secret value leaked into output');
}

describe('axe customers ingest', () => {
  it('dry run prints the diff and vault names, and changes nothing', async () => {
    const { dir, repo, env } = await setup('dry');
    await using _ = dir;
    const before = await git(repo, 'rev-parse', 'HEAD');
    const result = await axe(['customers', 'ingest', 'demo', SAMPLE_PACK], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\+\s+tenant_id: "0d3a1e2f-5b6c-4d7e-8f90-a1b2c3d4e5f6"/);
    assert.match(result.stdout, /vault create\s+AZURE_DEMO_BLUEPRINT_CLIENT_SECRET/);
    assert.match(result.stdout, /vault create\s+AZURE_DEMO_FRAME_MCP_CLIENT_SECRET/);
    assertNoSecret(result.stdout, result.stderr);
    assert.equal(await git(repo, 'status', '--porcelain'), '');
    assert.equal(await git(repo, 'rev-parse', 'HEAD'), before);
    assert.equal((await git(repo, 'branch', '--list')).trim(), '* main');
    await assert.rejects(stat(join(env.AXE_HOME, 'vault', 'vault.enc.json')), { code: 'ENOENT' });
  });

  it('--apply twice: one commit on onboard/demo touching only the demo block, then a no-op', async () => {
    const { dir, repo, env } = await setup('apply');
    await using _ = dir;
    const original = await readFile(join(repo, 'customers.yaml'), 'utf8');
    const first = await axe(['customers', 'ingest', 'demo', SAMPLE_PACK, '--apply'], { env });
    assert.equal(first.code, 0, first.stderr);
    assertNoSecret(first.stdout, first.stderr);
    assert.equal((await git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).trim(), 'onboard/demo');
    assert.equal((await git(repo, 'rev-list', '--count', 'main..onboard/demo')).trim(), '1');
    const vaultFile = join(env.AXE_HOME, 'vault', 'vault.enc.json');
    assert.equal((await stat(vaultFile)).mode & 0o777, 0o600);
    assert.equal((await stat(join(env.AXE_HOME, 'vault', 'vault.key'))).mode & 0o777, 0o600);
    assertNoSecret(await readFile(vaultFile, 'utf8'));

    // Outside the demo block, customers.yaml is byte-identical: the only change is lines added after `onboarded: null` of demo.
    const edited = await readFile(join(repo, 'customers.yaml'), 'utf8');
    const anchor = '    onboarded: null\n';
    const at = original.indexOf(anchor) + anchor.length;
    assert.ok(edited.startsWith(original.slice(0, at)));
    assert.ok(edited.endsWith(original.slice(at)));
    const inserted = edited.slice(at, edited.length - (original.length - at));
    assert.match(inserted, /^ {4}sso:\n/);
    assert.ok(inserted.split('\n').filter(Boolean).every((l) => l.startsWith('      ') || l === '    sso:'), 'inserted lines stay inside the demo block');
    assert.ok((await loadRepo(repo)).ok, 'the committed repo validates');

    const vaultMtime = (await stat(vaultFile)).mtimeMs;
    const second = await axe(['customers', 'ingest', 'demo', SAMPLE_PACK, '--apply'], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /nothing to do/);
    assert.equal((await git(repo, 'rev-list', '--count', 'main..onboard/demo')).trim(), '1');
    assert.equal((await stat(vaultFile)).mtimeMs, vaultMtime);

    // From main again, the plan is based on the branch: still nothing to do.
    await git(repo, 'checkout', '-q', 'main');
    const third = await axe(['customers', 'ingest', 'demo', SAMPLE_PACK], { env });
    assert.match(third.stdout, /nothing to do/);
  });

  it('a different pack for an existing customer shows exactly what would change', async () => {
    const { dir, env } = await setup('change');
    await using _ = dir;
    assert.equal((await axe(['customers', 'ingest', 'demo', SAMPLE_PACK, '--apply'], { env })).code, 0);
    const pack = JSON.parse(await readFile(SAMPLE_PACK, 'utf8'));
    pack.apps.blueprint.client_id = '7c1d2e3f-0000-4000-8000-0000000000b2';
    pack.apps.frame_mcp.client_secret = 'SAMPLE-rotated-secret';
    const changed = join(dir.path, 'pack2.json');
    await writeFile(changed, JSON.stringify(pack));
    const result = await axe(['customers', 'ingest', 'demo', changed, '--json'], { env });
    assert.equal(result.code, 0, result.stderr);
    const plan = JSON.parse(result.stdout) as { diff: string; vault: Array<{ name: string; action: string }> };
    const changedLines = plan.diff.split('\n').filter((l) => /^[-+] /.test(l));
    assert.deepEqual(changedLines, ['-          client_id: "7c1d2e3f-0000-4000-8000-0000000000b1"', '+          client_id: "7c1d2e3f-0000-4000-8000-0000000000b2"']);
    assert.deepEqual(plan.vault.map((v) => `${v.name}:${v.action}`), [
      'AZURE_DEMO_BLUEPRINT_CLIENT_SECRET:unchanged',
      'AZURE_DEMO_VAULTWARDEN_CLIENT_SECRET:unchanged',
      'AZURE_DEMO_FRAME_MCP_CLIENT_SECRET:update',
    ]);
    assert.ok(!result.stdout.includes('SAMPLE-rotated-secret'));
  });

  const badPacks: Array<[string, (p: any) => void, RegExp]> = [
    ['wrong schema', (p) => (p.schema = 'axelabs-bootstrap/v2'), /pack\.json:2:13 schema: expected "axelabs-bootstrap\/v1"/],
    ['missing tenant', (p) => delete p.tenant_id, /:\d+:\d+ tenant_id: required/],
    ['empty secret', (p) => (p.apps.vaultwarden.client_secret = ''), /apps\.vaultwarden\.client_secret: must not be empty/],
    ['foreign redirect', (p) => (p.apps.frame_mcp.redirect_uris = ['https://evil.example/cb']), /redirect_uris\[0\]: https:\/\/evil\.example\/cb matches neither/],
    ['wrong application id uri', (p) => (p.apps.frame_mcp.application_id_uri = 'https://other.axelabs.ai/frame/mcp'), /application_id_uri: must be https:\/\/demo\.axelabs\.ai\/frame\/mcp/],
    ['another customer', (p) => (p.customer = 'acme'), /pack customer: is "acme", not "demo"/],
  ];
  for (const [name, mutate, expected] of badPacks) {
    it(`a bad pack (${name}) stops before anything is written`, async () => {
      const { dir, repo, env } = await setup('bad');
      await using _ = dir;
      const pack = JSON.parse(await readFile(SAMPLE_PACK, 'utf8'));
      mutate(pack);
      const path = join(dir.path, 'pack.json');
      await writeFile(path, JSON.stringify(pack, null, 2));
      const result = await axe(['customers', 'ingest', 'demo', path, '--apply'], { env });
      assert.equal(result.code, 1);
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
      assertNoSecret(result.stderr);
      assert.equal(await git(repo, 'status', '--porcelain'), '');
      assert.equal((await git(repo, 'branch', '--list')).trim(), '* main');
      await assert.rejects(stat(join(env.AXE_HOME, 'vault', 'vault.enc.json')), { code: 'ENOENT' });
    });
  }

  it('a vault failure midway says what was written and leaves customers.yaml alone', async () => {
    const { dir, repo } = await setup('vaultfail');
    await using _ = dir;
    const load = await loadRepo(repo);
    assert.ok(load.ok);
    if (!load.ok) return;
    const pack = await loadFile(SAMPLE_PACK, 'pack.json', Pack);
    assert.ok(pack.ok);
    if (!pack.ok) return;
    // A vault seam that accepts one write and then fails, as a vault going away would.
    const stored = new Map<string, Secret>();
    const flaky: VaultProvider = {
      kind: 'file',
      fingerprint: (value) => `hmac:${value.length}`,
      async list(): Promise<VaultEntry[]> {
        return [];
      },
      async get(name) {
        return stored.get(name) ?? null;
      },
      async put(item: VaultItemMeta & { value: Secret }): Promise<PutResult> {
        if (stored.size >= 1) throw new Error('connection reset by vault');
        stored.set(item.name, item.value);
        return 'created';
      },
    };
    const text = await readFile(join(repo, 'customers.yaml'), 'utf8');
    const plan = planIngest(text, load.state.customers, load.state.manifests, { id: 'demo', pack: pack.value, vaultFingerprints: new Map(), fingerprint: flaky.fingerprint });
    await assert.rejects(applyPlan(plan, { repo: openConfigRepo(repo), vault: flaky, branch: 'onboard/demo', message: 'x' }), (error: Error) => {
      assert.match(error.message, /written: AZURE_DEMO_BLUEPRINT_CLIENT_SECRET; not written: AZURE_DEMO_VAULTWARDEN_CLIENT_SECRET, AZURE_DEMO_FRAME_MCP_CLIENT_SECRET; customers\.yaml not changed/);
      assertNoSecret(error.message);
      return true;
    });
    assert.equal(await readFile(join(repo, 'customers.yaml'), 'utf8'), text);
    assert.equal(await git(repo, 'status', '--porcelain'), '');
    assert.equal((await git(repo, 'branch', '--list')).trim(), '* main');
  });

  it('refuses when customers.yaml has uncommitted changes', async () => {
    const { dir, repo, env } = await setup('dirty');
    await using _ = dir;
    await writeFile(join(repo, 'customers.yaml'), `${await readFile(join(repo, 'customers.yaml'), 'utf8')}# local note\n`);
    const result = await axe(['customers', 'ingest', 'demo', SAMPLE_PACK, '--apply'], { env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /customers\.yaml has uncommitted changes .*fix: commit or stash/);
    await assert.rejects(stat(join(env.AXE_HOME, 'vault', 'vault.enc.json')), { code: 'ENOENT' });
  });
});

describe('axe customers add', () => {
  it('adds a block and its slots on onboard/{id}, then ingest fills it; byte-identical elsewhere', async () => {
    const { dir, repo, env } = await setup('add');
    await using _ = dir;
    const original = await readFile(join(repo, 'customers.yaml'), 'utf8');
    const dry = await axe(['customers', 'add', 'newco', '--legal-name', 'NewCo Ltd.', '--domain', 'newco.co.kr', '--tailnet', 'tail-lab.ts.net'], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\+  newco:\n\+    legal_name: "NewCo Ltd\."/);
    assert.equal(await git(repo, 'status', '--porcelain'), '');
    const applied = await axe(['customers', 'add', 'newco', '--legal-name', 'NewCo Ltd.', '--domain', 'newco.co.kr', '--tailnet', 'tail-lab.ts.net', '--apply'], { env });
    assert.equal(applied.code, 0, applied.stderr);
    const edited = await readFile(join(repo, 'customers.yaml'), 'utf8');
    const removed = original.split('\n').filter((l, i, all) => !edited.includes(l) && all.indexOf(l) === i);
    assert.deepEqual(removed, [], 'no original line removed or altered');
    const load = await loadRepo(repo);
    assert.ok(load.ok, 'valid after add');
    if (!load.ok) return;
    assert.equal(load.state.customers.customers.newco?.tailscale_host, 'newco-macmini.tail-lab.ts.net');
    assert.deepEqual(load.state.customers.services.frame?.newco?.secrets, ['AZURE_NEWCO_FRAME_MCP_CLIENT_SECRET', 'FRAME_NEWCO_POSTGRES_PASSWORD']);
    const again = await axe(['customers', 'add', 'newco', '--legal-name', 'NewCo Ltd.', '--domain', 'newco.co.kr', '--apply'], { env });
    assert.match(again.stdout, /nothing to do/);
    assert.equal((await git(repo, 'rev-list', '--count', 'main..onboard/newco')).trim(), '1');
  });

  it('refuses an unsafe customer id with a one-line fix', async () => {
    const { dir, env } = await setup('id');
    await using _ = dir;
    for (const id of ['New_Co', 'a;rm -rf', 'x-', 'customer']) {
      const result = await axe(['customers', 'add', id, '--legal-name', 'X', '--domain', 'x.com'], { env });
      assert.equal(result.code, 1, id);
      assert.match(result.stderr, /^axe: invalid customer id .*\(fix: /);
    }
  });
});
