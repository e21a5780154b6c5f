/**
 * What ships in deploy/, checked with the real tools where they run here:
 * `promtool test rules` (Debian's prometheus package) for the alert rules,
 * `promtool check` for the Prometheus config and for every PromQL expression
 * of the Grafana dashboard, `docker compose config` for the compose file,
 * Python's plistlib for the launchd plist, and the CI workflow's YAML. Every
 * metric the rules and the dashboard name must exist in the controller.
 * Not run here: building the controller image (no registry for node:20),
 * starting Grafana (not packaged by Debian), loading the plist (no launchd).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ControllerMetrics } from '../controller/metrics.js';
import { RolloutMetrics } from '../controller/rollout/metrics.js';
import { ROOT, tempDir } from './helpers.js';

const exec = promisify(execFile);
const DEPLOY = join(ROOT, 'deploy');

async function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; out: string }> {
  try {
    const r = await exec(cmd, args, { cwd: options.cwd, env: { ...process.env, ...options.env } });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 127, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Every metric name the controller exposes (from a fresh registry's HELP lines). */
async function controllerMetricNames(): Promise<Set<string>> {
  const m = new ControllerMetrics({ queue: () => ({ depth: 0, inFlight: 0, delayed: 0 }), openDrift: () => [], providers: () => [], alerts: () => [] });
  new RolloutMetrics(m.registry);
  const text = await m.text();
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!match) continue;
    names.add(match[1]!);
    if (match[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${match[1]}${s}`);
  }
  return names;
}

function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(axe_[a-z0-9_]+|process_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
}

describe('deploy/', () => {
  it('alert rules pass their promtool unit tests, and the tests catch a broken rule', async () => {
    const ok = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: join(DEPLOY, 'prometheus') });
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /SUCCESS/);
    const check = await run('promtool', ['check', 'config', 'prometheus.yml'], { cwd: join(DEPLOY, 'prometheus') });
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /11 rules found/);

    // A rule that fires too early must make the unit tests fail.
    await using dir = await tempDir('rules');
    const rules = await readFile(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8');
    const broken = rules.replace(/(alert: AxeCustomerDegraded\n\s+expr: [^\n]+\n\s+)for: 10m/, '$1for: 1m');
    assert.notEqual(broken, rules);
    await writeFile(join(dir.path, 'alerts.yml'), broken);
    await copyFile(join(DEPLOY, 'prometheus', 'alerts.test.yml'), join(dir.path, 'alerts.test.yml'));
    const failing = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: dir.path });
    assert.notEqual(failing.code, 0, 'the tests notice the broken rule');
    assert.match(failing.out, /AxeCustomerDegraded/);
  });

  it('names only metrics the controller exposes, in the rules and in the dashboard', async () => {
    const known = await controllerMetricNames();
    const rules = parse(await readFile(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const dashboard = JSON.parse(await readFile(join(DEPLOY, 'grafana', 'dashboards', 'axe-fleet.json'), 'utf8')) as { panels: Panel[]; annotations: { list: Array<{ expr: string }> } };
    const exprs = [...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...dashboard.annotations.list.map((a) => a.expr)];
    const unknown = [...new Set(exprs.flatMap(metricNames))].filter((n) => !known.has(n));
    assert.deepEqual(unknown, []);
  });

  it('has a Grafana dashboard whose every query is valid PromQL, on the provisioned datasource', async () => {
    const dashboard = JSON.parse(await readFile(join(DEPLOY, 'grafana', 'dashboards', 'axe-fleet.json'), 'utf8')) as {
      uid: string;
      panels: Panel[];
      templating: { list: Array<{ name: string }> };
      annotations: { list: Array<{ expr: string }> };
    };
    const datasource = parse(await readFile(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8')) as { datasources: Array<{ uid: string; url: string }> };
    const uid = datasource.datasources[0]!.uid;
    assert.equal(dashboard.uid, 'axe-fleet');
    assert.deepEqual(dashboard.templating.list.map((v) => v.name), ['customer']);
    const titles = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    assert.deepEqual(titles, ['Fleet overview', 'Reconcile', 'Drift', 'Customer: $customer', 'Backups', 'Releases']);
    const queries = dashboard.panels.filter((p) => p.type !== 'row');
    assert.ok(queries.length >= 20, `${queries.length} panels`);
    for (const p of queries) {
      assert.equal(p.datasource?.uid, uid, `${p.title} uses the provisioned datasource`);
      assert.ok((p.targets ?? []).length > 0, `${p.title} has a query`);
    }
    // Grafana's variables replaced by what it sends, then promtool parses every expression.
    const exprs = [...queries.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...dashboard.annotations.list.map((a) => a.expr)];
    const concrete = exprs.map((e) => e.replaceAll('$__rate_interval', '2m').replaceAll('$customer', 'acme'));
    await using dir = await tempDir('dash');
    const file = join(dir.path, 'dashboard-queries.yml');
    await writeFile(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: concrete.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
    const check = await run('promtool', ['check', 'rules', file]);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, new RegExp(`SUCCESS: ${concrete.length} rules found`));
  });

  it('ships a Prometheus config that routes to Alertmanager and an Alertmanager config that amtool accepts', async () => {
    const prom = await run('promtool', ['check', 'config', 'prometheus.yml'], { cwd: join(DEPLOY, 'prometheus') });
    assert.equal(prom.code, 0, prom.out);
    const promConfig = parse(await readFile(join(DEPLOY, 'prometheus', 'prometheus.yml'), 'utf8')) as { alerting?: { alertmanagers?: Array<{ static_configs?: Array<{ targets?: string[] }> }> } };
    assert.deepEqual(promConfig.alerting?.alertmanagers?.[0]?.static_configs?.[0]?.targets, ['alertmanager:9093']);
    const am = await run('amtool', ['check-config', join(DEPLOY, 'alertmanager', 'alertmanager.yml')]);
    assert.equal(am.code, 0, am.out);
    assert.match(am.out, /SUCCESS/);
    // The check is real: a route to a receiver that does not exist is refused.
    await using dir = await tempDir('am');
    const broken = join(dir.path, 'alertmanager.yml');
    await writeFile(broken, (await readFile(join(DEPLOY, 'alertmanager', 'alertmanager.yml'), 'utf8')).replace('receiver: operators\n  group_by', 'receiver: nobody\n  group_by'));
    const refused = await run('amtool', ['check-config', broken]);
    assert.notEqual(refused.code, 0, refused.out);
  });

  it('has a compose file that Compose accepts, needs the Grafana password, and mounts what exists', async () => {
    const compose = join(DEPLOY, 'compose.yaml');
    const ok = await run('docker', ['compose', '-f', compose, 'config', '--format', 'json'], { env: { GRAFANA_ADMIN_PASSWORD: 'test-only', AXE_HOME: '/tmp/axe-home' } });
    assert.equal(ok.code, 0, ok.out);
    const config = JSON.parse(ok.out.slice(ok.out.indexOf('{'))) as { services: Record<string, { ports?: Array<{ host_ip: string }>; volumes?: Array<{ source: string; type: string }>; command?: string[] }> };
    assert.deepEqual(Object.keys(config.services).sort(), ['alertmanager', 'controller', 'grafana', 'prometheus']);
    for (const [name, svc] of Object.entries(config.services)) {
      for (const p of svc.ports ?? []) assert.equal(p.host_ip, '127.0.0.1', `${name} publishes on loopback only`);
      for (const v of svc.volumes ?? []) if (v.type === 'bind' && v.source.startsWith(DEPLOY)) await stat(v.source);
    }
    assert.deepEqual(config.services.controller!.command!.slice(0, 1), ['controller']);
    const missing = await run('docker', ['compose', '-f', compose, 'config', '-q'], { env: { GRAFANA_ADMIN_PASSWORD: '' } });
    assert.notEqual(missing.code, 0, 'no default Grafana password');
    assert.match(missing.out, /GRAFANA_ADMIN_PASSWORD/);
  });

  it('has a launchd plist with the keys launchd needs, absolute paths and an explicit PATH', async () => {
    const path = join(DEPLOY, 'launchd', 'ai.axelabs.axe-controller.plist');
    const script = 'import json, plistlib, sys\nwith open(sys.argv[1], "rb") as f:\n    print(json.dumps(plistlib.load(f)))';
    const r = await run('/usr/bin/python3', ['-c', script, path]);
    assert.equal(r.code, 0, r.out);
    const plist = JSON.parse(r.out) as Record<string, unknown>;
    assert.equal(plist.Label, 'ai.axelabs.axe-controller', 'Label matches the file name');
    const args = plist.ProgramArguments as string[];
    assert.ok(Array.isArray(args) && args.every((a) => typeof a === 'string'));
    assert.ok(args[0]!.startsWith('/'), 'launchd needs an absolute program path');
    assert.deepEqual(args.slice(1, 3), ['controller', '--config']);
    assert.equal(plist.RunAtLoad, true);
    assert.equal(plist.KeepAlive, true);
    const env = plist.EnvironmentVariables as Record<string, string>;
    assert.ok(env.PATH!.split(':').includes('/opt/homebrew/bin'), 'the non-login PATH trap: Homebrew tools are on PATH');
    const paths = [...args.slice(1), env.AXE_HOME!, plist.WorkingDirectory, plist.StandardOutPath, plist.StandardErrorPath].filter((p): p is string => typeof p === 'string' && p.includes('/'));
    for (const p of paths) assert.ok(p.startsWith('/') && !p.includes('~') && !p.includes('$'), `${p} is absolute (launchd expands neither ~ nor $HOME)`);
    // A malformed plist is refused by the same check.
    await using dir = await tempDir('plist');
    await writeFile(join(dir.path, 'bad.plist'), (await readFile(path, 'utf8')).replace('<true/>\n  <key>KeepAlive</key>', '<true>\n  <key>KeepAlive</key>'));
    assert.notEqual((await run('/usr/bin/python3', ['-c', script, join(dir.path, 'bad.plist')])).code, 0);
  });

  it('has a CI workflow that validates and posts the plan of the changed customers', async () => {
    const wf = parse(await readFile(join(DEPLOY, 'ci', 'pr-plan.yml'), 'utf8')) as {
      on: { pull_request: unknown };
      permissions: Record<string, string>;
      jobs: Record<string, { steps: Array<{ run?: string; uses?: string }> }>;
    };
    assert.ok(wf.on.pull_request);
    assert.equal(wf.permissions['pull-requests'], 'write');
    const runs = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ''));
    assert.ok(runs.some((r) => /\baxe validate\b/.test(r)));
    assert.ok(runs.some((r) => /\baxe plan\b.*--base "\$BASE" --head "\$HEAD" --markdown/.test(r)));
    assert.ok(runs.some((r) => /gh pr comment/.test(r)));
    assert.ok(!runs.some((r) => /--apply/.test(r)), 'CI never applies: the controller does, on merge');
  });

  it('keeps its README in step with the files it describes', async () => {
    const readme = await readFile(join(DEPLOY, 'README.md'), 'utf8');
    for (const f of ['compose.yaml', 'alertmanager/alertmanager.yml', 'prometheus/alerts.yml', 'prometheus/alerts.test.yml', 'grafana/dashboards/axe-fleet.json', 'launchd/ai.axelabs.axe-controller.plist', 'ci/pr-plan.yml']) {
      assert.ok(readme.includes(f), `README mentions ${f}`);
      await readFile(join(DEPLOY, f));
    }
  });
});
