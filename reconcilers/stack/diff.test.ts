import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ContainerFact, diffStack, healthStack, type StackDesired, type StackHostFacts, type StackObserved, type StackServiceDesired, type StackServiceObserved } from './diff.js';

const DIGEST = 'a'.repeat(64);

function frame(): StackServiceDesired {
  return {
    service: 'frame',
    customer: 'demo',
    repo: 'https://git.axelabs.ai/axelabs/frame.git',
    ref: 'v1.1.0',
    checkout: '~/.axe/stacks/frame',
    project: 'demo-frame',
    composeFiles: ['docker-compose.yml'],
    envFile: '.env.local',
    vars: [{ name: 'AXE_REF', kind: 'value', value: 'v1.1.0' }],
    serviceEnvs: null,
    hookVars: [],
    pull: null,
    beforeHooks: [],
    afterHooks: [{ name: 'migrate', exec: { service: 'frame', project: 'demo-frame', container: '@active', blueGreen: null, command: ['frame', 'migrate'] } }],
    networks: ['axe-demo'],
    volumes: ['axe-demo-frame-data'],
    blueGreen: { project: 'demo-frame', checkout: '~/.axe/stacks/frame', blue: 'frame-mcp-blue', green: 'frame-mcp-green', proxy: 'axe-frame-proxy', showCommand: ['frame-proxy-switch'], switchTemplate: ['frame-proxy-switch', '{color}'] },
    inside: { container: 'axe-frame-proxy', port: 8080, path: '/health/ready' },
    waitSeconds: 120,
    dependsOn: [],
  };
}

function hive(): StackServiceDesired {
  return {
    ...frame(),
    service: 'hive',
    repo: 'https://git.axelabs.ai/axelabs/hive.git',
    ref: 'v1.0.0',
    checkout: '~/.axe/stacks/hive',
    project: 'demo-hive',
    hookVars: ['FRAME_MCP_TOKEN'],
    volumes: [],
    blueGreen: null,
    inside: { container: 'hive-mcp', port: 8090, path: '/health/ready' },
    afterHooks: [],
    dependsOn: ['frame'],
  };
}

function ctr(service: string, overrides: Partial<ContainerFact> = {}, ref = 'v1.1.0'): ContainerFact {
  return { id: `id-${service}`, service, state: 'running', health: 'healthy', configHash: `h-${service}`, ref, envHash: DIGEST, orphaned: false, ...overrides };
}

function facts(d: StackServiceDesired, containers: ContainerFact[], overrides: Partial<StackHostFacts> = {}): StackHostFacts {
  const services = [...new Set(containers.map((c) => c.service))];
  return {
    checkout: { head: 'c0ffee', want: 'c0ffee', dirty: 0, origin: d.repo },
    env: { mode: '600', sha256: DIGEST, keys: new Map([...d.vars.map((v) => [v.name, true] as const), ...d.hookVars.map((k) => [k, true] as const)]) },
    override: true,
    services,
    hashes: new Map(services.map((s) => [s, `h-${s}`])),
    containers,
    active: d.blueGreen ? 'green' : null,
    failure: null,
    hookValues: new Map(),
    bwSession: null,
    inside: 'ok',
    ...overrides,
  };
}

function converged(): { desired: StackDesired; observed: StackObserved } {
  const f = frame();
  const h = hive();
  const frameCtrs = [ctr('postgres', {}, 'v1.0.0'), ctr('axe-frame-proxy', {}, 'v1.0.0'), ctr('frame-mcp-blue', { state: 'exited', health: null }, 'v1.0.0'), ctr('frame-mcp-green')];
  // The shared services still carry the first deploy's ref: blue/green never recreates them.
  frameCtrs[0]!.envHash = 'old';
  frameCtrs[1]!.envHash = 'old';
  const hiveCtrs = [ctr('hive-mcp', {}, 'v1.0.0')];
  const services = new Map<string, StackServiceObserved>([
    ['frame', { host: facts(f, frameCtrs), render: { ok: true, digest: DIGEST, revision: 'r1' } }],
    ['hive', { host: facts(h, hiveCtrs), render: { ok: true, digest: DIGEST, revision: 'r2' } }],
  ]);
  return { desired: { customer: 'demo', services: [f, h] }, observed: { docker: true, networks: new Set(['axe-demo']), volumes: new Set(['axe-demo-frame-data']), services } };
}

