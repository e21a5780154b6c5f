import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { ServiceCheck, StackManifest, withDefaultKind } from '../../schemas/service-manifest.js';
import { type CheckDesired, type ChecksDesired, checkKey, diffChecks, evaluateCheck, evaluateChecks, healthChecks, judge, type Probe, TIMED_OUT } from './diff.js';
import { frame } from '../../providers/host/facts/fact.js';
import { checksSection, readChecks } from './host.js';

const exec = promisify(execFile);
const NOW = Date.parse('2026-12-06T12:00:00Z');

const audit: CheckDesired = {
  service: 'frame',
  name: 'audit-log',
  description: "frame's audit_log is on and records journal entries",
  project: 'demo-frame',
  container: '@active',
  blueGreen: { project: 'demo-frame', checkout: '~/.axe/stacks/frame', blue: 'frame-mcp-blue', green: 'frame-mcp-green', proxy: 'axe-frame-proxy', showCommand: ['frame-proxy-switch'] },
  command: ['frame', 'audit-status'],
  expect: [{ field: 'enabled', equals: true }, { field: 'entries', min: 1 }, { field: 'newest_at', max_age: '30d' }],
  detail: 'reason',
  fix: 'Turn the audit log back on.',
};
const desired: ChecksDesired = { customer: 'demo', checks: [audit] };
const answer = (a: Record<string, unknown>): Probe => ({ state: 'ran', code: 0, stdout: JSON.stringify(a), stderr: '' });
const active = answer({ enabled: true, entries: 3, newest_at: '2026-12-06T11:58:00Z' });

test('schema: a check needs a name, a command, at least one expectation and a fix; expectations are equals, min or max_age', () => {
  const ok = ServiceCheck.parse({ name: 'audit-log', description: 'd', exec: { container: '@active', command: ['frame', 'audit-status'] }, expect: [{ field: 'enabled', equals: true }, { field: 'a.b', min: 1 }, { field: 'newest_at', max_age: '7d' }], detail: 'reason', fix: 'f' });
  assert.equal(ok.expect.length, 3);
  const bad = (patch: Record<string, unknown>) => ServiceCheck.safeParse({ name: 'audit-log', description: 'd', exec: { container: 'postgres', command: ['x'] }, expect: [{ field: 'enabled', equals: true }], fix: 'f', ...patch }).success;
  assert.equal(bad({}), true);
  assert.equal(bad({ name: 'Audit Log' }), false, 'a name is a-z, 0-9, -');
  assert.equal(bad({ expect: [] }), false, 'at least one expectation');
  assert.equal(bad({ expect: [{ field: 'enabled' }] }), false, 'an expectation says what it wants');
  assert.equal(bad({ expect: [{ field: 'newest_at', max_age: '1 week' }] }), false, 'max_age is a duration');
  assert.equal(bad({ expect: [{ field: 'x y', min: 1 }] }), false, 'a field is a dotted path');
  assert.equal(bad({ fix: undefined }), false, 'a failing check says what to do');
  assert.equal(bad({ exec: { container: 'postgres', command: [] } }), false);
  assert.equal(bad({ shell: 'rm -rf /' }), false, 'strict: unknown keys refused');
  // The shipped frame manifest carries the D+7 audit-log check, and a manifest without checks has none.
  const frame = StackManifest.parse(withDefaultKind(parse(readFileSync(new URL('../../examples/customers/services/frame.yaml', import.meta.url), 'utf8'))));
  assert.deepEqual(frame.checks.map((c) => [c.name, c.exec.container, c.exec.command]), [['audit-log', '@active', ['frame', 'audit-status']]]);
  const hive = StackManifest.parse(withDefaultKind(parse(readFileSync(new URL('../../examples/customers/services/hive.yaml', import.meta.url), 'utf8'))));
  assert.deepEqual(hive.checks, []);
});

test('converged: every check passes, nothing is planned, Healthy with what was found', () => {
  const observed = evaluateChecks(desired, new Map([[checkKey(audit), active]]), NOW);
  assert.deepEqual(diffChecks(desired, observed), []);
  assert.deepEqual(diffChecks(desired, null), []);
  const health = healthChecks(desired, observed);
  assert.deepEqual([health.status, health.reason, health.trap], ['Healthy', 'ChecksPassing', undefined]);
  assert.equal(health.message, "frame audit-log: frame's audit_log is on and records journal entries (enabled true, entries 3, newest_at 2m ago)");
});

