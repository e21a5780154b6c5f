import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers.js';
import { bundledBw, checkOperatorBw } from './operator-bw.js';

async function fakeBw(dir: string, version: string): Promise<string> {
  const path = join(dir, `bw-${version}`);
  await writeFile(path, `#!/bin/sh\n[ "$1" = --version ] && echo ${version} && exit 0\nexit 2\n`);
  await chmod(path, 0o755);
  return path;
}

const vaultwarden = { provider: 'vaultwarden', url: 'http://127.0.0.1:8087', session_store: 'file', sync_interval: '5m' } as const;

describe("the operator's bw (bw serve) version", () => {
  it('2025.8.0 against the fork: not usable, with the crash trap and its fix', async () => {
    await using dir = await tempDir('bw');
    const check = await checkOperatorBw({ ...vaultwarden, bw: await fakeBw(dir.path, '2025.8.0') }, '2025.7.0');
    assert.ok(check);
    assert.equal(check.ok, false);
    assert.equal(check.version, '2025.8.0');
    assert.equal(check.trap?.trap, 'bw-cli-crashing-version');
    assert.match(check.fix ?? '', /toWrappedAccountCryptographicState: pin it, npm install -g @bitwarden\/cli@2025\.7\.0; then set vault\.bw/);
  });

  it('2025.7.0: usable', async () => {
    await using dir = await tempDir('bw');
    const check = await checkOperatorBw({ ...vaultwarden, bw: await fakeBw(dir.path, '2025.7.0') }, '2025.7.0');
    assert.equal(check?.ok, true);
    assert.equal(check?.trap, null);
  });

  it('the vault’s own bound wins over the top-level one; null means the vault is not the fork', async () => {
    await using dir = await tempDir('bw');
    const bw = await fakeBw(dir.path, '2026.6.0');
    assert.equal(await checkOperatorBw({ ...vaultwarden, bw, bw_max_version: null }, '2025.7.0'), null);
    assert.equal((await checkOperatorBw({ ...vaultwarden, bw, bw_max_version: '2026.6.0' }, '2025.7.0'))?.ok, true);
    assert.equal((await checkOperatorBw({ ...vaultwarden, bw }, null)), null, 'no bound at all');
    assert.equal(await checkOperatorBw({ provider: 'file', path: '/x' }, '2025.7.0'), null, 'no bw for the file vault');
  });

  it('a bw that cannot be run is not usable, and says which one', async () => {
    await using dir = await tempDir('bw');
    const check = await checkOperatorBw({ ...vaultwarden, bw: join(dir.path, 'no-bw') }, '2025.7.0');
    assert.equal(check?.ok, false);
    assert.match(check?.detail ?? '', /cannot read the version of the operator's bw at .*no-bw/);
  });

  it('defaults to the bw bundled with axe (@bitwarden/cli), run with this node', async () => {
    const bundled = bundledBw();
    assert.match(bundled.path, /@bitwarden\/cli\/build\/bw\.js$/);
    const check = await checkOperatorBw(vaultwarden, '9999.0.0');
    assert.equal(check?.ok, true);
    assert.match(check?.version ?? '', /^\d{4}\.\d+\.\d+$/);
  });
});
