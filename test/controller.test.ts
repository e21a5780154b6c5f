/**
 * The controller as a process of its own against a real bare git repo and the
 * Cloudflare emulator (test/controller-fixture.ts): a push plus a signed
 * webhook starts the new customer's reconcile within 1 s with no CLI call;
 * unsigned and wrongly signed webhooks are refused and do nothing; a bad
 * commit is rejected with file:line while the last good revision keeps
 * running; a real Prometheus (Debian package) scrapes /metrics and loads the
 * shipped alert rules; a controller killed mid-apply converges after a
 * restart without a duplicate tunnel.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { signBody } from '../controller/webhook.js';
import type { StatusView } from '../controller/status.js';
import { addCustomers, type ControllerFixture, controllerFixture, customerBlock } from './controller-fixture.js';
import { freePort, ROOT } from './helpers.js';

const exec = promisify(execFile);
/** The real axe CLI (it registers the controller commands). */
const ENTRY = join(ROOT, 'cli', 'main.ts');


interface LogLine {
  level: string;
  time: string;
  msg: string;
  [key: string]: unknown;
}

class ControllerProcess {
  readonly lines: LogLine[] = [];
  readonly child: ChildProcess;
  stderr = '';
  #waiters: Array<() => void> = [];

  constructor(fixture: ControllerFixture, port: number) {
    this.child = spawn(process.execPath, [...process.execArgv, ENTRY, 'controller', '--config', fixture.configPath, '--listen', `127.0.0.1:${port}`], {
      env: { ...process.env, AXE_HOME: fixture.home, AXE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(text) as LogLine);
        } catch {
          this.lines.push({ level: 'raw', time: new Date().toISOString(), msg: text });
        }
        for (const w of this.#waiters.splice(0)) w();
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  /** Waits for a log line matching `pred` at index ≥ `from`. */
  async waitFor(pred: (l: LogLine) => boolean, timeoutMs = 15_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find(pred);
      if (found) return found;
      if (this.child.exitCode !== null) throw new Error(`controller exited ${this.child.exitCode}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no matching log line within ${timeoutMs} ms; last: ${JSON.stringify(this.lines.slice(-5))}\n${this.stderr}`);
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), sleep(200)]);
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(signal);
    await exited;
  }
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  return (await response.json()) as T;
}

function pushPayload(after: string): string {
  return JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after, repository: { full_name: 'axelabs/fleet-config' } });
}

