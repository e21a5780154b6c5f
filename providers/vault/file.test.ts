import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Fingerprints } from '../../core/fingerprint.js';
import { Secret } from '../../core/secret.js';
import { FileVault } from './file.js';
import { contentDigest } from './types.js';

const dir = await mkdtemp(join(tmpdir(), 'axe-filevault-'));
after(() => rm(dir, { recursive: true, force: true }));

describe('file vault', () => {
  it('stores encrypted, 0600, idempotent puts, never deletes', async () => {
    const vault = new FileVault({ path: join(dir, 'a', 'vault.json'), keyFile: join(dir, 'a', 'key'), fingerprints: new Fingerprints(join(dir, 'a', 'fingerprint.key')) });
    assert.deepEqual(await vault.list(), []);
    assert.equal(await vault.put({ name: 'X_SECRET', customer: 'demo', service: 'frame', value: new Secret('plain-value-1') }), 'created');
    assert.equal(await vault.put({ name: 'X_SECRET', customer: 'demo', service: 'frame', value: new Secret('plain-value-1') }), 'unchanged');
    assert.equal(await vault.put({ name: 'X_SECRET', value: new Secret('plain-value-2') }), 'updated');
    assert.equal((await vault.get('X_SECRET'))?.reveal(), 'plain-value-2');
    assert.equal(await vault.get('MISSING'), null);
    const raw = await readFile(join(dir, 'a', 'vault.json'), 'utf8');
    assert.ok(!raw.includes('plain-value'));
    assert.equal((await stat(join(dir, 'a', 'vault.json'))).mode & 0o777, 0o600);
    const [entry] = await vault.list();
    assert.equal(entry?.name, 'X_SECRET');
    assert.equal(entry?.fingerprint, vault.fingerprint(new Secret('plain-value-2')));
    assert.match(entry?.fingerprint ?? '', /^hmac:[0-9a-f]{12}$/);
    assert.equal(entry?.digest, contentDigest(new Secret('plain-value-2')));
  });

  it('a passphrase vault refuses the wrong passphrase with the fix', async () => {
    const path = join(dir, 'b.json');
    await new FileVault({ path, passphrase: new Secret('right horse battery') }).put({ name: 'A', value: new Secret('v') });
    await assert.rejects(new FileVault({ path, passphrase: new Secret('wrong') }).get('A'), /cannot decrypt .*wrong key/);
    assert.equal((await new FileVault({ path, passphrase: new Secret('right horse battery') }).get('A'))?.reveal(), 'v');
  });

  it('refuses a key file readable by others', async () => {
    const keyFile = join(dir, 'c', 'key');
    const vault = new FileVault({ path: join(dir, 'c', 'v.json'), keyFile });
    await vault.put({ name: 'A', value: new Secret('v') });
    await chmod(keyFile, 0o644);
    await assert.rejects(vault.get('A'), /readable by others .*/);
  });

  it('concurrent puts all land (lock file)', async () => {
    const vault = new FileVault({ path: join(dir, 'd', 'v.json'), keyFile: join(dir, 'd', 'key'), fingerprints: new Fingerprints(join(dir, 'd', 'fingerprint.key')) });
    await Promise.all(Array.from({ length: 8 }, (_, i) => vault.put({ name: `S_${i}`, value: new Secret(`v${i}`) })));
    assert.equal((await vault.list()).length, 8);
  });
});
