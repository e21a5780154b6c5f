import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { loadRepo } from '../schemas/repo.js';
import { gitSource, watchSource } from './source.js';

const run = promisify(execFile);
const root = await mkdtemp(join(tmpdir(), 'axe-test-source-'));
after(() => rm(root, { recursive: true, force: true }));

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'user.name=t', '-c', 'user.email=t@axe.invalid', ...args], { cwd });
  return stdout.trim();
}

describe('git source', () => {
  it('fetches each push, exports its tree, and keeps the mirror packed from prune, not from the fetch', async () => {
    const origin = join(root, 'origin.git');
    const work = join(root, 'work');
    await run('git', ['init', '-q', '--bare', '-b', 'main', origin]);
    await run('git', ['clone', '-q', origin, work]);
    const push = async (text: string, message: string): Promise<string> => {
      await writeFile(join(work, 'customers.yaml'), text);
      await git(work, 'add', '.');
      await git(work, 'commit', '-qm', message);
      await git(work, 'push', '-q', 'origin', 'HEAD:main');
      return git(work, 'rev-parse', 'HEAD');
    };
    const state = join(root, 'state');
    const source = gitSource({ url: origin, branch: 'main', stateDir: state });
    const first = await push('customers: {}\n', 'first');
    assert.deepEqual(await source.latest(), { id: first, subject: 'first' });
    const mirror = join(state, 'git', 'mirror.git');
    // Every fetch keeps a pack (no loose objects), and more than 2 packs call for a repack.
    await git(mirror, 'config', 'fetch.unpackLimit', '1');
    await git(mirror, 'config', 'gc.autoPackLimit', '2');
    // gc --auto runs detached by default: here it finishes before prune returns, so the test can look.
    await git(mirror, 'config', 'gc.autoDetach', 'false');
    await git(mirror, 'config', 'maintenance.autoDetach', 'false');
    const packs = async () => (await readdir(join(mirror, 'objects', 'pack'))).filter((f) => f.endsWith('.pack')).length;
    let head = first;
    for (let i = 0; i < 4; i += 1) {
      head = await push(`customers: {}\n# ${i}\n`, `change ${i}`);
      assert.deepEqual(await source.latest(), { id: head, subject: `change ${i}` });
    }
    assert.ok((await packs()) > 2, 'the fetches left their packs: no maintenance ran with them');
    const dir = await source.materialize(head);
    assert.equal(await readFile(join(dir, 'customers.yaml'), 'utf8'), 'customers: {}\n# 3\n');
    await source.materialize(first);
    await source.prune([head]);
    assert.deepEqual(await readdir(join(state, 'revisions')), [head]);
    assert.ok((await packs()) <= 2, 'prune ran the mirror maintenance (repacked)');
    // The next push is still fetched after the repack.
    const next = await push('customers: {}\n# next\n', 'next');
    assert.equal((await source.latest()).id, next);
  });
});

describe('sources never follow a symbolic link', () => {
  const secretText = 'shadowmarker_root: "$6$shadowmarkerhash"\n';

  it('git: a committed link (mode 120000) is exported as a link and refused by the loader', async () => {
    const origin = join(root, 'link-origin.git');
    const work = join(root, 'link-work');
    const outside = join(root, 'shadow-like');
    await writeFile(outside, secretText, { mode: 0o600 });
    await run('git', ['init', '-q', '--bare', '-b', 'main', origin]);
    await run('git', ['clone', '-q', origin, work]);
    await symlink(outside, join(work, 'customers.yaml'));
    await git(work, 'add', '.');
    await git(work, 'commit', '-qm', 'link');
    await git(work, 'push', '-q', 'origin', 'HEAD:main');
    assert.equal((await git(work, 'ls-tree', 'HEAD', 'customers.yaml')).split(' ')[0], '120000');
    const source = gitSource({ url: origin, branch: 'main', stateDir: join(root, 'link-state') });
    const dir = await source.materialize((await source.latest()).id);
    const load = await loadRepo(dir);
    assert.equal(load.ok, false);
    const text = JSON.stringify(load);
    assert.match(text, /"file":"customers\.yaml","line":1,"col":1,"path":"","message":"is a symbolic link/);
    assert.equal(text.includes('shadowmarker'), false);
  });

  it('watch: a linked customers.yaml is materialised as the same link, unread, and refused', async () => {
    const dir = join(root, 'watched');
    await mkdir(join(dir, 'services'), { recursive: true });
    const outside = join(root, 'shadow-like-2');
    await writeFile(outside, secretText, { mode: 0o600 });
    await symlink(outside, join(dir, 'customers.yaml'));
    const source = watchSource({ dir, stateDir: join(root, 'watch-state') });
    const materialized = await source.materialize((await source.latest()).id);
    assert.equal((await lstat(join(materialized, 'customers.yaml'))).isSymbolicLink(), true);
    const load = await loadRepo(materialized);
    assert.equal(load.ok, false);
    assert.match(JSON.stringify(load), /customers\.yaml","line":1,"col":1,"path":"","message":"is a symbolic link/);
    assert.equal(JSON.stringify(load).includes('shadowmarker'), false);
  });
});
