import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { it } from 'node:test';
import { Secret } from './secret.js';

it('a Secret never prints its value', () => {
  const s = new Secret('hunter2-value');
  for (const shown of [String(s), `${s}`, JSON.stringify({ s }), inspect(s), inspect({ nested: { s } }), s + '']) {
    assert.ok(!shown.includes('hunter2'), shown);
    assert.match(shown, /\[redacted\]/);
  }
  assert.equal(s.reveal(), 'hunter2-value');
  assert.ok(s.equals(new Secret('hunter2-value')));
  assert.ok(!s.equals(new Secret('other')));
});
