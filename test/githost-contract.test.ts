/**
 * The git host contract: the product's client (providers/githost) drives the lab's
 * stand-in (lab/githost) through every call it makes — a commit status, a pull
 * request's comments listed, created and edited, a comment on an unknown pull
 * request — for GitHub and for Gitea; the stand-in records each exchange and each
 * one is held to the published description (contracts/githost/): the request the
 * client sent, the answer the stand-in gave, its status, and every field the client
 * reads (GITHOST_FIELD_READS). Then the error classes: 401/403/404 terminal with
 * the fix and never the token, 429/5xx/a closed port transient.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Contract, loadContract } from '../contracts/openapi-check.js';
import { AxeError } from '../core/errors.js';
import { Secret } from '../core/secret.js';
import { startGitHostStandIn } from '../lab/githost/server.js';
import { GITHOST_FIELD_READS, openGitHost } from '../providers/githost/index.js';

const TOKEN = new Secret('ghp_standin_token_0123456789abcdefABCDEF');
const SHA = 'a'.repeat(40);

async function rejection(work: Promise<unknown>): Promise<AxeError> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof AxeError, String(error));
    return error;
  }
  assert.fail('expected an error');
}

for (const kind of ['github', 'gitea'] as const) {
  describe(`git host contract: ${kind}`, () => {
    it('every request the client sends and every answer the stand-in gives conform; every field read is in the spec', async () => {
      const contract: Contract = await loadContract(join(import.meta.dirname, '..', 'contracts', 'githost', `${kind}.trimmed.yaml`));
      assert.deepEqual(contract.checkFieldReads(GITHOST_FIELD_READS.filter((r) => r.host === kind)), []);
      // The checker catches a read the spec lacks (a test that cannot fail is a defect).
      assert.equal(contract.checkFieldReads([{ method: 'GET', path: GITHOST_FIELD_READS.find((r) => r.host === kind)!.path, status: 200, field: '[].reactions' }]).length, 1);
      const standIn = await startGitHostStandIn({ kind, token: TOKEN });
      try {
        standIn.openPull(7);
        const host = openGitHost({ kind, apiUrl: standIn.apiUrl, repo: standIn.repo, token: TOKEN, tokenSecret: 'GIT_HOST_TOKEN' });
        await host.setStatus(SHA, { state: 'pending', context: 'axe/demo', description: 'queued at a1b2c3' });
        await host.setStatus(SHA, { state: 'failure', context: 'axe/demo', description: 'x'.repeat(300), targetUrl: 'https://axe.example.com/status/demo' });
        assert.deepEqual([...standIn.latest(SHA).values()].map((s) => [s.context, s.state, s.description.length]), [['axe/demo', 'failure', 140]]);
        assert.deepEqual(await host.listComments(7), []);
        const created = await host.createComment(7, '<!-- axe-plan -->\nfirst');
        const edited = await host.editComment(created.id, '<!-- axe-plan -->\nsecond');
        assert.equal(edited.id, created.id);
        assert.deepEqual((await host.listComments(7)).map((c) => c.body), ['<!-- axe-plan -->\nsecond']);
        const missing = await rejection(host.createComment(8, 'no such pull'));
        assert.equal(missing.class, 'terminal');
        const violations = standIn.calls.flatMap((c) => contract.check(c));
        assert.deepEqual(violations, []);
        assert.deepEqual(standIn.calls.map((c) => `${c.method} ${c.status}`), ['POST 201', 'POST 201', 'GET 200', 'POST 201', 'PATCH 200', 'GET 200', 'POST 404']);
        // And the checker would see an answer with a field the schema lacks.
        const bad = { ...standIn.calls[3]!, responseBody: { ...(standIn.calls[3]!.responseBody as object), reactions: {} } };
        assert.equal(contract.check(bad).length, 1);
      } finally {
        await standIn.close();
      }
    });

    it('classifies errors: 401 and 404 terminal with the fix (never the token), 429 and 5xx and a closed port transient', async () => {
      const standIn = await startGitHostStandIn({ kind, token: TOKEN });
      try {
        const wrong = openGitHost({ kind, apiUrl: standIn.apiUrl, repo: standIn.repo, token: new Secret('wrong-token'), tokenSecret: 'GIT_HOST_TOKEN' });
        const denied = await rejection(wrong.setStatus(SHA, { state: 'pending', context: 'axe/demo', description: 'q' }));
        assert.equal(denied.class, 'terminal');
        assert.match(denied.oneLine(), /refused the token in vault item GIT_HOST_TOKEN \(401\).*fix: put a valid token in the vault item GIT_HOST_TOKEN/);
        assert.doesNotMatch(denied.oneLine(), /wrong-token|ghp_/);
        const host = openGitHost({ kind, apiUrl: standIn.apiUrl, repo: 'someone/else', token: TOKEN, tokenSecret: 'GIT_HOST_TOKEN' });
        const notFound = await rejection(host.setStatus(SHA, { state: 'pending', context: 'axe/demo', description: 'q' }));
        assert.equal(notFound.class, 'terminal');
        assert.match(notFound.oneLine(), /404.*fix: check git_host\.repo \(someone\/else\)/);
        const good = openGitHost({ kind, apiUrl: standIn.apiUrl, repo: standIn.repo, token: TOKEN, tokenSecret: 'GIT_HOST_TOKEN' });
        for (const status of [429, 500, 502]) {
          standIn.failNext(status);
          assert.equal((await rejection(good.setStatus(SHA, { state: 'pending', context: 'axe/demo', description: 'q' }))).class, 'transient', String(status));
        }
        await good.setStatus(SHA, { state: 'success', context: 'axe/demo', description: 'ok' });
        assert.equal(standIn.latest(SHA).get('axe/demo')?.state, 'success');
      } finally {
        await standIn.close();
      }
      const closed = openGitHost({ kind, apiUrl: standIn.apiUrl, repo: standIn.repo, token: TOKEN, tokenSecret: 'GIT_HOST_TOKEN', timeoutMs: 2_000 });
      const down = await rejection(closed.setStatus(SHA, { state: 'pending', context: 'axe/demo', description: 'q' }));
      assert.equal(down.class, 'transient');
    });
  });
}
