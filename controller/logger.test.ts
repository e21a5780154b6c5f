import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { terminal } from '../core/errors.js';
import { Secret } from '../core/secret.js';
import { createLogger, redactDeep } from './logger.js';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>>; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text, lines: () => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('controller log', () => {
  it('redacts secrets by type and by key at any depth, keeping secret names', async () => {
    const out = capture();
    const log = createLogger({ destination: out.stream, level: 'info' });
    log.info(
      {
        customer: 'acme',
        token_secret: 'CLOUDFLARE_API_TOKEN',
        secret: 'AZURE_ACME_BLUEPRINT_CLIENT_SECRET',
        nested: { deeper: { apiToken: 'cf-token-123', list: [{ password: 'hunter2' }, new Secret('s3cr3t-value')] } },
        headers: { Authorization: 'Bearer abc', 'X-Hub-Signature-256': 'sha256=00' },
        item: { name: 'FRAME_ACME_POSTGRES_PASSWORD', value: 'pg-pass-1' },
        webhook_url: 'https://hooks.slack.com/services/T000/B000/XXXX',
      },
      'action applied',
    );
    log.flush();
    await new Promise((r) => setImmediate(r));
    const text = out.text();
    for (const leaked of ['cf-token-123', 'hunter2', 's3cr3t-value', 'Bearer abc', 'pg-pass-1', 'hooks.slack.com', 'sha256=00']) {
      assert.ok(!text.includes(leaked), `${leaked} leaked: ${text}`);
    }
    const [line] = out.lines();
    assert.equal(line!.msg, 'action applied');
    assert.equal(line!.level, 'info');
    assert.equal(line!.customer, 'acme');
    assert.equal(line!.token_secret, 'CLOUDFLARE_API_TOKEN', 'a secret name is not a secret');
    assert.equal(line!.secret, 'AZURE_ACME_BLUEPRINT_CLIENT_SECRET');
    assert.deepEqual((line!.item as Record<string, unknown>).name, 'FRAME_ACME_POSTGRES_PASSWORD');
  });

  it('logs errors as their one line', () => {
    const value = redactDeep({ err: terminal('DNS record is foreign', { customer: 'acme', resource: 'dns', fix: 'delete it' }) }) as Record<string, unknown>;
    assert.equal(value.err, 'acme/dns: DNS record is foreign (fix: delete it)');
  });

  it('survives cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    assert.deepEqual(redactDeep(a), { name: 'a', self: '[circular]' });
  });
});
