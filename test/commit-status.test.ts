/**
 * Status on the commit, end to end in an isolated lab (test/lab-fixture.ts: real
 * sshd hosts, Docker and Compose, the Cloudflare emulator, a real bare config
 * repo) with the git-host stand-in (lab/githost) as GitHub:
 * - a merge: `axe/{demo}` is pending on the merge commit, then success once every
 *   resource is Synced and Healthy;
 * - a customer whose DNS name is taken by a record axe does not own: failure
 *   naming the trap (dns-foreign-record) and the reason;
 * - a signed `pull_request` for a branch adding a customer: ONE plan comment
 *   naming its actions and traps; a second push edits it (no second comment);
 *   an unsigned one is 401 and plans nothing.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { loadSettings } from '../cli/settings.js';
import { createLogger } from '../controller/logger.js';
import { PLAN_MARKER } from '../controller/pr-plans.js';
import { openController, type RunningController } from '../controller/run.js';
import { signBody } from '../controller/webhook.js';
import { Secret } from '../core/secret.js';
import { type GitHostStandIn, startGitHostStandIn } from '../lab/githost/server.js';
import { onboardBranch } from '../onboarding/apply.js';
import { openConfigRepo } from '../providers/git/config-repo.js';
import { openVault } from '../providers/vault/index.js';
import { labSshCredentials, sshTarget } from '../lab/hosts/index.js';
import { vaultwardenComposeFile } from '../lab/images/vaultwarden-compose.js';
import { connect, type HostConnection } from '../providers/host/ssh.js';
import { addCustomers, customerBlock } from './controller-fixture.js';
import { git, until, withoutCustomer } from './helpers.js';
import { bootstrapPack, startTestLab, type TestLab } from './lab-fixture.js';

const WEBHOOK_SECRET = new Secret('lab-webhook-secret-commit-status-0123456789');

describe('commit statuses and PR plans on the git host (stand-in)', { timeout: 900_000 }, () => {
  let lab: TestLab;
  let running: RunningController;
  let standIn: GitHostStandIn;
  let id: string;
  let host: HostConnection | null = null;
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
    return fetch(`${running.url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': event, ...(signed ? { 'x-hub-signature-256': signBody(WEBHOOK_SECRET, body) } : {}) }, body });
  }

  /** A CNAME at `name` that axe does not own (no axe comment): the dns-foreign-record trap. */
  async function foreignRecord(name: string): Promise<void> {
    const cf = lab.cloudflare;
    const token = (await readFile(cf.tokenFile, 'utf8')).trim();
    const res = await fetch(`${cf.apiBaseUrl}/zones/${cf.zoneId}/dns_records`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'CNAME', name, content: 'someone-else.example.net', proxied: true, ttl: 1 }) });
    assert.equal(res.status, 200, await res.text());
  }

  before(async () => {
    lab = await startTestLab();
    mark('lab up');
    id = lab.ids.demo;
    const token = new Secret('ghp_lab_standin_token_commit_status_0123');
    standIn = await startGitHostStandIn({ kind: 'github', token, repo: 'axelabs/config' });
    // The customer's IT installed its vault the runbook's way (as in controller-lab.test.ts): axe patches it.
    const labHost = lab.hosts.find((h) => h.name === id)!;
    host = await connect(sshTarget(labHost), await labSshCredentials(lab.stateDir));
    await host.writeFile('~/.axe/vault/docker-compose.yml', vaultwardenComposeFile({ domain: `https://${id}.axelabs.ai`, withKeys: false, network: `axe-${id}` }), 0o644);
    const settings = await loadSettings({ config: lab.env.AXE_CONFIG! }, { ...process.env, ...lab.env });
    const vault = openVault(settings.vault, {});
    await vault.put({ name: settings.config!.repo.webhook_secret, service: 'controller', customer: 'operator', value: WEBHOOK_SECRET });
    await vault.put({ name: 'GIT_HOST_TOKEN', service: 'controller', customer: 'operator', value: token });
    // The day before: demo is not in the repo yet; acme and realchoice are suspended to keep this test on its customers.
    await commitAndPush(
      (t) => withoutCustomer(t, id).replace(`  ${lab.ids.acme}:\n`, `  ${lab.ids.acme}:\n    policy: { suspend: true }\n`).replace(new RegExp(`(  ${lab.ids.realchoice}:[\\s\\S]*?policy:\\n\\s+mode: observe)`), '$1\n      suspend: true'),
      'Before D-day',
    );
    running = await openController({
      config: { ...settings.config!, git_host: { kind: 'github', api_url: standIn.apiUrl, repo: standIn.repo, token_secret: 'GIT_HOST_TOKEN', target_url: 'https://axe.example.com/status/{customer}' } },
      vault: settings.vault,
      zone: settings.zone,
      axeHome: settings.home,
      listen: '127.0.0.1:0',
      driftSchedule: false,
      log: createLogger({ destination: process.env.AXE_TEST_CONTROLLER_LOG ? (await import('node:fs')).createWriteStream(process.env.AXE_TEST_CONTROLLER_LOG, { flags: 'a' }) : new Writable({ write: (_c, _e, done) => done() }) }),
      timings: { pollIntervalMs: 0, progressingRequeueMs: 3_000, backoffBaseMs: 1_000, backoffMaxMs: 10_000, alertForMs: 0, alertKeepFiringMs: 0 },
    });
    await running.controller.queue.idle();
    mark('controller started');
  });

  after(async () => {
    await running?.stop();
    await standIn?.close();
    // The customer's vault is its own compose project (no lab label): take it down here.
    if (host) {
      await host.exec(`/bin/sh -c 'cd ~/.axe/vault 2>/dev/null && for d in /usr/local/bin/docker /usr/bin/docker; do [ -x $d ] && exec $d compose -p ${id}-vault down -v -t 1; done'`).catch(() => undefined);
      host.close();
    }
    await lab?.[Symbol.asyncDispose]();
  });

  it('a merge: axe/demo is pending on the merge commit, then success when every resource is Synced and Healthy', async () => {
    const pack = join(lab.stateDir, 'pack.json');
    await writeFile(pack, JSON.stringify(bootstrapPack(id, [`s3cr3t-1-${id}-abcdefghijkl`, `s3cr3t-2-${id}-abcdefghijkl`, `s3cr3t-3-${id}-abcdefghijkl`])), { mode: 0o600 });
    const ingest = await lab.axe(['customers', 'ingest', id, pack, '--apply', '--legal-name', 'Demo Company', '--domain', 'demo.example.com']);
    assert.equal(ingest.code, 0, ingest.stderr);
    assert.equal(await openConfigRepo(lab.repo).mergeAndPush(onboardBranch(id), 'main'), true);
    const head = (await git(lab.repo, 'rev-parse', 'main')).trim();
    assert.equal((await hook('push', { ref: 'refs/heads/main', after: head })).status, 202);
    const context = `axe/${id}`;
    await until('a pending status', () => standIn.statuses.find((s) => s.sha === head && s.context === context), 30_000);
    const final = await until('success on the merge commit', () => standIn.statuses.find((s) => s.sha === head && s.context === context && s.state !== 'pending'), 300_000);
    mark(`axe/demo: ${final.state} — ${final.description}`);
    const mine = standIn.statuses.filter((s) => s.sha === head && s.context === context);
    assert.deepEqual(mine.map((s) => s.state), ['pending', 'success'], JSON.stringify(mine));
    assert.match(mine[0]!.description, /^queued: axe applies [0-9a-f]{12} to /);
    assert.match(final.description, /every resource Synced and Healthy/);
    assert.equal(final.targetUrl, `https://axe.example.com/status/${id}`);
    // One context per customer: no status for a customer this revision did not touch.
    assert.deepEqual([...standIn.latest(head).keys()], [context]);
    assert.match(await running.controller.metrics.text(), /axe_commit_status_posts_total\{result="ok"\} ([2-9]|\d{2,})\n/);
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
