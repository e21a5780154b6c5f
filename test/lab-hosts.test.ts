/**
 * The lab's customer hosts: real sshd on loopback, one Unix user each, reached with
 * the product's own ssh2 client and pinned known_hosts, running a real Compose v2
 * stack on the real Docker engine, with the macOS non-login PATH trap for real.
 *
 * Hosts use a temporary state dir, unique names `t<random>…` and ports away from the
 * real lab's (2201…), so they never collide with `axe lab up` or other tests; `after`
 * runs the part's `down`, and the last test checks that `down` leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { AxeError } from '../core/errors.js';
import { LAB_LABEL, type LabContext } from '../lab/component.js';
import {
  customerHostSpecs,
  ensureHosts,
  hostsPart,
  hostsPaths,
  labSshCredentials,
  listHosts,
  nonLoginPath,
  removeHosts,
  setHostSleep,
  sshTarget,
  type HostsRegistry,
  type LabHost,
} from '../lab/hosts/index.js';
import { ensureBaseImage } from '../lab/images/base.js';
import { parseKnownHosts } from '../providers/host/known-hosts.js';
import { parseProbe, PROBE_SESSION_INIT, probeScript } from '../providers/host/probe.js';
import { connect, type HostConnection } from '../providers/host/ssh.js';
import { healthHost, type PeerFact } from '../reconcilers/host/diff.js';

const run = promisify(execFile);

const tag = randomBytes(3).toString('hex');
const A = `t${tag}a`;
const B = `t${tag}b`;
const basePort = 24_000 + randomInt(0, 8000);
const stateDir = await mkdtemp(join(tmpdir(), 'axe-test-hosts-'));
const ctx: LabContext = { stateDir, log: () => undefined };
let hosts: LabHost[] = [];

function host(name: string): LabHost {
  const found = hosts.find((h) => h.name === name);
  assert.ok(found, `host ${name} was made`);
  return found;
}

async function open(name: string): Promise<HostConnection> {
  return connect(sshTarget(host(name)), await labSshCredentials(stateDir));
}

async function sshdPid(name: string): Promise<number> {
  return Number((await readFile(join(hostsPaths(stateDir).dir, name, 'sshd.pid'), 'utf8')).trim());
}

function peer(h: LabHost): PeerFact {
  return { dnsName: h.fqdn, hostName: h.name, online: true, direct: true, relay: '', matchedBy: 'fqdn' };
}

before(async () => {
  hosts = await ensureHosts(ctx, [
    { name: A, fqdn: `${A}-macmini.tail-lab.ts.net` },
    { name: B, fqdn: `${B}-macmini.tail-lab.ts.net`, bwVersion: '2025.8.0' },
  ], { basePort });
});

after(async () => {
  await hostsPart.down(ctx);
  await rm(stateDir, { recursive: true, force: true });
});

describe('lab hosts (real sshd on loopback)', () => {
  test('the registry and known_hosts have the shape other parts read, pinned under [fqdn]:port', async () => {
    const paths = hostsPaths(stateDir);
    const registry = JSON.parse(await readFile(paths.registry, 'utf8')) as HostsRegistry;
    assert.deepEqual(Object.keys(registry).sort(), ['hosts', 'keyFile', 'knownHosts']);
    assert.equal(registry.keyFile, paths.keyFile);
    assert.equal(registry.knownHosts, paths.knownHosts);
    assert.deepEqual(registry.hosts.map((h) => Object.keys(h).sort()), [0, 1].map(() => ['address', 'fqdn', 'home', 'name', 'port', 'user']));
    assert.deepEqual(registry.hosts.find((h) => h.name === A), { name: A, fqdn: `${A}-macmini.tail-lab.ts.net`, user: `axelab-${A}`, address: '127.0.0.1', port: host(A).port, home: `/home/axelab-${A}` });
    assert.notEqual(host(A).port, host(B).port);
    assert.equal((await stat(paths.keyFile)).mode & 0o777, 0o600);
    const pinned = parseKnownHosts(await readFile(paths.knownHosts, 'utf8'));
    const entryA = pinned.find((k) => k.hosts.includes(`[${A}-macmini.tail-lab.ts.net]:${host(A).port}`));
    assert.ok(entryA, 'pinned under the FQDN with its port');
    assert.ok(entryA.hosts.includes(`[127.0.0.1]:${host(A).port}`), 'and under the address with its port');
    assert.equal(entryA.type, 'ssh-ed25519');
  });

  test('OpenSSH itself accepts the lab key and the pinned known_hosts (strict checking)', async () => {
    const h = host(A);
    const paths = hostsPaths(stateDir);
    const { stdout } = await run('ssh', ['-F', '/dev/null', '-i', paths.keyFile, '-o', `UserKnownHostsFile=${paths.knownHosts}`, '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-p', String(h.port), `${h.user}@${h.address}`, 'id -un; echo "$PATH"']);
    assert.deepEqual(stdout.trim().split('\n'), [h.user, nonLoginPath(h)]);
  });

  test('connect() runs a Compose v2 stack by absolute path; docker by bare name is not found; a login shell finds it', async () => {
    await ensureBaseImage();
    const project = `axelab-test-hosts-${tag}`;
    const compose = [
      'services:',
      '  app:',
      '    image: axelab-base:1',
      '    command: ["sleep", "300"]',
      '    stop_signal: SIGKILL',
      '    labels:',
      `      ${LAB_LABEL}: "1"`,
      '    healthcheck:',
      '      test: ["CMD", "true"]',
      '      interval: 1s',
      '      timeout: 2s',
      '      retries: 5',
      'networks:',
      '  default:',
      '    labels:',
      `      ${LAB_LABEL}: "1"`,
      '',
    ].join('\n');
    const conn = await open(A);
    try {
      await conn.writeFile('~/stack/compose.yaml', compose, 0o644);
      const bare = await conn.exec(`docker compose -p ${project} -f "$HOME/stack/compose.yaml" up -d --wait`);
      assert.equal(bare.code, 127, 'bare docker must not be on the non-login PATH');
      assert.match(bare.stderr, /docker: command not found/);

      const up = await conn.exec(`/usr/bin/docker compose -p ${project} -f "$HOME/stack/compose.yaml" up -d --wait`, { timeoutMs: 60_000 });
      assert.equal(up.code, 0, up.stderr);
      const health = await conn.exec(`/usr/bin/docker inspect -f '{{.State.Health.Status}} {{index .Config.Labels "${LAB_LABEL}"}}' ${project}-app-1`);
      assert.equal(health.stdout.trim(), 'healthy 1');

      const login = await conn.exec(`bash -lc 'command -v docker; docker compose version --short'`);
      assert.equal(login.code, 0, login.stderr);
      const [where, version] = login.stdout.trim().split('\n');
      assert.equal(where, `${host(A).home}/homebrew/bin/docker`);
      assert.match(version ?? '', /^v?2\./);
      const shLogin = await conn.exec(`sh -lc 'command -v bw'`);
      assert.equal(shLogin.stdout.trim(), `${host(A).home}/homebrew/bin/bw`);
      const bareBw = await conn.exec('bw --version');
      assert.equal(bareBw.code, 127);
    } finally {
      conn.close();
      await run('docker', ['compose', '-p', project, 'down', '--remove-orphans', '-t', '0']).catch(() => undefined);
    }
  });

  test('git on a host clones a root-owned bare repo over file:// (how the lab serves the service repos)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'axe-test-hosts-git-'));
    const conn = await open(A);
    try {
      await chmod(dir, 0o755);
      const src = join(dir, 'src');
      await run('git', ['init', '-q', '-b', 'main', src]);
      await writeFile(join(src, 'compose.yaml'), 'services: {}\n');
      await run('git', ['-C', src, 'add', '-A']);
      await run('git', ['-C', src, '-c', 'user.name=t', '-c', 'user.email=t@axe.invalid', 'commit', '-qm', 'seed']);
      await run('git', ['clone', '-q', '--bare', src, join(dir, 'svc.git')]);
      const clone = await conn.exec(`rm -rf "$HOME/svc-${tag}" && /usr/bin/git clone -q file://${dir}/svc.git "$HOME/svc-${tag}" && cat "$HOME/svc-${tag}/compose.yaml"`);
      assert.equal(clone.code, 0, clone.stderr);
      assert.equal(clone.stdout, 'services: {}\n');
    } finally {
      conn.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a changed host key and an unknown host are refused by the product verification', async () => {
    const creds = await labSshCredentials(stateDir);
    const a = host(A);
    const b = host(B);
    // B's key pinned under A's names: what a reinstalled (or impostor) Mac mini presents.
    const keyOfB = creds.knownHosts.find((k) => k.hosts.includes(`[127.0.0.1]:${b.port}`));
    assert.ok(keyOfB);
    const swapped = [{ ...keyOfB, hosts: [`[${a.fqdn}]:${a.port}`, `[127.0.0.1]:${a.port}`] }];
    await assert.rejects(connect(sshTarget(a), { ...creds, knownHosts: swapped }), (error: unknown) => {
      assert.ok(error instanceof AxeError);
      assert.equal(error.class, 'terminal');
      assert.match(error.message, /differs from the pinned one/);
      return true;
    });
    await assert.rejects(connect(sshTarget(a), { ...creds, knownHosts: [] }), (error: unknown) => {
      assert.ok(error instanceof AxeError);
      assert.equal(error.class, 'terminal');
      assert.match(error.message, /is not pinned/);
      return true;
    });
  });

  test('the product probe sees the non-login PATH without docker, tools by absolute path, pmset sleep and bw', async () => {
    const conn = await open(A);
    try {
      const facts = parseProbe((await conn.exec(probeScript())).stdout);
      assert.equal(facts.complete, true);
      assert.equal(facts.path, nonLoginPath(host(A)));
      assert.ok(!facts.path.split(':').some((d) => ['/usr/bin', '/bin', '/usr/local/bin'].includes(d)), facts.path);
      assert.equal(facts.user, `axelab-${A}`);
      assert.equal(facts.os, 'macOS');
      assert.equal(facts.osVersion, '15.1');
      assert.ok(facts.tools.docker.path?.startsWith('/'), 'docker found by absolute path');
      assert.equal(facts.tools.docker.bare, null, 'docker not on the non-login PATH');
      assert.match(facts.tools.docker.version ?? '', /^\d+\.\d+/);
      assert.match(facts.composeVersion ?? '', /^2\./);
      assert.equal(facts.tools.bw.path, `${host(A).home}/homebrew/bin/bw`);
      assert.equal(facts.tools.bw.bare, null);
      assert.match(facts.tools.bw.version ?? '', /^\d{4}\.\d+\.\d+$/, 'the real bw answers its version');
      assert.equal(facts.sleepMinutes, 0);
      const health = healthHost({ customer: A, tailscaleHost: host(A).fqdn, needs: ['docker', 'git'], bwMaxVersion: null }, { peer: peer(host(A)), ssh: { ok: true }, facts });
      assert.equal(health.status, 'Healthy', health.message);
      assert.ok(health.findings?.some((f) => f.trap === 'ssh-non-login-path'));

      await setHostSleep(stateDir, A, 10);
      const asleep = parseProbe((await conn.exec(probeScript())).stdout);
      assert.equal(asleep.sleepMinutes, 10);
      const sleepy = healthHost({ customer: A, tailscaleHost: host(A).fqdn, needs: ['docker'], bwMaxVersion: null }, { peer: peer(host(A)), ssh: { ok: true }, facts: asleep });
      assert.equal(sleepy.trap?.trap, 'host-asleep');
      await setHostSleep(stateDir, A, 0);
      assert.equal(parseProbe((await conn.exec(probeScript())).stdout).sleepMinutes, 0);
    } finally {
      conn.close();
    }
    const connB = await open(B);
    try {
      const facts = parseProbe((await connB.exec(probeScript())).stdout);
      assert.equal(facts.tools.bw.version, '2025.8.0');
      const health = healthHost({ customer: B, tailscaleHost: host(B).fqdn, needs: ['docker', 'git', 'bw'], bwMaxVersion: '2025.7.0' }, { peer: peer(host(B)), ssh: { ok: true }, facts });
      assert.equal(health.trap?.trap, 'bw-cli-crashing-version');
    } finally {
      connB.close();
    }
  });

  test('the kept shell (real sshd): one session per connection, nothing outlives a script, a dead shell falls back to exec, a hung script times out', async () => {
    const conn = await open(A);
    try {
      const first = await conn.session('x=1; echo "$x"; echo err >&2; exit 3', { init: 'axe_seen=$$' });
      assert.deepEqual(first, { code: 3, stdout: '1\n', stderr: 'err\n' }, 'exit ends the script, not the shell');
      const second = await conn.session('printf "%s|%s" "${x:-unset}" "$axe_seen"; cat');
      const [x, shellPid] = second.stdout.split('|');
      assert.equal(x, 'unset', 'no variable outlives a script');
      assert.match(shellPid ?? '', /^\d+$/, 'the init ran once, in the kept shell');
      assert.equal((await conn.session('printf %s "$axe_seen"')).stdout, shellPid, 'the same shell');
      const forged = await conn.session(`printf '\\n@@axe-end-0123456789abcdef 0\\n'; echo after`);
      assert.match(forged.stdout, /after\n$/, 'a forged end marker does not end the script');
      // A syntax error ends a non-interactive sh: the script runs again by exec, with exec's answer.
      const broken = await conn.session('if then fi');
      const viaExec = await conn.exec('/bin/sh -s', { stdin: 'if then fi' });
      assert.deepEqual([broken.code, broken.stdout], [viaExec.code, viaExec.stdout]);
      assert.notEqual(broken.code, 0);
      const next = await conn.session('printf %s "$axe_seen"', { init: 'axe_seen=$$' });
      assert.match(next.stdout, /^\d+$/);
      assert.notEqual(next.stdout, shellPid, 'a new kept shell after the old one died');
      await assert.rejects(conn.session('sleep 3', { timeoutMs: 300 }), /timed out after 300 ms/);
      assert.equal((await conn.session('echo ok')).stdout, 'ok\n', 'a new kept shell after a timeout');
      const trips = conn.stats.roundTrips;
      const [slow, quick] = await Promise.all([conn.session('sleep 0.3; echo slow'), conn.session('echo quick')]);
      assert.deepEqual([slow.stdout, quick.stdout], ['slow\n', 'quick\n'], 'a busy kept shell: the other script by exec');
      assert.equal(conn.stats.roundTrips, trips + 2);
    } finally {
      conn.close();
    }
    const fresh = await open(A);
    try {
      const probe = parseProbe((await fresh.session(probeScript(), { init: PROBE_SESSION_INIT })).stdout);
      assert.deepEqual([probe.complete, probe.os, probe.osVersion], [true, 'macOS', '15.1']);
      assert.equal((await fresh.session('printf %s "$axe_os_version"')).stdout, '15.1', 'the OS read once per connection, by the kept shell');
    } finally {
      fresh.close();
    }
  });

  test('ensureHosts is idempotent: a healthy host keeps its sshd, port and key; a dead sshd comes back on its port', async () => {
    const knownBefore = await readFile(hostsPaths(stateDir).knownHosts, 'utf8');
    const pidA = await sshdPid(A);
    const again = await ensureHosts(ctx, [{ name: A, fqdn: host(A).fqdn }], { basePort });
    assert.equal(again[0]?.port, host(A).port);
    assert.equal(await sshdPid(A), pidA, 'left alone');
    assert.equal(await readFile(hostsPaths(stateDir).knownHosts, 'utf8'), knownBefore);
    assert.equal((await listHosts(stateDir)).length, 2, 'B is kept');

    process.kill(pidA, 'SIGTERM');
    for (let i = 0; i < 100 && (await hostsPart.status(ctx)).ready; i += 1) await new Promise((r) => setTimeout(r, 20));
    const broken = await hostsPart.status(ctx);
    assert.equal(broken.ready, false);
    assert.match(broken.detail, new RegExp(`${A} \\(127\\.0\\.0\\.1:${host(A).port}\\)`));
    await ensureHosts(ctx, [{ name: A, fqdn: host(A).fqdn }], { basePort });
    assert.notEqual(await sshdPid(A), pidA);
    assert.equal((await hostsPart.status(ctx)).ready, true);
    const conn = await open(A);
    conn.close();
  });

  test('removeHosts removes one host and its pin; down leaves no process, no user, no folder', async () => {
    const pids = [await sshdPid(A), await sshdPid(B)];
    const conn = await open(B); // an open session must not keep the user alive
    try {
      await removeHosts(ctx, [A]);
      assert.deepEqual((await listHosts(stateDir)).map((h) => h.name), [B]);
      assert.ok(!(await readFile(hostsPaths(stateDir).knownHosts, 'utf8')).includes(`:${host(A).port} `));
      await hostsPart.down(ctx);
    } finally {
      conn.close();
    }
    const passwd = await readFile('/etc/passwd', 'utf8');
    for (const name of [A, B]) {
      assert.ok(!passwd.includes(`axelab-${name}:`), `user axelab-${name} removed`);
      assert.equal(existsSync(`/home/axelab-${name}`), false, 'home removed');
    }
    for (const pid of pids) {
      const state = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
      assert.ok(state === null || /^State:\s+Z/m.test(state), `sshd ${pid} stopped`);
    }
    const { stdout } = await run('ps', ['-eo', 'pid,stat,args']);
    const left = stdout.split('\n').filter((l) => l.includes(hostsPaths(stateDir).dir) || l.includes(`axelab-${A}`) || l.includes(`axelab-${B}`));
    assert.deepEqual(left.filter((l) => !/^\s*\d+\s+Z/.test(l)), []);
    assert.equal(existsSync(hostsPaths(stateDir).dir), false);
    assert.deepEqual(await listHosts(stateDir), []);
    assert.equal((await hostsPart.status(ctx)).ready, false);
  });
});

describe('lab hosts: customers, crashed runs, users the lab did not make', () => {
  test('hostsPart.up makes one host per customer of examples/customers.yaml, known by its tailscale_host', async () => {
    assert.deepEqual(await customerHostSpecs(), [
      { name: 'acme', fqdn: 'acme-macmini.tail-lab.ts.net' },
      { name: 'realchoice', fqdn: 'realchoice-macmini.tail-lab.ts.net' },
      { name: 'demo', fqdn: 'demo-macmini.tail-lab.ts.net' },
    ]);
  });

  test('down sweeps a crashed run (registry and host folder gone) by the config path and the user marker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'axe-test-hosts-crash-'));
    const crashed: LabContext = { stateDir: dir, log: () => undefined };
    const name = `t${tag}c`;
    try {
      const [made] = await ensureHosts(crashed, [{ name, fqdn: `${name}.tail-lab.ts.net` }], { basePort: basePort + 100 });
      assert.ok(made);
      const pid = Number((await readFile(join(hostsPaths(dir).dir, name, 'sshd.pid'), 'utf8')).trim());
      // What a crash mid-way can leave: the sshd and the user, but no registry and no host folder.
      await rm(hostsPaths(dir).registry);
      await rm(join(hostsPaths(dir).dir, name), { recursive: true });
      await hostsPart.down(crashed);
      assert.ok(!(await readFile('/etc/passwd', 'utf8')).includes(`axelab-${name}:`));
      const state = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
      assert.ok(state === null || /^State:\s+Z/m.test(state), 'sshd stopped');
      assert.equal(existsSync(made.home), false);
    } finally {
      await hostsPart.down(crashed);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a user of a lab host name that this lab did not make is refused and left alone', async () => {
    const name = `t${tag}f`;
    const user = `axelab-${name}`;
    await run('useradd', ['-M', '-s', '/usr/sbin/nologin', '-c', 'not the lab', user]);
    try {
      await assert.rejects(ensureHosts(ctx, [{ name, fqdn: `${name}.tail-lab.ts.net` }], { basePort }), /was not made by this lab/);
      await removeHosts(ctx, [name]);
      await hostsPart.down(ctx);
      assert.ok((await readFile('/etc/passwd', 'utf8')).includes(`${user}:`), 'still there');
    } finally {
      await run('userdel', [user]).catch(() => undefined);
    }
  });
});
