import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { checkoutAt } from './checkout.js';

const exec = promisify(execFile);
const git = async (cwd: string, ...args: string[]): Promise<string> => (await exec('git', ['-c', 'user.name=t', '-c', 'user.email=t@axe.invalid', ...args], { cwd })).stdout.trim();

describe('checkoutAt: one git status for the commit and the uncommitted changes', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const dir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'axe-checkout-'));
    dirs.push(d);
    return d;
  };

  it('not a checkout, no commit yet, missing: head null', async () => {
    const plain = await dir();
    assert.deepEqual(await checkoutAt(plain), { head: null, dirty: false });
    assert.deepEqual(await checkoutAt(join(plain, 'missing')), { head: null, dirty: false });
    await git(plain, 'init', '-q');
    await writeFile(join(plain, 'customers.yaml'), 'customers: {}\n');
    assert.deepEqual(await checkoutAt(plain), { head: null, dirty: false });
  });

  it("the commit, then dirty for an edit, a staged file and an untracked one; clean again after the commit", async () => {
    const repo = await dir();
    await git(repo, 'init', '-q');
    await writeFile(join(repo, 'customers.yaml'), 'customers: {}\n');
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-qm', 'seed');
    const head = await git(repo, 'rev-parse', 'HEAD');
    assert.deepEqual(await checkoutAt(repo), { head, dirty: false });
    await writeFile(join(repo, 'customers.yaml'), 'customers: { a: {} }\n');
    assert.deepEqual(await checkoutAt(repo), { head, dirty: true });
    await git(repo, 'add', 'customers.yaml');
    assert.deepEqual(await checkoutAt(repo), { head, dirty: true }, 'staged');
    await git(repo, 'commit', '-qm', 'edit');
    const next = await git(repo, 'rev-parse', 'HEAD');
    assert.deepEqual(await checkoutAt(repo), { head: next, dirty: false });
    await writeFile(join(repo, 'new.yaml'), 'x: 1\n');
    assert.deepEqual(await checkoutAt(repo), { head: next, dirty: true }, 'untracked');
    await writeFile(join(repo, '.gitignore'), 'new.yaml\n.gitignore\n');
    assert.deepEqual(await checkoutAt(repo), { head: next, dirty: false }, 'ignored files do not count');
  });
});
