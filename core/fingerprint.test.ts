import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../test/helpers.js';
import { Fingerprints, fingerprintKeyPath, loadFingerprintKey } from './fingerprint.js';
import { Secret } from './secret.js';

describe('keyed fingerprints', () => {
  it('are not the plain sha256 prefix of the value (a listing cannot be checked offline)', async () => {
    await using dir = await tempDir('fp');
    const value = new Secret('hunter2');
    const fp = new Fingerprints(fingerprintKeyPath(dir.path)).of(value);
    assert.match(fp, /^hmac:[0-9a-f]{12}$/);
    const plain = createHash('sha256').update('hunter2').digest('hex').slice(0, 12);
    assert.notEqual(fp.slice('hmac:'.length), plain);
    assert.equal(fp.includes(plain), false);
  });

  it('are stable within an install and differ between two installs', async () => {
    await using a = await tempDir('fp-a');
    await using b = await tempDir('fp-b');
    const value = new Secret('same-value');
    const first = new Fingerprints(fingerprintKeyPath(a.path)).of(value);
    assert.equal(new Fingerprints(fingerprintKeyPath(a.path)).of(value), first, 'same install, another process: same key');
    assert.notEqual(new Fingerprints(fingerprintKeyPath(b.path)).of(value), first);
    assert.notEqual(new Fingerprints(fingerprintKeyPath(a.path)).of(new Secret('other-value')), first);
  });

  it('keep a 32-byte key, mode 0600, made once even by racing callers', async () => {
    await using dir = await tempDir('fp');
    const path = join(dir.path, 'home', 'fingerprint.key');
    const keys = await Promise.all(Array.from({ length: 8 }, async () => loadFingerprintKey(path)));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await readFile(path)).length, 32);
    for (const k of keys) assert.deepEqual(k, keys[0]);
  });

  it('refuse a key file readable by others, with the chmod fix; and one of the wrong size', async () => {
    await using dir = await tempDir('fp');
    const path = fingerprintKeyPath(dir.path);
    loadFingerprintKey(path);
    await chmod(path, 0o644);
    assert.throws(() => new Fingerprints(path).of(new Secret('x')), (error: Error & { fix?: string }) => {
      assert.match(error.message, /mode 644, readable by others/);
      assert.equal(error.fix, `chmod 600 ${path}`);
      return true;
    });
    await writeFile(path, 'short', { mode: 0o600 });
    await chmod(path, 0o600);
    assert.throws(() => loadFingerprintKey(path), /is not 32 bytes/);
  });
});
