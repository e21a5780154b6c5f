/**
 * The controller end to end in an isolated lab (test/lab-fixture.ts: real
 * sshd hosts, real Docker and Compose, the Cloudflare emulator, the Tailscale
 * stand-in) with the operator vault on `vault.provider: bitwarden-sm` (the
 * Secrets Manager stand-in, lab/secrets-manager, reached by the real
 * `@bitwarden/sdk-napi`; the lab's file vault is copied into it first): merging
 * a customer's onboarding branch is the
 * whole D-day. A signed webhook starts the reconcile within 1 s, and the
 * controller converges the customer with no other CLI call; the ship log line
 * records it. Then drift: a DNS record deleted in the emulator, a container
 * killed and an env file edited on the host are each found by one scan and
 * corrected in `apply`, only alerted in `observe`, and left alone when the
 * customer is suspended.
 * Status on the commit, with the git-host stand-in (lab/githost) as GitHub: the
 * merge's `axe/{demo}` is pending, then success once every resource is Synced and
 * Healthy; a change to a customer whose DNS name a record axe does not own holds:
 * failure naming the trap (dns-foreign-record); a signed `pull_request` for a branch
 * adding a customer: ONE plan comment naming its actions and traps, edited by a second
 * push; an unsigned one is 401 and plans nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Secret } from '../core/secret.js';
import { isEncString } from '../lab/secrets-manager/crypto.js';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../lab/secrets-manager/server.js';
import { parse, stringify } from 'yaml';
import type { RunningController } from '../controller/run.js';
import { PLAN_MARKER } from '../controller/pr-plans.js';
import { signBody } from '../controller/webhook.js';
import type { GitHostStandIn } from '../lab/githost/server.js';
import type { AlertNotice } from '../controller/alerts.js';
import { loadSettings } from '../cli/settings.js';
import { onboardBranch } from '../onboarding/apply.js';
import { openConfigRepo } from '../providers/git/config-repo.js';
import { openVault } from '../providers/vault/index.js';
import { labSshCredentials, sshTarget } from '../lab/hosts/index.js';
import { vaultwardenComposeFile } from '../lab/images/vaultwarden-compose.js';
import { connect, type HostConnection } from '../providers/host/ssh.js';
import { addCustomers, customerBlock } from './controller-fixture.js';
import { axe, git, until, withoutCustomer } from './helpers.js';
import { startTestLab, type TestLab } from './lab-fixture.js';
import { type LabController, openLabController } from './lab-controller.js';

const exec = promisify(execFile);

describe('controller in the lab: merge to deploy, drift, policies', { timeout: 900_000 }, () => {
  let lab: TestLab;
  let running: RunningController;
  let labController: LabController | undefined;
  let webhookSecret: Secret;
  let id: string;
  let hostHome: string;
  let host: HostConnection | null = null;
  let standIn: GitHostStandIn;
  let sm: SecretsManagerStandIn;
  const savedHome = process.env.AXE_HOME;
  const notices: AlertNotice[] = [];
  const t0 = Date.now();
  const mark = (what: string): void => console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);

  async function commitAndPush(edit: (text: string) => string, message: string, branch = 'main'): Promise<string> {
    const path = join(lab.repo, 'customers.yaml');
    await writeFile(path, edit(await readFile(path, 'utf8')));
    await git(lab.repo, 'commit', '-qam', message);
    await git(lab.repo, 'push', '-q', 'origin', `HEAD:${branch}`);
    return (await git(lab.repo, 'rev-parse', 'HEAD')).trim();
  }

  async function hook(event: string, payload: unknown, signed = true): Promise<Response> {
    const body = JSON.stringify(payload);
    const secret = webhookSecret;
    return fetch(`${running.url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': event, ...(signed ? { 'x-hub-signature-256': signBody(secret, body) } : {}) }, body });
  }

  /** A CNAME at `name` that axe does not own (no axe comment): the dns-foreign-record trap. */
  async function foreignRecord(name: string): Promise<void> {
    const cf = lab.cloudflare;
    const token = (await readFile(cf.tokenFile, 'utf8')).trim();
    const res = await fetch(`${cf.apiBaseUrl}/zones/${cf.zoneId}/dns_records`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'CNAME', name, content: 'someone-else.example.net', proxied: true, ttl: 1 }) });
    assert.equal(res.status, 200, await res.text());
  }

  const resources = (customer: string) => running.controller.status(customer).customers[0]?.resources ?? [];
  const kindOf = (customer: string, kind: string) => resources(customer).find((r) => r.kind === kind);

  async function dnsRecord(name: string): Promise<{ id: string } | undefined> {
    const cf = lab.cloudflare;
    const token = (await readFile(cf.tokenFile, 'utf8')).trim();
    const res = await fetch(`${cf.apiBaseUrl}/zones/${cf.zoneId}/dns_records?name=${name}`, { headers: { authorization: `Bearer ${token}` } });
    return ((await res.json()) as { result: Array<{ id: string }> }).result[0];
  }

  async function deleteDns(name: string): Promise<void> {
    const cf = lab.cloudflare;
    const token = (await readFile(cf.tokenFile, 'utf8')).trim();
    const record = await dnsRecord(name);
    assert.ok(record, `${name} exists`);
    const res = await fetch(`${cf.apiBaseUrl}/zones/${cf.zoneId}/dns_records/${record.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
  }

  async function containerOf(project: string, service: string): Promise<{ id: string; state: string } | null> {
    const { stdout } = await exec('docker', ['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`, '--format', '{{.ID}} {{.State}}']);
    const [first] = stdout.trim().split('\n').filter(Boolean);
    if (!first) return null;
    const [cid, state] = first.split(' ');
    return { id: cid!, state: state! };
  }

  before(async () => {
    lab = await startTestLab();
    mark('lab up');
    id = lab.ids.demo;
    const labHost = lab.hosts.find((h) => h.name === id)!;
    hostHome = labHost.home;
    // The customer's IT installed its vault the runbook's way (without the four SSO keys): axe patches it.
    host = await connect(sshTarget(labHost), await labSshCredentials(lab.stateDir));
    await host.writeFile('~/.axe/vault/docker-compose.yml', vaultwardenComposeFile({ domain: `https://${id}.axelabs.ai`, withKeys: false, network: `axe-${id}` }), 0o644);
    // The operator vault is Secrets Manager (the stand-in, through the real SDK): every item of the lab's file vault is copied over, then the config points at it.
    sm = await startSecretsManagerStandIn();
    // The provider keeps the SDK's state under $AXE_HOME: this process is the controller, so it gets the lab operator's.
    process.env.AXE_HOME = lab.env.AXE_HOME;
    const tokenFile = join(lab.env.AXE_HOME!, 'bitwarden-sm-access-token');
    await writeFile(tokenFile, `${sm.issueAccessToken().reveal()}\n`, { mode: 0o600 });
    const fileVault = openVault((await loadSettings({ config: lab.env.AXE_CONFIG! }, { ...process.env, ...lab.env })).vault, {});
    const config = parse(await readFile(lab.env.AXE_CONFIG!, 'utf8')) as Record<string, unknown>;
    config.vault = { provider: 'bitwarden-sm', api_url: sm.apiUrl, identity_url: sm.identityUrl, organization_id: sm.organizationId, project_id: sm.projectId, access_token_file: tokenFile };
    await writeFile(lab.env.AXE_CONFIG!, stringify(config), { mode: 0o600 });
    const settings = await loadSettings({ config: lab.env.AXE_CONFIG! }, { ...process.env, ...lab.env });
    assert.equal(settings.vault.provider, 'bitwarden-sm');
    const vault = openVault(settings.vault, { AXE_HOME: lab.env.AXE_HOME! });
    for (const entry of await fileVault.list()) {
      const value = await fileVault.get(entry.name);
      assert.ok(value);
      assert.equal(await vault.put({ name: entry.name, ...(entry.customer ? { customer: entry.customer } : {}), ...(entry.service ? { service: entry.service } : {}), value }), 'created');
    }
    webhookSecret = new Secret('lab-webhook-secret-0123456789abcdef');
    await vault.put({ name: settings.config!.repo.webhook_secret, service: 'controller', customer: 'operator', value: webhookSecret });
    // The day before: the demo customer is not in the repo yet; acme is suspended to keep this test on one customer.
    await commitAndPush((t) => withoutCustomer(t, id).replace(`  ${lab.ids.acme}:\n`, `  ${lab.ids.acme}:\n    policy: { suspend: true }\n`), 'Before D-day');
    // The config repo's git host, GitHub's commit-status and comment API (a stand-in), its token in the vault.
    labController = await openLabController(lab.env, { gitHost: { token: 'ghp_lab_standin_token_commit_status_0123', targetUrl: 'https://axe.example.com/status/{customer}' } });
    ({ running } = labController);
    standIn = labController.gitHost!;
    running.controller.on('alerts', (n: AlertNotice[]) => notices.push(...n));
    await running.controller.queue.idle();
    mark('controller started');
  });

  after(async () => {
    await labController?.stop();
    // The customer's vault is its own compose project (no lab label): take it down here.
    if (host) {
      await host.exec(`/bin/sh -c 'cd ~/.axe/vault 2>/dev/null && for d in /usr/local/bin/docker /usr/bin/docker; do [ -x $d ] && exec $d compose -p ${id}-vault down -v -t 1; done'`).catch(() => undefined);
      host.close();
    }
    await sm?.close();
    await lab?.[Symbol.asyncDispose]();
    if (savedHome === undefined) delete process.env.AXE_HOME;
    else process.env.AXE_HOME = savedHome;
  });

  it('converges a merged customer with no CLI call: the webhook starts it within 1 s, the ship log records it, axe/demo goes pending then success on the merge commit', async () => {
    const c = running.controller;
    const base = `https://${id}.axelabs.ai`;
    const pack = join(lab.stateDir, 'pack.json');
    const secret = (n: number): string => `s3cr3t-${n}-${id}-abcdefghijklmnop`;
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
    // The pull request: what the operator runs when the pack arrives. The pack's three secrets go to Secrets Manager, and nowhere in the output.
    const storedBefore = sm.stored().length;
    const ingest = await lab.axe(['customers', 'ingest', id, pack, '--apply', '--legal-name', 'Demo Company', '--domain', 'demo.example.com']);
    assert.equal(ingest.code, 0, ingest.stderr);
    assert.equal(sm.stored().length, storedBefore + 3, 'the three client secrets are in Secrets Manager');
    for (const n of [1, 2, 3]) assert.ok(!ingest.stdout.includes(secret(n)) && !ingest.stderr.includes(secret(n)));
    // The merge (the git host's part), then the push webhook, signed.
    assert.equal(await openConfigRepo(lab.repo).mergeAndPush(onboardBranch(id), 'main'), true);
    const head = (await git(lab.repo, 'rev-parse', 'main')).trim();
    const started = new Promise<number>((resolve) => c.on('reconcile-start', (e: { customer: string; at: number }) => e.customer === id && resolve(e.at)));
    const body = JSON.stringify({ ref: 'refs/heads/main', after: head });
    const sentAt = Date.now();
    const res = await fetch(`${running.url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-gitea-event': 'push', 'x-hub-signature-256': signBody(webhookSecret, body) }, body });
    assert.equal(res.status, 202);
    const latency = (await started) - sentAt;
    mark(`webhook → reconcile start ${latency} ms`);
    assert.ok(latency < 1_000, `${latency} ms`);

    const ship = await until('the ship log line', () => c.history.events({ customer: id, types: ['ship'] })[0], 300_000).catch((error: Error) => {
      throw new Error(`${error.message}; status: ${JSON.stringify(resources(id).map((r) => [r.kind, r.sync, r.health, r.reason, r.message, r.pending]))}`);
    });
    mark('converged');
    assert.match(ship.message, new RegExp(`ship: ${id} converged by the controller at ${head.slice(0, 12)}`));
    const kinds = resources(id);
    for (const r of kinds) assert.deepEqual([r.kind, r.sync, r.health], [r.kind, 'Synced', 'Healthy'], `${r.kind}: ${r.reason} ${r.message}`);
    for (const k of ['host', 'tunnel', 'dns', 'cloudflared', 'vault-items', 'stack', 'vaultwarden', 'entities', 'endpoints']) assert.ok(kinds.some((r) => r.kind === k), `${k} reconciled`);
    console.log(`# kinds converged: ${kinds.map((r) => r.kind).join(', ')}`);
    assert.equal(c.history.events({ customer: id, types: ['ship'] }).length, 1);
    // What the controller wrote to the vault (the tunnel credentials among them) went to Secrets Manager, encrypted by the SDK.
    const names = (await openVault((await loadSettings({ config: lab.env.AXE_CONFIG! }, { ...process.env, ...lab.env })).vault, { AXE_HOME: lab.env.AXE_HOME! }).list()).map((e) => e.name);
    assert.ok(names.includes(`CLOUDFLARED_${id.toUpperCase()}_CREDENTIALS`), names.join(', '));
    for (const s of sm.stored()) for (const field of [s.key, s.value, s.note]) assert.ok(isEncString(field));

    // The status on the merge commit: pending when queued, success once Synced and Healthy.
    const context = `axe/${id}`;
    const final = await until('success on the merge commit', () => standIn.statuses.find((s) => s.sha === head && s.context === context && s.state !== 'pending'), 60_000);
    mark(`${context}: ${final.state} — ${final.description}`);
    const mine = standIn.statuses.filter((s) => s.sha === head && s.context === context);
    assert.deepEqual(mine.map((s) => s.state), ['pending', 'success'], JSON.stringify(mine));
    assert.match(mine[0]!.description, /^queued: axe applies [0-9a-f]{12} to /);
    assert.match(final.description, /every resource Synced and Healthy/);
    assert.equal(final.targetUrl, `https://axe.example.com/status/${id}`);
    // One context per customer: no status for a customer this revision did not touch.
    assert.deepEqual([...standIn.latest(head).keys()], [context]);
    assert.match(await c.metrics.text(), /axe_commit_status_posts_total\{result="ok"\} ([2-9]|\d{2,})\n/);
  });

  // The time itself is a target for bench/engine-events.ts (kill -> healthy <= 10 s median), not for a test: the bound here is loose.
  it('brings a killed container back with no scan (the engine event stream over SSH), and records the drift; same for a removed network', async () => {
    const c = running.controller;
    await until('the engine event stream of the demo host', () => c.engineEventStreams().find((s) => s.customers.includes(id) && s.state === 'connected'), 20_000);
    const before = c.history.events({ customer: id, types: ['drift'], limit: 500 }).length;
    const scansBefore = (await c.metrics.text()).match(/^axe_drift_scans_total\{[^}]*\} (\d+)$/gm)?.join() ?? '';
    const hive = await containerOf(`${id}-hive`, 'hive-mcp');
    assert.ok(hive, 'hive-mcp runs');
    const killedAt = Date.now();
    await exec('docker', ['kill', hive.id]);
    await until('hive-mcp running and healthy again', async () => {
      const { stdout } = await exec('docker', ['ps', '--filter', `label=com.docker.compose.project=${id}-hive`, '--filter', 'label=com.docker.compose.service=hive-mcp', '--format', '{{.Status}}']);
      return /\(healthy\)/.test(stdout) && c.history.events({ customer: id, types: ['drift'], limit: 500 }).slice(before).some((e) => e.kind === 'stack');
    }, 60_000);
    mark(`docker kill -> healthy again: ${Date.now() - killedAt} ms`);
    assert.equal((await c.metrics.text()).match(/^axe_drift_scans_total\{[^}]*\} (\d+)$/gm)?.join() ?? '', scansBefore, 'no drift scan ran');
    await c.queue.idle();

    // A network the stacks need, removed (its endpoints disconnected first, as docker requires).
    const network = `axe-${id}`;
    const { stdout: attached } = await exec('docker', ['network', 'inspect', network, '--format', '{{range $k, $v := .Containers}}{{$k}} {{end}}']);
    for (const cid of attached.trim().split(/\s+/).filter(Boolean)) await exec('docker', ['network', 'disconnect', '-f', network, cid]);
    const driftBefore = c.history.events({ customer: id, types: ['drift'], limit: 500 }).length;
    const removedAt = Date.now();
    await exec('docker', ['network', 'rm', network]);
    await until(`${network} back and the drift recorded`, async () => {
      const exists = await exec('docker', ['network', 'inspect', network]).then(() => true, () => false);
      return exists && c.history.events({ customer: id, types: ['drift'], limit: 500 }).length > driftBefore;
    }, 60_000);
    mark(`docker network rm -> network back: ${Date.now() - removedAt} ms`);
    await c.queue.idle();
  });

  it('corrects drift in apply: a deleted DNS record, a killed container, an edited env file, each in one scan', async () => {
    const c = running.controller;
    const name = `${id}.axelabs.ai`;
    // Counted before the changes: a killed container may be corrected by its engine event before the scan runs.
    const before = c.history.events({ customer: id, types: ['drift'], limit: 500 }).length;
    await deleteDns(name);
    const hive = await containerOf(`${id}-hive`, 'hive-mcp');
    assert.ok(hive, 'hive-mcp runs');
    await exec('docker', ['kill', hive.id]);
    const envFile = join(hostHome, '.axe', 'stacks', 'frame', '.env.local');
    await appendFile(envFile, 'HAND_EDITED=1\n');
    const scan = await c.driftScan();
    mark(`drift scan (apply) ${scan.durationMs} ms`);
    await c.queue.idle();
    const drift = c.history.events({ customer: id, types: ['drift'], limit: 500 }).slice(before);
    const drifted = new Set(drift.map((e) => e.kind));
    assert.ok(drifted.has('dns'), JSON.stringify(drift));
    assert.ok(drifted.has('stack'), JSON.stringify(drift));
    assert.ok(await dnsRecord(name), 'the DNS record is back');
    assert.equal((await containerOf(`${id}-hive`, 'hive-mcp'))?.state, 'running', 'hive-mcp runs again');
    assert.doesNotMatch(await readFile(envFile, 'utf8'), /HAND_EDITED/, 'the env file is rendered again from the vault and git');
    assert.equal(c.history.openDrifts(id).length, 0, 'every drift corrected and closed');
    const text = await c.metrics.text();
    assert.match(text, new RegExp(`^axe_drift_detected_total\\{customer="${id}",kind="dns"\\} 1$`, 'm'));
  });

  it('axe plan through the controller equals axe plan --local (text, --json, exit code): converged, then with a drift the test makes', async () => {
    const c = running.controller;
    await c.queue.idle();
    // The controller runs the lab's config with the git host added (lab-controller.ts): the CLI is given that config, as the operator's would be.
    const config = join(lab.stateDir, 'controller-config.yaml');
    await writeFile(config, stringify(labController!.config), { mode: 0o600 });
    const env = { ...lab.env, AXE_CONFIG: config };
    // Timings and ages ("3m old", "5m ago") move between the two plans, made a minute apart on a loaded machine; nothing else may.
    const same = (stdout: string): string => stdout.replace(/"durationMs": \d+/g, '"durationMs": 0').replace(/\b\d+[smhd](?: \d+[mh])? (old|ago)\b/g, 'AGE $1');
    const compare = async (args: string[], code: number | null, what: string): Promise<string> => {
      const t0 = Date.now();
      const warm = await axe(['plan', ...args], { env });
      const t1 = Date.now();
      const local = await axe(['plan', ...args, '--local'], { env });
      mark(`${what}: axe plan ${args.join(' ')} through the controller ${t1 - t0} ms, --local ${Date.now() - t1} ms`);
      assert.match(warm.stderr, new RegExp(`^plan: by the running controller \\(pid ${process.pid}, revision ${c.revision!.slice(0, 12)}\\) over its warm connections$`, 'm'), warm.stderr);
      assert.match(local.stderr, /^plan: locally \(--local\)$/m);
      assert.equal(warm.code, local.code, `${what} ${args.join(' ')}: ${warm.stderr} / ${local.stderr}`);
      if (code !== null) assert.equal(warm.code, code, `${what} ${args.join(' ')}: ${warm.stdout}${warm.stderr}`);
      assert.equal(same(warm.stdout), same(local.stdout), `${what} ${args.join(' ')}`);
      return warm.stdout;
    };
    await compare([id], 0, 'converged');
    await compare(['--json'], null, 'converged');
    // Drift the controller does not see by itself (no drift scan in this lab, no engine event for either): a deleted DNS record, an edited env file.
    await deleteDns(`${id}.axelabs.ai`);
    const envFile = join(hostHome, '.axe', 'stacks', 'frame', '.env.local');
    await appendFile(envFile, 'HAND_EDITED=1\n');
    await compare([id], 2, 'drifted');
    const json = JSON.parse(await compare([id, '--json'], 2, 'drifted')) as { customers: Array<{ resources: Array<{ kind: string; actions: unknown[] }> }> };
    const pending = json.customers[0]!.resources.filter((r) => r.actions.length > 0).map((r) => r.kind);
    for (const k of ['dns', 'stack']) assert.ok(pending.includes(k), `${k} planned: ${pending.join(', ')}`);
    // Corrected again for the tests after this one.
    await c.driftScan();
    await c.queue.idle();
    assert.ok(await dnsRecord(`${id}.axelabs.ai`), 'the DNS record is back');
    assert.doesNotMatch(await readFile(envFile, 'utf8'), /HAND_EDITED/);
  });

  it('only alerts in observe, and leaves a suspended customer alone', async () => {
    const c = running.controller;
    const name = `${id}.axelabs.ai`;
    await commitAndPush((t) => t.replace(`\n  ${id}:\n`, `\n  ${id}:\n    policy: { mode: observe }\n`), 'demo observe-only');
    assert.equal((await c.sync('manual')).result, 'applied');
    await c.queue.idle();
    assert.equal(c.status(id).customers[0]?.mode, 'observe');
    await deleteDns(name);
    const hive = await containerOf(`${id}-hive`, 'hive-mcp');
    await exec('docker', ['kill', hive!.id]);
    const noticesBefore = notices.length;
    await c.driftScan();
    await c.queue.idle();
    assert.equal(await dnsRecord(name), undefined, 'observe: the record stays deleted');
    assert.notEqual((await containerOf(`${id}-hive`, 'hive-mcp'))?.state, 'running', 'observe: the container stays down');
    const open = c.history.openDrifts(id).map((d) => d.kind);
    // hive being down also hides its registered entities: drift there too.
    for (const k of ['dns', 'stack']) assert.ok(open.includes(k), `drift open on ${k}: ${open.join(', ')}`);
    await until('the DriftOpen alert', () => notices.slice(noticesBefore).some((n) => n.name === 'DriftOpen' && n.customer === id && n.status === 'firing'), 5_000);
    assert.match(await c.metrics.text(), new RegExp(`^axe_drift_open\\{customer="${id}",kind="dns"\\} 1$`, 'm'));

    await commitAndPush((t) => t.replace(`\n  ${id}:\n    policy: { mode: observe }\n`, `\n  ${id}:\n    policy: { suspend: true }\n`), 'demo suspended');
    assert.deepEqual((await c.sync('manual')) as unknown, { result: 'applied', revision: (await git(lab.repo, 'rev-parse', 'HEAD')).trim(), added: [], changed: [id], removed: [] });
    await c.queue.idle();
    const actionsBefore = c.history.events({ customer: id, types: ['action'], limit: 1000 }).length;
    await c.driftScan();
    await c.queue.idle();
    assert.equal(c.history.events({ customer: id, types: ['action'], limit: 1000 }).length, actionsBefore, 'suspended: nothing done');
    assert.equal(await dnsRecord(name), undefined);
    assert.ok(resources(id).every((r) => r.health === 'Suspended'));
    assert.match(await c.metrics.text(), new RegExp(`^axe_resource_info\\{customer="${id}",kind="dns",sync="Unknown",health="Suspended",suspended="true"\\} 1$`, 'm'));

    // Back to apply: everything is corrected again.
    await commitAndPush((t) => t.replace(`\n  ${id}:\n    policy: { suspend: true }\n`, `\n  ${id}:\n`), 'demo back to apply');
    const back = await c.sync('manual');
    assert.deepEqual(back.result === 'applied' ? back.changed : back, [id]);
    await until('demo converged again', () => kindOf(id, 'dns')?.sync === 'Synced' && kindOf(id, 'stack')?.health === 'Healthy', 300_000);
    assert.ok(await dnsRecord(name));
    mark('corrected after suspend');
  });

  it('a customer whose DNS name a foreign record holds: failure with the trap and the reason', async () => {
    // Someone replaced demo's CNAME by hand with a record axe does not own; then a change to demo merges.
    const cf = lab.cloudflare;
    const token = (await readFile(cf.tokenFile, 'utf8')).trim();
    const name = `${id}.axelabs.ai`;
    const list = (await (await fetch(`${cf.apiBaseUrl}/zones/${cf.zoneId}/dns_records?name=${name}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { result: Array<{ id: string }> };
    for (const r of list.result) assert.equal((await fetch(`${cf.apiBaseUrl}/zones/${cf.zoneId}/dns_records/${r.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' })).status, 200);
    await foreignRecord(name);
    const head = await commitAndPush((t) => t.replace('legal_name: "Demo Company"', 'legal_name: "Demo Company Ltd."'), 'Rename demo');
    assert.equal((await hook('push', { ref: 'refs/heads/main', after: head })).status, 202);
    const context = `axe/${id}`;
    const failure = await until('a failure status', () => standIn.statuses.find((s) => s.sha === head && s.context === context && s.state === 'failure'), 180_000);
    mark(`${context}: ${failure.description}`);
    assert.match(failure.description, /^trap dns-foreign-record · dns: /);
    assert.ok(failure.description.length <= 140);
    assert.equal(standIn.statuses.filter((s) => s.sha === head && s.context === context)[0]?.state, 'pending');
  });

  it('a signed pull_request adding a customer: one plan comment with its actions and traps, edited on the next push; unsigned: 401', async () => {
    const pr = `${id.slice(0, 4)}prco`;
    await foreignRecord(`${pr}.axelabs.ai`);
    await git(lab.repo, 'switch', '-q', '-c', `onboard/${pr}`, 'main');
    const first = await commitAndPush((t) => addCustomers(t, customerBlock(pr)), `Onboard ${pr}`, `onboard/${pr}`);
    standIn.openPull(12);
    const payload = (sha: string, action: string) => ({ action, number: 12, pull_request: { number: 12, state: 'open', head: { sha, ref: `onboard/${pr}` }, base: { ref: 'main' } } });

    const unsigned = await hook('pull_request', payload(first, 'opened'), false);
    assert.equal(unsigned.status, 401);
    const opened = await hook('pull_request', payload(first, 'opened'));
    assert.equal(opened.status, 202);
    assert.deepEqual(await opened.json(), { accepted: true, plan: 12 });
    await until('the plan comment', () => standIn.comments.find((c) => c.issue === 12), 120_000);
    await running.plans!.idle();
    const comments = standIn.comments.filter((c) => c.issue === 12);
    assert.equal(comments.length, 1);
    const body = comments[0]!.body;
    assert.ok(body.startsWith(PLAN_MARKER));
    assert.match(body, new RegExp(`Customers whose desired state changes: \`${pr}\` \\(new\\)`));
    assert.match(body, new RegExp(`#### \`${pr}\``));
    assert.match(body, new RegExp(`\`create\` create tunnel axe-${pr}`));
    assert.match(body, /\*\*Traps found before merge\*\*/);
    assert.match(body, /\*\*dns-foreign-record\*\*/);
    assert.match(body, new RegExp(`Planned by the axe controller for ${first.slice(0, 12)}`));
    assert.doesNotMatch(body, /ghp_|s3cr3t/);

    const second = await commitAndPush((t) => t.replace(`legal_name: "${pr} Inc."`, `legal_name: "${pr} Incorporated"`), 'Rename', `onboard/${pr}`);
    assert.equal((await hook('pull_request', payload(second, 'synchronize'))).status, 202);
    await until('the comment edited for the second push', () => standIn.comments.find((c) => c.issue === 12 && c.body.includes(`for ${second.slice(0, 12)}`)), 120_000);
    await running.plans!.idle();
    const after = standIn.comments.filter((c) => c.issue === 12);
    assert.equal(after.length, 1, 'no second comment');
    assert.equal(after[0]!.edits, 1);
    assert.equal(standIn.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/issues/12/comments')).length, 1);
    await git(lab.repo, 'switch', '-q', 'main');
  });
});