test('the audit log switched off: Degraded CheckFailing with the service\'s reason and the manifest\'s fix', () => {
  const off = answer({ enabled: false, entries: 3, newest_at: '2026-12-06T11:58:00Z', reason: 'audit logging is switched off', secret_stuff: 'not shown' });
  const observed = evaluateChecks(desired, new Map([[checkKey(audit), off]]), NOW);
  assert.deepEqual(diffChecks(desired, observed), [], 'a failing check plans nothing either: a person fixes it');
  const health = healthChecks(desired, observed);
  assert.deepEqual([health.status, health.reason], ['Degraded', 'CheckFailing']);
  assert.equal(health.message, 'frame audit-log fails: enabled is false (want true): audit logging is switched off');
  assert.doesNotMatch(health.message, /not shown/, 'only the judged fields and the detail reach the message');
  assert.equal(health.trap?.trap, 'service-check-failed');
  assert.match(health.trap!.fix, /^frame's check audit-log fails on the Mac mini of demo \(wanted: frame's audit_log is on and records journal entries\)\. Turn the audit log back on\. To see its answer, on the host: docker compose -p demo-frame exec <the live color> frame audit-status\.$/);
});

test('expectations: equals, min, max_age (ISO or epoch seconds), missing fields', () => {
  assert.deepEqual(judge({ field: 'entries', min: 1 }, { entries: 0 }, NOW), { ok: false, found: 'entries is 0 (want at least 1)' });
  assert.deepEqual(judge({ field: 'entries', min: 1 }, { entries: '5' }, NOW), { ok: false, found: 'entries is "5" (want at least 1)' });
  assert.deepEqual(judge({ field: 'a.b', equals: 'on' }, { a: { b: 'on' } }, NOW), { ok: true, found: 'a.b "on"' });
  assert.deepEqual(judge({ field: 'a.b', equals: 'on' }, { a: 'on' }, NOW), { ok: false, found: 'a.b is missing (want "on")' });
  assert.deepEqual(judge({ field: 'newest_at', max_age: '7d' }, { newest_at: '2026-11-26T12:00:00Z' }, NOW), { ok: false, found: 'newest_at 10d ago (max 7d)' });
  assert.deepEqual(judge({ field: 'newest_at', max_age: '7d' }, { newest_at: NOW / 1000 - 3600 }, NOW), { ok: true, found: 'newest_at 60m ago' });
  assert.deepEqual(judge({ field: 'newest_at', max_age: '7d' }, { newest_at: null }, NOW), { ok: false, found: 'newest_at is none (want a time within 7d)' });
  // No entry yet: two expectations fail, both named.
  const empty = evaluateCheck(audit, answer({ enabled: true, entries: 0, newest_at: null, reason: 'no journal entry has been recorded yet' }), NOW);
  assert.equal(empty.verdict, 'fail');
  assert.equal(empty.message, 'frame audit-log fails: entries is 0 (want at least 1), newest_at is none (want a time within 30d): no journal entry has been recorded yet');
});

