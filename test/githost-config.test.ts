/**
 * `git_host:` in the axe config: the fixtures in test/fixtures/axe-config/ are each
 * refused with one line naming the key and the fix (`# expect:` lines); a GitHub
 * host needs only kind and repo (api_url and token_secret default).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ControllerConfig } from '../schemas/controller-config.js';
import { formatIssue, loadFile } from '../schemas/load.js';
import { ROOT, tempDir } from './helpers.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'axe-config');
const BASE = ['repo: { url: /srv/config.git }', 'vault: { provider: file, path: /tmp/v.json }', 'cloudflare: { account_id: acc }', ''].join('\n');

async function load(text: string): Promise<Awaited<ReturnType<typeof loadFile<typeof ControllerConfig>>>> {
  await using dir = await tempDir('axe-config');
  const path = join(dir.path, 'config.yaml');
  await writeFile(path, BASE + text);
  return loadFile(path, 'config.yaml', ControllerConfig);
}

describe('git_host in the axe config', () => {
  it('GitHub with kind and repo only: api.github.com and GIT_HOST_TOKEN by default', async () => {
    const r = await load('git_host: { kind: github, repo: axelabs/config }\n');
    assert.ok(r.ok, r.ok ? '' : r.issues.map(formatIssue).join('\n'));
    assert.equal(r.value.git_host?.token_secret, 'GIT_HOST_TOKEN');
    assert.equal(r.value.git_host?.api_url, undefined);
  });

  for (const fixture of readdirSync(FIXTURES).sort()) {
    it(`refuses ${fixture} with the key and the fix`, async () => {
      const text = await readFile(join(FIXTURES, fixture), 'utf8');
      const expects = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]!);
      assert.ok(expects.length > 0);
      const r = await load(text);
      assert.equal(r.ok, false);
      const lines = r.ok ? '' : r.issues.map(formatIssue).join('\n');
      for (const e of expects) assert.ok(lines.includes(e), `expected "${e}" in:\n${lines}`);
      assert.match(lines, /^config\.yaml:\d+:\d+ /);
    });
  }
});
