import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { hostPatterns, parseKnownHosts, verifyHostKey } from './known-hosts.js';

const keyA = randomBytes(51);
const keyB = randomBytes(51);

it('verifies plain and hashed known_hosts entries; unknown and mismatch are told apart', () => {
  const salt = randomBytes(20);
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[hashed.tail-lab.ts.net]:2201').digest('base64')}`;
  const pinned = parseKnownHosts([
    '# comment',
    `demo-macmini.tail-lab.ts.net,[127.0.0.1]:2201 ssh-ed25519 ${keyA.toString('base64')}`,
    `${hashed} ssh-ed25519 ${keyB.toString('base64')}`,
    '',
  ].join('\n'));
  assert.equal(pinned.length, 2);
  assert.equal(verifyHostKey(pinned, hostPatterns(['127.0.0.1'], 2201), keyA), 'match');
  assert.equal(verifyHostKey(pinned, hostPatterns(['demo-macmini.tail-lab.ts.net'], 22), keyA), 'match');
  assert.equal(verifyHostKey(pinned, hostPatterns(['127.0.0.1'], 2201), keyB), 'mismatch');
  assert.equal(verifyHostKey(pinned, hostPatterns(['hashed.tail-lab.ts.net'], 2201), keyB), 'match');
  assert.equal(verifyHostKey(pinned, hostPatterns(['other.example'], 22), keyA), 'unknown');
});
