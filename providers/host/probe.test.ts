import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { compareVersions, parseProbe, probeScript } from './probe.js';

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'axe-probe-'));
after(() => rm(dir, { recursive: true, force: true }));

describe('host probe', () => {
  it('parses a macOS-like answer', () => {
    const facts = parseProbe(['path=/usr/bin:/bin:/usr/sbin:/sbin', 'home=/Users/axe', 'user=axe', 'uname=Darwin', 'os_version=14.6.1',
      'tool_docker=/opt/homebrew/bin/docker', 'bare_docker=', 'tool_git=/usr/bin/git', 'bare_git=/usr/bin/git', 'tool_bw=/opt/homebrew/bin/bw', 'bare_bw=',
      'docker_version=27.3.1', 'compose_version=v2.29.7', 'git_version=git version 2.39.5 (Apple Git-154)', 'bw_version=2025.7.0', 'sleep=0', 'probe=done'].join('\n'));
    assert.equal(facts.complete, true);
    assert.equal(facts.os, 'macOS');
    assert.deepEqual(facts.tools.docker, { path: '/opt/homebrew/bin/docker', bare: null, version: '27.3.1' });
    assert.equal(facts.tools.git.version, '2.39.5');
    assert.equal(facts.composeVersion, '2.29.7');
    assert.equal(facts.sleepMinutes, 0);
  });

  it('an interrupted answer is not complete', () => {
    assert.equal(parseProbe('path=/usr/bin\n').complete, false);
  });

  it('the script runs under a real sh with a macOS non-login PATH and finds tools by absolute path', async () => {
    const brew = join(dir, 'brew');
    await mkdir(brew, { recursive: true });
    await writeFile(join(brew, 'bw'), '#!/bin/sh\necho 2026.6.0\n');
    await chmod(join(brew, 'bw'), 0o755);
    await writeFile(join(brew, 'pmset'), '#!/bin/sh\nprintf " sleep                1 (sleep prevented by x)\\n"\n');
    const { stdout } = await run('/bin/sh', ['-c', probeScript([brew])], { env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', HOME: dir } });
    const facts = parseProbe(stdout);
    assert.equal(facts.complete, true);
    assert.equal(facts.tools.bw.path, join(brew, 'bw'));
    assert.equal(facts.tools.bw.bare, null, 'not on the non-login PATH');
    assert.equal(facts.tools.bw.version, '2026.6.0');
    assert.equal(facts.tools.git.path, '/usr/bin/git');
  });

  it('skips bw --version when the binary is the one a previous probe saw', async () => {
    const brew = join(dir, 'brew-memo');
    await mkdir(brew, { recursive: true });
    const ran = join(dir, 'bw-ran');
    await writeFile(join(brew, 'bw'), `#!/bin/sh\necho run >> '${ran}'\necho 2025.6.1\n`);
    await chmod(join(brew, 'bw'), 0o755);
    const env = { PATH: '/usr/bin:/bin', HOME: dir };
    const first = parseProbe((await run('/bin/sh', ['-c', probeScript([brew])], { env })).stdout);
    assert.equal(first.tools.bw.version, '2025.6.1');
    assert.ok(first.bwStamp);
    const second = parseProbe((await run('/bin/sh', ['-c', probeScript([brew], { bwStamp: first.bwStamp!, bwVersion: '2025.6.1' })], { env })).stdout);
    assert.equal(second.tools.bw.version, '2025.6.1');
    assert.equal((await readFile(ran, 'utf8')).trim().split('\n').length, 1, 'bw ran once');
    await writeFile(join(brew, 'bw'), `#!/bin/sh\necho run >> '${ran}'\necho 2026.1.0 # a longer script\n`);
    const third = parseProbe((await run('/bin/sh', ['-c', probeScript([brew], { bwStamp: first.bwStamp!, bwVersion: '2025.6.1' })], { env })).stdout);
    assert.equal(third.tools.bw.version, '2026.1.0', 'a changed binary is asked again');
  });

  it('compares versions', () => {
    assert.ok(compareVersions('2026.6.0', '2025.7.0') > 0);
    assert.equal(compareVersions('2025.7', '2025.7.0'), 0);
    assert.ok(compareVersions('1.9', '1.10') < 0);
  });
});