test('no answer: a failed command, a killed one and output that is not one JSON object are Degraded CheckUnanswered; no running container is Missing CheckNotRun', () => {
  const failed = evaluateCheck(audit, { state: 'ran', code: 2, stdout: '', stderr: 'frame: unknown command "audit-status"' }, NOW);
  assert.deepEqual([failed.verdict, failed.message], ['unanswered', 'frame audit-log: frame audit-status failed (exit 2: frame: unknown command "audit-status")']);
  assert.match(evaluateCheck(audit, { state: 'ran', code: TIMED_OUT, stdout: '', stderr: '' }, NOW).message, /failed \(no answer in time: killed\)/);
  assert.match(evaluateCheck(audit, { state: 'ran', code: 0, stdout: '[1,2]', stderr: '' }, NOW).message, /did not print one JSON object/);
  const unanswered = healthChecks(desired, evaluateChecks(desired, new Map([[checkKey(audit), { state: 'ran', code: 2, stdout: '', stderr: 'boom' }]]), NOW));
  assert.deepEqual([unanswered.status, unanswered.reason, unanswered.trap?.trap], ['Degraded', 'CheckUnanswered', 'service-check-failed']);
  const notRun = healthChecks(desired, evaluateChecks(desired, new Map([[checkKey(audit), { state: 'not-run', why: 'no running container for @active in demo-frame' }]]), NOW));
  assert.deepEqual([notRun.status, notRun.reason, notRun.message, notRun.trap], ['Missing', 'CheckNotRun', 'frame audit-log: not run (no running container for @active in demo-frame)', undefined]);
  // The worst check decides; every check is in the message.
  const other: CheckDesired = { ...audit, service: 'hive', name: 'ledger', container: 'hive-mcp', blueGreen: null, expect: [{ field: 'ok', equals: true }] };
  const two: ChecksDesired = { customer: 'demo', checks: [audit, other] };
  const mixed = healthChecks(two, evaluateChecks(two, new Map([[checkKey(audit), active], [checkKey(other), answer({ ok: false })]]), NOW));
  assert.deepEqual([mixed.status, mixed.reason], ['Degraded', 'CheckFailing']);
  assert.match(mixed.message, /^frame audit-log: .*; hive ledger fails: ok is false \(want true\)$/);
  assert.match(mixed.trap!.fix, /^hive's check ledger fails .*docker compose -p demo-frame exec hive-mcp frame audit-status/);
  assert.equal(healthChecks(desired, null).status, 'Unknown');
});

test('the host section: runs each check in its container (the live color for @active), bounded in time, in one read; parsed back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'axe-checks-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A docker stand-in: `ps` finds the containers marked running, `exec` answers per container.
  await writeFile(join(dir, 'docker'), [
    '#!/bin/sh',
    `dir=${dir}`,
    'case "$1" in',
    '  ps) for a; do case "$a" in label=com.docker.compose.service=*) s=${a#label=com.docker.compose.service=};; esac; done; if [ -f "$dir/running-$s" ]; then echo "ctr-$s"; fi;;',
    '  exec) c=$2; shift 2; echo "$*" >> "$dir/exec.log"; case "$c" in',
    '    ctr-frame-mcp-green) echo \'{"enabled":true,"entries":2,"newest_at":"2026-12-06T11:00:00Z"}\';;',
    '    ctr-slow) sleep 5; echo \'{}\';;',
    '    ctr-broken) echo "frame: unknown command" >&2; exit 2;;',
    '  esac;;',
    'esac',
  ].join('\n'));
  await chmod(join(dir, 'docker'), 0o755);
  for (const s of ['frame-mcp-green', 'slow', 'broken']) await writeFile(join(dir, `running-${s}`), '');
  await writeFile(join(dir, '.axe-active'), 'green\n');
  const checks: CheckDesired[] = [
    { ...audit, blueGreen: { ...audit.blueGreen!, checkout: dir } },
    { ...audit, name: 'stopped', container: 'postgres', blueGreen: null },
    { ...audit, name: 'slow', container: 'slow', blueGreen: null },
    { ...audit, name: 'broken', container: 'broken', blueGreen: null, command: ['frame', "it's quoted"] },
  ];
  const d: ChecksDesired = { customer: 'demo', checks };
  const script = checksSection(d, [dir], 1).script;
  const started = Date.now();
  const { stdout } = await exec('/bin/sh', ['-c', script]);
  const took = Date.now() - started;
  assert.ok(took < 3500, `the killed check and its timer hold nothing open: ${took} ms`);
  const { now, probes } = readChecks(stdout, d, 0);
  assert.ok(Math.abs(now - Date.now()) < 5000, 'the host clock');
  assert.deepEqual(probes.get('frame/audit-log'), { state: 'ran', code: 0, stdout: '{"enabled":true,"entries":2,"newest_at":"2026-12-06T11:00:00Z"}', stderr: '' });
  assert.deepEqual(probes.get('frame/stopped'), { state: 'not-run', why: 'no running container for postgres in demo-frame' });
  assert.deepEqual(probes.get('frame/slow'), { state: 'ran', code: TIMED_OUT, stdout: '', stderr: '' });
  assert.deepEqual(probes.get('frame/broken'), { state: 'ran', code: 2, stdout: '', stderr: 'frame: unknown command' });
  assert.equal(readFileSync(join(dir, 'exec.log'), 'utf8').split('\n').filter((l) => l.includes("it's quoted")).length, 1, 'arguments reach the container as words');
  // No docker: every check is not run.
  const none = readChecks(frame('now', '1765000000') + frame('docker', ''), d, 0);
  assert.equal(none.now, 1_765_000_000_000);
  assert.deepEqual(none.probes.get('frame/audit-log'), { state: 'not-run', why: 'docker was not found by absolute path on the host' });
  // No answer from the host at all: no check is judged (each shows "no answer from the host"); the clock falls back.
  assert.deepEqual(readChecks('', d, 7), { now: 7, probes: new Map() });
  // The host could not make the facts' directory: each check says so.
  const noTemp = readChecks(frame('now', '1765000000') + frame('docker', '/usr/bin/docker') + frame('check0', '', -1, 'mktemp failed on the host'), d, 0);
  assert.deepEqual(noTemp.probes.get('frame/audit-log'), { state: 'not-run', why: 'mktemp failed on the host' });
  // The section is read-only: no docker verb but ps and exec (of the manifest's command), nothing written outside its temp files.
  assert.doesNotMatch(script, /"\$D" (run|rm|stop|start|compose|cp)\b/);
});
