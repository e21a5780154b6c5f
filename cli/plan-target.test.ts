import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { controllerPaths } from '../controller/config.js';
import { settingsDigest } from '../controller/control-api.js';
import { planTarget } from './plan-target.js';
import { loadSettings } from './settings.js';

const EXAMPLE = join(import.meta.dirname, '..', 'examples', 'axe-config.yaml');

describe('planTarget: what axe plan asks the controller with, memoized by what it is made of', () => {
  let home = '';
  let config = '';
  let env: NodeJS.ProcessEnv;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'axe-plan-target-'));
    config = join(home, 'config.yaml');
    await writeFile(config, await readFile(EXAMPLE, 'utf8'), { mode: 0o600 });
    env = { AXE_HOME: home, AXE_CONFIG: config };
  });
  after(() => rm(home, { recursive: true, force: true }));

  it('loads the settings once, then answers from the memo (0600) the same state dir, checkout and digest', async () => {
    const settings = await loadSettings({}, env);
    const expected = { home, stateDir: controllerPaths(settings.config, home).stateDir, checkout: settings.config!.repo.checkout, digest: settingsDigest(settings) };
    const first = await planTarget({}, env);
    assert.ok(first.settings, 'loaded the first time');
    assert.deepEqual({ ...first, settings: undefined }, { ...expected, settings: undefined });
    const memo = join(home, 'cache', 'plan-target.json');
    assert.equal((await stat(memo)).mode & 0o777, 0o600);
    const second = await planTarget({}, env);
    assert.equal(second.settings, undefined, 'from the memo');
    assert.deepEqual(second, expected);
  });

  it('another config text or path: loaded again; a broken memo is no error', async () => {
    await planTarget({}, env);
    await writeFile(config, (await readFile(config, 'utf8')).replace('zone: axelabs.ai', 'zone: example.net'));
    const edited = await planTarget({}, env);
    assert.ok(edited.settings, 'the edit is seen');
    assert.equal(edited.digest, settingsDigest(await loadSettings({}, env)));
    assert.notEqual(edited.digest, settingsDigest({ ...(await loadSettings({}, env)), zone: 'axelabs.ai' }));
    const other = join(home, 'other.yaml');
    await writeFile(other, await readFile(config, 'utf8'), { mode: 0o600 });
    assert.ok((await planTarget({ config: other }, env)).settings, 'another path');
    await writeFile(join(home, 'cache', 'plan-target.json'), '{ not json');
    const again = await planTarget({}, env);
    assert.ok(again.settings);
    assert.equal(again.digest, edited.digest);
  });

  it('an invalid config is the settings error, and nothing is memoized for it', async () => {
    const bad = join(home, 'bad.yaml');
    await writeFile(bad, 'repo: 3\n', { mode: 0o600 });
    const memo = join(home, 'cache', 'plan-target.json');
    const kept = await readFile(memo, 'utf8');
    await assert.rejects(planTarget({ config: bad }, env), /invalid axe config/);
    assert.equal(await readFile(memo, 'utf8'), kept);
    await assert.rejects(planTarget({ config: bad }, env), /invalid axe config/);
  });
});
