import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatIssue } from '../schemas/load.js';
import { loadRepo } from '../schemas/repo.js';
import { axe, EXAMPLE_REPO, ROOT, tempDir } from './helpers.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'invalid');

// Each test runs the real CLI in its own temp copy: independent, so four at a time.
describe('axe validate', { concurrency: 4 }, () => {
  it('accepts examples/customers (exit 0)', async () => {
    const result = await axe(['validate', '--repo', EXAMPLE_REPO]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /valid: 3 customers \(acme, realchoice, demo\), 4 services/);
  });

  for (const fixture of readdirSync(FIXTURES).sort()) {
    it(`rejects ${fixture} with its file:line:col`, async () => {
      await using dir = await tempDir('invalid');
      const text = await readFile(join(FIXTURES, fixture), 'utf8');
      const target = text.match(/^# replaces: (.+)$/m)![1]!;
      const expects = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]!);
      assert.ok(expects.length > 0, 'fixture names what it expects');
      await cp(EXAMPLE_REPO, dir.path, { recursive: true });
      await writeFile(join(dir.path, target), text);
      const result = await axe(['validate', '--repo', dir.path]);
      assert.equal(result.code, 1);
      for (const expected of expects) assert.ok(result.stderr.includes(expected), `expected "${expected}" in:\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  it('lists every error, not just the first, and --json carries them', async () => {
    await using dir = await tempDir('multi');
    await cp(EXAMPLE_REPO, dir.path, { recursive: true });
    const path = join(dir.path, 'customers.yaml');
    const text = (await readFile(path, 'utf8')).replace('legal_name: "Demo Company"', 'legal_name: ""').replace('entities: ["realchoice"]', 'entities: 3');
    await writeFile(path, text);
    const result = await axe(['validate', '--repo', dir.path, '--json']);
    assert.equal(result.code, 1);
    const body = JSON.parse(result.stdout) as { valid: boolean; issues: Array<{ path: string }> };
    assert.equal(body.valid, false);
    assert.deepEqual(body.issues.map((i) => i.path).sort(), ['customers.demo.legal_name', 'customers.realchoice.entities']);
  });

  const oneLine = async (prepare: (file: string) => Promise<void>, expected: RegExp): Promise<void> => {
    await using dir = await tempDir('file');
    await cp(EXAMPLE_REPO, dir.path, { recursive: true });
    const file = join(dir.path, 'customers.yaml');
    await rm(file);
    await prepare(file);
    const result = await axe(['validate', '--repo', dir.path]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 2, result.stderr);
    assert.match(lines[0]!, expected);
  };

  it('customers.yaml as a directory: one line with the fix', () =>
    oneLine((f) => mkdir(f).then(() => undefined), /^customers\.yaml:1:1 is a directory, not a file .*rm -r customers\.yaml && git checkout -- customers\.yaml/));
  it('an empty customers.yaml: one line', () => oneLine((f) => writeFile(f, ''), /^customers\.yaml:1:1 is empty$/));
  it('a 50 MB customers.yaml: one line, not read', () =>
    oneLine(async (f) => {
      await writeFile(f, '');
      await truncate(f, 50 * 1024 * 1024);
    }, /^customers\.yaml:1:1 is too large \(50\.0 MiB; the limit is 5\.0 MiB\)$/));
  it('a YAML alias bomb: one line', () =>
    oneLine(
      (f) => writeFile(f, ['a: &a [x,x,x,x,x,x,x,x,x]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]', ''].join('\n')),
      /alias bomb/,
    ));

  it('a symlinked customers.yaml (to a root-only file outside the repo): one line, the target neither read nor shown', async () => {
    await using dir = await tempDir('link');
    await cp(EXAMPLE_REPO, join(dir.path, 'repo'), { recursive: true });
    const target = join(dir.path, 'shadow-like');
    await writeFile(target, 'shadowmarker_root: "$6$shadowmarkerhash"\n', { mode: 0o600 });
    await rm(join(dir.path, 'repo', 'customers.yaml'));
    await symlink(target, join(dir.path, 'repo', 'customers.yaml'));
    const result = await axe(['validate', '--repo', join(dir.path, 'repo')]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 2, result.stderr);
    assert.match(lines[0]!, /^customers\.yaml:1:1 is a symbolic link: config files must be regular files in the repo; commit the file itself/);
    assert.equal(result.stderr.includes('shadowmarker'), false, 'nothing of the content');
    assert.equal(result.stderr.includes(target), false, 'nor the target path');
  });

  it('a symlinked service manifest, a symlinked services/ and a link inside the repo are refused too', async () => {
    await using dir = await tempDir('link');
    const repo = join(dir.path, 'repo');
    await cp(EXAMPLE_REPO, repo, { recursive: true });
    // A link to a file inside the repo is refused as well: a link is never followed.
    await rename(join(repo, 'services', 'hive.yaml'), join(repo, 'hive.yaml'));
    await symlink('../hive.yaml', join(repo, 'services', 'hive.yaml'));
    let result = await axe(['validate', '--repo', repo]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^services\/hive\.yaml:1:1 is a symbolic link/m);
    await rename(join(repo, 'services'), join(dir.path, 'services-elsewhere'));
    await symlink(join(dir.path, 'services-elsewhere'), join(repo, 'services'));
    result = await axe(['validate', '--repo', repo]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^services:1:1 is a symbolic link/m);
    assert.equal((await loadRepo(repo)).ok, false);
  });

  it('loadRepo reports the positioned issue for a missing required field', async () => {
    await using dir = await tempDir('pos');
    await cp(EXAMPLE_REPO, dir.path, { recursive: true });
    const path = join(dir.path, 'customers.yaml');
    await writeFile(path, (await readFile(path, 'utf8')).replace('    primary_domain: "demo.example.com"\n', ''));
    const result = await loadRepo(dir.path);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(result.issues.map(formatIssue), ['customers.yaml:71:3 customers.demo.primary_domain: required']);
  });

  it('an SSO app of a service the customer does not run needs no declared secret (acme with frame and hive only)', async () => {
    await using dir = await tempDir('slots');
    await cp(EXAMPLE_REPO, dir.path, { recursive: true });
    const path = join(dir.path, 'customers.yaml');
    const text = (await readFile(path, 'utf8'))
      .replace('  blueprint:\n    acme:\n      secrets:\n        - AZURE_ACME_BLUEPRINT_CLIENT_SECRET\n        - BLUEPRINT_ACME_NEXTAUTH_SECRET\n', '  blueprint:\n')
      .replace('  vaultwarden:\n    acme:\n      secrets:\n        - AZURE_ACME_VAULTWARDEN_CLIENT_SECRET\n', '  vaultwarden:\n');
    assert.doesNotMatch(text, /services:[\s\S]*AZURE_ACME_(BLUEPRINT|VAULTWARDEN)_CLIENT_SECRET\n/);
    await writeFile(path, text);
    const result = await loadRepo(dir.path);
    assert.deepEqual(result.ok ? [] : result.issues.map(formatIssue), []);
  });
});
