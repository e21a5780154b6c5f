import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { ComposeHashMemo } from '../../providers/host/access.js';
import { StackManifest } from '../../schemas/service-manifest.js';
import type { StackServiceDesired } from './diff.js';
import { checkoutScript, upScript } from '../../providers/host/commands/stack.js';
import { PULL_WRAPPER, pullScript, restoreGoodScript, saveGoodScript, splitEnvScript } from '../../providers/host/commands/stack-records.js';
import { parseComposeModel } from '../../providers/host/facts/compose-up.js';
import { STRIP_DEPENDS_ON } from '../../providers/host/facts/compose-hash.js';
import { renderOverride } from './override.js';
import { envDigest, envFilesText, expandEntityNames, ownEnvFiles, renderServiceEnvFile, serviceEnvs } from './render.js';
import { renderEnvFile } from '../templates.js';
import { hostScript } from '../../providers/host/executor.js';
import { frame } from '../../providers/host/facts/fact.js';
import { observeSection, parseObservation, type ToldFacts } from './observe.js';
import type { StackDesired } from './diff.js';

/** The observation as the host runs it (lib.sh first, as the batch and the executor send it). */
const observeScript = (desired: StackDesired, toolPaths: string[], only?: string[], told?: Map<string, ToldFacts>, memos?: Map<string, ComposeHashMemo>) =>
  hostScript(observeSection(desired, toolPaths, only, told, memos).script);

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
  serviceEnvs: null,
  hookVars: ['FRAME_MCP_TOKEN'],
  pull: null,
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
    const withHook: StackServiceDesired = { ...d, beforeHooks: [{ name: 'frame_mcp_token', outputEnv: 'FRAME_MCP_TOKEN', exec: { service: 'frame', project: 'demo-frame', container: '@active', blueGreen: d.blueGreen, command: ['frame', 'mcp-token'] } }] };
    for (const script of [observeScript({ customer: 'demo', services: [withHook, { ...withHook, service: 'hive', blueGreen: null, pull: { sessionFile: '~/.bw s', vaultUrl: 'https://v', secrets: [{ name: 'K', item: 'I' }] } }] }, ['/opt/x y']), saveGoodScript(d, []), restoreGoodScript(d, [], []), splitEnvScript(d, ownEnvFiles('demo', 'frame', [{ service: 'a.b', file: 'sub dir/.env.axe.a.b', vars: ['X', 'Y'] }, { service: 'c', file: 'sub dir/.env.axe.c', vars: [] }])), splitEnvScript(d, []), checkoutScript(d, { 'https://git.axelabs.ai/axelabs/': 'file:///srv/git/' }, []), upScript(d, { args: ['--no-deps', 'frame-mcp-blue'], override: '.axe-compose.yml', recreate: ['postgres'] }, [])]) {
      execFileSync('sh', ['-n'], { input: script });
      assert.ok(script.includes(`'v1.0.0'\\''; rm -rf /`) || !script.includes('v1.0.0'), 'the ref is quoted');
    }
    assert.match(checkoutScript(d, { 'https://git.axelabs.ai/axelabs/': 'file:///srv/git/' }, []), /\ngitx\(\) \{ "\$G" '-c' 'url\.file:\/\/\/srv\/git\/\.insteadOf=https:\/\/git\.axelabs\.ai\/axelabs\/' '-c' 'advice\.detachedHead=false' "\$@"; \}\n/);
  });

  test('the observation output is parsed per service: checkout, env, hashes, containers, orphaned networks, active color, failure', () => {
    const hook = { name: 'frame_mcp_token', outputEnv: 'FRAME_MCP_TOKEN', exec: { service: 'frame', project: 'demo-frame', container: '@active', blueGreen: d.blueGreen, command: ['frame', 'mcp-token'] } };
    const desired: StackDesired = { customer: 'demo', services: [{ ...d, beforeHooks: [hook] }, { ...d, service: 'hive' }] };
    const output = [
      frame('docker', '/usr/bin/docker'),
      frame('networks', '{"ID":"n1","Name":"axe-demo"}\n{"ID":"n2","Name":"demo-frame_default"}'),
      frame('volumes', '{"Driver":"local","Name":"axe-demo-frame-data"}\n{"Driver":"local","Name":"another"}'),
      frame('frame.checkout', 'abc\nabc\n0\nhttps://git.axelabs.ai/axelabs/frame.git'),
      frame('frame.env', 'ffff\nAXE_REF FRAME_MCP_TOKEN! \n600'),
      frame('frame.override', ''),
      frame('frame.hashes', 'hashkey=k1\nhash=postgres h1\nhash=frame-mcp-blue full\ncolorhash=frame-mcp-blue stripped'),
      frame('frame.containers', 'c1|postgres|running|Up 3 minutes (healthy)|h1|v1.0.0|e1\nc2|frame-mcp-blue|exited|Exited (0) 2 minutes ago|h2|v1.0.0|e1'),
      frame('frame.networks', '{"id":"c1","networks":{"axe-demo":{"NetworkID":"n1"},"default":{"NetworkID":"n2"}}}\n{"id":"c2","networks":{"gone":{"NetworkID":"n9"}}}'),
      frame('frame.active', 'blue'),
      frame('frame.failure', '{"revision":"r","ref":"v2","color":"frame-mcp-green","reason":"x","at":"t"}'),
      frame('frame.inside', 'ok'),
      frame('frame.hook.FRAME_MCP_TOKEN', 'aaa bbb'),
      frame('hive.checkout', 'zzz\n\n0\n'),
    ].join('');
    const parsed = parseObservation(output, desired);
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
    assert.deepEqual(f.hookValues.get('FRAME_MCP_TOKEN'), { file: 'aaa', now: 'bbb' });
    assert.deepEqual(parsed.hashMemos.get('frame'), { key: 'k1', lines: ['hash=postgres h1', 'hash=frame-mcp-blue full', 'colorhash=frame-mcp-blue stripped'] });
    const h = parsed.services.get('hive')!;
    assert.equal(h.checkout?.want, null);
    assert.equal(h.env, null);
    assert.equal(h.services, null);
  });

  test('pull mode, for real with a bw stand-in: the wrapper renders the env file 0600 from the host session; the observation reports only the session state', () => {
    // A stand-in for the bw CLI (no logged-in bw exists here): answers status/sync/get from files,
    // only when BW_SESSION is the session in the file, and logs its arguments.
    const home = mkdtempSync(join(tmpdir(), 'axe-pull-'));
    try {
      const bin = join(home, 'bin');
      mkdirSync(join(home, 'items'), { recursive: true });
      mkdirSync(bin);
      writeFileSync(
        join(bin, 'bw'),
        [
          '#!/bin/sh',
          `echo "$*" >> ${home}/bw-args.log`,
          `ok=0; [ "$BW_SESSION" = "$(cat ${home}/good-session)" ] && ok=1`,
          'case "$1" in',
          '  status) if [ $ok = 1 ]; then echo \'{"serverUrl":"x","status":"unlocked"}\'; else echo \'{"serverUrl":"x","status":"locked"}\'; fi;;',
          '  sync) [ $ok = 1 ];;',
          `  get) [ $ok = 1 ] && [ "$2" = password ] && [ -f ${home}/items/"$3" ] && printf '%s' "$(cat ${home}/items/"$3")";;`,
          '  *) exit 2;;',
          'esac',
        ].join('\n'),
        { mode: 0o755 },
      );
      const session = 'c2Vzc2lvbi1rZXktdmFsdWU=';
      writeFileSync(join(home, 'good-session'), session);
      writeFileSync(join(home, '.bw-session'), session, { mode: 0o644 });
      writeFileSync(join(home, 'items', 'HIVE_DEMO_KEY'), 'k3y-Value_1');
      writeFileSync(join(home, 'items', 'HIVE_DEMO_PHRASE'), 'two words & $x');
      mkdirSync(join(home, 'stack'));
      mkdirSync(join(home, '.axe', 'bin'), { recursive: true });
      writeFileSync(join(home, '.axe', 'bin', 'axe-env-pull'), PULL_WRAPPER, { mode: 0o755 });
      const local: StackServiceDesired = { ...d, service: 'hive', blueGreen: null, inside: null, checkout: '~/stack', pull: { sessionFile: '~/.bw-session', vaultUrl: 'https://demo/vault', secrets: [] } };
      const env = { ...process.env, HOME: home };
      const observe = () => parseObservation(execFileSync('sh', ['-c', observeScript({ customer: 'demo', services: [local] }, [bin])], { env }).toString(), { customer: 'demo', services: [local] }).services.get('hive')!.bwSession;
      assert.deepEqual(observe(), { present: true, mode: '644', status: 'unlocked' });
      chmodSync(join(home, '.bw-session'), 0o600);
      writeFileSync(join(home, 'good-session'), 'rotated');
      assert.deepEqual(observe(), { present: true, mode: '600', status: 'locked' });
      writeFileSync(join(home, 'good-session'), session);
      const run = (template: string): number => {
        try {
          execFileSync('sh', ['-c', pullScript(local, local.pull!.sessionFile, [bin])], { env, input: template, stdio: ['pipe', 'pipe', 'pipe'] });
          return 0;
        } catch (error) {
          return (error as { status: number }).status;
        }
      };
      assert.equal(run('=# header\n=AXE_REF=v1\n?HIVE_KEY=HIVE_DEMO_KEY\n?HIVE_PHRASE=HIVE_DEMO_PHRASE\n'), 0);
      const file = join(home, 'stack', '.env.local');
      assert.equal(readFileSync(file, 'utf8'), "# header\nAXE_REF=v1\nHIVE_KEY=k3y-Value_1\nHIVE_PHRASE='two words & $x'\n");
      assert.equal(statSync(file).mode & 0o777, 0o600);
      // The observation compares each pulled value in the file with the host's vault, as sums on the host.
      const pulled: StackServiceDesired = { ...local, pull: { ...local.pull!, secrets: [{ name: 'HIVE_KEY', item: 'HIVE_DEMO_KEY' }, { name: 'HIVE_PHRASE', item: 'HIVE_DEMO_PHRASE' }] } };
      const values = () => {
        const out = execFileSync('sh', ['-c', observeScript({ customer: 'demo', services: [pulled] }, [bin])], { env }).toString();
        for (const secret of [session, 'k3y-Value_1', 'two words']) assert.ok(!out.includes(secret), `${secret} in the observation`);
        const facts = parseObservation(out, { customer: 'demo', services: [pulled] }).services.get('hive')!.hookValues;
        return Object.fromEntries([...facts].map(([k, v]) => [k, v.file === v.now]));
      };
      assert.deepEqual(values(), { HIVE_KEY: true, HIVE_PHRASE: true });
      writeFileSync(join(home, 'items', 'HIVE_DEMO_KEY'), 'rotated-in-the-vault');
      assert.deepEqual(values(), { HIVE_KEY: false, HIVE_PHRASE: true }, 'a rotated item is drift');
      writeFileSync(join(home, 'items', 'HIVE_DEMO_KEY'), 'k3y-Value_1');
      writeFileSync(file, readFileSync(file, 'utf8').replace("two words & $x", 'edited by hand'), { mode: 0o600 });
      assert.deepEqual(values(), { HIVE_KEY: true, HIVE_PHRASE: false }, 'a hand-edited value is drift');
      assert.equal(run('=# header\n=AXE_REF=v1\n?HIVE_KEY=HIVE_DEMO_KEY\n?HIVE_PHRASE=HIVE_DEMO_PHRASE\n'), 0);
      // A missing item: exit 22, the file as it was, no temp file left.
      assert.equal(run('=# header\n?HIVE_KEY=NOPE\n'), 22);
      assert.match(readFileSync(file, 'utf8'), /HIVE_KEY=k3y-Value_1/);
      assert.deepEqual(readdirSync(join(home, 'stack')), ['.env.local']);
      // A session that no longer unlocks: exit 21.
      writeFileSync(join(home, 'good-session'), 'rotated');
      assert.equal(run('=# header\n'), 21);
      // Neither the session nor a value was ever on bw's command line.
      const args = readFileSync(join(home, 'bw-args.log'), 'utf8');
      for (const secret of [session, 'k3y-Value_1', 'two words']) assert.ok(!args.includes(secret), `${secret} on a command line`);
      rmSync(join(home, '.bw-session'));
      assert.deepEqual(observe(), { present: false, mode: '', status: '' });
      assert.ok(existsSync(file));
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("the labels override covers every service and the networks and volumes compose makes, and carries no env value", () => {
    const model = parseComposeModel(JSON.stringify({ services: { b: {}, a: { environment: { SECRET: 'x' } } }, networks: { default: {}, axe: { external: true } }, volumes: { data: { external: true }, state: {} } }));
    assert.deepEqual(model, { services: ['a', 'b'], networks: ['default'], volumes: ['state'] });
    const text = renderOverride(model, { customer: 'demo', service: 'frame', ref: 'v1', envHash: 'e', revision: 'r' });
    assert.match(text, /"a":\n {4}labels:\n {6}ai\.axelabs\.axe\.customer: "demo"/);
    assert.match(text, /networks:\n {2}"default":\n {4}labels:\n {6}ai\.axelabs\.axe\.customer: "demo"/);
    assert.doesNotMatch(text, /SECRET|axe:|data:/);
  });

  test('the observation asks docker for each project once (ps: containers, and the container lookups); right after a told deploy step it asks neither compose nor the containers', () => {
    // A docker stand-in: logs its arguments, answers ps/inspect/exec/compose for the frame project.
    const dir = mkdtempSync(join(tmpdir(), 'axe-observe-'));
    try {
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      const git = (...args: string[]) => execFileSync('git', ['-C', join(dir, 'frame'), '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]).toString().trim();
      mkdirSync(join(dir, 'frame'));
      git('init', '-q');
      git('commit', '-q', '--allow-empty', '-m', 'one');
      git('tag', 'v1');
      writeFileSync(join(dir, 'frame', '.env.local'), 'AXE_REF=v1\n', { mode: 0o600 });
      writeFileSync(join(dir, 'frame', '.axe-compose.yml'), 'services: {}\n');
      writeFileSync(
        join(bin, 'docker'),
        [
          '#!/bin/sh',
          `echo "$*" >> ${dir}/docker.log`,
          'case "$1" in',
          '  ps) printf \'%s\\n\' "id1|postgres|running|Up (healthy)|h1|v1|e" "id2|frame-mcp-blue|running|Up (healthy)|h2|v1|e" "id3|axe-frame-proxy|running|Up (healthy)|h3|v1|e";;',
          '  inspect) for i in id1 id2 id3; do echo "{\\"id\\":\\"$i\\",\\"networks\\":{\\"default\\":{\\"NetworkID\\":\\"n1\\"}}}"; done;;',
          '  network) echo \'{"ID":"n1","Name":"demo-frame_default"}\';;',
          '  exec) case "$3" in frame-proxy-switch) echo green;; wget) exit 0;; esac;;',
          '  compose) case "$*" in *--hash*) cat >/dev/null; echo "postgres h1"; echo "frame-mcp-green h2";; *config*) echo "services: {}";; esac;;',
          'esac',
        ].join('\n'),
        { mode: 0o755 },
      );
      const local: StackServiceDesired = { ...d, ref: 'v1', checkout: join(dir, 'frame'), hookVars: [] };
      const observe = (told?: Map<string, { active: 'blue' | 'green' | null }>, memos?: Map<string, ComposeHashMemo>) => {
        writeFileSync(join(dir, 'docker.log'), '');
        const out = execFileSync('sh', ['-c', observeScript({ customer: 'demo', services: [local] }, [bin], undefined, told, memos)]).toString();
        const parsed = parseObservation(out, { customer: 'demo', services: [local] });
        return { facts: parsed.services.get('frame')!, memos: parsed.hashMemos, calls: readFileSync(join(dir, 'docker.log'), 'utf8').trim().split('\n') };
      };
      const full = observe();
      assert.equal(full.calls.filter((c) => c.startsWith('ps ')).length, 1, full.calls.join('\n'));
      assert.ok(full.calls.some((c) => c.startsWith('exec id3 frame-proxy-switch')), 'the proxy (found from the one ps) is asked for the active color');
      assert.ok(full.calls.some((c) => c.startsWith('exec id3 wget')), 'the inside check runs in the proxy container');
      assert.equal(full.calls.filter((c) => /--hash/.test(c)).length, 1, 'one hash run for every service, the active color stripped');
      assert.equal(full.facts.active, 'green');
      assert.equal(full.facts.hashes.get('frame-mcp-green'), 'h2');
      assert.equal(full.facts.inside, 'ok');
      assert.deepEqual(full.facts.services, ['postgres', 'frame-mcp-green']);

      // The hashes come back with their inputs' key: with that memo and nothing changed, compose is not asked again.
      const memo = full.memos.get('frame');
      assert.ok(memo && /^[0-9a-f]{64}$/.test(memo.key), JSON.stringify(memo));
      assert.deepEqual(memo.lines, ['hash=postgres h1', 'hash=frame-mcp-green h2', 'colorhash=frame-mcp-green h2']);
      const again = observe(undefined, full.memos);
      assert.deepEqual(again.calls.filter((c) => c.startsWith('compose')), [], again.calls.join('\n'));
      assert.deepEqual([again.facts.hashes, again.facts.services], [full.facts.hashes, full.facts.services]);
      assert.equal(again.memos.get('frame')?.key, memo.key);
      // Any input changed (the env file, the override, a commit, a dirty tree): computed again.
      for (const change of [
        () => writeFileSync(join(dir, 'frame', '.env.local'), 'AXE_REF=v1\nEDITED=1\n'),
        () => writeFileSync(join(dir, 'frame', '.axe-compose.yml'), 'services: {x: {}}\n'),
        () => git('commit', '-q', '--allow-empty', '-m', 'two'),
      ]) {
        const previous = observe().memos;
        change();
        const after = observe(undefined, previous);
        assert.equal(after.calls.filter((c) => /--hash/.test(c)).length, 1, `asked again after ${change.toString()}`);
        assert.notEqual(after.memos.get('frame')?.key, previous.get('frame')?.key);
      }
      git('tag', '-f', 'v1');

      const told = observe(new Map([['frame', { active: 'blue' }]]));
      assert.deepEqual(told.calls.filter((c) => c.startsWith('compose') || c.startsWith('exec')), [], told.calls.join('\n'));
      assert.equal(told.facts.active, 'blue', 'the color the switch set');
      assert.equal(told.facts.inside, null);
      assert.equal(told.facts.services, null);
      assert.deepEqual(told.facts.containers.map((c) => c.service), ['postgres', 'frame-mcp-blue', 'axe-frame-proxy']);
      assert.equal(told.facts.checkout?.head, told.facts.checkout?.want);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('env.services, for real: the host splits the env file into each compose service own file (0600), the env hash covers them, and with the override each container gets only its vars', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axe-envsplit-'));
    try {
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'docker'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      const manifest = StackManifest.parse(parseYaml(readFileSync(join(frameDir, '..', '..', '..', 'examples', 'customers', 'services', 'frame.yaml'), 'utf8')));
      const envs = serviceEnvs(manifest, ['DEMO'])!;
      assert.deepEqual(envs.map((e) => [e.service, e.file]), [['axe-frame-proxy', '.env.axe.axe-frame-proxy'], ['frame-mcp-blue', '.env.axe.frame-mcp-blue'], ['frame-mcp-green', '.env.axe.frame-mcp-green'], ['postgres', '.env.axe.postgres']]);
      const values = new Map(expandEntityNames(Object.keys(manifest.env.vars), ['DEMO']).map((name) => [name, `value-of-${name.toLowerCase()}`]));
      const text = renderEnvFile('demo', 'frame', values);
      writeFileSync(join(dir, '.env.local'), text, { mode: 0o600 });
      writeFileSync(join(dir, '.env.axe.gone'), 'OLD=1\n', { mode: 0o600 });
      copyFileSync(join(frameDir, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
      const local: StackServiceDesired = { ...d, customer: 'demo', project: 'axelab-envsplit', checkout: dir, hookVars: [], serviceEnvs: envs };
      execFileSync('sh', ['-c', splitEnvScript(local, ownEnvFiles('demo', 'frame', envs))]);
      for (const env of envs) {
        assert.equal(readFileSync(join(dir, env.file), 'utf8'), renderServiceEnvFile('demo', 'frame', text, env), env.service);
        assert.equal(statSync(join(dir, env.file)).mode & 0o777, 0o600, env.service);
      }
      assert.ok(!existsSync(join(dir, '.env.axe.gone')), 'a file of a compose service no longer listed is removed');
      assert.doesNotMatch(readFileSync(join(dir, '.env.axe.postgres'), 'utf8'), /AZURE_AD_CLIENT_SECRET/);
      assert.match(readFileSync(join(dir, '.env.axe.frame-mcp-green'), 'utf8'), /^AZURE_AD_CLIENT_SECRET=value-of-azure_ad_client_secret$/m);

      const observe = () => parseObservation(execFileSync('sh', ['-c', observeScript({ customer: 'demo', services: [local] }, [bin])]).toString(), { customer: 'demo', services: [local] }).services.get('frame')!.env!;
      const digest = envDigest(envFilesText('demo', 'frame', text, envs), []);
      assert.deepEqual([observe().sha256, observe().mode], [digest, '600']);
      // A hand edit of one container's file is drift, and so is its mode.
      writeFileSync(join(dir, '.env.axe.postgres'), `${readFileSync(join(dir, '.env.axe.postgres'), 'utf8')}AZURE_AD_CLIENT_SECRET=x\n`);
      assert.notEqual(observe().sha256, digest);
      execFileSync('sh', ['-c', splitEnvScript(local, ownEnvFiles('demo', 'frame', envs))]);
      assert.equal(observe().sha256, digest);
      chmodSync(join(dir, '.env.axe.axe-frame-proxy'), 0o644);
      assert.equal(observe().mode, '644');

      // The override replaces the compose file's `env_file: .env.local` lines: each service resolves to its own vars only.
      const compose = (args: string[], input?: string) => execFileSync('docker', ['compose', '-p', 'axelab-envsplit', ...args], { cwd: dir, ...(input ? { input } : {}) }).toString();
      const model = parseComposeModel(compose(['-f', 'docker-compose.yml', '--env-file', '.env.local', 'config', '--format', 'json', '--no-interpolate']));
      writeFileSync(join(dir, '.axe-compose.yml'), renderOverride(model, { customer: 'demo', service: 'frame', ref: 'v1', envHash: digest, revision: 'r' }, envs));
      const files = ['-f', 'docker-compose.yml', '-f', '.axe-compose.yml', '--env-file', '.env.local'];
      const config = JSON.parse(compose([...files, 'config', '--format', 'json'])) as { services: Record<string, { environment?: Record<string, string> }> };
      const keys = (s: string) => Object.keys(config.services[s]?.environment ?? {}).sort();
      assert.deepEqual(keys('postgres'), ['PGDATA', 'POSTGRES_PASSWORD']);
      assert.deepEqual(keys('axe-frame-proxy'), ['PROXY_STATE_FILE']);
      for (const color of ['frame-mcp-blue', 'frame-mcp-green']) {
        assert.deepEqual(keys(color), ['AXE_CUSTOMER', 'AZURE_AD_CLIENT_ID', 'AZURE_AD_CLIENT_SECRET', 'AZURE_AD_TENANT_ID', 'COLOR', 'FRAME_DATA_DIR', 'FRAME_PII_PASSPHRASE_DEMO', 'FRAME_PUBLIC_URL', 'POSTGRES_PASSWORD'], color);
      }
      // The observation's hash pipeline reads the override as compose does.
      assert.equal(compose(['-f', '-', 'config', '--hash', '*'], compose([...files, 'config'])).trim().split('\n').length, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a color's depends_on is dropped (as up --no-deps does) and only that service's; its hash changes, the others' do not", () => {
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
      // One hash run over the stripped config (as the observation does): the color's no-deps hash, every other service's unchanged.
      const hashes = (text: string) => new Map(text.trim().split('\n').map((l) => l.split(' ') as [string, string]));
      const all = hashes(compose(['-f', '-', 'config', '--hash', '*'], config));
      const once = hashes(compose(['-f', '-', 'config', '--hash', '*'], stripped));
      assert.equal(once.get('frame-mcp-green'), noDeps.trim().split(' ')[1]);
      for (const [service, hash] of all) if (service !== 'frame-mcp-green') assert.equal(once.get(service), hash, service);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
