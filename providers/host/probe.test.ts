import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { compareVersions, memoFrom, parseProbe, probeScript, STAMPS_FRESH_MS } from './probe.js';

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
    // Where the lab keeps its pmset stand-in (macOS has /usr/bin/pmset): the probe reads the sleep line.
    await mkdir(join(dir, '.axe-lab', 'bin'), { recursive: true });
    await writeFile(join(dir, '.axe-lab', 'bin', 'pmset'), '#!/bin/sh\nprintf " disksleep            10\\n sleep                1 (sleep prevented by x)\\n"\n');
    await chmod(join(dir, '.axe-lab', 'bin', 'pmset'), 0o755);
    const { stdout } = await run('/bin/sh', ['-c', probeScript([brew])], { env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', HOME: dir, LOGNAME: 'axe-probe-user' } });
    const facts = parseProbe(stdout);
    assert.equal(facts.complete, true);
    assert.equal(facts.tools.bw.path, join(brew, 'bw'));
    assert.equal(facts.tools.bw.bare, null, 'not on the non-login PATH');
    assert.equal(facts.tools.bw.version, '2026.6.0');
    assert.equal(facts.tools.git.path, '/usr/bin/git');
    assert.equal(facts.tools.git.bare, '/usr/bin/git', 'on the non-login PATH');
    assert.equal(facts.sleepMinutes, 1);
    assert.equal(facts.user, 'axe-probe-user', "sshd's LOGNAME");
    // Without LOGNAME or USER: id -un.
    const bare = parseProbe((await run('/bin/sh', ['-c', probeScript([brew])], { env: { PATH: '/usr/bin:/bin', HOME: dir } })).stdout);
    assert.equal(bare.user, (await run('id', ['-un'])).stdout.trim());
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

  it('skips docker version and git --version while the binaries and the engine socket are the ones a previous probe saw', async () => {
    const brew = join(dir, 'brew-docker');
    await mkdir(brew, { recursive: true });
    const ran = join(dir, 'docker-ran');
    await writeFile(join(brew, 'docker'), `#!/bin/sh\necho "docker $*" >> '${ran}'\necho 27.3.1\n`);
    await writeFile(join(brew, 'git'), `#!/bin/sh\necho "git $*" >> '${ran}'\necho "git version 2.39.5 (Apple Git-154)"\n`);
    await chmod(join(brew, 'docker'), 0o755);
    await chmod(join(brew, 'git'), 0o755);
    const socket = join(dir, 'docker.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      const env = { PATH: '/usr/bin:/bin', HOME: dir, DOCKER_HOST: `unix://${socket}` };
      const probe = async (memo: ReturnType<typeof memoFrom>) => parseProbe((await run('/bin/sh', ['-c', probeScript([brew], memo)], { env })).stdout);
      // (`docker compose version` has its own memo, on the plugin binary, when this machine has the plugin.)
      const runs = async () => (await readFile(ran, 'utf8')).trim().split('\n').filter((l) => !l.includes('compose'));
      const first = await probe(null);
      assert.equal(first.tools.docker.version, '27.3.1');
      assert.equal(first.tools.git.version, '2.39.5');
      assert.equal(first.dockerSocket, socket, 'the engine socket is a host fact');
      const memo = memoFrom(first);
      assert.ok(memo?.dockerStamp && memo.gitStamp);
      assert.equal(memo.dockerSocket, socket);
      assert.deepEqual(await runs(), ['docker version --format {{.Server.Version}}', 'git --version']);
      const second = await probe(memo);
      assert.equal(second.tools.docker.version, '27.3.1');
      assert.equal(second.tools.git.version, '2.39.5');
      assert.equal((await runs()).length, 2, 'neither ran again');
      assert.equal(second.statRead, false, 'the stamps of the memo, no stat');
      // The engine restarted: its socket is new (another mtime). While the stamps are fresh, no stat sees it;
      // once they are STAMPS_FRESH_MS old, the stat runs and the version is asked again. git stays memoised.
      await utimes(socket, new Date(Date.now() + 5_000), new Date(Date.now() + 5_000));
      assert.equal((await probe(memo)).statRead, false);
      assert.equal((await runs()).length, 2);
      const third = await probe(memo && { ...memo, statAt: Date.now() - STAMPS_FRESH_MS });
      assert.equal(third.statRead, true);
      assert.equal(third.tools.docker.version, '27.3.1');
      assert.deepEqual((await runs()).slice(2), ['docker version --format {{.Server.Version}}']);
      // No socket to stamp (a TCP DOCKER_HOST): always asked.
      const tcp = parseProbe((await run('/bin/sh', ['-c', probeScript([brew], memoFrom(third))], { env: { ...env, DOCKER_HOST: 'tcp://127.0.0.1:2375' } })).stdout);
      assert.equal(tcp.dockerStamp, null);
      assert.equal(tcp.dockerSocket, null, 'no unix socket behind a TCP DOCKER_HOST');
      assert.deepEqual((await runs()).slice(3), ['docker version --format {{.Server.Version}}']);
      const moved = memoFrom(third, memo);
      assert.equal((await probe(moved && { ...moved, statPaths: 'elsewhere' })).statRead, true, 'a tool at another path is stamped at once');
    } finally {
      server.close();
    }
  });

  it('compares versions', () => {
    assert.ok(compareVersions('2026.6.0', '2025.7.0') > 0);
    assert.equal(compareVersions('2025.7', '2025.7.0'), 0);
    assert.ok(compareVersions('1.9', '1.10') < 0);
  });
});
