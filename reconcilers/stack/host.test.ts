import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { StackServiceDesired } from './diff.js';
import { checkoutScript, observeScript, parseComposeModel, parseObservation, renderOverride, STRIP_DEPENDS_ON, upScript } from './host.js';

const frameDir = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'lab', 'services', 'frame');

const d: StackServiceDesired = {
  service: 'frame',
  customer: 'demo',
  repo: 'https://git.axelabs.ai/axelabs/frame.git',
  ref: "v1.0.0'; rm -rf /",
  checkout: '~/.axe/stacks/frame',
  project: 'demo-frame',
  composeFiles: ['docker-compose.yml'],
  envFile: '.env.local',
  vars: [],
  hookVars: ['FRAME_MCP_TOKEN'],
  beforeHooks: [],
  afterHooks: [],
  networks: ['axe-demo'],
  volumes: ['axe-demo-frame-data'],
  blueGreen: { project: 'demo-frame', checkout: '~/.axe/stacks/frame', blue: 'frame-mcp-blue', green: 'frame-mcp-green', proxy: 'axe-frame-proxy', showCommand: ['frame-proxy-switch'], switchTemplate: ['frame-proxy-switch', '{color}'] },
  inside: { container: 'axe-frame-proxy', port: 8080, path: '/health/ready' },
  waitSeconds: 30,
  dependsOn: [],
};

describe('stack host scripts', () => {
  test('every script is valid sh and quotes what it is given', () => {
    for (const script of [observeScript({ customer: 'demo', services: [d] }, ['/opt/x y']), checkoutScript(d, { 'https://git.axelabs.ai/axelabs/': 'file:///srv/git/' }, []), upScript(d, { args: ['--no-deps', 'frame-mcp-blue'], override: '.axe-compose.yml', recreate: ['postgres'] }, [])]) {
      execFileSync('sh', ['-n'], { input: script });
      assert.ok(script.includes(`'v1.0.0'\\''; rm -rf /`) || !script.includes('v1.0.0'), 'the ref is quoted');
    }
    assert.match(checkoutScript(d, { 'https://git.axelabs.ai/axelabs/': 'file:///srv/git/' }, []), /-c 'url\.file:\/\/\/srv\/git\/\.insteadOf=https:\/\/git\.axelabs\.ai\/axelabs\/'/);
  });

  test('the observation output is parsed per service: checkout, env, hashes, containers, orphaned networks, active color, failure', () => {
    const output = [
      '_.docker=/usr/bin/docker',
      '_.network=n1 axe-demo',
      '_.network=n2 demo-frame_default',
      '_.volume=axe-demo-frame-data',
      'frame.head=abc',
      'frame.want=abc',
      'frame.dirty=0',
      'frame.origin=https://git.axelabs.ai/axelabs/frame.git',
      'frame.env_mode=600',
      'frame.env_sha=ffff',
      'frame.env_keys=AXE_REF FRAME_MCP_TOKEN! ',
      'frame.override=1',
      'frame.hash=postgres h1',
      'frame.hash=frame-mcp-blue full',
      'frame.ctr=c1|postgres|running|Up 3 minutes (healthy)|h1|v1.0.0|e1',
      'frame.ctr=c2|frame-mcp-blue|exited|Exited (0) 2 minutes ago|h2|v1.0.0|e1',
      'frame.net=c1|n1 n2 ',
      'frame.net=c2|n9 ',
      'frame.active=blue',
      'frame.colorhash=frame-mcp-blue stripped',
      'frame.failure={"revision":"r","ref":"v2","color":"frame-mcp-green","reason":"x","at":"t"}',
      'frame.inside=ok',
      'hive.head=zzz',
    ].join('\n');
    const parsed = parseObservation(output, ['frame', 'hive']);
    assert.equal(parsed.docker, true);
    assert.deepEqual([...parsed.networks], ['axe-demo', 'demo-frame_default']);
    assert.deepEqual([...parsed.volumes], ['axe-demo-frame-data']);
    const f = parsed.services.get('frame')!;
    assert.deepEqual(f.checkout, { head: 'abc', want: 'abc', dirty: 0, origin: 'https://git.axelabs.ai/axelabs/frame.git' });
    assert.deepEqual(f.env, { mode: '600', sha256: 'ffff', keys: new Map([['AXE_REF', true], ['FRAME_MCP_TOKEN', false]]) });
    assert.deepEqual(f.services, ['postgres', 'frame-mcp-blue']);
    assert.equal(f.hashes.get('frame-mcp-blue'), 'stripped', 'a color is judged by its no-deps hash');
    assert.deepEqual(f.containers.map((c) => [c.service, c.state, c.health, c.orphaned]), [['postgres', 'running', 'healthy', false], ['frame-mcp-blue', 'exited', null, true]]);
    assert.equal(f.active, 'blue');
    assert.equal(f.failure?.ref, 'v2');
    assert.equal(f.inside, 'ok');
    const h = parsed.services.get('hive')!;
    assert.equal(h.checkout?.want, null);
    assert.equal(h.env, null);
  });

  test("the labels override covers every service and the networks and volumes compose makes, and carries no env value", () => {
    const model = parseComposeModel(JSON.stringify({ services: { b: {}, a: { environment: { SECRET: 'x' } } }, networks: { default: {}, axe: { external: true } }, volumes: { data: { external: true }, state: {} } }));
    assert.deepEqual(model, { services: ['a', 'b'], networks: ['default'], volumes: ['state'] });
    const text = renderOverride(model, { customer: 'demo', service: 'frame', ref: 'v1', envHash: 'e', revision: 'r' });
    assert.match(text, /"a":\n {4}labels:\n {6}ai\.axelabs\.axe\.customer: "demo"/);
    assert.match(text, /networks:\n {2}"default":\n {4}labels:\n {6}ai\.axelabs\.axe\.customer: "demo"/);
    assert.doesNotMatch(text, /SECRET|axe:|data:/);
  });

  test("a color's depends_on is dropped (as up --no-deps does) and only that service's; its hash changes", () => {
    const dir = mkdtempSync(join(tmpdir(), 'axe-strip-'));
    try {
      writeFileSync(join(dir, '.env.local'), 'AXE_REF=v1\nAXE_NETWORK=n\nAXE_FRAME_DATA_VOLUME=v\n');
      copyFileSync(join(frameDir, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
      const compose = (args: string[], input?: string) => execFileSync('docker', ['compose', '-p', 'axelab-strip', ...args], { cwd: dir, ...(input ? { input } : {}) }).toString();
      const config = compose(['-f', 'docker-compose.yml', '--env-file', '.env.local', 'config']);
      const stripped = execFileSync('awk', ['-v', 's=frame-mcp-green', STRIP_DEPENDS_ON], { input: config }).toString();
      assert.match(config, /frame-mcp-green:\n(?: {4}.*\n)*? {4}depends_on:/);
      assert.doesNotMatch(stripped.split('frame-mcp-green:')[1]!.split('\n  axe-frame-proxy')[0]!.split(/\n  [a-z]/)[0]!, /depends_on/);
      assert.match(stripped, /axe-frame-proxy:\n(?: {4}.*\n)*? {4}depends_on:/, "other services keep theirs");
      const full = compose(['-f', '-', 'config', '--hash', 'frame-mcp-green'], config);
      const noDeps = compose(['-f', '-', 'config', '--hash', 'frame-mcp-green'], stripped);
      assert.notEqual(full, noDeps);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
