/**
 * The stack kind's failed actions against a host stand-in: each failure's
 * class, message (step, detail, what was left) and fix, as the operator reads
 * them. The stand-in answers by what the script holds, wherever the executor
 * puts it (command line or stdin).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AxeError } from '../../core/errors.js';
import { Pass } from '../pass.js';
import type { CustomerContext } from '../runtime.js';
import type { Scan } from '../scan.js';
import type { Action } from '../types.js';
import type { StackDesired, StackPayload, StackServiceDesired } from './diff.js';
import { stackReconciler } from './index.js';

type Answer = { code: number; stdout?: string; stderr?: string };

const d: StackServiceDesired = {
  service: 'frame',
  customer: 'demo',
  repo: 'https://git.axelabs.ai/axelabs/frame.git',
  ref: 'v1.0.0',
  checkout: '~/.axe/stacks/frame',
  project: 'demo-frame',
  composeFiles: ['docker-compose.yml'],
  envFile: '.env.local',
  vars: [],
  serviceEnvs: null,
  hookVars: [],
  pull: null,
  beforeHooks: [],
  afterHooks: [],
  networks: ['axe-demo'],
  volumes: [],
  blueGreen: null,
  inside: null,
  waitSeconds: 30,
  dependsOn: [],
};

/** A context whose host answers each script by `answer` (its command line and stdin together); `scripts` records them. */
function context(answer: (script: string) => Answer): { ctx: CustomerContext; scripts: string[] } {
  const scripts: string[] = [];
  const connection = {
    async exec(command: string, options: { stdin?: string } = {}) {
      const script = `${command}\n${options.stdin ?? ''}`;
      scripts.push(script);
      const a = answer(script);
      return { code: a.code, stdout: a.stdout ?? '', stderr: a.stderr ?? '' };
    },
    async writeFile() {},
  };
  const pass = new Pass({} as Scan);
  pass.results.set('host', { observed: { ssh: { ok: true } } } as never);
  const ctx = {
    id: 'demo',
    customer: { tailscale_host: 'demo-mini' },
    target: { name: 'h', address: '127.0.0.1', port: 22, user: 'u' },
    env: { settings: {}, providers: { hosts: { toolPaths: [], hashMemo: new Map(), connection: async () => connection } } },
    pass,
  } as unknown as CustomerContext;
  return { ctx, scripts };
}

function act(ctx: CustomerContext, op: string, payload: Partial<StackPayload> = {}, service: StackServiceDesired = d): Promise<void> {
  const desired: StackDesired = { customer: 'demo', services: [service] };
  const action: Action<StackPayload> = { kind: 'stack', op, target: 'stack:frame', summary: `frame: ${op}`, payload: { service: 'frame', ...payload } };
  return stackReconciler.act(ctx, desired, action);
}

/** Asserts the action fails with this class, message and fix. */
async function fails(run: Promise<void>, want: { class: 'terminal' | 'transient'; message: string; fix: string }): Promise<void> {
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof AxeError, String(e));
    assert.deepEqual({ class: e.class, message: e.message, fix: e.fix, customer: e.customer, resource: e.resource }, { ...want, customer: 'demo', resource: 'stack' });
    return true;
  });
}

