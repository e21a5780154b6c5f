/**
 * `axe deploy` after a good deploy, in an isolated lab of its own
 * (test/deploy-fixture.ts): a plain stack whose compose up fails rolled back,
 * a rotated frame MCP token, drift on the host (a stopped container, an
 * edited env file, a removed network), a frame proxy routing to the wrong
 * color (ingress), pull-mode secrets on the host.
 *
 * The file's before() deploys the demo customer from its pack (the path
 * test/deploy.test.ts asserts in detail); the tests run in order.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { HostConnection } from '../providers/host/ssh.js';
import { container, deployCli, docker, editManifest, fetchPublic, onHost, startDeployLab, stopDeployLab } from './deploy-fixture.js';
import type { TestLab } from './lab-fixture.js';

let lab: TestLab;
let id = '';
let host: HostConnection;

before(async () => {
  ({ lab, id, host } = await startDeployLab());
  const result = await deployCli(['deploy', 'customer', id, '--from-pack', join(lab.stateDir, 'pack.json'), '--apply']);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
});

after(stopDeployLab);

describe('axe deploy after a good deploy (lab)', () => {
  test('a plain stack whose compose up --wait fails: rolled back to the previous ref, env and containers; Degraded with the step; the error says what was left', async () => {
    const hiveBefore = await container('hive-mcp', `${id}-hive`);
    await editManifest('hive', (text) => text.replace('ref: v1.0.0', 'ref: v1.1.0').replace('HIVE_FRAME_URL:', 'AXE_LAB_FAIL_HEALTH: { value: "1" }\n    HIVE_FRAME_URL:').replace('hive-mcp: [', 'hive-mcp: [AXE_LAB_FAIL_HEALTH, ').replace(/(health:\n  inside: .*\n)/, '$1  timeout_seconds: 8\n'));
    const restore = () => editManifest('hive', (text) => text.replace('ref: v1.1.0', 'ref: v1.0.0').replace('    AXE_LAB_FAIL_HEALTH: { value: "1" }\n', '').replace('hive-mcp: [AXE_LAB_FAIL_HEALTH, ', 'hive-mcp: [').replace('  timeout_seconds: 8\n', ''));
    try {
      const result = await deployCli(['deploy', 'hive', id, '--apply']);
      assert.equal(result.code, 1, result.stdout);
      // Compose's `up --wait` fails on the unhealthy container; once in a while Compose 2.26 returns 0 while the
      // recreated container's health is still `starting`, and axe's own health gate (the next step) catches it.
      assert.match(
        result.stdout,
        /stack\s+OutOfSync\s+Degraded\s+RolledBack: .*hive: step (compose up failed for v1\.1\.0 \(.*hive-mcp .*health .*\)|health failed for v1\.1\.0 \(\/health\/ready on port 8090 did not answer 2xx\)); rolled back, v1\.0\.0 serves again \(checkout, env file and containers restored\); fix the release or its env in services\/hive\.yaml/,
      );
      assert.match(result.stderr, /deploy hive .*: stack not done/);
      // The previous good state serves: v1.0.0 containers healthy, checkout and env file back.
      const hive = await container('hive-mcp', `${id}-hive`);
      assert.notEqual(hive, hiveBefore, 'compose recreated the old container');
      assert.equal(await docker('inspect', '--format', '{{.State.Health.Status}} {{index .Config.Labels "ai.axelabs.axe.ref"}}', hive), 'healthy v1.0.0');
      assert.equal(await onHost('cd ~/.axe/stacks/hive && git describe --tags --exact-match HEAD'), 'v1.0.0');
      assert.equal(await onHost('grep -c -e ^AXE_LAB_FAIL_HEALTH= -e ^AXE_REF=v1.1.0 ~/.axe/stacks/hive/.env.local || true'), '0');
    } finally {
      // Back to the good manifest (also when an assertion failed, so the next tests start from it): nothing to do.
      await restore();
    }
    const plan = await deployCli(['deploy', 'hive', id]);
    assert.equal(plan.code, 0, plan.stdout);
  });

  test("a rotated frame MCP token: blueprint's env and container are drift, shown masked and corrected", async () => {
    const frameCtr = (await docker('ps', '-q', '--filter', `label=com.docker.compose.project=${id}-frame`, '--filter', 'label=com.docker.compose.service=frame-mcp-green')) || (await container('frame-mcp-blue', `${id}-frame`));
    const old = await docker('exec', frameCtr, 'frame', 'mcp-token');
    await docker('exec', frameCtr, 'rm', '-f', '/data/mcp-token');
    const token = await docker('exec', frameCtr, 'frame', 'mcp-token');
    assert.notEqual(token, old);
    const plan = await lab.axe(['plan', id]);
    assert.equal(plan.code, 2, plan.stdout);
    assert.match(plan.stdout, /\+ blueprint: render \.env\.local .*FRAME_MCP_TOKEN is not the value frame's frame_mcp_token hook gives now \(value masked\)/);
    assert.match(plan.stdout, /\+ blueprint: compose up --wait .*blueprint \(FRAME_MCP_TOKEN changed\)/);
    assert.ok(!plan.stdout.includes(token) && !plan.stdout.includes(old) && !plan.stderr.includes(token), 'a token value reached the plan');
    const apply = await deployCli(['deploy', 'blueprint', id, '--apply']);
    assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}`);
    assert.ok(!apply.stdout.includes(token) && !apply.stderr.includes(token));
    const env = await docker('inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', await container('blueprint', `${id}-blueprint`));
    assert.ok(env.split('\n').includes(`FRAME_MCP_TOKEN=${token}`), 'the blueprint container runs with the token frame issues now');
    const again = await deployCli(['deploy', 'blueprint', id]);
    assert.equal(again.code, 0, again.stdout);
  });

  test('drift: a stopped container, an edited env file, a removed network: seen by plan, corrected by apply', async () => {
    const hive = await container('hive-mcp', `${id}-hive`);
    await docker('stop', '-t', '1', hive);
    await docker('network', 'rm', `${id}-hive_default`);
    const before = await onHost('sha256sum ~/.axe/stacks/blueprint/.env.local | cut -d" " -f1');
    await onHost(`sed -i 's/^AXE_REF=.*/AXE_REF=edited-by-hand/' ~/.axe/stacks/blueprint/.env.local && chmod 644 ~/.axe/stacks/blueprint/.env.local`);

    const plan = await lab.axe(['plan', id]);
    assert.equal(plan.code, 2, plan.stdout);
    assert.match(plan.stdout, /\+ blueprint: render \.env\.local .*on the host sha256:/);
    assert.match(plan.stdout, /\+ hive: compose up --wait .*hive-mcp \(exited, recreated: its network was removed\)/);
    assert.doesNotMatch(plan.stdout, /edited-by-hand/);
    const apply = await lab.axe(['apply', id, '--apply']);
    assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}`);
    assert.equal(await onHost('sha256sum ~/.axe/stacks/blueprint/.env.local | cut -d" " -f1'), before);
    assert.equal(await onHost('stat -c %a ~/.axe/stacks/blueprint/.env.local'), '600');
    assert.equal(await docker('inspect', '--format', '{{.State.Status}}', await container('hive-mcp', `${id}-hive`)), 'running');
    const again = await lab.axe(['plan', id]);
    assert.equal(again.code, 0, again.stdout);
  });

  test("ingress: a frame proxy whose state was edited by hand routes /frame to a color that is not running; seen, switched back to axe's active color, nothing else moved", async () => {
    const proxy = await container('axe-frame-proxy', `${id}-frame`);
    const active = (await docker('exec', proxy, 'frame-proxy-switch')).trim();
    assert.match(active, /^frame-mcp-(blue|green)$/);
    const [color, other] = active === 'frame-mcp-blue' ? ['blue', 'green'] : ['green', 'blue'];
    const serving = await container(active, `${id}-frame`);
    assert.equal(await container(`frame-mcp-${other}`, `${id}-frame`), '', 'the idle color has no container');
    // A hand edit (or a restore) of the proxy's state volume: it now routes to the idle color, which is not running.
    await docker('exec', proxy, 'sh', '-c', `echo frame-mcp-${other} > /state/active`);
    assert.equal((await fetchPublic('/frame/version')).status, 502, 'public /frame is down');
    const plan = await lab.axe(['plan', id, '--only', 'ingress']);
    assert.equal(plan.code, 2, plan.stdout);
    assert.match(plan.stdout, new RegExp(`ingress\\s+OutOfSync\\s+Degraded\\s+RoutedToDownColor: /frame: axe-frame-proxy routes to frame-mcp-${other}, which is not running`));
    assert.match(plan.stdout, new RegExp(`/frame: axe-frame-proxy routes to frame-mcp-${other}, axe's active color is ${active} \\(running\\): switch axe-frame-proxy back to ${color}`));
    assert.doesNotMatch(plan.stdout, /stack\s+OutOfSync/, 'the colors are not the stack kind\'s to move');
    const apply = await lab.axe(['apply', id, '--apply']);
    assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}`);
    assert.match(apply.stdout, new RegExp(`\\n  ingress\\s+Synced\\s+Healthy\\s+Routed: /frame → axe-frame-proxy → ${active}`));
    const frame = await fetchPublic('/frame/version');
    assert.equal(frame.status, 200);
    assert.equal(JSON.parse(frame.body).color, color);
    assert.equal(await container(active, `${id}-frame`), serving, 'the serving color kept, not recreated');
    assert.equal(await container(`frame-mcp-${other}`, `${id}-frame`), '', 'the idle color not started');
    const again = await lab.axe(['plan', id]);
    assert.equal(again.code, 0, again.stdout);
  });

  test("pull mode (env.secrets: pull): the host's bw session is observed; missing, wrong mode, not unlocked are named traps with the instruction for the customer's IT; nothing is pushed", async () => {
    await editManifest('blueprint', (text) => text.replace('  file: .env.local\n', '  file: .env.local\n  secrets: pull\n'));
    const envBefore = await onHost('sha256sum ~/.axe/stacks/blueprint/.env.local | cut -d" " -f1');
    const missing = await deployCli(['deploy', 'blueprint', id, '--apply']);
    assert.equal(missing.code, 1, missing.stdout);
    assert.match(missing.stdout, /stack\s+Synced\s+Degraded\s+HostSessionUnusable: blueprint: the next deploy cannot pull its secrets/);
    assert.match(missing.stdout, new RegExp(`host-bw-session-missing.*no bw session at ~/\\.bw-session.*bw config server https://${id}\\.axelabs\\.ai/vault; bw login; \\(umask 077; bw unlock --raw > ~/\\.bw-session\\)`));
    const session = `s-${randomBytes(16).toString('base64url')}`;
    await host.writeFile('~/.bw-session', session, 0o644);
    const mode = await deployCli(['deploy', 'blueprint', id]);
    assert.match(mode.stdout, /host-bw-session-mode.*~\/\.bw-session on the Mac mini is mode 644, not 0600/);
    await onHost('chmod 600 ~/.bw-session');
    // The lab's bw is the real CLI, never logged in: the session cannot unlock anything.
    await onHost('echo "AXE_REF=edited-by-hand" >> ~/.axe/stacks/blueprint/.env.local');
    const locked = await deployCli(['deploy', 'blueprint', id, '--apply']);
    assert.match(locked.stdout, /host-bw-session-locked.*no longer unlocks its vault \(bw status: unauthenticated\)/);
    assert.match(locked.stdout, /Applied 0 change\(s\)/, 'no render without a usable session');
    for (const out of [missing, mode, locked]) assert.ok(!out.stdout.includes(session) && !out.stderr.includes(session), 'the session value reached the output');
    await onHost('rm -f ~/.bw-session');
    await editManifest('blueprint', (text) => text.replace('  secrets: pull\n', ''));
    const back = await deployCli(['deploy', 'blueprint', id, '--apply']);
    assert.equal(back.code, 0, `${back.stdout}\n${back.stderr}`);
    assert.equal(await onHost('sha256sum ~/.axe/stacks/blueprint/.env.local | cut -d" " -f1'), envBefore);
  });
});
