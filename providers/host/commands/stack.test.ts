import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { commandDetail, parseComposeModel, readUpFailure } from '../facts/compose-up.js';
import type { BlueGreenTarget } from './blue-green.js';
import { execScript } from './exec.js';
import {
  checkoutScript,
  composeDownScript,
  composeFunction,
  composeScript,
  configJsonScript,
  createScript,
  insideCheckScript,
  overrideCommitScript,
  overrideExistsScript,
  pollPauses,
  recordScript,
  removeFileScript,
  removeNetworkScript,
  type StackTarget,
  thenRecord,
  upScript,
} from './stack.js';
import { pullTemplate, readRestored, restoreGoodScript, saveGoodScript } from './stack-records.js';
import { failedSteps, readSteps, stepDetail, stepsScript, stepStderr } from './steps.js';

const t: StackTarget = {
  checkout: '~/.axe/stacks/frame',
  project: 'demo-frame',
  composeFiles: ['docker-compose.yml'],
  envFile: '.env.local',
  repo: 'https://git.axelabs.ai/axelabs/frame.git',
  ref: "v1.0.0'; rm -rf /",
  waitSeconds: 30,
};
const bg: BlueGreenTarget = { project: 'demo-frame', checkout: '~/.axe/stacks/frame', blue: 'frame-mcp-blue', green: 'frame-mcp-green', proxy: 'axe-frame-proxy', showCommand: ['frame-proxy-switch'] };

/** The last line of a script (after its tool prelude). */
const last = (script: string) => script.split('\n').pop();

