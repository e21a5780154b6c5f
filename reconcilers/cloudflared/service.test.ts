import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hostScript } from '../../providers/host/executor.js';
import { engineListUrl } from '../../providers/host/facts/container.js';
import { line } from '../../providers/host/commands/quote.js';
import { scriptText } from '../../providers/host/scripts.js';
import { launchdPlist, observeSection, parseObservation, runArgv, startScript } from './service.js';

/** The observation section as the batch runs it (lib.sh's functions first). */
const observeScript = (customer: string, manager: 'auto' | 'launchd' | 'container', port: number, toolPaths: string[]) =>
  hostScript(observeSection('cloudflared', customer, manager, port, toolPaths).script);

const spec = { customer: 'demo', serviceHash: 'abc123', tunnelId: '11111111-2222-4333-8444-555555555555', image: 'img:1', publish: ['127.0.0.1::8080'], metricsPort: 20241, toolPaths: [] };

describe('cloudflared service scripts', () => {
  it('the LaunchDaemon runs in the system domain as the axe user with the pushed files', () => {
    const plist = launchdPlist('/opt/homebrew/bin/cloudflared', '/Users/axe', 'axe', 20241);
    assert.match(plist, /<key>Label<\/key><string>ai\.axelabs\.cloudflared<\/string>/);
    assert.match(plist, /<key>UserName<\/key><string>axe<\/string>/);
    assert.match(plist, /<string>--credentials-file<\/string>\n\s*<string>\/Users\/axe\/\.axe\/cloudflared\/credentials\.json<\/string>/);
    assert.match(plist, /<key>KeepAlive<\/key><true\/>/);
    const script = startScript({ ...spec, manager: 'launchd' });
    assert.match(script, /^set -- 'ai\.axelabs\.cloudflared' '\/Library\/LaunchDaemons\/ai\.axelabs\.cloudflared\.plist' /m);
    assert.ok(script.endsWith(scriptText('cloudflared-launchd.sh')), 'the script file, unedited, after its arguments');
    assert.match(script, /sudo -n \/bin\/launchctl bootstrap system "\$plist_path"/);
    assert.doesNotMatch(script, /gui\//, 'never a gui/ domain: it fails over SSH without a GUI login');
  });

  it('the container runs with the files mounted read-only, labelled for its customer, waiting for readiness', () => {
    const script = startScript({ ...spec, manager: 'container' });
    assert.equal(
      line(runArgv({ ...spec, manager: 'container' })),
      `"$D" 'run' '-d' '--name' 'axe-cloudflared-demo' '--restart' 'unless-stopped' '--label' 'ai.axelabs.axe.customer=demo' '--label' ` +
        `'ai.axelabs.axe.service=cloudflared' '--label' 'ai.axelabs.axe.tunnel=11111111-2222-4333-8444-555555555555' '--label' ` +
        `'ai.axelabs.axe.service-hash=abc123' '--network' 'axe-demo' '-p' '127.0.0.1::8080' '-v' "$HOME"/'.axe/cloudflared:/etc/cloudflared:ro' ` +
        `'img:1' 'tunnel' '--no-autoupdate' '--config' '/etc/cloudflared/config.yml' '--credentials-file' '/etc/cloudflared/credentials.json' ` +
        `'--metrics' '0.0.0.0:2000' 'run'`,
    );
    assert.ok(script.includes(`set -- 'axe-cloudflared-demo' 'axe-demo' 'demo' '30' ${line(runArgv({ ...spec, manager: 'container' }))}\n`));
    assert.match(script, /running healthy/);
    assert.doesNotMatch(script, /TunnelSecret|credentials\.json"?\s*<</, 'no credential content in the script');
  });

  it('the plist is well-formed XML with the keys launchd needs', () => {
    const plist = launchdPlist('/opt/homebrew/bin/cloudflared', '/Users/a&b', 'axe', 20241);
    assert.match(plist, /\/Users\/a&amp;b/, 'values are escaped');
    assert.equal((plist.match(/<dict>/g) ?? []).length, (plist.match(/<\/dict>/g) ?? []).length);
  });

  it('the observation hashes and stats the pushed files (run by /bin/sh): absent files are absent', async () => {
    const home = await mkdtemp(join(tmpdir(), 'axe-test-cfd-'));
    try {
      const dir = join(home, '.axe', 'cloudflared');
      await mkdir(dir, { recursive: true });
      const env = { HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin' };
      const run = () => parseObservation(execFileSync('/bin/sh', ['-c', observeScript('demo', 'launchd', 20241, [])], { env }).toString(), 'demo', 20241);
      assert.deepEqual([run().config, run().credentials], [null, null]);
      await writeFile(join(dir, 'config.yml'), 'tunnel: t\n');
      await chmod(join(dir, 'config.yml'), 0o644);
      const one = run();
      assert.deepEqual(one.config, { sha256: createHash('sha256').update('tunnel: t\n').digest('hex'), mode: '644' });
      assert.equal(one.credentials, null);
      await writeFile(join(dir, 'credentials.json'), '{"a":1}', { mode: 0o600 });
      await chmod(join(dir, 'credentials.json'), 0o600);
      const both = run();
      assert.deepEqual(both.credentials, { sha256: createHash('sha256').update('{"a":1}').digest('hex'), mode: '600' });
      assert.equal(both.config?.mode, '644');
      assert.equal(both.manager, 'launchd');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('the container observation asks the engine API on its socket by curl (run by /bin/sh; an HTTP server on a unix socket answers as the engine)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'axe-test-cfd-'));
    const socket = join(home, 'engine.sock');
    const asked: string[] = [];
    const server = createServer((req, res) => {
      asked.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(`${JSON.stringify([{ Id: 'c1', Names: ['/axe-cloudflared-demo'], State: 'running', Status: 'Up 2 minutes (unhealthy)', Labels: { 'ai.axelabs.axe.service-hash': 'h9' } }])}\n`);
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      // A docker CLI must be found for the container manager; the engine's list comes from the socket, not from it.
      const bin = join(home, 'bin');
      await mkdir(bin);
      await writeFile(join(bin, 'docker'), '#!/bin/sh\necho "the docker CLI ran" >&2\nexit 1\n');
      await chmod(join(bin, 'docker'), 0o755);
      const env = { HOME: home, PATH: '/usr/bin:/bin', DOCKER_HOST: `unix://${socket}` };
      const { stdout, stderr } = await promisify(execFile)('/bin/sh', ['-c', observeScript('demo', 'container', 20241, [bin])], { env });
      assert.equal(stderr, '');
      assert.deepEqual(asked, [engineListUrl('axe-cloudflared-demo').replace('http://localhost', '')]);
      assert.match(decodeURIComponent(asked[0]!), /filters=\{"name":\["\^\/axe-cloudflared-demo\$"\]\}/);
      const seen = parseObservation(stdout, 'demo', 20241);
      assert.deepEqual({ manager: seen.manager, state: seen.state, ready: seen.ready, hash: seen.hash }, { manager: 'container', state: 'running', ready: false, hash: 'h9' });
    } finally {
      server.close();
      await rm(home, { recursive: true, force: true });
    }
  });
});
