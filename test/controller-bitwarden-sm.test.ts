/**
 * D-day with `vault.provider: bitwarden-sm`: in an isolated lab
 * (test/lab-fixture.ts) whose operator vault is the Secrets Manager stand-in
 * (lab/secrets-manager) reached by the real `@bitwarden/sdk-napi`, the
 * operator ingests the demo customer's pack with the CLI, the onboarding
 * branch is merged, and the controller converges demo from it: every kind
 * Synced and Healthy, the ship log line written, the pack's secrets and the
 * tunnel credentials the controller made living in Secrets Manager as
 * EncStrings.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { loadSettings } from '../cli/settings.js';
import { createLogger } from '../controller/logger.js';
import { openController, type RunningController } from '../controller/run.js';
import { labSshCredentials, sshTarget } from '../lab/hosts/index.js';
import { vaultwardenComposeFile } from '../lab/images/vaultwarden-compose.js';
import { isEncString } from '../lab/secrets-manager/crypto.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../lab/secrets-manager/server.js';
import { onboardBranch } from '../onboarding/apply.js';
import { openConfigRepo } from '../providers/git/config-repo.js';
import { connect, type HostConnection } from '../providers/host/ssh.js';
import { openVault } from '../providers/vault/index.js';
import { git, until, withoutCustomer } from './helpers.js';
import { startTestLab, type TestLab } from './lab-fixture.js';



describe('controller in the lab with vault.provider bitwarden-sm (real SDK, Secrets Manager stand-in)', { timeout: 900_000 }, () => {
  let lab: TestLab;
  let sm: SecretsManagerStandIn;
  let running: RunningController | undefined;
  let host: HostConnection | null = null;
  let id: string;
  const savedHome = process.env.AXE_HOME;

  before(async () => {
    lab = await startTestLab();
    sm = await startSecretsManagerStandIn();
    id = lab.ids.demo;
    // The provider keeps the SDK's state under $AXE_HOME: this process is the controller, so it gets the lab operator's.
    process.env.AXE_HOME = lab.env.AXE_HOME;
    const tokenFile = join(lab.env.AXE_HOME!, 'bitwarden-sm-access-token');
    await writeFile(tokenFile, `${sm.issueAccessToken().reveal()}\n`, { mode: 0o600 });

    // The operator moves from the lab's file vault to Secrets Manager: every item is copied over, then the config points at it.
    const fileSettings = await loadSettings({ config: lab.env.AXE_CONFIG! }, { ...process.env, ...lab.env });
    const fileVault = openVault(fileSettings.vault, {});
    const config = parse(await readFile(lab.env.AXE_CONFIG!, 'utf8')) as Record<string, unknown>;
    config.vault = { provider: 'bitwarden-sm', api_url: sm.apiUrl, identity_url: sm.identityUrl, organization_id: sm.organizationId, project_id: sm.projectId, access_token_file: tokenFile };
    await writeFile(lab.env.AXE_CONFIG!, stringify(config), { mode: 0o600 });
    const settings = await loadSettings({ config: lab.env.AXE_CONFIG! }, { ...process.env, ...lab.env });
    assert.equal(settings.vault.provider, 'bitwarden-sm');
    const smVault = openVault(settings.vault, { AXE_HOME: lab.env.AXE_HOME! });
    for (const entry of await fileVault.list()) {
      const value = await fileVault.get(entry.name);
      assert.ok(value);
      assert.equal(await smVault.put({ name: entry.name, ...(entry.customer ? { customer: entry.customer } : {}), ...(entry.service ? { service: entry.service } : {}), value }), 'created');
    }

    // As in controller-lab.test.ts: the customer's IT installed its vault without the four SSO keys; demo is not in the repo yet; acme is suspended.
    const labHost = lab.hosts.find((h) => h.name === id)!;
    host = await connect(sshTarget(labHost), await labSshCredentials(lab.stateDir));
    await host.writeFile('~/.axe/vault/docker-compose.yml', vaultwardenComposeFile({ domain: `https://${id}.axelabs.ai`, withKeys: false, network: `axe-${id}` }), 0o644);
    const path = join(lab.repo, 'customers.yaml');
    await writeFile(path, withoutCustomer(await readFile(path, 'utf8'), id).replace(`  ${lab.ids.acme}:\n`, `  ${lab.ids.acme}:\n    policy: { suspend: true }\n`));
    await git(lab.repo, 'commit', '-qam', 'Before D-day');
    await git(lab.repo, 'push', '-q', 'origin', 'HEAD:main');

    running = await openController({
      config: settings.config!,
      vault: settings.vault,
      zone: settings.zone,
      axeHome: settings.home,
      listen: '127.0.0.1:0',
      driftSchedule: false,
      log: createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) }),
      timings: { pollIntervalMs: 0, progressingRequeueMs: 3_000, backoffBaseMs: 1_000, backoffMaxMs: 10_000, alertForMs: 0, alertKeepFiringMs: 0 },
    });
    await running.controller.queue.idle();
  });

  after(async () => {
    await running?.stop();
    if (host) {
      await host.exec(`/bin/sh -c 'cd ~/.axe/vault 2>/dev/null && for d in /usr/local/bin/docker /usr/bin/docker; do [ -x $d ] && exec $d compose -p ${id}-vault down -v -t 1; done'`).catch(() => undefined);
      host.close();
    }
    await sm?.close();
    await lab?.[Symbol.asyncDispose]();
    if (savedHome === undefined) delete process.env.AXE_HOME;
    else process.env.AXE_HOME = savedHome;
  });

  it('axe customers ingest --apply puts the pack into Secrets Manager, and the controller converges demo from it', async () => {
    const c = running!.controller;
    const base = `https://${id}.axelabs.ai`;
    const pack = join(lab.stateDir, 'pack.json');
    const secret = (n: number): string => `sm-s3cr3t-${n}-${id}-abcdefghijklmnop`;
    await writeFile(
      pack,
      JSON.stringify({
        schema: 'axelabs-bootstrap/v1',
        customer: id,
        tenant_id: '0d3a1e2f-5b6c-4d7e-8f90-a1b2c3d4e5f6',
        apps: {
          blueprint: { client_id: '7c1d2e3f-0000-4000-8000-0000000000b1', client_secret: secret(1) },
          vaultwarden: { client_id: '7c1d2e3f-0000-4000-8000-0000000000a1', client_secret: secret(2) },
          frame_mcp: { client_id: '7c1d2e3f-0000-4000-8000-0000000000f1', client_secret: secret(3), application_id_uri: `${base}/frame/mcp`, scope: `${base}/frame/mcp/mcp.access`, redirect_uris: ['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback'] },
        },
      }),
      { mode: 0o600 },
    );
    const before = sm.stored().length;
    const ingest = await lab.axe(['customers', 'ingest', id, pack, '--apply', '--legal-name', 'Demo Company', '--domain', 'demo.example.com']);
    assert.equal(ingest.code, 0, ingest.stderr);
    assert.equal(sm.stored().length, before + 3, 'the three client secrets are in Secrets Manager');
    for (const n of [1, 2, 3]) assert.ok(!ingest.stdout.includes(secret(n)) && !ingest.stderr.includes(secret(n)));

    assert.equal(await openConfigRepo(lab.repo).mergeAndPush(onboardBranch(id), 'main'), true);
    assert.equal((await c.sync('manual')).result, 'applied');
    const resources = () => c.status(id).customers[0]?.resources ?? [];
    const ship = await until('the ship log line', () => c.history.events({ customer: id, types: ['ship'] })[0], 600_000).catch((error: Error) => {
      throw new Error(`${error.message}; status: ${JSON.stringify(resources().map((r) => [r.kind, r.sync, r.health, r.reason, r.message]))}`);
    });
    assert.match(ship.message, new RegExp(`ship: ${id} converged by the controller`));
    const kinds = resources();
    for (const r of kinds) assert.deepEqual([r.kind, r.sync, r.health], [r.kind, 'Synced', 'Healthy'], `${r.kind}: ${r.reason} ${r.message}`);
    for (const k of ['host', 'tunnel', 'dns', 'cloudflared', 'vault-items', 'stack', 'vaultwarden', 'entities', 'endpoints']) assert.ok(kinds.some((r) => r.kind === k), `${k} reconciled`);

    // What the controller wrote to the vault (the tunnel credentials among them) went to Secrets Manager, encrypted by the SDK.
    const names = (await openVault((await loadSettings({ config: lab.env.AXE_CONFIG! }, { ...process.env, ...lab.env })).vault, { AXE_HOME: lab.env.AXE_HOME! }).list()).map((e) => e.name);
    assert.ok(names.includes(`CLOUDFLARED_${id.toUpperCase()}_CREDENTIALS`), names.join(', '));
    for (const s of sm.stored()) for (const field of [s.key, s.value, s.note]) assert.ok(isEncString(field));
  });
});
