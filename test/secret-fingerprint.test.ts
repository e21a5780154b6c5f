/**
 * `axe secret push` / `axe secret list` show a keyed fingerprint: not the
 * plain sha256 prefix of the value (which would let a low-entropy secret be
 * checked offline from a listing), different in two installs, and keyed by
 * `$AXE_HOME/fingerprint.key` (0600). The real CLI, the embedded file vault,
 * examples/customers as the config repo.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { axe, EXAMPLE_REPO, tempDir } from './helpers.js';

const NAME = 'AZURE_DEMO_FRAME_MCP_CLIENT_SECRET';
const VALUE = 'summer2026';

async function pushAndList(home: string): Promise<{ pushed: string; listed: string }> {
  const env = { AXE_HOME: home };
  const push = await axe(['secret', 'push', NAME, '--service', 'frame', '--customer', 'demo', '--repo', EXAMPLE_REPO, '--json'], { env, input: VALUE });
  assert.equal(push.code, 0, push.stderr);
  const list = await axe(['secret', 'list', '--customer', 'demo', '--repo', EXAMPLE_REPO, '--json'], { env });
  const row = (JSON.parse(list.stdout) as { secrets: Array<{ name: string; fingerprint: string | null }> }).secrets.find((s) => s.name === NAME);
  return { pushed: (JSON.parse(push.stdout) as { fingerprint: string }).fingerprint, listed: row?.fingerprint ?? '' };
}

describe('secret fingerprints are keyed per install', () => {
  it('push and list agree; not the sha256 prefix; two installs differ; the key is 0600', async () => {
    await using a = await tempDir('fp-home-a');
    await using b = await tempDir('fp-home-b');
    const first = await pushAndList(a.path);
    const second = await pushAndList(b.path);
    assert.equal(first.listed, first.pushed, 'list shows what push showed');
    const plain = createHash('sha256').update(VALUE).digest('hex').slice(0, 12);
    assert.equal(first.listed.includes(plain), false, `${first.listed} must not be the plain sha256 prefix`);
    assert.notEqual(second.listed, first.listed, 'another install, another fingerprint');
    assert.equal((await stat(join(a.path, 'fingerprint.key'))).mode & 0o777, 0o600);
  });
});