/** Runs a script in the local sh: its exit code, stdout and stderr. */
function run(script: string, cwd?: string): { code: number; stdout: string; stderr: string } {
  try {
    return { code: 0, stdout: execFileSync('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) }).toString(), stderr: '' };
  } catch (error) {
    const e = error as { status: number; stdout: Buffer; stderr: Buffer };
    return { code: e.status, stdout: e.stdout.toString(), stderr: e.stderr.toString() };
  }
}

describe('stack action scripts (exact command lines)', () => {
  test('compose: the project, its files, the env file; up with its diagnostics; other subcommands', () => {
    assert.equal(composeFunction(t, '.axe-compose.yml'), `dc() { "$D" compose -p 'demo-frame' -f 'docker-compose.yml' -f '.axe-compose.yml' --env-file '.env.local' "$@"; }`);
    assert.equal(last(configJsonScript(t, [])), 'dc config --format json --no-interpolate');
    assert.equal(last(composeScript(t, null, ['stop', '-t', '10', 'frame-mcp-blue'], [])), `dc 'stop' '-t' '10' 'frame-mcp-blue'`);
    const up = upScript(t, { args: ['--no-deps', 'frame-mcp-blue'], override: '.axe-compose.next.yml', recreate: ['postgres'], diagnose: ['frame-mcp-blue'] }, []).split('\n');
    const diag = `{ for id in $("$D" ps -aq --filter label=com.docker.compose.project='demo-frame'); do "$D" inspect --format '{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}|{{range .State.Health.Log}}{{.Output}} {{end}}{{end}}' "$id" 2>/dev/null | tr '\\n' ' '; echo; done | grep -E '^(frame-mcp-blue)\\|' | sed 's/^/diag=/' >&2; exit 10; }`;
    assert.deepEqual(up.slice(-2), [`dc up -d --wait --wait-timeout 30 '--no-deps' '--force-recreate' 'postgres' || ${diag}`, `dc up -d --wait --wait-timeout 30 '--no-deps' 'frame-mcp-blue' || ${diag}`]);
    assert.equal(up[up.length - 3], composeFunction(t, '.axe-compose.next.yml'));
    assert.equal(up[up.length - 4], `cd "$HOME"/'.axe/stacks/frame'`);
  });

  test('networks, volumes, records, the override, the teardown', () => {
    assert.equal(last(createScript('network', 'axe-demo', ['ai.axelabs.axe.customer=demo'], [])), `"$D" 'network' 'inspect' 'axe-demo' >/dev/null 2>&1 || "$D" 'network' 'create' '--label' 'ai.axelabs.axe.customer=demo' 'axe-demo' >/dev/null`);
    assert.equal(recordScript(t, '.axe-active', "gr'een"), `printf '%s\\n' 'gr'\\''een' > "$HOME"/'.axe/stacks/frame'/'.axe-active'.tmp && mv -f "$HOME"/'.axe/stacks/frame'/'.axe-active'.tmp "$HOME"/'.axe/stacks/frame'/'.axe-active'`);
    assert.equal(recordScript(t, '.axe-failure', null), `rm -f "$HOME"/'.axe/stacks/frame'/'.axe-failure'`);
    assert.equal(thenRecord('switch', t, '.axe-active', 'blue'), `( switch\n) && ${recordScript(t, '.axe-active', 'blue')}`);
    assert.equal(overrideCommitScript(t, true), `mv -f "$HOME"/'.axe/stacks/frame'/'.axe-compose.next.yml' "$HOME"/'.axe/stacks/frame'/'.axe-compose.yml'`);
    assert.equal(overrideCommitScript(t, false), `rm -f "$HOME"/'.axe/stacks/frame'/'.axe-compose.next.yml'`);
    assert.equal(overrideExistsScript(t), `test -f "$HOME"/'.axe/stacks/frame'/'.axe-compose.yml'`);
    assert.equal(last(composeDownScript('demo-frame', [])), `"$D" 'compose' '-p' 'demo-frame' 'down' '--remove-orphans' '--timeout' '20'`);
    assert.equal(removeFileScript('~/.axe/stacks/frame/.env.local'), `'rm' '-f' "$HOME"/'.axe/stacks/frame/.env.local'`);
    assert.equal(last(removeNetworkScript('axe-demo', [])), `"$D" 'network' 'rm' 'axe-demo' >/dev/null 2>&1 || ! "$D" 'network' 'inspect' 'axe-demo' >/dev/null 2>&1 || "$D" 'network' 'rm' 'axe-demo'`);
  });

  test('the checkout, for real: clones, checks a tag out detached, fetches a new one; an unknown ref exits 5, a foreign directory 4', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axe-checkout-'));
    try {
      const origin = join(dir, 'frame.git');
      mkdirSync(origin);
      const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-C', cwd, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]).toString().trim();
      git(origin, 'init', '-q');
      git(origin, 'commit', '-q', '--allow-empty', '-m', 'one');
      git(origin, 'tag', 'v1');
      const gitDir = execFileSync('sh', ['-c', 'dirname "$(command -v git)"']).toString().trim();
      // The repository is reached through a mirror rewrite, as git.instead_of does.
      const target = { ...t, checkout: join(dir, 'co'), repo: 'https://git.example/frame.git', ref: 'v1' };
      const rewrite = { 'https://git.example/': `file://${dir}/` };
      const first = run(checkoutScript(target, rewrite, [gitDir]));
      assert.equal(first.code, 0, first.stderr);
      const v1 = git(origin, 'rev-parse', 'v1');
      assert.equal(first.stdout.trim(), v1);
      git(origin, 'commit', '-q', '--allow-empty', '-m', 'two');
      git(origin, 'tag', 'v2');
      const second = run(checkoutScript({ ...target, ref: 'v2' }, rewrite, [gitDir]));
      assert.equal(second.stdout.trim(), git(origin, 'rev-parse', 'v2'), second.stderr);
      const missing = run(checkoutScript({ ...target, ref: 'v9' }, rewrite, [gitDir]));
      assert.deepEqual([missing.code, commandDetail(missing.stderr)], [5, 'ref v9 was not found in https://git.example/frame.git']);
      mkdirSync(join(dir, 'other'));
      writeFileSync(join(dir, 'other', 'x'), '');
      const foreign = run(checkoutScript({ ...target, checkout: join(dir, 'other') }, rewrite, [gitDir]));
      assert.deepEqual([foreign.code, commandDetail(foreign.stderr)], [4, `${join(dir, 'other')} exists and is not a git checkout`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('compose output read as typed values: the model, a failed up\'s diagnostics, a command\'s own last line', () => {
    const model = parseComposeModel(JSON.stringify({ services: { b: {}, a: { environment: { SECRET: 'x' } } }, networks: { default: {}, axe: { external: true } }, volumes: { data: { external: true }, state: {} } }));
    assert.deepEqual(model, { services: ['a', 'b'], networks: ['default'], volumes: ['state'] });
    const stderr = 'Container demo-frame-postgres-1  Healthy\ndiag=postgres|running|healthy|ok \ndiag=frame-mcp-blue|running|unhealthy|GET /health  503\n\n refused \ndiag=proxy|exited||\ndependency failed to start: container frame-mcp-blue is unhealthy\n';
    assert.deepEqual(readUpFailure(stderr), {
      compose: 'dependency failed to start: container frame-mcp-blue is unhealthy',
      containers: [
        { service: 'postgres', state: 'running', health: 'healthy', output: 'ok' },
        { service: 'frame-mcp-blue', state: 'running', health: 'unhealthy', output: 'GET /health 503' },
        { service: 'proxy', state: 'exited', health: '', output: '' },
      ],
    });
    assert.equal(commandDetail('fetching\nfatal: no such ref\ndiag=x|exited||\n'), 'fatal: no such ref');
    assert.equal(commandDetail(''), '');
  });

  test('the last good state is saved and restored for real: checkout at its commit, env file back with mode 0600, its ref printed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axe-good-'));
    try {
      const git = (...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]).toString().trim();
      git('init', '-q');
      writeFileSync(join(dir, 'VERSION'), '1\n');
      git('add', 'VERSION');
      git('commit', '-q', '-m', 'one');
      const good = git('rev-parse', 'HEAD');
      writeFileSync(join(dir, '.env.local'), 'AXE_REF=v1\nSECRET=s1\n', { mode: 0o600 });
      const local = { ...t, ref: 'v1', checkout: dir };
      const envs = [{ file: '.env.axe.app', header: '# the vars of app only', vars: ['SECRET'] }];
      execFileSync('sh', ['-c', saveGoodScript(local, [])]);
      assert.equal(statSync(join(dir, '.axe-good.env')).mode & 0o777, 0o600);
      writeFileSync(join(dir, 'VERSION'), '2\n');
      git('commit', '-q', '-am', 'two');
      writeFileSync(join(dir, '.env.local'), 'AXE_REF=v2\nSECRET=s2\n', { mode: 0o644 });
      const out = execFileSync('sh', ['-c', restoreGoodScript(local, envs, [])]).toString().trim();
      assert.equal(out, 'v1');
      assert.equal(git('rev-parse', 'HEAD'), good);
      assert.equal(readFileSync(join(dir, '.env.local'), 'utf8'), 'AXE_REF=v1\nSECRET=s1\n');
      assert.equal(statSync(join(dir, '.env.local')).mode & 0o777, 0o600);
      assert.match(readFileSync(join(dir, '.env.axe.app'), 'utf8'), /^# .*\nSECRET=s1\n$/, "the compose service's own file is made again from the restored env file");
      assert.equal(statSync(join(dir, '.env.axe.app')).mode & 0o777, 0o600);
      assert.equal(git('status', '--porcelain', '--untracked-files=no'), '', 'the records are not changes in the checkout');
      // Nothing recorded: exit 8, nothing touched.
      rmSync(join(dir, '.axe-good'));
      let code = 0;
      try {
        execFileSync('sh', ['-c', restoreGoodScript(local, envs, [])], { stdio: 'pipe' });
      } catch (error) {
        code = (error as { status: number }).status;
      }
      assert.equal(code, 8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('steps run in order in one script: the first failing step ends it with its exit code and name; a soft one is reported and the rest still run', () => {
    const ok = run(stepsScript([{ name: 'a', script: 'echo a' }, { name: 'b', script: 'set -e; false || true; echo b' }]));
    assert.deepEqual(ok, { code: 0, stdout: 'a\nb\n', stderr: '' });
    const failed = run(stepsScript([{ name: 'switch', script: 'echo one' }, { name: 'health', script: 'echo "/health did not answer" >&2; exit 7' }, { name: 'record good state', script: 'echo never' }]));
    assert.equal(failed.code, 7);
    assert.equal(failed.stdout, 'one\n', 'the steps after the failed one did not run');
    assert.deepEqual(failedSteps(failed.stderr), { failed: 'health', soft: [] });
    assert.equal(stepStderr(failed.stderr, 'health'), '/health did not answer');
    // `exit` in a step ends only that step (its own subshell).
    const exited = run(stepsScript([{ name: 'a', script: 'exit 0' }, { name: 'b', script: 'echo b' }]));
    assert.deepEqual(exited, { code: 0, stdout: 'b\n', stderr: '' });
    const soft = run(stepsScript([{ name: 'stop old color', script: 'echo "no such container" >&2; exit 1', soft: true }, { name: 'record good state', script: 'echo recorded' }]));
    assert.equal(soft.code, 1);
    assert.equal(soft.stdout, 'recorded\n');
    assert.deepEqual(failedSteps(soft.stderr), { failed: null, soft: ['stop old color'] });
    assert.equal(stepStderr(soft.stderr, 'stop old color'), 'no such container');
    execFileSync('sh', ['-n'], { input: stepsScript([{ name: "it's", script: 'true' }]) });

    // With the project listed once, every step's container lookup answers from it.
    const dir = mkdtempSync(join(tmpdir(), 'axe-steps-'));
    try {
      writeFileSync(join(dir, 'docker'), ['#!/bin/sh', `echo "$*" >> ${dir}/docker.log`, 'case "$1" in ps) echo "id1|postgres|running"; echo "id2|hive-mcp|running";; esac'].join('\n'), { mode: 0o755 });
      const target = { project: "demo-hive'x", container: 'hive-mcp', blueGreen: null };
      const listed = run(stepsScript([{ name: 'hook migrate', script: execScript(target, ['hive', 'migrate'], [dir]) }, { name: 'hook again', script: execScript(target, ['hive', 'again'], [dir]) }], { project: "demo-hive'x", toolPaths: [dir] }));
      assert.equal(listed.code, 0, listed.stderr);
      const calls = readFileSync(join(dir, 'docker.log'), 'utf8').trim().split('\n');
      assert.equal(calls.filter((c) => c.startsWith('ps ')).length, 1, calls.join('\n'));
      assert.match(calls[0]!, /label=com\.docker\.compose\.project=demo-hive'x/);
      assert.deepEqual(calls.slice(1), ['exec id2 hive migrate', 'exec id2 hive again']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the health gate polls quickly first, then every 0.5 s, within its budget', () => {
    const pauses = pollPauses(10).map(Number);
    assert.deepEqual(pauses.slice(0, 4), [0.05, 0.1, 0.2, 0.4]);
    assert.ok(pauses.slice(4).every((p) => p === 0.5));
    const total = pauses.reduce((a, b) => a + b, 0);
    assert.ok(total >= 10 && total < 10.5, `${total}`);
    execFileSync('sh', ['-n'], { input: insideCheckScript({ project: 'demo-frame', container: '@active', blueGreen: bg }, 8080, '/health', 10, [], 'green') });
  });

  test('a steps run read as a typed result: the failed step, the soft ones, each step\'s detail', () => {
    const failed = readSteps(run(stepsScript([{ name: 'stop old color', script: 'echo gone >&2; exit 1', soft: true }, { name: 'health', script: 'echo "diag=x|exited||" >&2; echo "/health did not answer" >&2; exit 7' }])));
    assert.deepEqual([failed.code, failed.failed, failed.soft], [7, 'health', ['stop old color']]);
    assert.equal(stepDetail(failed, 'health'), '/health did not answer');
    assert.equal(stepDetail(failed, 'stop old color'), 'gone');
    // A script that failed before any step said so (the tools prelude): '?', its exit code as the detail.
    const early = readSteps({ code: 3, stdout: '', stderr: '' });
    assert.deepEqual([early.failed, stepDetail(early, '?')], ['?', 'exit 3']);
    assert.deepEqual(readSteps({ code: 0, stdout: '', stderr: '' }), { code: 0, failed: null, soft: [], stderr: '' });
  });

  test("the pull wrapper's input and a restore's answer, typed", () => {
    assert.equal(pullTemplate('# header\nAXE_REF=v1\nHIVE_KEY=\nX=a=b\n', [{ name: 'HIVE_KEY', item: 'HIVE_DEMO_KEY' }]), '=# header\n=AXE_REF=v1\n?HIVE_KEY=HIVE_DEMO_KEY\n=X=a=b');
    assert.deepEqual(readRestored({ code: 0, stdout: 'v1\n', stderr: '' }), { ref: 'v1' });
    assert.deepEqual(readRestored({ code: 8, stdout: '', stderr: 'no earlier good state recorded\n' }), { why: 'no earlier good state recorded' });
    assert.deepEqual(readRestored({ code: 1, stdout: '', stderr: '' }), { why: 'exit 1' });
  });
});
