/**
 * `axe vault login` against the lab's `bw serve` emulator (a stand-in for
 * bw serve + Vaultwarden): the password comes on stdin, the session is kept
 * 0600 with an expiry, a wrong password is one line with the fix, and the
 * unlocked vault then serves `axe secret push` / `list`.
 */
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { startVaultEmulator } from '../lab/vault/index.js';
import { axe, EXAMPLE_REPO, tempDir } from './helpers.js';

describe('axe vault login', () => {
  it('unlocks with the password from stdin and keeps the session 0600; a wrong one is refused with the fix', async () => {
    await using dir = await tempDir('vault-login');
    await using vault = await startVaultEmulator({ dir: join(dir.path, 'emu') });
    const config = join(dir.path, 'config.yaml');
    await writeFile(config, stringify({ repo: { url: EXAMPLE_REPO }, vault: { provider: 'vaultwarden', url: vault.url, session_store: 'file' }, cloudflare: { account_id: 'x' } }));
    const env = { AXE_HOME: join(dir.path, 'home'), AXE_CONFIG: config, XDG_CONFIG_HOME: join(dir.path, 'xdg'), AXE_REPO: EXAMPLE_REPO };

    const wrong = await axe(['vault', 'login'], { env, input: 'not-the-password\n' });
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr.trim().split('\n').length, 1, wrong.stderr);
    assert.match(wrong.stderr, /fix:/);

    const ok = await axe(['vault', 'login', '--json'], { env, input: `${vault.password.reveal()}\n` });
    assert.equal(ok.code, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as { unlocked: boolean; stored: string; expiresAt: string };
    assert.equal(out.unlocked, true);
    assert.ok(Date.parse(out.expiresAt) - Date.now() > 7 * 3600_000, 'about 8 h');
    const file = join(dir.path, 'xdg', 'axe', 'bw-session.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok(!ok.stdout.includes(vault.password.reveal()) && !ok.stderr.includes(vault.password.reveal()));
    assert.ok(!(await readFile(file, 'utf8')).includes(vault.password.reveal()), 'the password itself is never stored');

    const pushed = await axe(['secret', 'push', 'AZURE_DEMO_FRAME_MCP_CLIENT_SECRET', '--service', 'frame', '--customer', 'demo'], { env, input: 's3cret-value' });
    assert.equal(pushed.code, 0, pushed.stderr);
    const list = await axe(['secret', 'list', '--customer', 'demo', '--json'], { env });
    const rows = (JSON.parse(list.stdout) as { secrets: Array<{ name: string; present: boolean }> }).secrets;
    assert.equal(rows.find((r) => r.name === 'AZURE_DEMO_FRAME_MCP_CLIENT_SECRET')?.present, true);
    assert.ok(!list.stdout.includes('s3cret-value'));
  });
});
