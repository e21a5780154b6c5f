import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { Secret } from '../core/secret.js';
import { eventHeader, judgePullRequest, judgePush, signatureHeader, signBody, verifySignature } from './webhook.js';

const secret = new Secret("It's a Secret to Everybody");
const body = Buffer.from('Hello, World!');

describe('webhook signature', () => {
  it('matches GitHub’s documented test vector', () => {
    // From GitHub's "Validating webhook deliveries" page.
    assert.equal(signBody(secret, body), 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
  });

  it('accepts the right signature and refuses a wrong, truncated, missing or unkeyed one', () => {
    const good = signBody(secret, body);
    assert.equal(verifySignature(secret, body, good), true);
    assert.equal(verifySignature(secret, Buffer.from('Hello, World?'), good), false, 'other body');
    assert.equal(verifySignature(new Secret('other'), body, good), false, 'other secret');
    assert.equal(verifySignature(secret, body, good.slice(0, -2)), false, 'truncated');
    assert.equal(verifySignature(secret, body, good.replace('sha256=', 'sha1=')), false, 'other algorithm');
    assert.equal(verifySignature(secret, body, null), false, 'unsigned');
    assert.equal(verifySignature(null, body, good), false, 'no secret configured');
    assert.equal(verifySignature(new Secret(''), body, `sha256=${createHmac('sha256', '').update(body).digest('hex')}`), false, 'empty secret');
  });

  it('reads GitHub’s and Gitea’s headers', () => {
    const hex = createHmac('sha256', secret.reveal()).update(body).digest('hex');
    assert.equal(signatureHeader({ 'x-hub-signature-256': `sha256=${hex}` }), `sha256=${hex}`);
    assert.equal(signatureHeader({ 'x-gitea-signature': hex }), `sha256=${hex}`);
    assert.equal(signatureHeader({ 'x-hub-signature': 'sha1=abc' }), null, 'SHA-1 signatures are not accepted');
    assert.equal(eventHeader({ 'x-gitea-event': 'push' }), 'push');
    assert.equal(eventHeader({}), null);
  });
});

describe('judgePush', () => {
  it('syncs on a push to the watched branch only', () => {
    assert.deepEqual(judgePush('push', { ref: 'refs/heads/main', after: 'a'.repeat(40) }, 'main'), { action: 'sync', ref: 'refs/heads/main', after: 'a'.repeat(40) });
    assert.equal(judgePush('push', { ref: 'refs/heads/onboard/newco' }, 'main').action, 'ignore');
    assert.equal(judgePush('push', { ref: 'refs/tags/v1' }, 'main').action, 'ignore');
    assert.equal(judgePush('issues', { ref: 'refs/heads/main' }, 'main').action, 'ignore');
    assert.equal(judgePush('ping', {}, 'main').action, 'ping');
    assert.equal(judgePush(null, { ref: 'refs/heads/main', after: 'not a sha; rm -rf /' }, 'main').action, 'sync');
    assert.deepEqual(judgePush(null, { ref: 'refs/heads/main', after: 'not a sha' }, 'main'), { action: 'sync', ref: 'refs/heads/main', after: null });
  });
});

describe('judgePullRequest', () => {
  const sha = 'c'.repeat(40);
  const gh = (over: Record<string, unknown> = {}, pr: Record<string, unknown> = {}) => ({ action: 'opened', number: 4, pull_request: { number: 4, state: 'open', head: { sha, ref: 'onboard/newco' }, base: { ref: 'main' }, ...pr }, ...over });
  it('plans an open PR against the watched branch when opened, reopened or pushed to (GitHub synchronize, Gitea synchronized)', () => {
    assert.deepEqual(judgePullRequest(gh(), 'main'), { action: 'plan', pr: { number: 4, headSha: sha, headRef: 'onboard/newco', baseRef: 'main' } });
    for (const action of ['reopened', 'synchronize', 'synchronized']) assert.equal(judgePullRequest(gh({ action }), 'main').action, 'plan', action);
    // Gitea puts the number in pull_request as well; either place is read.
    assert.equal(judgePullRequest({ ...gh(), number: undefined }, 'main').action, 'plan');
  });
  it('ignores other actions, closed PRs, other base branches, odd refs and bodies without a head', () => {
    assert.match((judgePullRequest(gh({ action: 'closed' }), 'main') as { reason: string }).reason, /action closed is not planned/);
    assert.equal(judgePullRequest(gh({}, { state: 'closed' }), 'main').action, 'ignore');
    assert.match((judgePullRequest(gh({}, { base: { ref: 'dev' } }), 'main') as { reason: string }).reason, /targets dev, not main/);
    assert.equal(judgePullRequest(gh({}, { head: { sha, ref: 'x; rm -rf /' } }), 'main').action, 'ignore');
    assert.equal(judgePullRequest(gh({}, { head: { sha, ref: '../../etc' } }), 'main').action, 'ignore');
    assert.equal(judgePullRequest(gh({}, { head: { sha: 'nope', ref: 'a' } }), 'main').action, 'ignore');
    assert.equal(judgePullRequest({ action: 'opened' }, 'main').action, 'ignore');
    assert.equal(judgePullRequest(null, 'main').action, 'ignore');
  });
});