function ops(desired: StackDesired, observed: StackObserved): string[] {
  return diffStack(desired, observed).map((a) => `${a.payload.service}:${a.op}`);
}

describe('stack diff', () => {
  test('converged state plans nothing and is Healthy', () => {
    const { desired, observed } = converged();
    assert.deepEqual(diffStack(desired, observed), []);
    const health = healthStack(desired, observed);
    assert.equal(health.status, 'Healthy', health.message);
    assert.match(health.message, /green live/);
  });

  test('a fresh host: clone, render, create network and volume once, initial blue/green up, then hive', () => {
    const { desired } = converged();
    const empty = (d: StackServiceDesired): StackServiceObserved => ({
      host: { checkout: null, env: null, override: false, services: null, hashes: new Map(), containers: [], active: null, failure: null, inside: null, hookValues: new Map(), bwSession: null },
      render: { ok: true, digest: DIGEST, revision: 'r' },
    });
    const observed: StackObserved = { docker: true, networks: new Set(), volumes: new Set(), services: new Map(desired.services.map((d) => [d.service, empty(d)])) };
    assert.deepEqual(ops(desired, observed), ['frame:clone', 'frame:render-env', 'frame:create-network', 'frame:create-volume', 'frame:initial', 'hive:clone', 'hive:render-env', 'hive:up']);
    const summaries = diffStack(desired, observed).map((a) => a.summary).join('\n');
    assert.match(summaries, /switch axe-frame-proxy to blue; then hooks: migrate/);
    assert.equal(healthStack(desired, observed).status, 'Missing');
  });

  test('a new ref: checkout, render, blue/green swap to the idle color (shared services untouched)', () => {
    const { desired, observed } = converged();
    desired.services[0]!.ref = 'v1.2.0';
    const o = observed.services.get('frame')!;
    o.host.checkout = { head: 'c0ffee', want: null, dirty: 0, origin: '' };
    o.render = { ok: true, digest: 'b'.repeat(64), revision: 'r3' };
    const actions = diffStack(desired, observed);
    assert.deepEqual(actions.map((a) => a.op), ['checkout', 'render-env', 'swap']);
    assert.deepEqual(actions[2]!.payload, { service: 'frame', from: 'green', to: 'blue' });
    assert.match(actions[2]!.summary, /bring up frame-mcp-blue at v1.2.0, health-gate it, switch axe-frame-proxy to blue, stop frame-mcp-green \(runs v1.1.0\)/);
  });

  test('the gate: a release with a migrating hook starts with a snapshot; the first deploy and a converged stack do not', () => {
    const { desired, observed } = converged();
    desired.services[0]!.migratingHooks = ['migrate'];
    assert.deepEqual(diffStack(desired, observed), [], 'converged: nothing, no snapshot');
    desired.services[0]!.ref = 'v1.2.0';
    const o = observed.services.get('frame')!;
    o.host.checkout = { head: 'c0ffee', want: null, dirty: 0, origin: '' };
    o.render = { ok: true, digest: 'b'.repeat(64), revision: 'r3' };
    const actions = diffStack(desired, observed);
    assert.deepEqual(actions.map((a) => a.op), ['snapshot', 'checkout', 'render-env', 'swap']);
    assert.match(actions[0]!.summary, /take a backup snapshot and wait for it \(the release runs the migrating hook migrate; a failed snapshot stops it here\)/);
    o.host = { ...o.host, checkout: null, containers: [], services: null, active: null };
    assert.deepEqual(diffStack(desired, observed).map((a) => a.op).filter((op) => op === 'snapshot' || op === 'initial'), ['initial']);
  });

  test('an edited env file is rewritten; containers created from the right one are kept', () => {
    const { desired, observed } = converged();
    const o = observed.services.get('hive')!;
    o.host.env = { ...o.host.env!, sha256: 'f'.repeat(64) };
    // The hash compose computes from the edited file differs; it must not count.
    o.host.hashes.set('hive-mcp', 'edited');
    assert.deepEqual(ops(desired, observed), ['hive:render-env']);
    const summary = diffStack(desired, observed)[0]!.summary;
    assert.match(summary, /on the host sha256:ffffffffffff, rendered sha256:aaaaaaaaaaaa/);
    assert.doesNotMatch(summary, /v1\.0\.0=|AXE_REF=/);
  });

  test('env mode 644 or a missing hook value re-renders; nothing else moves', () => {
    const { desired, observed } = converged();
    const o = observed.services.get('hive')!;
    o.host.env = { ...o.host.env!, mode: '644' };
    assert.deepEqual(ops(desired, observed), ['hive:render-env']);
    o.host.env = { ...o.host.env!, mode: '600', keys: new Map([['AXE_REF', true], ['FRAME_MCP_TOKEN', false]]) };
    assert.match(diffStack(desired, observed)[0]!.summary, /FRAME_MCP_TOKEN missing or empty/);
  });

  test('a stopped container: compose up for a plain stack, start (no recreate) for blue/green', () => {
    const { desired, observed } = converged();
    observed.services.get('hive')!.host.containers[0]!.state = 'exited';
    const frameCtrs = observed.services.get('frame')!.host.containers;
    frameCtrs.find((c) => c.service === 'frame-mcp-green')!.state = 'exited';
    frameCtrs.find((c) => c.service === 'postgres')!.state = 'exited';
    const actions = diffStack(desired, observed);
    assert.deepEqual(actions.map((a) => `${a.payload.service}:${a.op}`), ['frame:start', 'hive:up']);
    assert.deepEqual(actions[0]!.payload.services, ['postgres', 'frame-mcp-green']);
    assert.equal(healthStack(desired, observed).status, 'Degraded');
    assert.equal(healthStack(desired, observed).reason, 'NotRunning');
  });

  test('a container whose network was removed is recreated, and the missing network created first', () => {
    const { desired, observed } = converged();
    observed.networks.delete('axe-demo');
    const c = observed.services.get('hive')!.host.containers[0]!;
    c.state = 'exited';
    c.orphaned = true;
    const actions = diffStack(desired, observed);
    assert.deepEqual(actions.map((a) => `${a.payload.service}:${a.op}`), ['frame:create-network', 'hive:up']);
    assert.deepEqual(actions[1]!.payload.recreate, ['hive-mcp']);
    assert.match(actions[1]!.summary, /hive-mcp \(exited, recreated: its network was removed\)/);
  });

  test("compose's config hash differs (someone recreated a container by hand): up", () => {
    const { desired, observed } = converged();
    observed.services.get('hive')!.host.containers[0]!.configHash = 'other';
    assert.deepEqual(ops(desired, observed), ['hive:up']);
  });

  test('a changed secret (new env digest): recreate a plain stack, swap a blue/green one', () => {
    const { desired, observed } = converged();
    for (const o of observed.services.values()) o.render = { ok: true, digest: 'c'.repeat(64), revision: 'r9' };
    for (const o of observed.services.values()) o.host.env = { ...o.host.env!, sha256: 'c'.repeat(64) };
    assert.deepEqual(ops(desired, observed), ['frame:swap', 'hive:up']);
  });

  test('an idle color left running after an interrupted deploy is stopped', () => {
    const { desired, observed } = converged();
    observed.services.get('frame')!.host.containers.find((c) => c.service === 'frame-mcp-blue')!.state = 'running';
    assert.deepEqual(ops(desired, observed), ['frame:stop-idle']);
  });

  test('a missing secret blocks the service (nothing planned) with the SSO trap', () => {
    const { desired, observed } = converged();
    observed.services.get('hive')!.render = { ok: false, missingSecrets: ['AZURE_DEMO_BLUEPRINT_CLIENT_SECRET'], missingFields: ['sso.tenant_id'], pendingSecrets: [] };
    assert.deepEqual(ops(desired, observed), []);
    const health = healthStack(desired, observed);
    assert.equal(health.status, 'Degraded');
    assert.equal(health.trap?.trap, 'blueprint-sso-missing');
    assert.match(health.message, /missing from the vault: AZURE_DEMO_BLUEPRINT_CLIENT_SECRET; not set in customers.yaml: customers.demo.sso.tenant_id/);
  });

  test('secrets vault-items will generate do not block the plan', () => {
    const { desired, observed } = converged();
    const o = observed.services.get('hive')!;
    o.render = { ok: false, missingSecrets: [], missingFields: [], pendingSecrets: ['X_SECRET'] };
    const actions = diffStack(desired, observed);
    assert.deepEqual(actions.map((a) => a.op), ['render-env', 'up']);
    assert.match(actions[0]!.summary, /after vault-items generates X_SECRET/);
  });

  test('a failed swap for the desired revision is Degraded RolledBack, the swap still planned', () => {
    const { desired, observed } = converged();
    const o = observed.services.get('frame')!;
    o.render = { ok: true, digest: 'd'.repeat(64), revision: 'broken-rev' };
    o.host.env = { ...o.host.env!, sha256: 'd'.repeat(64) };
    o.host.failure = { revision: 'broken-rev', ref: 'v1.2.0-broken', color: 'frame-mcp-blue', reason: 'frame-mcp-blue running, health starting', at: 'now' };
    assert.deepEqual(ops(desired, observed), ['frame:swap']);
    const health = healthStack(desired, observed);
    assert.equal(health.status, 'Degraded');
    assert.equal(health.reason, 'RolledBack');
    assert.match(health.message, /frame-mcp-blue at v1.2.0-broken never became healthy .*rolled back, green keeps serving/);
    // An older failure (another revision) does not count.
    o.host.failure.revision = 'older';
    assert.notEqual(healthStack(desired, observed).reason, 'RolledBack');
  });

  test('a plain stack rolled back to its last good state: the new ref still wanted, Degraded RolledBack with the step and what serves', () => {
    const { desired, observed } = converged();
    desired.services[1]!.ref = 'v1.1.0';
    const o = observed.services.get('hive')!;
    // After the rollback the host shows the old ref everywhere: checkout, env file, containers.
    o.host.checkout = { head: 'old', want: 'new', dirty: 0, origin: desired.services[1]!.repo };
    o.host.env = { ...o.host.env!, sha256: 'e'.repeat(64) };
    o.render = { ok: true, digest: DIGEST, revision: 'new-rev' };
    o.host.failure = { revision: 'new-rev', ref: 'v1.1.0', color: '', step: 'compose up', serving: 'v1.0.0', left: 'rolled back, v1.0.0 serves again (checkout, env file and containers restored)', reason: 'hive-mcp running, health unhealthy', at: 'now' };
    assert.deepEqual(ops(desired, observed), ['hive:checkout', 'hive:render-env', 'hive:up']);
    const health = healthStack(desired, observed);
    assert.equal(health.status, 'Degraded');
    assert.equal(health.reason, 'RolledBack');
    assert.match(health.message, /hive: step compose up failed for v1\.1\.0 \(hive-mcp running, health unhealthy\); rolled back, v1\.0\.0 serves again \(checkout, env file and containers restored\); fix the release or its env in services\/hive\.yaml .*then axe deploy hive demo --apply/);
    // Nothing restored (a first deploy): Degraded DeployFailed.
    o.host.failure = { ...o.host.failure, serving: null };
    assert.equal(healthStack(desired, observed).reason, 'DeployFailed');
  });

  test('a hook value that differs from what the hook gives now is drift: render-env and up, the value masked', () => {
    const { desired, observed } = converged();
    const h = desired.services[1]!;
    h.beforeHooks = [{ name: 'frame_mcp_token', outputEnv: 'FRAME_MCP_TOKEN', exec: { service: 'frame', project: 'demo-frame', container: '@active', blueGreen: null, command: ['frame', 'mcp-token'] } }];
    const o = observed.services.get('hive')!;
    o.host.hookValues.set('FRAME_MCP_TOKEN', { file: 'f'.repeat(64), now: 'f'.repeat(64) });
    assert.deepEqual(diffStack(desired, observed), [], 'the same value: nothing to do');
    o.host.hookValues.set('FRAME_MCP_TOKEN', { file: 'f'.repeat(64), now: '0'.repeat(64) });
    const actions = diffStack(desired, observed);
    assert.deepEqual(actions.map((a) => a.op), ['render-env', 'up']);
    assert.match(actions[0]!.summary, /FRAME_MCP_TOKEN is not the value frame's frame_mcp_token hook gives now \(value masked\)/);
    assert.match(actions[1]!.summary, /hive-mcp \(FRAME_MCP_TOKEN changed\)/);
    assert.doesNotMatch(actions.map((a) => a.summary).join('\n'), /ffff|0000/);
  });

  test("pull mode: the host's bw session is observed like a resource; missing, wrong mode or locked is a named trap and blocks the render", () => {
    const { desired, observed } = converged();
    const h = desired.services[1]!;
    h.pull = { sessionFile: '~/.bw-session', vaultUrl: 'https://demo.axelabs.ai/vault', secrets: [{ name: 'HIVE_KEY', item: 'HIVE_DEMO_KEY' }] };
    const o = observed.services.get('hive')!;
    o.host.bwSession = { present: true, mode: '600', status: 'unlocked' };
    assert.deepEqual(diffStack(desired, observed), [], 'converged, session usable: nothing');
    assert.equal(healthStack(desired, observed).status, 'Healthy');
    // A pulled value that differs from the host's vault (rotated there, or edited in the file): drift, masked.
    h.hookVars = ['HIVE_KEY'];
    o.host.env!.keys.set('HIVE_KEY', true);
    o.host.hookValues.set('HIVE_KEY', { file: 'a'.repeat(64), now: 'a'.repeat(64) });
    assert.deepEqual(diffStack(desired, observed), [], 'the same value as the host vault: nothing');
    o.host.hookValues.set('HIVE_KEY', { file: 'a'.repeat(64), now: 'b'.repeat(64) });
    const pulled = diffStack(desired, observed);
    assert.deepEqual(pulled.map((a) => a.op), ['render-env', 'up']);
    assert.match(pulled[0]!.summary, /HIVE_KEY is not the value the host's vault holds for HIVE_DEMO_KEY \(value masked\)/);
    o.host.hookValues.delete('HIVE_KEY');
    o.host.env = { ...o.host.env!, sha256: 'e'.repeat(64) };
    const render = diffStack(desired, observed);
    assert.deepEqual(render.map((a) => a.op), ['render-env'], 'an edited env file: rendered again, containers kept');
    assert.match(render[0]!.summary, /on the host with its bw session \(1 secret\(s\) pulled there\)/);
    const cases: Array<[NonNullable<StackHostFacts['bwSession']>, string, RegExp]> = [
      [{ present: false, mode: '', status: '' }, 'host-bw-session-missing', /no bw session at ~\/\.bw-session.*bw config server https:\/\/demo\.axelabs\.ai\/vault; bw login; \(umask 077; bw unlock --raw > ~\/\.bw-session\)/],
      [{ present: true, mode: '644', status: 'unlocked' }, 'host-bw-session-mode', /mode 644, not 0600.*chmod 600 ~\/\.bw-session/],
      [{ present: true, mode: '600', status: 'locked' }, 'host-bw-session-locked', /bw status: locked/],
      [{ present: true, mode: '600', status: 'nobw' }, 'host-bw-cli-missing', /brew install bitwarden-cli/],
    ];
    for (const [session, name, fix] of cases) {
      o.host.bwSession = session;
      assert.deepEqual(diffStack(desired, observed), [], `${name}: nothing planned`);
      const health = healthStack(desired, observed);
      assert.equal(health.status, 'Degraded');
      assert.equal(health.reason, 'HostSessionUnusable');
      assert.equal(health.trap?.trap, name);
      assert.match(health.trap!.fix, fix);
    }
  });

  test('local changes in the checkout are discarded by a checkout', () => {
    const { desired, observed } = converged();
    observed.services.get('hive')!.host.checkout!.dirty = 2;
    const actions = diffStack(desired, observed);
    assert.deepEqual(actions.map((a) => a.op), ['checkout']);
    assert.match(actions[0]!.summary, /2 local change\(s\) discarded/);
  });

  test('docker missing on the host: nothing planned, Degraded', () => {
    const { desired, observed } = converged();
    observed.docker = false;
    assert.deepEqual(diffStack(desired, observed), []);
    assert.equal(healthStack(desired, observed).reason, 'DockerMissing');
  });
});
