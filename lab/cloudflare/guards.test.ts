import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../core/secret.js';
import { authenticate, newApiToken } from './auth.js';
import { FaultSwitch } from './faults.js';
import { RateLimiter } from './rate-limit.js';

describe('API token authentication', () => {
  const token = newApiToken();
  const codes = (headers: Parameters<typeof authenticate>[0], verifyRoute = false) => {
    const result = authenticate(headers, [token], { verifyRoute });
    return 'failure' in result ? [result.failure.status, result.failure.errors[0]?.code, result.failure.errors[0]?.error_chain?.[0]?.code] : ['ok'];
  };
  it('generates 40-character URL-safe tokens', () => {
    assert.match(token.reveal(), /^[A-Za-z0-9_-]{40}$/);
  });
  it('accepts its Bearer token only', () => {
    assert.deepEqual(codes({ authorization: `Bearer ${token.reveal()}` }), ['ok']);
    assert.deepEqual(codes({}), [400, 9106, undefined]);
    assert.deepEqual(codes({ authorization: 'Bearer not a token!' }), [400, 6003, 6111]);
    assert.deepEqual(codes({ authorization: token.reveal() }), [400, 6003, 6111]);
    assert.deepEqual(codes({ 'x-auth-key': token.reveal() }), [400, 6003, 6103]);
    assert.deepEqual(codes({ authorization: `Bearer ${newApiToken().reveal()}` }), [403, 9109, undefined]);
    assert.deepEqual(codes({ authorization: `Bearer ${newApiToken().reveal()}` }, true), [401, 1000, undefined]);
  });
  it('never puts the offered token in the failure', () => {
    const offered = new Secret('A'.repeat(40));
    const result = authenticate({ authorization: `Bearer ${offered.reveal()}` }, [token]);
    assert.ok('failure' in result);
    assert.doesNotMatch(JSON.stringify(result.failure.errors) + result.failure.message, /AAAA/);
  });
});

describe('rate limiter', () => {
  it('allows limit requests per window and then says how long to wait', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ limit: 2, windowMs: 10_000 }, () => now);
    assert.equal(limiter.take('k'), null);
    assert.equal(limiter.take('k'), null);
    now += 4000;
    assert.equal(limiter.take('k'), 6);
    assert.equal(limiter.take('other'), null);
    now += 6000;
    assert.equal(limiter.take('k'), null);
  });
});

describe('fault switch', () => {
  it('answers the next N requests 5xx, then N with 429 + Retry-After, then nothing', () => {
    const faults = new FaultSwitch();
    faults.set({ failNext: 2, failStatus: 503, rateLimitNext: 1, retryAfterSeconds: 7 });
    assert.equal(faults.take()?.status, 503);
    assert.equal(faults.take()?.status, 503);
    const limited = faults.take();
    assert.equal(limited?.status, 429);
    assert.equal(limited?.headers['retry-after'], '7');
    assert.equal(limited?.errors[0]?.code, 971);
    assert.equal(faults.take(), null);
  });
  it('refuses bad values and leaves the settings as they were', () => {
    const faults = new FaultSwitch();
    assert.throws(() => faults.set({ failNext: 1, failStatus: 404 }));
    assert.throws(() => faults.set({ latencyMs: -1 }));
    assert.equal(faults.settings.failNext, 0);
  });
});
