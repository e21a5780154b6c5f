/**
 * A fleet release in the lab (bench/fleet-lab.ts: six lab hosts with real sshd,
 * Docker and Compose, the Cloudflare emulator and edge, the Tailscale stand-in,
 * the file vault; the git-host stand-in for commit statuses), the controller
 * running as in controller-lab.test.ts (6 workers: the baseline deploys at
 * once). The customers carry frame only (the stack a release rolls out); its
 * manifest in this lab sets a rollout (canary by label, then waves of 2 and the
 * rest, bake 5 s, budget 1, offline deadline 10 s), calmer healthchecks (every
 * 3 s, each timing out after 10 s, not 2 s: 24 stand-in containers probed
 * every second starve two CPUs, and a loaded machine starts the node probe
 * slowly) and no `migrating` hook (the snapshot gate is test/deploy.test.ts's and test/backup-lab.ts's).
 * About 3 min on a quiet machine: the six first deploys, the broken release's
 * health timeout, and the fixing ref's waves and window are most of it.
 *
 *   c01 canary · c02, c03 wave 1 (c03 offline) · c04, c05 wave 2 (c05 has a
 *   maintenance window) · c06 pinned to v1.0.0
 *
 * v1.0.0 is the baseline (every customer). v1.2.0-broken: the canary rolls back,
 * the rollout halts with its budget spent, nobody else is touched, RolloutHalted
 * fires, axe/c01 is failure with the reason. v1.1.0 (the fixing ref) restarts it:
 * canary, then wave 1 after the bake (c03 offline is pending and does not hold
 * it), then wave 2; c05 outside its window keeps its swap while its deleted DNS
 * record is put back at once, and swaps when the window (set from the test's
 * clock) opens, while c03, back online, catches up; c06 never moves.
 * AXE_TEST_CONTROLLER_LOG=FILE keeps the controller's JSON log (AXE_LOG_LEVEL=debug
 * adds every pass's end: a pass that acted nothing is logged at debug only).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { type FleetLab, rolloutFrameManifest, startFleetLab } from '../bench/fleet-lab.js';
import type { AlertNotice } from '../controller/alerts.js';
import type { RunningController } from '../controller/run.js';
import { readCloudflareEndpoint } from '../lab/cloudflare/index.js';
import type { GitHostStandIn } from '../lab/githost/server.js';
import { setPeerState } from '../lab/tailscale/status.js';
import { axe, git, until } from './helpers.js';
import { type LabController, openLabController } from './lab-controller.js';

const exec = promisify(execFile);
const BAKE_MS = 5_000;
const DEADLINE_MS = 10_000;

describe('a frame release across six lab customers: canary, waves, halt, pins, windows, offline', { timeout: 900_000 }, () => {
  let lab: FleetLab;
  let running: RunningController;
  let standIn: GitHostStandIn;
  let labController: LabController | undefined;
  let ids: string[];
  const notices: AlertNotice[] = [];
  const t0 = Date.now();
  const mark = (what: string): void => console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  const [C1, C2, C3, C4, C5, C6] = [0, 1, 2, 3, 4, 5];
  const id = (i: number): string => ids[i]!;

  async function push(edit: (path: string) => Promise<void>, message: string): Promise<string> {
    await edit(lab.repo);
    await git(lab.repo, 'commit', '-qam', message);
    await git(lab.repo, 'push', '-q', 'origin', 'HEAD:main');
    const head = (await git(lab.repo, 'rev-parse', 'HEAD')).trim();
    const outcome = await running.controller.sync('manual');
    assert.equal(outcome.result, 'applied', JSON.stringify(outcome));
    return head;
  }
  const editFile = (name: string, f: (t: string) => string) => async (repo: string) => {
    const path = join(repo, name);
    await writeFile(path, f(await readFile(path, 'utf8')));
  };
  const setRef = (ref: string) => editFile('services/frame.yaml', (t) => t.replace(/^( {2}ref: ).*$/m, `$1${ref}`));
  const editCustomers = (f: (doc: { customers: Record<string, Record<string, unknown>> }) => void) =>
    editFile('customers.yaml', (t) => {
      const doc = parse(t) as { customers: Record<string, Record<string, unknown>> };
      f(doc);
      return stringify(doc);
    });

  /** The running frame-mcp containers of a customer: image tag (the ref) and id. */
  async function frame(i: number): Promise<{ refs: string[]; containers: string[] }> {
    const { stdout } = await exec('docker', ['ps', '--filter', `label=com.docker.compose.project=${id(i)}-frame`, '--format', '{{.ID}} {{.Image}}']);
    const rows = stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]);
    return { refs: rows.filter(([, img]) => img.startsWith('axelab-frame-mcp:')).map(([, img]) => img.slice('axelab-frame-mcp:'.length)), containers: rows.map(([cid]) => cid).sort() };
  }
  const rollout = () => running.controller.history.currentRollout('frame')!;
  const rows = () => new Map(running.controller.history.rolloutCustomers(rollout().id).map((r) => [r.customer, r]));
  const rolloutEvents = () => running.controller.history.events({ types: ['rollout'], limit: 1000 });
  const converged = (i: number) => {
    const rs = running.controller.status(id(i)).customers[0]?.resources ?? [];
    return rs.length > 0 && rs.every((r) => r.sync === 'Synced' && r.health === 'Healthy');
  };

  before(async () => {
    lab = await startFleetLab(6, () => undefined, {
      services: ['frame'],
      deployable: true,
      async seed(dir, fleet) {
        const manifest = join(dir, 'services', 'frame.yaml');
        const policy = `rollout:\n  canary: { label: canary }\n  waves: [2]\n  bake: ${BAKE_MS / 1000}s\n  failure_budget: 1\n  offline_deadline: ${DEADLINE_MS / 1000}s\n`;
        await writeFile(manifest, rolloutFrameManifest(await readFile(manifest, 'utf8'), policy));
        const path = join(dir, 'customers.yaml');
        const doc = parse(await readFile(path, 'utf8')) as { customers: Record<string, Record<string, unknown>> };
        doc.customers[fleet[C1]!]!.labels = ['canary'];
        doc.customers[fleet[C6]!]!.pins = { frame: 'v1.0.0' };
        await writeFile(path, stringify(doc));
      },
    });
    ids = lab.ids;
    mark('lab up');
    labController = await openLabController(lab.env, {
      gitHost: { token: 'ghp_lab_standin_token_rollout_status_01' },
      config: { concurrency: 6 },
      timings: { progressingRequeueMs: 2_000, degradedRequeueMs: 10_000, backoffMaxMs: 4_000, alertEvalMs: 1_000, rolloutTickMs: 1_000 },
    });
    ({ running } = labController);
    standIn = labController.gitHost!;
    running.controller.on('alerts', (n: AlertNotice[]) => notices.push(...n));
  });

  after(async () => {
    await labController?.stop();
    await lab?.close();
  });

  it('v1.0.0 is the baseline: every customer runs it, in no wave', async () => {
    await until('six customers converged on v1.0.0', async () => ids.every((_, i) => converged(i)), 600_000, 1_000).catch((error: Error) => {
      throw new Error(`${error.message}: ${ids.map((c) => `${c}: ${JSON.stringify((running.controller.status(c).customers[0]?.resources ?? []).filter((r) => r.health !== 'Healthy').map((r) => [r.kind, r.sync, r.health, r.message]))}`).join('; ')}`);
    });
    await running.controller.queue.idle();
    mark('baseline converged');
    for (const i of ids.keys()) assert.deepEqual((await frame(i)).refs, ['v1.0.0'], id(i));
    assert.equal(rollout().ref, 'v1.0.0');
    assert.equal(rollout().state, 'complete');
    assert.match(rolloutEvents().map((e) => e.message).join('\n'), /frame v1\.0\.0: baseline/);
  });

  it('a broken release: the canary rolls back, the rollout halts with its budget spent, nobody else is touched, RolloutHalted, axe/canary failure', async () => {
    const before = await Promise.all(ids.map((_, i) => frame(i)));
    const eventsBefore = rolloutEvents().length;
    const head = await push(setRef('v1.2.0-broken'), 'frame v1.2.0');
    await until('the rollout halted', () => rollout().ref === 'v1.2.0-broken' && rollout().state === 'halted', 240_000, 500);
    await running.controller.queue.idle();
    mark('broken release halted');
    const r = rows();
    const canary = r.get(id(C1))!;
    assert.equal(canary.wave, 0);
    assert.ok(canary.failed_at !== null && canary.step && canary.reason, JSON.stringify(canary));
    for (const i of [C2, C3, C4, C5, C6]) assert.equal(r.get(id(i))?.admitted_at ?? null, null, `${id(i)} never started v1.2.0-broken`);
    // The canary still serves v1.0.0 (rollback); the others' frame containers are the same ones.
    assert.deepEqual((await frame(C1)).refs, ['v1.0.0']);
    for (const i of [C2, C3, C4, C5, C6]) assert.deepEqual(await frame(i), before[i], `${id(i)} untouched`);
    const events = rolloutEvents().slice(eventsBefore);
    assert.deepEqual(events.filter((e) => e.op === 'admit').map((e) => e.customer), [id(C1)]);
    assert.match(events.find((e) => e.op === 'failed')!.message, new RegExp(`${id(C1)} failed frame v1\\.2\\.0-broken at `));
    assert.match(events.find((e) => e.op === 'halted')!.message, new RegExp(`failure budget spent \\(1/1\\): ${id(C1)} at `));
    // RolloutHalted: the controller's own alert, and the gauge the Prometheus rule reads.
    await until('RolloutHalted firing', () => notices.some((n) => n.name === 'RolloutHalted' && n.status === 'firing'), 10_000);
    assert.match(notices.find((n) => n.name === 'RolloutHalted')!.summary, new RegExp(id(C1)));
    assert.match(await running.controller.metrics.text(), /^axe_rollout_halted\{service="frame"\} 1$/m);
    // The canary's commit status: failure, with the reason.
    const status = await until('axe/canary failure', () => standIn.statuses.find((s) => s.sha === head && s.context === `axe/${id(C1)}` && s.state === 'failure'), 60_000);
    mark(`axe/${id(C1)}: ${status.description}`);
    assert.match(status.description, new RegExp(`^release frame v1\\.2\\.0-broken failed at ${canary.step} \\(rolled back, v1\\.0\\.0 serves\\): \\S`));
    // axe rollout status: halted (exit 1), who failed at which step and why.
    const cli = await axe(['rollout', 'status', 'frame'], { env: lab.env });
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stdout, /^frame v1\.2\.0-broken \(from v1\.0\.0\): halted/);
    assert.match(cli.stdout, new RegExp(`canary +${id(C1)} +failed: at ${canary.step}`));
  });

  it('a fixing ref restarts it: canary, wave 1 after the bake, wave 2; offline, window and pin as they should', async () => {
    // c03 goes offline; c05's window is closed (it opens later, set from the clock below).
    await setPeerState(lab.stateDir, `${id(C3)}-macmini.tail-lab.ts.net`, { online: false });
    const closed = new Date(Date.now() + 6 * 3600_000);
    const hh = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    const windowAt = (from: Date) => ({ timezone: 'UTC', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], hours: `${hh(from)}-${hh(new Date(from.getTime() + 3600_000))}` }] });
    // One commit: c05's (closed) window and the fixing ref.
    const eventsBefore = rolloutEvents().length;
    const head = await push(
      async (repo) => {
        await editCustomers((d) => void (d.customers[id(C5)]!.maintenance = windowAt(closed)))(repo);
        await setRef('v1.1.0')(repo);
      },
      `frame v1.1.0; ${id(C5)}: maintenance window`,
    );
    assert.equal(rollout().ref, 'v1.1.0');

    // c05 admitted outside its window: its swap waits; its DNS record, deleted, is back at once.
    await until(`${id(C5)} waiting for its window`, () => rows().get(id(C5))?.waiting_window === 1, 240_000, 500);
    mark('wave 2 started; c05 waits for its window');
    const cf = (await readCloudflareEndpoint(lab.stateDir))!;
    const cfToken = (await readFile(cf.tokenFile, 'utf8')).trim();
    const dns = async (name: string) => ((await (await fetch(`${cf.apiBaseUrl}/zones/${cf.zoneId}/dns_records?name=${name}`, { headers: { authorization: `Bearer ${cfToken}` } })).json()) as { result: Array<{ id: string }> }).result[0];
    const name = `${id(C5)}.axelabs.ai`;
    const record = await dns(name);
    assert.ok(record, `${name} exists`);
    assert.equal((await fetch(`${cf.apiBaseUrl}/zones/${cf.zoneId}/dns_records/${record.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${cfToken}` } })).status, 200);
    await running.controller.driftScan();
    await until(`${name} back`, () => dns(name), 60_000, 500);
    assert.deepEqual((await frame(C5)).refs, ['v1.0.0'], 'the swap still waits for the window');
    assert.equal(rows().get(id(C5))?.waiting_window, 1);
    mark('c05 DNS drift fixed while its swap waits');

    // The window opens: set from the test's clock, at the next minute (windows are minutes).
    const opens = new Date(Math.ceil((Date.now() + 5_000) / 60_000) * 60_000);
    await push(editCustomers((d) => void (d.customers[id(C5)]!.maintenance = windowAt(opens))), `${id(C5)}: window opens ${hh(opens)}`);
    assert.deepEqual((await frame(C5)).refs, ['v1.0.0'], 'not before the window');
    // Meanwhile c03 comes back (wave 2 has started without it): it catches up while c05 waits for its window.
    await setPeerState(lab.stateDir, `${id(C3)}-macmini.tail-lab.ts.net`, { online: true });
    const [swappedAt] = await Promise.all([
      until(`${id(C5)} on v1.1.0`, async () => (await frame(C5)).refs.join() === 'v1.1.0', 180_000, 1_000).then(() => Date.now()),
      until(`${id(C3)} caught up`, async () => (await frame(C3)).refs.join() === 'v1.1.0', 180_000, 1_000).then(() => mark(`${id(C3)} caught up`)),
    ]);
    mark(`c05 swapped ${((swappedAt - opens.getTime()) / 1000).toFixed(1)} s after its window opened`);
    assert.ok(swappedAt >= opens.getTime(), 'the swap waited for the window');
    await until('every customer done', () => [C1, C2, C3, C4, C5].every((i) => rows().get(id(i))?.done_at !== null && rows().get(id(i)) !== undefined), 120_000, 500);
    await running.controller.queue.idle();
    mark('rollout complete');

    // Order and bake, from the history.
    const r = rows();
    const admitted = (i: number) => r.get(id(i))!.admitted_at!;
    assert.deepEqual([C1, C2, C3, C4, C5].map((i) => r.get(id(i))!.wave), [0, 1, 1, 2, 2]);
    assert.ok(admitted(C1) < admitted(C2) && admitted(C1) < admitted(C3));
    const wave1At = Math.min(admitted(C2), admitted(C3));
    assert.ok(wave1At >= r.get(id(C1))!.healthy_since! + BAKE_MS, `wave 1 ${wave1At} after the canary's bake ${r.get(id(C1))!.healthy_since! + BAKE_MS}`);
    const wave2At = Math.min(admitted(C4), admitted(C5));
    // Wave 2 waited for c02's bake and for c03's offline deadline, not for c03 itself.
    assert.ok(wave2At >= r.get(id(C2))!.healthy_since! + BAKE_MS);
    assert.ok(wave2At >= admitted(C3) + DEADLINE_MS);
    assert.ok(wave2At < r.get(id(C3))!.healthy_since!, 'wave 2 did not wait for the offline c03');
    const admits = rolloutEvents().slice(eventsBefore).filter((e) => e.op === 'admit');
    assert.equal(admits.length, 5, admits.map((e) => e.message).join('; '));
    assert.deepEqual(admits.slice(0, 1).map((e) => e.customer), [id(C1)]);
    assert.deepEqual(new Set(admits.slice(1, 3).map((e) => e.customer)), new Set([id(C2), id(C3)]));
    assert.deepEqual(new Set(admits.slice(3).map((e) => e.customer)), new Set([id(C4), id(C5)]));
    assert.match(admits[0]!.message, /\(canary\)/);

    // The pinned customer never moved, and was in no wave.
    assert.deepEqual((await frame(C6)).refs, ['v1.0.0']);
    assert.equal(r.get(id(C6))?.admitted_at ?? null, null);
    for (const i of [C1, C2, C3, C4, C5]) assert.deepEqual((await frame(i)).refs, ['v1.1.0'], id(i));

    // axe rollout status: complete, every customer done, the pinned one pinned.
    const cli = await axe(['rollout', 'status', 'frame', '--json'], { env: lab.env });
    assert.equal(cli.code, 0, cli.stderr);
    const [view] = JSON.parse(cli.stdout) as Array<{ ref: string; from: string; state: string; customers: Array<{ customer: string; wave: number; state: string }> }>;
    assert.deepEqual([view!.ref, view!.from, view!.state], ['v1.1.0', 'v1.0.0', 'complete']);
    const states = new Map(view!.customers.map((c) => [c.customer, c.state]));
    for (const i of [C1, C2, C3, C4, C5]) assert.equal(states.get(id(i)), 'done', id(i));
    assert.equal(states.get(id(C6)) ?? 'pinned', 'pinned');
    await until('RolloutHalted resolved', () => notices.some((n) => n.name === 'RolloutHalted' && n.status === 'resolved'), 10_000);
    const ok = await until('axe/canary success on the fix', () => standIn.statuses.find((s) => s.sha === head && s.context === `axe/${id(C1)}` && s.state === 'success'), 60_000);
    assert.match(ok.description, /Synced and Healthy/);
  });
});
