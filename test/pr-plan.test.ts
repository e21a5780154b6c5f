/**
 * Commit statuses and the PR plan comment with the controller in-process against
 * a real bare config repo, the Cloudflare emulator and the git-host stand-in as
 * Gitea (test/controller-fixture.ts; no Docker, the hosts unreachable): a push is
 * pending then failure with the trap and reason; a signed Gitea `pull_request` for a
 * branch adding a customer gets ONE plan comment naming its actions, a second
 * push edits it; a forged signature is 401 and plans nothing; without git_host a
 * pull_request is ignored.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../controller/logger.js';
import { PLAN_MARKER } from '../controller/pr-plans.js';
import { openController } from '../controller/run.js';
import { signBody } from '../controller/webhook.js';
import { Secret } from '../core/secret.js';
import { startGitHostStandIn } from '../lab/githost/server.js';
import { openVault } from '../providers/vault/index.js';
import { addCustomers, controllerFixture, customerBlock } from './controller-fixture.js';
import { git, until } from './helpers.js';

const quiet = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });

describe('PR plans and commit statuses (in-process controller, Gitea stand-in)', { timeout: 300_000 }, () => {
  it('push: pending then failure with the reason; pull_request: one comment, edited on the next push; forged: 401', async () => {
    await using f = await controllerFixture();
    const token = new Secret('gitea-standin-token-0123456789abcdef');
    const standIn = await startGitHostStandIn({ kind: 'gitea', token, repo: 'ops/config' });
    await openVault(f.vault, {}).put({ name: 'GITEA_TOKEN', service: 'controller', customer: 'operator', value: token });
    const running = await openController({
      config: { ...f.config, git_host: { kind: 'gitea', api_url: standIn.apiUrl, repo: 'ops/config', token_secret: 'GITEA_TOKEN' } },
      vault: f.vault,
      zone: f.config.cloudflare.zone,
      axeHome: f.home,
      listen: '127.0.0.1:0',
      driftSchedule: false,
      log: quiet,
      timings: { pollIntervalMs: 0, backoffBaseMs: 60_000, backoffMaxMs: 60_000 },
    });
    const hook = (event: string, payload: unknown, secret: Secret = f.webhookSecret): Promise<Response> => {
      const body = JSON.stringify(payload);
      return fetch(`${running.url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-gitea-event': event, 'x-gitea-signature': signBody(secret, body).slice('sha256='.length) }, body });
    };
    try {
      await running.controller.queue.idle();
      const head = await f.push((t) => t.replace('legal_name: "Demo Company"', 'legal_name: "Demo Company Ltd."'), 'Rename demo');
      assert.equal((await hook('push', { ref: 'refs/heads/main', after: head })).status, 202);
      const failure = await until('failure for axe/demo', () => standIn.statuses.find((s) => s.sha === head && s.context === 'axe/demo' && s.state === 'failure'), 60_000);
      const states = standIn.statuses.filter((s) => s.sha === head && s.context === 'axe/demo').map((s) => s.state);
      assert.equal(states[0], 'pending');
      // The fixture's vault lacks demo's SSO secrets: a trap, shown before the unreachable host's plain error.
      assert.match(failure.description, /^trap blueprint-sso-missing · vault-items: Degraded SecretMissing: missing from the vault: /);
      assert.ok(failure.description.length <= 140);
      assert.deepEqual([...standIn.latest(head).keys()], ['axe/demo'], 'only the customer the revision changed');

      // The branch is pushed to the config repo, not merged: main stays at `head`.
      const branchCommit = async (edit: (t: string) => string, message: string): Promise<string> => {
        const path = join(f.work, 'customers.yaml');
        await writeFile(path, edit(await readFile(path, 'utf8')));
        await git(f.work, 'commit', '-qam', message);
        await git(f.work, 'push', '-q', 'origin', 'HEAD:refs/heads/onboard/newco');
        return (await git(f.work, 'rev-parse', 'HEAD')).trim();
      };
      await git(f.work, 'switch', '-q', '-c', 'onboard/newco');
      const first = await branchCommit((t) => addCustomers(t, customerBlock('newco')), 'Onboard newco');
      // newco's name is taken by a record axe does not own: the plan names the trap.
      const cf = { authorization: `Bearer ${f.emulator.token.reveal()}`, 'content-type': 'application/json' };
      const zones = (await (await fetch(`${f.emulator.apiBaseUrl}/zones?name=${f.emulator.zone}`, { headers: cf })).json()) as { result: Array<{ id: string }> };
      const made = await fetch(`${f.emulator.apiBaseUrl}/zones/${zones.result[0]!.id}/dns_records`, { method: 'POST', headers: cf, body: JSON.stringify({ type: 'CNAME', name: `newco.${f.emulator.zone}`, content: 'someone-else.example.net', proxied: true, ttl: 1 }) });
      assert.equal(made.status, 200, await made.text());
      standIn.openPull(3);
      const payload = (sha: string, action: string) => ({ action, number: 3, pull_request: { number: 3, state: 'open', head: { sha, ref: 'onboard/newco' }, base: { ref: 'main' } } });
      const forged = await hook('pull_request', payload(first, 'opened'), new Secret('not-the-secret'));
      assert.equal(forged.status, 401);
      const opened = await hook('pull_request', payload(first, 'opened'));
      assert.equal(opened.status, 202);
      await until('the plan comment', () => standIn.comments.find((c) => c.issue === 3), 60_000);
      await running.plans!.idle();
      const [comment, ...more] = standIn.comments.filter((c) => c.issue === 3);
      assert.equal(more.length, 0);
      assert.ok(comment!.body.startsWith(PLAN_MARKER));
      assert.match(comment!.body, /Customers whose desired state changes: `newco` \(new\)\./);
      assert.match(comment!.body, /`create` create tunnel axe-newco/);
      assert.match(comment!.body, /\*\*Traps found before merge\*\*/);
      assert.match(comment!.body, /\*\*dns-foreign-record\*\*/);
      assert.doesNotMatch(comment!.body, /#### `demo`/, 'planned against the merge base: the rename on main is not this PR\'s');

      const second = await branchCommit((t) => t.replace('legal_name: "newco Inc."', 'legal_name: "newco Incorporated"'), 'Rename newco');
      assert.equal((await hook('pull_request', payload(second, 'synchronized'))).status, 202);
      await until('the edit', () => standIn.comments.find((c) => c.issue === 3 && c.body.includes(`for ${second.slice(0, 12)}`)), 60_000);
      await running.plans!.idle();
      assert.equal(standIn.comments.filter((c) => c.issue === 3).length, 1);
      assert.equal(standIn.comments.find((c) => c.issue === 3)!.edits, 1);
      assert.match(await running.controller.metrics.text(), /axe_pr_plans_total\{result="edited"\} 1/);
    } finally {
      await running.stop();
      await standIn.close();
    }
  });
});