describe('controller process: webhook, bad revisions, Prometheus, restart', () => {
  let fixture: ControllerFixture;
  let port: number;
  let proc: ControllerProcess;
  let base: string;
  let c1: string;

  before(async () => {
    fixture = await controllerFixture();
    c1 = (await exec('git', ['rev-parse', 'HEAD'], { cwd: fixture.work })).stdout.trim();
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = new ControllerProcess(fixture, port);
    await proc.waitFor((l) => l.msg === 'controller started', 30_000);
  });

  after(async () => {
    await proc?.kill();
    await fixture?.[Symbol.asyncDispose]();
  });

  async function status(): Promise<StatusView> {
    return getJson<StatusView>(`${base}/status`);
  }

  async function settled(): Promise<StatusView> {
    return until('the queue to drain', async () => {
      const s = await status();
      return s.queue && s.queue.depth === 0 && s.queue.inFlight === 0 ? s : null;
    });
  }

  async function hook(body: string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${base}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', ...headers }, body });
  }

  it('serves health, readiness and the first revision', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await until('readyz', async () => {
      const r = await fetch(`${base}/readyz`);
      return r.status === 200 ? ((await r.json()) as { ready: boolean }) : null;
    });
    assert.equal(ready.ready, true);
    const s = await settled();
    assert.equal(s.revision?.id, c1);
    assert.equal(s.configValid, true);
    assert.deepEqual(s.customers.map((c) => c.customer).sort(), ['acme', 'demo', 'realchoice']);
    const acmeDns = s.customers.find((c) => c.customer === 'acme')!.resources.find((r) => r.kind === 'dns')!;
    assert.equal(acmeDns.sync, 'Synced', 'acme (apply) got its DNS record from the controller');
    const rcDns = s.customers.find((c) => c.customer === 'realchoice')!.resources.find((r) => r.kind === 'dns')!;
    assert.equal(rcDns.sync, 'OutOfSync', 'realchoice (observe) was left alone');
    assert.equal(fixture.emulator.store.state.records.some((r) => r.name === 'realchoice.axelabs.ai'), false);
  });

  it('refuses unsigned and wrongly signed webhooks and does nothing; a signed push starts the reconcile within 1 s', async () => {
    const c2 = await fixture.push((t) => addCustomers(t, customerBlock('newco')), 'Onboard newco');
    const body = pushPayload(c2);
    const from = proc.lines.length;
    assert.equal((await hook(body, {})).status, 401, 'unsigned');
    assert.equal((await hook(body, { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` })).status, 401, 'wrong signature');
    assert.equal((await hook(body, { 'x-hub-signature-256': signBody(fixture.webhookSecret, `${body} `) })).status, 401, 'signature of another body');
    await sleep(700);
    assert.equal((await status()).revision?.id, c1, 'nothing was fetched');
    assert.equal(proc.lines.slice(from).some((l) => l.msg === 'revision applied' || l.customer === 'newco'), false);

    const sentAt = Date.now();
    const answer = await hook(body, { 'x-hub-signature-256': signBody(fixture.webhookSecret, body) });
    assert.equal(answer.status, 202);
    const started = await proc.waitFor((l) => l.msg === 'reconcile started' && l.customer === 'newco', 5_000, from);
    const latency = Date.parse(started.time) - sentAt;
    assert.ok(latency < 1_000, `webhook to reconcile start took ${latency} ms`);
    assert.deepEqual(started.triggers, ['revision']);
    console.log(`# webhook → reconcile start: ${latency} ms`);
    const s = await until('newco converged', async () => {
      const v = await status();
      const dns = v.customers.find((c) => c.customer === 'newco')?.resources.find((r) => r.kind === 'dns');
      return dns?.sync === 'Synced' ? v : null;
    });
    assert.equal(s.revision?.id, c2);
    assert.equal(fixture.emulator.store.state.tunnels.filter((t) => t.name === 'axe-newco' && !t.deleted_at).length, 1);
    // Changed customers first: newco ran before the unchanged ones of the same revision.
    const order = proc.lines.slice(from).filter((l) => l.msg === 'reconcile started').map((l) => l.customer);
    assert.equal(order[0], 'newco');
  });

  it('rejects a bad commit with file:line, keeps serving the last good revision, and acts on nothing', async () => {
    const good = (await status()).revision!.id;
    const actionsBefore = proc.lines.filter((l) => l.msg === 'action applied').length;
    const bad = await fixture.push((t) => t.replace('    legal_name: "newco Inc."\n', '    legal_name: "newco Inc."\n    legl_name: "typo"\n'), 'A typo');
    const from = proc.lines.length;
    const body = pushPayload(bad);
    assert.equal((await hook(body, { 'x-hub-signature-256': signBody(fixture.webhookSecret, body) })).status, 202);
    const rejected = await proc.waitFor((l) => l.msg === 'revision rejected', 5_000, from);
    assert.equal(rejected.level, 'error');
    const s = await status();
    assert.equal(s.configValid, false);
    assert.equal(s.revision?.id, good, 'the last good revision keeps running');
    assert.equal(s.rejected?.id, bad);
    const issue = s.rejected!.issues[0]!;
    assert.equal(issue.file, 'customers.yaml');
    assert.equal(issue.line, 10, 'the typo sits on line 10 (customers: on line 7, then newco, legal_name, the typo)');
    assert.equal(issue.path, 'customers.newco.legl_name');
    assert.match(issue.message, /unknown key/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^axe_config_valid 0$/m);
    assert.match(metrics, new RegExp(`^axe_config_revision_info\\{revision="${good.slice(0, 12)}"\\} 1$`, 'm'));
    await sleep(300);
    assert.equal(proc.lines.filter((l) => l.msg === 'action applied').length, actionsBefore, 'nothing acted on');

    const cli = await exec(process.execPath, [...process.execArgv, ENTRY, 'status', '--url', base], { env: { ...process.env, AXE_HOME: fixture.home } }).catch((e: { code: number; stdout: string }) => e);
    assert.equal((cli as { code?: number }).code, 1, 'axe status exits 1 while the config is invalid');
    assert.match(cli.stdout, /CONFIG INVALID/);
    assert.match(cli.stdout, /customers\.yaml:10:\d+/);

    const fixed = await fixture.push((t) => t.replace('    legl_name: "typo"\n', ''), 'Fix the typo');
    const fixedBody = pushPayload(fixed);
    const from2 = proc.lines.length;
    await hook(fixedBody, { 'x-hub-signature-256': signBody(fixture.webhookSecret, fixedBody) });
    await proc.waitFor((l) => l.msg === 'revision applied', 5_000, from2);
    const after = await status();
    assert.equal(after.configValid, true);
    assert.equal(after.revision?.id, fixed);
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^axe_config_valid 1$/m);
  });

  it('refuses a committed symlink customers.yaml without reading its target, and keeps the last good revision', async () => {
    const good = (await status()).revision!.id;
    // A root-only file on the operator host, YAML whose schema errors would echo its keys.
    const target = join(fixture.dir, 'shadow-like.yaml');
    await writeFile(target, 'shadowmarker_root: "$6$shadowmarkerhash"\ncustomers:\n  shadowmarker_user: 1\n', { mode: 0o600 });
    const customers = join(fixture.work, 'customers.yaml');
    const kept = await readFile(customers, 'utf8');
    await rm(customers);
    await symlink(target, customers);
    const commit = async (message: string): Promise<string> => {
      await exec('git', ['-c', 'user.name=t', '-c', 'user.email=t@axe.invalid', 'commit', '-qam', message], { cwd: fixture.work });
      await exec('git', ['push', '-q', 'origin', 'HEAD:main'], { cwd: fixture.work });
      return (await exec('git', ['rev-parse', 'HEAD'], { cwd: fixture.work })).stdout.trim();
    };
    const linked = await commit('customers.yaml as a link');
    const from = proc.lines.length;
    const body = pushPayload(linked);
    assert.equal((await hook(body, { 'x-hub-signature-256': signBody(fixture.webhookSecret, body) })).status, 202);
    await proc.waitFor((l) => l.msg === 'revision rejected', 5_000, from);
    const s = await status();
    assert.equal(s.revision?.id, good, 'the last good revision keeps running');
    assert.equal(s.rejected?.id, linked);
    assert.deepEqual(s.rejected!.issues.map((i) => [i.file, i.line, i.col]), [['customers.yaml', 1, 1]]);
    assert.match(s.rejected!.issues[0]!.message, /^is a symbolic link: config files must be regular files in the repo; commit the file itself/);
    const shown = JSON.stringify(s) + JSON.stringify(proc.lines.slice(from));
    assert.equal(shown.includes('shadowmarker'), false, 'nothing of the target content in /status or the log');
    assert.equal(shown.includes(target), false, 'the target path is not shown either');

    await rm(customers);
    await writeFile(customers, kept);
    const restored = await commit('customers.yaml back as a file');
    const from2 = proc.lines.length;
    const restoredBody = pushPayload(restored);
    await hook(restoredBody, { 'x-hub-signature-256': signBody(fixture.webhookSecret, restoredBody) });
    await proc.waitFor((l) => l.msg === 'revision applied', 5_000, from2);
    assert.equal((await status()).configValid, true);
  });

  it('is scraped by a real Prometheus that also loads the shipped alert rules', async (t) => {
    const promDir = join(fixture.dir, 'prometheus');
    await mkdir(promDir, { recursive: true });
    const promPort = await freePort();
    await writeFile(
      join(promDir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ["${join(ROOT, 'deploy', 'prometheus', 'alerts.yml')}"]`,
        'scrape_configs:',
        '  - job_name: axe-controller',
        `    static_configs: [{ targets: ["127.0.0.1:${port}"] }]`,
        '',
      ].join('\n'),
    );
    const prom = spawn('prometheus', [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let promLog = '';
    prom.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
    t.after(async () => {
      if (prom.exitCode === null) {
        const exited = new Promise((r) => prom.once('exit', r));
        prom.kill('SIGTERM');
        await exited;
      }
    });
    const api = `http://127.0.0.1:${promPort}/api/v1`;
    interface Vector {
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    }
    const up = await until(
      'Prometheus to scrape the controller',
      async () => {
        const v = await getJson<Vector>(`${api}/query?query=${encodeURIComponent('up{job="axe-controller"}')}`);
        return v.data.result[0]?.value[1] === '1' ? v : null;
      },
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${promLog.slice(-2000)}`);
    });
    assert.equal(up.data.result.length, 1);
    const valid = await getJson<Vector>(`${api}/query?query=axe_config_valid`);
    assert.equal(valid.data.result[0]?.value[1], '1');
    const info = await getJson<Vector>(`${api}/query?query=${encodeURIComponent('axe_resource_info{customer="newco",kind="dns"}')}`);
    assert.equal(info.data.result[0]?.metric.sync, 'Synced');
    const rules = await getJson<{ data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> } }>(`${api}/rules`);
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    assert.ok(loaded.length >= 6, `${loaded.length} rules loaded`);
    assert.ok(loaded.every((r) => r.health !== 'err'), JSON.stringify(loaded.filter((r) => r.health === 'err')));
  });

  it('converges after being killed mid-apply, without a duplicate tunnel', async () => {
    const faults = `${fixture.emulator.adminUrl}/faults`;
    await fetch(faults, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs: 800 }) });
    try {
      const c = await fixture.push((t) => addCustomers(t, customerBlock('killme')), 'Onboard killme');
      const body = pushPayload(c);
      const from = proc.lines.length;
      await hook(body, { 'x-hub-signature-256': signBody(fixture.webhookSecret, body) });
      await proc.waitFor((l) => l.msg === 'action started' && l.customer === 'killme' && l.kind === 'tunnel', 10_000, from);
      await proc.kill('SIGKILL');
    } finally {
      await fetch(faults, { method: 'DELETE' });
    }
    proc = new ControllerProcess(fixture, port);
    const interrupted = await proc.waitFor((l) => l.msg === 'action interrupted by a restart', 30_000);
    assert.equal(interrupted.customer, 'killme');
    const started = await proc.waitFor((l) => l.msg === 'reconcile started', 30_000);
    assert.equal(started.customer, 'killme', 'the interrupted customer goes first');
    await until('killme converged', async () => {
      const v = await status();
      const dns = v.customers.find((c) => c.customer === 'killme')?.resources.find((r) => r.kind === 'dns');
      return dns?.sync === 'Synced' ? v : null;
    }, 30_000);
    assert.equal(fixture.emulator.store.state.tunnels.filter((t) => t.name === 'axe-killme' && !t.deleted_at).length, 1, 'one tunnel, not two');
    assert.equal(fixture.emulator.store.state.records.filter((r) => r.name === 'killme.axelabs.ai').length, 1);
    // The history survived the kill: the first revision and the interruption are both there.
    const hist = await exec(process.execPath, [...process.execArgv, ENTRY, 'history', '--json', '--limit', '500', '--config', fixture.configPath], { env: { ...process.env, AXE_HOME: fixture.home } });
    const events = JSON.parse(hist.stdout) as Array<{ type: string; customer: string | null; revision: string | null }>;
    assert.ok(events.some((e) => e.type === 'revision' && e.revision === c1));
    assert.ok(events.some((e) => e.type === 'interrupted' && e.customer === 'killme'));
    assert.ok(events.some((e) => e.type === 'rejected'));
    const tunnelCreates = events.filter((e) => e.type === 'action' && e.customer === 'killme');
    assert.ok(tunnelCreates.length <= 2, 'tunnel and DNS created at most once each after the restart');
  });
});
