import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadRepo, type DesiredState } from '../schemas/repo.js';
import { EXAMPLE_REPO, tempDir } from '../test/helpers.js';
import { cp } from 'node:fs/promises';
import { customerDigests, diffRevisions, stableJson } from './revision-diff.js';

async function load(root: string, customersText?: string): Promise<DesiredState> {
  const result = await loadRepo(root, customersText === undefined ? {} : { customersText });
  if (!result.ok) throw new Error(result.issues.map((i) => `${i.file}:${i.line} ${i.message}`).join('\n'));
  return result.state;
}

describe('revision diff', () => {
  it('sorts keys so equal values give equal JSON', () => {
    assert.equal(stableJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 3 } }), stableJson({ a: { c: 3, d: [2, { y: 2, z: 1 }] }, b: 1 }));
    assert.notEqual(stableJson([1, 2]), stableJson([2, 1]));
  });

  it('finds nothing changed when only comments and formatting change', async () => {
    const base = await load(EXAMPLE_REPO);
    const text = await readFile(join(EXAMPLE_REPO, 'customers.yaml'), 'utf8');
    const head = await load(EXAMPLE_REPO, `# a new comment\n${text.replace('legal_name: "Demo Company"', 'legal_name:    "Demo Company"   # spaced')}`);
    const diff = diffRevisions(customerDigests(base), customerDigests(head));
    assert.deepEqual(diff.changed, []);
    assert.deepEqual(diff.unchanged.sort(), ['acme', 'demo', 'realchoice']);
  });

  it('reports an edited customer as changed, a new one as added, a dropped one as removed', async () => {
    const base = await load(EXAMPLE_REPO);
    const text = await readFile(join(EXAMPLE_REPO, 'customers.yaml'), 'utf8');
    const edited = text
      .replace('legal_name: "Demo Company"', 'legal_name: "Demo Company Ltd."')
      .replace(/  # realchoice[\s\S]*?mode: observe[^\n]*\n/, '')
      .replace('customers:\n', 'customers:\n  newco:\n    legal_name: "NewCo"\n    primary_domain: "newco.example.com"\n    public_domain: "newco.axelabs.ai"\n    tailscale_host: "newco-macmini.tail-lab.ts.net"\n');
    const head = await load(EXAMPLE_REPO, edited);
    const diff = diffRevisions(customerDigests(base), customerDigests(head));
    assert.deepEqual(diff, { added: ['newco'], changed: ['demo'], removed: ['realchoice'], unchanged: ['acme'] });
  });

  it('marks a slot change as a change of that customer only', async () => {
    const base = await load(EXAMPLE_REPO);
    const text = await readFile(join(EXAMPLE_REPO, 'customers.yaml'), 'utf8');
    const head = await load(EXAMPLE_REPO, text.replace('    acme:\n      secrets: []', '    acme:\n      secrets: [HIVE_ACME_EXTRA]'));
    assert.deepEqual(diffRevisions(customerDigests(base), customerDigests(head)).changed, ['acme']);
  });

  it('marks a manifest change as a change of every customer running it (and of its dependents), never of a sovereign one', async () => {
    await using dir = await tempDir('revdiff');
    await cp(EXAMPLE_REPO, dir.path, { recursive: true });
    const base = await load(dir.path);
    const frame = join(dir.path, 'services', 'frame.yaml');
    const text = await readFile(frame, 'utf8');
    const replaced = text.replace(/timeout_seconds: \d+/, 'timeout_seconds: 77');
    assert.notEqual(replaced, text, 'the fixture has a timeout to change');
    await writeFile(frame, replaced);
    const head = await load(dir.path);
    const diff = diffRevisions(customerDigests(base), customerDigests(head));
    assert.deepEqual(diff.changed, ['acme', 'demo']);
    assert.deepEqual(diff.unchanged, ['realchoice']);
  });

  it('treats everything as added without a previous revision', async () => {
    const state = await load(EXAMPLE_REPO);
    assert.deepEqual(diffRevisions(null, customerDigests(state)).added, ['acme', 'demo', 'realchoice']);
  });
});
