import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AxeError } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { defaultSessionFile, FileSessionStore, KEYCHAIN_SERVICE, KeychainSessionStore, openSessionStore, SESSION_TTL_MS } from './session-store.js';

const dir = await mkdtemp(join(tmpdir(), 'axe-session-store-'));
after(() => rm(dir, { recursive: true, force: true }));

const SESSION = 'Zm9vYmFyYmF6cXV4+/session==';
const HOUR = 3600_000;

describe('file session store', () => {
  it('keeps the session in a 0600 file in a 0700 folder, for 8 h', async () => {
    let clock = Date.UTC(2026, 10, 25, 9, 0, 0);
    const path = join(dir, 'a', 'axe', 'bw-session.json');
    const store = new FileSessionStore({ path, now: () => clock });
    assert.equal(await store.load(), null);
    const kept = await store.save(new Secret(SESSION));
    assert.equal(kept.expiresAt.getTime(), clock + SESSION_TTL_MS);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'a', 'axe'))).mode & 0o777, 0o700);
    clock += 8 * HOUR - 1000;
    assert.equal((await store.load())?.session.reveal(), SESSION);
    clock += 2000;
    assert.equal(await store.load(), null, 'expired after 8 h');
    await assert.rejects(stat(path), 'an expired session file is removed');
  });

  it('refuses a session file readable by others, with the fix', async () => {
    const path = join(dir, 'b', 'bw-session.json');
    const store = new FileSessionStore({ path });
    await store.save(new Secret(SESSION), HOUR);
    await chmod(path, 0o644);
    const error = (await store.load().catch((e: unknown) => e)) as AxeError;
    assert.ok(error instanceof AxeError);
    assert.equal(error.class, 'terminal');
    assert.match(error.oneLine(), /readable by others .*fix: rm /);
    assert.ok(!error.oneLine().includes(SESSION));
  });

  it('lives under $XDG_CONFIG_HOME/axe, else ~/.config/axe', () => {
    assert.equal(defaultSessionFile({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/op' }), '/x/cfg/axe/bw-session.json');
    assert.equal(defaultSessionFile({ HOME: '/home/op' }), '/home/op/.config/axe/bw-session.json');
    assert.equal(defaultSessionFile({ XDG_CONFIG_HOME: 'relative', HOME: '/home/op' }), '/home/op/.config/axe/bw-session.json');
  });

  it('the keychain store is refused off macOS, with the fix', () => {
    assert.throws(() => openSessionStore('keychain', { platform: 'linux' }), /only on macOS/);
    assert.equal(openSessionStore('file', { env: { HOME: '/h' } }).location, '/h/.config/axe/bw-session.json');
  });
});

/**
 * A stand-in for macOS `/usr/bin/security` (there is no macOS here): it keeps
 * one generic password, logs its argv, reads a bare trailing `-w` prompt from
 * stdin twice (new + retype) as the real one does, exits 44 when the item is
 * missing, and prints attributes in the real format.
 */
const FAKE_SECURITY = `#!/bin/sh
d="$FAKE_SECURITY_DIR"
printf '%s\\n' "$*" >> "$d/argv.log"
cmd=$1; shift
case "$cmd" in
add-generic-password)
  comment=""
  while [ $# -gt 0 ]; do
    case "$1" in
      -j) comment=$2; shift 2 ;;
      -w) shift; if [ $# -gt 0 ]; then echo "fake: -w is not last" >&2; exit 2; fi ;;
      -s|-a|-l) shift 2 ;;
      *) shift ;;
    esac
  done
  IFS= read -r first || exit 3
  IFS= read -r second || exit 3
  [ "$first" = "$second" ] || { echo "passwords do not match" >&2; exit 4; }
  printf '%s' "$first" > "$d/password"
  printf '%s' "$comment" > "$d/comment"
  date -u +%Y%m%d%H%M%SZ > "$d/mdat"
  ;;
find-generic-password)
  [ -f "$d/password" ] || { echo "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain." >&2; exit 44; }
  case " $* " in
    *" -w "*|*" -w") cat "$d/password"; echo ;;
    *)
      echo 'keychain: "/Users/op/Library/Keychains/login.keychain-db"'
      echo 'class: "genp"'
      echo 'attributes:'
      echo '    "acct"<blob>="op"'
      if [ -s "$d/comment" ]; then echo "    \\"icmt\\"<blob>=\\"$(cat "$d/comment")\\""; else echo '    "icmt"<blob>=<NULL>'; fi
      echo "    \\"mdat\\"<timedate>=0x3230323631313235  \\"$(cat "$d/mdat")\\\\000\\""
      echo '    "svce"<blob>="${KEYCHAIN_SERVICE}"'
      ;;
  esac
  ;;
delete-generic-password)
  [ -f "$d/password" ] || exit 44
  rm -f "$d/password" "$d/comment" "$d/mdat"
  ;;
*) exit 1 ;;
esac
`;

describe('keychain session store (with a stand-in for /usr/bin/security)', () => {
  async function fake(name: string): Promise<{ binary: string; state: string }> {
    const state = join(dir, name);
    await rm(state, { recursive: true, force: true });
    await mkdir(state, { recursive: true });
    const binary = join(state, 'security');
    await writeFile(binary, FAKE_SECURITY, { mode: 0o755 });
    process.env.FAKE_SECURITY_DIR = state;
    return { binary, state };
  }

  it('passes the session on stdin (twice, to a bare trailing -w), never on the command line; keeps the expiry in the comment', async () => {
    const { binary, state } = await fake('kc1');
    let clock = Date.now();
    const store = new KeychainSessionStore({ securityBinary: binary, account: 'op', now: () => clock });
    assert.equal(await store.load(), null);
    const kept = await store.save(new Secret(SESSION));
    const argv = await readFile(join(state, 'argv.log'), 'utf8');
    assert.ok(!argv.includes(SESSION), 'the session is not in any argv');
    assert.match(argv, new RegExp(`^add-generic-password -U -s ${KEYCHAIN_SERVICE.replaceAll('.', '\\.')} -a op .*-j axe-expires=\\S+ -w$`, 'm'));
    assert.equal(await readFile(join(state, 'password'), 'utf8'), SESSION);
    const loaded = await store.load();
    assert.equal(loaded?.session.reveal(), SESSION);
    assert.equal(loaded?.expiresAt.getTime(), kept.expiresAt.getTime());
    clock += SESSION_TTL_MS + 1000;
    assert.equal(await store.load(), null);
    await assert.rejects(stat(join(state, 'password')), 'an expired item of axe is deleted');
  });

  it("a customer vault's session is its own keychain item (axe.vault.session.{customer})", async () => {
    const { binary, state } = await fake('kc3');
    const store = new KeychainSessionStore({ securityBinary: binary, account: 'op', service: 'axe.vault.session.acme' });
    assert.equal(store.location, 'keychain item axe.vault.session.acme (account op)');
    await store.save(new Secret(SESSION));
    await store.load();
    await store.clear();
    const argv = (await readFile(join(state, 'argv.log'), 'utf8')).trim().split('\n');
    assert.deepEqual(argv.map((l) => l.split(' ').slice(0, 3).join(' ')), ['add-generic-password -U -s', 'find-generic-password -s axe.vault.session.acme', 'find-generic-password -s axe.vault.session.acme', 'delete-generic-password -s axe.vault.session.acme']);
    assert.ok(argv.every((l) => !l.includes(` ${KEYCHAIN_SERVICE} `)), 'never the operator vault\'s item');
    assert.match(argv[0]!, /^add-generic-password -U -s axe\.vault\.session\.acme -a op /);
  });

  it("trusts a session cached by hand (the runbook's security add-generic-password) for 8 h from its modification, and never deletes it", async () => {
    const { binary, state } = await fake('kc2');
    await writeFile(join(state, 'password'), SESSION);
    await writeFile(join(state, 'comment'), '');
    const modified = new Date(Date.now() - 2 * HOUR);
    const stamp = modified.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '');
    await writeFile(join(state, 'mdat'), stamp);
    let clock = Date.now();
    const store = new KeychainSessionStore({ securityBinary: binary, account: 'op', now: () => clock });
    const loaded = await store.load();
    assert.equal(loaded?.session.reveal(), SESSION);
    assert.ok(Math.abs(loaded!.expiresAt.getTime() - (Math.floor(modified.getTime() / 1000) * 1000 + SESSION_TTL_MS)) < 1000);
    clock += 7 * HOUR;
    assert.equal(await store.load(), null);
    assert.equal(await readFile(join(state, 'password'), 'utf8'), SESSION, 'not deleted');
    await store.clear();
    await assert.rejects(stat(join(state, 'password')));
    await store.clear();
  });
});
