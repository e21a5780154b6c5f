/**
 * `axe mcp` as the operators' assistant meets it: the official SDK's client
 * starts the compiled CLI over stdio, lists the tools (each with an input
 * schema), calls each one against a controller test bed (a real config repo,
 * the Cloudflare emulator, a file vault, a history database written by a real
 * controller pass), reads the resources, and finds no secret value in any
 * result. The ingest tool commits on the onboarding branch and never pushes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Writable } from 'node:stream';
import { createLogger } from '../controller/logger.js';
import { openController, runOnce } from '../controller/run.js';
import { openVault } from '../providers/vault/index.js';
import { type ControllerFixture, controllerFixture } from './controller-fixture.js';
import { git, ROOT, SAMPLE_PACK } from './helpers.js';

interface ToolText {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: { result?: unknown };
}

describe('axe mcp (stdio, the SDK client)', () => {
  let fixture: ControllerFixture;
  let client: Client;
  let packPath = '';
  const secrets: string[] = [];
  const seen: string[] = [];

  async function call(name: string, args: Record<string, unknown> = {}): Promise<ToolText> {
    const result = (await client.callTool({ name, arguments: args })) as ToolText;
    seen.push(JSON.stringify(result));
    return result;
  }

  function value<T>(result: ToolText): T {
    assert.notEqual(result.isError, true, result.content[0]?.text);
    return result.structuredContent!.result as T;
  }

  before(async () => {
    fixture = await controllerFixture();
    // A history database written by a real controller pass.
    await runOnce({ config: fixture.config, vault: fixture.vault, zone: fixture.emulator.zone, axeHome: fixture.home, log: createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) }) });
    const pack = JSON.parse(await readFile(SAMPLE_PACK, 'utf8')) as { apps: Record<string, { client_secret: string }> };
    for (const app of Object.values(pack.apps)) {
      app.client_secret = `mcp-test-${randomBytes(12).toString('hex')}`;
      secrets.push(app.client_secret);
    }
    packPath = join(fixture.dir, 'axelabs-bootstrap-demo.json');
    await writeFile(packPath, JSON.stringify(pack), { mode: 0o600 });
    secrets.push(fixture.webhookSecret.reveal(), fixture.emulator.token.reveal());
    client = new Client({ name: 'axe-test', version: '1.0.0' });
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: fixture.home,
      AXE_HOME: fixture.home,
      AXE_CONFIG: fixture.configPath,
      AXE_REPO: fixture.work,
      GIT_AUTHOR_NAME: 'axe-test',
      GIT_AUTHOR_EMAIL: 'test@axe.invalid',
      GIT_COMMITTER_NAME: 'axe-test',
      GIT_COMMITTER_EMAIL: 'test@axe.invalid',
    };
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [join(ROOT, 'bin', 'axe.js'), 'mcp'], env, stderr: 'ignore' }));
  });

  after(async () => {
    await client?.close();
    await fixture?.[Symbol.asyncDispose]();
  });

  it('lists every tool with an input schema, and the resources', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['explain_trap', 'history', 'ingest_pack', 'plan', 'reconcile', 'resume', 'rollout_status', 'status', 'suspend', 'validate']);
    for (const t of tools) {
      assert.equal(t.inputSchema.type, 'object', t.name);
      assert.ok(t.description && t.description.length > 20, t.name);
    }
    assert.equal(tools.find((t) => t.name === 'status')!.annotations?.readOnlyHint, true);
    assert.equal(tools.find((t) => t.name === 'ingest_pack')!.annotations?.readOnlyHint, false);
    for (const name of ['reconcile', 'suspend', 'resume']) assert.equal(tools.find((t) => t.name === name)!.annotations?.readOnlyHint, false, name);
    assert.deepEqual((tools.find((t) => t.name === 'suspend')!.inputSchema as { required?: string[] }).required?.sort(), ['customer', 'reason']);
    const { resources } = await client.listResources();
    const uris = resources.map((r) => r.uri).sort();
    assert.ok(uris.includes('axe://config/customers.yaml') && uris.includes('axe://runbook/traps') && uris.includes('axe://config/services/frame.yaml'), uris.join(', '));
    const text = async (uri: string): Promise<string> => {
      const read = await client.readResource({ uri });
      const first = read.contents[0]!;
      assert.ok('text' in first, `${uri} is text`);
      return first.text;
    };
    assert.match(await text('axe://config/customers.yaml'), /^customers:/m);
    assert.match(await text('axe://config/services/frame.yaml'), /^name: frame$/m);
    const traps = JSON.parse(await text('axe://runbook/traps')) as Record<string, string>;
    assert.ok(traps['tailscale-short-alias']);
  });

  it('status, history, plan, validate, rollout_status and explain_trap answer from the product', async () => {
    const fleet = value<{ customers: Array<{ customer: string; resources: unknown[] }> }>(await call('status'));
    assert.deepEqual(fleet.customers.map((c) => c.customer).sort(), ['acme', 'demo', 'realchoice']);
    const acme = value<{ customers: Array<{ customer: string }> }>(await call('status', { customer: 'acme' }));
    assert.deepEqual(acme.customers.map((c) => c.customer), ['acme']);
    const unknown = await call('status', { customer: 'nobody' });
    assert.equal(unknown.isError, true);
    assert.match(unknown.content[0]!.text!, /no status for customer nobody.*fix/i);

    const events = value<Array<{ type: string; customer: string | null }>>(await call('history', { limit: 500 }));
    assert.ok(events.some((e) => e.type === 'revision'), 'the controller pass is in the history');
    const bad = await call('history', { types: ['nonsense'] });
    assert.equal(bad.isError, true, 'the schema refuses an unknown event type');

    const plan = value<{ applied: boolean; customers: Array<{ customer: string; resources: Array<{ kind: string }> }> }>(await call('plan', { customer: 'acme', only: 'dns' }));
    assert.equal(plan.applied, false);
    assert.deepEqual(plan.customers.map((c) => c.customer), ['acme']);
    assert.deepEqual(plan.customers[0]!.resources.map((r) => r.kind), ['dns']);
    const badKind = await call('plan', { customer: 'acme', only: 'nonsense' });
    assert.equal(badKind.isError, true);
    assert.match(badKind.content[0]!.text!, /unknown resource kind "nonsense"/);

    const valid = value<{ valid: boolean; customers: string[] }>(await call('validate'));
    assert.equal(valid.valid, true);
    assert.deepEqual(valid.customers.sort(), ['acme', 'demo', 'realchoice']);

    // The controller's first pass saw each service's first ref: its baseline, complete, nobody failed.
    const rollouts = value<Array<{ service: string; from: string | null; state: string; customers: unknown[] }>>(await call('rollout_status'));
    assert.ok(rollouts.length > 0, 'a baseline per service the controller has seen');
    for (const r of rollouts) assert.deepEqual([r.from, r.state], [null, 'complete'], r.service);
    const one = value<Array<{ service: string }>>(await call('rollout_status', { service: rollouts[0]!.service }));
    assert.deepEqual(one.map((r) => r.service), [rollouts[0]!.service]);
    const none = await call('rollout_status', { service: 'nosuch' });
    assert.equal(none.isError, true);
    assert.match(none.content[0]!.text!, /no rollout of nosuch yet.*fix/);

    const trap = value<{ fix: string }>(await call('explain_trap', { trap: 'ssh-non-login-path' }));
    assert.match(trap.fix, /absolute path/);
    assert.equal((await call('explain_trap', { trap: 'no-such-trap' })).isError, true);
  });

  it('ingest_pack plans, then commits on onboard/demo only: no push, main untouched, the secrets in the vault', async () => {
    const mainBefore = (await git(fixture.work, 'rev-parse', 'main')).trim();
    const dry = value<{ applied: boolean; branch: string; vault: Array<{ name: string; action: string }> }>(await call('ingest_pack', { customer: 'demo', pack_path: packPath }));
    assert.equal(dry.applied, false);
    assert.equal(dry.branch, 'onboard/demo');
    assert.equal(dry.vault.length, 3);
    assert.equal((await git(fixture.work, 'branch', '--list', 'onboard/demo')).trim(), '', 'a plan commits nothing');

    const done = value<{ applied: boolean; pushed: boolean; commit: string }>(await call('ingest_pack', { customer: 'demo', pack_path: packPath, apply: true }));
    assert.equal(done.applied, true);
    assert.equal(done.pushed, false);
    assert.equal((await git(fixture.work, 'rev-parse', 'onboard/demo')).trim(), done.commit);
    assert.equal((await git(fixture.work, 'rev-parse', 'main')).trim(), mainBefore, 'main untouched');
    assert.equal((await git(fixture.bare, 'branch', '--list', 'onboard/demo')).trim(), '', 'nothing pushed');
    const items = await openVault(fixture.vault, {}, { home: fixture.home }).list();
    for (const name of dry.vault.map((v) => v.name)) assert.ok(items.some((i) => i.name === name), `${name} in the vault`);

    const again = value<{ nothingToDo: boolean }>(await call('ingest_pack', { customer: 'demo', pack_path: packPath, apply: true }));
    assert.equal(again.nothingToDo, true, 'idempotent');
  });

  it('reconcile, suspend and resume: refused without a controller, then asked of it through its API and recorded', async () => {
    for (const [name, args] of [['reconcile', { customer: 'acme' }], ['suspend', { customer: 'acme', reason: 'assistant test' }], ['resume', { customer: 'acme' }]] as const) {
      const refused = await call(name, args);
      assert.equal(refused.isError, true, name);
      assert.match(refused.content[0]!.text!, /the controller is not running .*fix: start it \(axe controller/, name);
    }
    const quiet = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
    const running = await openController({ config: fixture.config, vault: fixture.vault, zone: fixture.emulator.zone, axeHome: fixture.home, listen: '127.0.0.1:0', driftSchedule: false, timings: { pollIntervalMs: 0 }, log: quiet });
    try {
      await running.controller.queue.idle();
      const suspended = value<{ op: string; message: string }>(await call('suspend', { customer: 'acme', reason: 'assistant test', kind: 'dns' }));
      assert.equal(suspended.op, 'suspend');
      assert.deepEqual(running.controller.history.suspensions().map((r) => [r.customer, r.kind, r.reason]), [['acme', 'dns', 'assistant test']]);
      const status = value<{ suspensions: Array<{ customer: string; kind: string | null; by: string }> }>(await call('status', { customer: 'acme' }));
      assert.deepEqual(status.suspensions.map((s) => [s.customer, s.kind]), [['acme', 'dns']]);
      assert.match(status.suspensions[0]!.by, /^mcp \(\S+@\S+\)$/);
      const unknown = await call('suspend', { customer: 'nobody', reason: 'x' });
      assert.equal(unknown.isError, true);
      assert.match(unknown.content[0]!.text!, /unknown customer nobody/);
      assert.equal(value<{ op: string }>(await call('resume', { customer: 'acme', kind: 'dns' })).op, 'resume');
      assert.equal(value<{ op: string }>(await call('reconcile', { customer: 'acme' })).op, 'reconcile');
      await running.controller.queue.idle();
      const events = running.controller.history.events({ types: ['control'] });
      assert.deepEqual(events.map((e) => `${e.op} ${e.customer}`), ['suspend acme', 'resume acme', 'reconcile acme']);
      for (const e of events) assert.match(e.target ?? '', /^mcp \(/, 'recorded as asked by the assistant');
    } finally {
      await running.stop();
    }
  });

  it('plan: asked of the running controller when one runs (the plan made here, planned saying so), else made here saying why', async () => {
    type Planned = { planned: string; customers: Array<{ resources: Array<{ durationMs?: number }> }> };
    const timeless = (p: Planned): Planned => ({ ...p, planned: '', customers: p.customers.map((c) => ({ ...c, resources: c.resources.map((r) => ({ ...r, durationMs: 0 })) })) });
    const alone = value<Planned>(await call('plan', { customer: 'acme', only: 'dns' }));
    assert.match(alone.planned, /^locally \(the controller is not running \(no .*control\.json\)\)$/);
    // The checkout at the revision the controller runs (ingest_pack left it on its branch).
    await git(fixture.work, 'switch', '-q', 'main');
    const quiet = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
    const running = await openController({ config: fixture.config, vault: fixture.vault, zone: fixture.emulator.zone, axeHome: fixture.home, listen: '127.0.0.1:0', driftSchedule: false, timings: { pollIntervalMs: 0 }, log: quiet });
    try {
      await running.controller.queue.idle();
      const warm = value<Planned>(await call('plan', { customer: 'acme', only: 'dns' }));
      assert.equal(warm.planned, `by the running controller (pid ${process.pid}, revision ${running.controller.revision!.slice(0, 12)}) over its warm connections`);
      const here = value<Planned>(await call('plan', { customer: 'acme', only: 'dns', local: true }));
      assert.equal(here.planned, 'locally (--local)');
      assert.deepEqual(timeless(warm), timeless(here));
      assert.deepEqual(timeless(warm), timeless(alone));
    } finally {
      await running.stop();
    }
  });

  it('never returned a secret value', () => {
    assert.ok(seen.length >= 20, `${seen.length} results checked`);
    for (const secret of secrets) {
      for (const text of seen) assert.equal(text.includes(secret), false, 'a result carried a secret value');
    }
  });
});
