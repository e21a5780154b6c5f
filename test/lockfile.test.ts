/**
 * `npm ci` (the README's test command, and CI) refuses a lockfile in which a
 * package's dependency edge has no entry. The registry reachable here serves
 * @bitwarden/sdk-napi's Linux binary package only, so an `npm install` writes
 * edges to its macOS and Windows packages that it cannot lock, and the next
 * `npm ci` fails. This test finds such an edge before CI does.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers.js';

interface LockEntry {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Where node would find `name` from the package at `at` (its own node_modules, then each parent's, then the root's). */
function resolves(packages: Record<string, LockEntry>, at: string, name: string): boolean {
  let base = at;
  for (;;) {
    if (packages[`${base ? `${base}/` : ''}node_modules/${name}`]) return true;
    if (!base) return false;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut >= 0 ? base.slice(0, cut) : '';
  }
}

test('every dependency edge in package-lock.json has an entry (npm ci accepts it)', async () => {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const missing: string[] = [];
  for (const [at, entry] of Object.entries(lock.packages)) {
    for (const name of [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {})]) {
      if (!resolves(lock.packages, at, name)) missing.push(`${at || '(root)'} -> ${name}`);
    }
  }
  assert.deepEqual(
    missing,
    [],
    'npm ci would refuse this lockfile ("Missing: … from lock file"); drop the edges to packages this registry does not serve from their entries in package-lock.json (see this test\'s header)',
  );
});

/** semver (npm's own range logic), present through the tree; only what this test calls. */
const semver = createRequire(import.meta.url)('semver') as { subset(sub: string, dom: string): boolean };

test('the Node versions package.json declares satisfy every installed package\'s engines (npm ci warns no EBADENGINE)', async () => {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string }; dev?: boolean }> };
  const declared = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).engines.node as string;
  assert.equal(lock.packages['']!.engines?.node, declared, 'package-lock.json carries the same engines as package.json (npm install writes it)');
  const narrower = Object.entries(lock.packages)
    .filter(([at, p]) => at && p.engines?.node && !semver.subset(declared, p.engines.node))
    .map(([at, p]) => `${at}: ${p.engines!.node}`);
  assert.deepEqual(narrower, [], `package.json declares node ${declared}; these packages want less: narrow engines.node or pick versions that fit`);
});
