/**
 * The lab's `tailscale` stand-in (lab/tailscale), called as a binary by the
 * product's own reader (providers/tailscale): peers from the lab's hosts.json,
 * offline / relayed / stopped / not running as the real CLI shows them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, constants, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { setDaemonState, setPeerState, tailnetAddresses, tailscaleBinary, tailscalePart, TAILSCALE_VERSION } from '../lab/tailscale/index.js';
import { findPeer, readTailscaleStatus, TailscaleError } from '../providers/tailscale/index.js';
import { tempDir } from './helpers.js';

const exec = promisify(execFile);

const DEMO = 'demo-macmini.tail-lab.ts.net';
const ACME = 'acme-macmini.tail-lab.ts.net';

async function labWithHosts(dir: string): Promise<{ stateDir: string; log: () => void }> {
  await mkdir(join(dir, 'hosts'), { recursive: true });
  const hosts = [
    { name: 'demo', fqdn: DEMO, user: 'axelab-demo', address: '127.0.0.1', port: 2201, home: '/home/axelab-demo' },
    { name: 'acme', fqdn: ACME, user: 'axelab-acme', address: '127.0.0.1', port: 2202, home: '/home/axelab-acme' },
  ];
  await writeFile(join(dir, 'hosts', 'hosts.json'), JSON.stringify({ keyFile: join(dir, 'hosts', 'id'), knownHosts: join(dir, 'hosts', 'known_hosts'), hosts }));
  const ctx = { stateDir: dir, log: () => undefined };
  await tailscalePart.up(ctx);
  return ctx;
}

async function run(binary: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return exec(binary, args, { cwd: '/' }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe('tailscale stand-in', () => {
  it("the product's readTailscaleStatus reads the lab's hosts as online, direct macOS peers", async () => {
    await using dir = await tempDir('ts-peers');
    await labWithHosts(dir.path);
    const binary = tailscaleBinary(dir.path);
    await access(binary, constants.X_OK);
    const view = await readTailscaleStatus({ binary });
    assert.equal(view.backendState, 'Running');
    assert.equal(view.magicDnsSuffix, 'tail-lab.ts.net');
    assert.equal(view.selfDnsName, 'axe-operator.tail-lab.ts.net');
    assert.deepEqual(
      view.peers.map((p) => [p.dnsName, p.hostName, p.online, p.direct, p.os, p.lastSeen]),
      [
        [ACME, 'acme-macmini', true, true, 'macOS', null],
        [DEMO, 'demo-macmini', true, true, 'macOS', null],
      ],
    );
    const demo = view.peers.find((p) => p.dnsName === DEMO)!;
    assert.deepEqual(demo.ips, tailnetAddresses(DEMO));
    assert.match(demo.ips[0]!, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/);
    assert.equal(findPeer(view, DEMO)?.matchedBy, 'fqdn');
    assert.equal(findPeer(view, 'demo-macmini')?.matchedBy, 'short-alias');

    // The raw JSON keeps the real shape: Peer keyed by node key, DNSName with its dot.
    const raw = JSON.parse((await run(binary, ['status', '--json'])).stdout) as { Peer: Record<string, { DNSName: string; CurAddr: string }> };
    const [key, peer] = Object.entries(raw.Peer).find(([, p]) => p.DNSName === `${DEMO}.`)!;
    assert.match(key, /^nodekey:[0-9a-f]{64}$/);
    assert.equal(peer.CurAddr, '127.0.0.1:41641');
  });

  it('offline and relayed peers are seen as such, and come back', async () => {
    await using dir = await tempDir('ts-states');
    await labWithHosts(dir.path);
    const binary = tailscaleBinary(dir.path);
    await setPeerState(dir.path, DEMO, { online: false });
    await setPeerState(dir.path, `${ACME}.`, { relayed: true });
    let view = await readTailscaleStatus({ binary });
    const demo = view.peers.find((p) => p.dnsName === DEMO)!;
    const acme = view.peers.find((p) => p.dnsName === ACME)!;
    assert.equal(demo.online, false);
    assert.equal(demo.direct, false);
    assert.ok(demo.lastSeen && Date.parse(demo.lastSeen) > Date.parse('2020-01-01'), 'an offline peer has a LastSeen');
    assert.deepEqual([acme.online, acme.direct, acme.relay], [true, false, 'tok']);

    const plain = await run(binary, ['status']);
    assert.equal(plain.code, 0);
    assert.match(plain.stdout, /demo-macmini\s+ops@\s+macOS\s+offline/);
    assert.match(plain.stdout, /acme-macmini\s+ops@\s+macOS\s+active; relay "tok"/);

    await setPeerState(dir.path, DEMO, { online: true });
    await setPeerState(dir.path, ACME, { relayed: false });
    view = await readTailscaleStatus({ binary });
    assert.ok(view.peers.every((p) => p.online && p.direct));
  });

  it('a stopped daemon (BackendState Stopped) and a daemon not running fail like the real CLI', async () => {
    await using dir = await tempDir('ts-daemon');
    await labWithHosts(dir.path);
    const binary = tailscaleBinary(dir.path);

    await setDaemonState(dir.path, 'stopped');
    const json = await run(binary, ['status', '--json']);
    assert.equal(json.code, 0);
    assert.equal((JSON.parse(json.stdout) as { BackendState: string }).BackendState, 'Stopped');
    const stopped = (await readTailscaleStatus({ binary }).catch((e: unknown) => e)) as TailscaleError;
    assert.ok(stopped instanceof TailscaleError);
    assert.equal(stopped.reason, 'not-running');
    assert.equal(stopped.class, 'transient');
    const plain = await run(binary, ['status']);
    assert.deepEqual([plain.code, plain.stdout], [1, 'Tailscale is stopped.\n']);

    await setDaemonState(dir.path, 'not-running');
    const down = (await readTailscaleStatus({ binary }).catch((e: unknown) => e)) as TailscaleError;
    assert.equal(down.reason, 'daemon-unreachable');
    assert.match(down.message, /failed to connect to local tailscaled/);
    assert.equal((await run(binary, ['status'])).code, 1);
    assert.equal((await run(binary, ['version'])).code, 0, 'version needs no daemon');

    await setDaemonState(dir.path, 'running');
    assert.equal((await readTailscaleStatus({ binary })).peers.length, 2);
  });

  it('no hosts.json means no peers; version and unknown subcommands answer like the CLI', async () => {
    await using dir = await tempDir('ts-empty');
    const ctx = { stateDir: dir.path, log: () => undefined };
    await tailscalePart.up(ctx);
    const binary = tailscaleBinary(dir.path);
    const view = await readTailscaleStatus({ binary });
    assert.deepEqual(view.peers, []);
    assert.equal(view.selfDnsName, 'axe-operator.tail-lab.ts.net');
    const version = await run(binary, ['version']);
    assert.equal(version.stdout.split('\n')[0], TAILSCALE_VERSION);
    assert.equal((JSON.parse((await run(binary, ['version', '--json'])).stdout) as { majorMinorPatch: string }).majorMinorPatch, TAILSCALE_VERSION);
    assert.equal((await run(binary, ['status', 'extra'])).code, 1);
    assert.equal((await run(binary, ['frobnicate'])).code, 1);
  });

  it('the lab part: up is idempotent and keeps peer states, status reports peers, down removes its folder only', async () => {
    await using dir = await tempDir('ts-part');
    const ctx = await labWithHosts(dir.path);
    await setPeerState(dir.path, DEMO, { relayed: true });
    await tailscalePart.up(ctx);
    const status = await tailscalePart.status(ctx);
    assert.equal(status.ready, true);
    assert.match(status.detail, new RegExp(`${DEMO} relayed`));
    assert.match(status.detail, new RegExp(`${ACME} direct`));
    await tailscalePart.down(ctx);
    await assert.rejects(stat(join(dir.path, 'tailscale')));
    await stat(join(dir.path, 'hosts', 'hosts.json'));
    assert.equal((await tailscalePart.status(ctx)).ready, false);
    await tailscalePart.down(ctx);
  });
});