describe('stack: a failed action says which step, what it left and the fix', () => {
  test('checkout: a missing ref is terminal (fix the manifest); anything else transient (reach the repo)', async () => {
    const missing = context((s) => (s.includes('checkout') ? { code: 5, stderr: 'cloning\nref v1.0.0 was not found in the repository' } : { code: 0 }));
    await fails(act(missing.ctx, 'checkout'), { class: 'terminal', message: 'frame: step checkout failed: ref v1.0.0 was not found in the repository; left: the running containers untouched', fix: 'check source.ref in services/frame.yaml' });
    const down = context(() => ({ code: 128, stderr: 'fatal: unable to access' }));
    await fails(act(down.ctx, 'clone'), { class: 'transient', message: 'frame: step clone failed: fatal: unable to access; left: nothing deployed', fix: `check that ${d.repo} is reachable from the host (git.instead_of in the axe config for mirrors)` });
    const silent = context(() => ({ code: 1 }));
    await fails(act(silent.ctx, 'clone'), { class: 'transient', message: 'frame: step clone failed: exit 1; left: nothing deployed', fix: `check that ${d.repo} is reachable from the host (git.instead_of in the axe config for mirrors)` });
  });

  test('create-network: transient, create it by hand', async () => {
    const { ctx } = context(() => ({ code: 1, stderr: 'Error response from daemon: boom' }));
    await fails(act(ctx, 'create-network', { name: 'axe-demo' }), { class: 'transient', message: 'frame: step create-network failed: Error response from daemon: boom; left: nothing else changed', fix: 'create it by hand: docker network create axe-demo' });
  });

  test("start: compose's own last word and the failed containers; stop-idle: transient", async () => {
    const start = context((s) => (s.includes('test -f') ? { code: 1 } : s.includes(' up -d ') ? { code: 10, stderr: 'network axe-demo not found\ndiag=app|exited|' } : { code: 0 }));
    await fails(act(start.ctx, 'start', { services: ['app'] }), { class: 'terminal', message: 'frame: step start failed: network axe-demo not found; app exited; left: app not running', fix: 'see docker compose -p demo-frame logs on the host' });
    const stop = context((s) => (s.includes('test -f') ? { code: 0 } : s.includes("'stop'") ? { code: 1, stderr: 'no such container' } : { code: 0 }));
    await fails(act(stop.ctx, 'stop-idle', { name: 'app-blue' }), { class: 'transient', message: 'frame: step stop-idle failed: no such container; left: app-blue still running', fix: 'stop it by hand' });
  });

  test('the pulled env file: a missing item and a bad value are terminal, a locked session transient', async () => {
    const pulled: StackServiceDesired = { ...d, pull: { sessionFile: '~/.axe/bw-session', secrets: [] } as unknown as NonNullable<StackServiceDesired['pull']> };
    const pull = (code: number, stderr: string) => context((s) => (s.includes('axe-env-pull') ? { code, stderr } : { code: 0 })).ctx;
    await fails(act(pull(22, 'item FOO not found'), 'render-env', {}, pulled), { class: 'terminal', message: 'frame: step render-env (pull on the host) failed: item FOO not found; left: the env file not written, nothing changed', fix: "put the missing item in the customer's vault (the one ~/.axe/bw-session unlocks), then axe deploy frame demo --apply" });
    await fails(act(pull(23, 'bad value'), 'render-env', {}, pulled), { class: 'terminal', message: 'frame: step render-env (pull on the host) failed: bad value; left: the env file not written, nothing changed', fix: "store the value without quotes or line breaks in the customer's vault" });
    await fails(act(pull(21, 'vault locked'), 'render-env', {}, pulled), { class: 'transient', message: 'frame: step render-env (pull on the host) failed: vault locked; left: the env file not written, nothing changed', fix: "see axe plan demo: the host's bw session (~/.axe/bw-session) must be present, mode 0600 and unlocked" });
  });

  test("the compose split: transient; compose config: terminal, check the release's compose files", async () => {
    const split = context((s) => (s.includes('.env.local') && !s.includes('axe-env-pull') ? { code: 1, stderr: 'disk full' } : { code: 0 }));
    await fails(act(split.ctx, 'render-env'), { class: 'transient', message: "frame: step render-env failed: the compose services' own env files: disk full; left: .env.local written, the containers untouched", fix: 'check the disk and permissions of ~/.axe/stacks/frame on the host, then axe deploy frame demo --apply' });
    const config = context((s) => (s.includes('config --format json') ? { code: 15, stderr: 'yaml: line 3: bad indent' } : { code: 0 }));
    await fails(act(config.ctx, 'up'), { class: 'terminal', message: 'frame: step up failed: compose config: yaml: line 3: bad indent; left: nothing changed', fix: `check the compose files of ${d.repo} at v1.0.0` });
  });
});
