import assert from 'node:assert/strict';
import { test } from 'node:test';
import ssh2 from 'ssh2';
import { parsableKeyPair } from './registry.js';

test('lab key pairs always parse back (ssh2 malforms about 1 generated ed25519 pair in 256)', () => {
  // 1000 raw pairs hold a malformed one with probability ~98 %: the filter is exercised, and every pair it gives parses.
  for (let i = 0; i < 1000; i++) {
    const pair = parsableKeyPair('axe-lab-test');
    assert.ok(!(ssh2.utils.parseKey(pair.private) instanceof Error), 'private key parses');
    assert.ok(!(ssh2.utils.parseKey(pair.public) instanceof Error), 'public key parses');
  }
});
