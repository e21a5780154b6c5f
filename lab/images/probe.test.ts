/**
 * lab/images/probe.sh (the stand-ins' healthcheck wrapper): one check while not yet
 * healthy, six spaced checks once healthy, a failing or hanging check fails the probe at
 * once and forgets the mark; and the service stand-ins' compose files inline the same
 * lines (their `x-probe`), with healthcheck timeouts that cover a whole backed-off probe.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const exec = promisify(execFile);
const HERE = import.meta.dirname;
const PROBE = join(HERE, 'probe.sh');
const SERVICES = join(HERE, '..', 'services');

/** The probe's statements, one line each, comments dropped, joined as a folded YAML scalar joins them. */
function statements(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')).map((l) => l.trim());
  return lines.map((l, i) => (i < lines.length - 1 && !l.endsWith(';') ? `${l};` : l)).join(' ');
}

describe('lab-probe (the stand-ins\' healthcheck wrapper)', () => {
  let dir: string;
  let mark: string;
  let calls: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'axe-probe-'));
    mark = join(dir, 'mark');
    calls = join(dir, 'calls');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Runs the probe with a check that records each call and fails from call `failAt` on (0: never). */
  async function probe(options: { marked: boolean; failAt?: number; hang?: boolean }): Promise<{ code: number; checks: number; marked: boolean; ms: number }> {
    await rm(mark, { force: true });
    await writeFile(calls, '');
    if (options.marked) await writeFile(mark, '');
    const check = `echo x >> "${calls}"; n=$(wc -l < "${calls}"); ${options.hang ? 'sleep 10; ' : ''}[ ${options.failAt ?? 0} -eq 0 ] || [ "$n" -lt ${options.failAt ?? 0} ]`;
    const started = Date.now();
    const code = await exec('/bin/sh', [PROBE, '/bin/sh', '-c', check], { env: { ...process.env, LAB_PROBE_MARK: mark, LAB_PROBE_EVERY: '0.05', LAB_PROBE_TIMEOUT: '0.3' } }).then(
      () => 0,
      (e: { code?: number }) => e.code ?? -1,
    );
    const checks = (await readFile(calls, 'utf8')).split('\n').filter(Boolean).length;
    return { code, checks, marked: await stat(mark).then(() => true, () => false), ms: Date.now() - started };
  }

  it('not yet healthy: one check, at once; a pass leaves the mark', async () => {
    assert.deepEqual(await probe({ marked: false }).then(({ code, checks, marked }) => ({ code, checks, marked })), { code: 0, checks: 1, marked: true });
    assert.deepEqual(await probe({ marked: false, failAt: 1 }).then(({ code, checks, marked }) => ({ code, checks, marked })), { code: 1, checks: 1, marked: false });
  });

  it('healthy: six spaced checks in one probe, the mark kept', async () => {
    const r = await probe({ marked: true });
    assert.deepEqual({ code: r.code, checks: r.checks, marked: r.marked }, { code: 0, checks: 6, marked: true });
    assert.ok(r.ms >= 6 * 50, `the checks are spaced (${r.ms} ms)`);
  });

  it('healthy, then a check fails: the probe fails at once and forgets the mark', async () => {
    assert.deepEqual(await probe({ marked: true, failAt: 3 }).then(({ code, checks, marked }) => ({ code, checks, marked })), { code: 1, checks: 3, marked: false });
  });

  it('a hanging check is cut off after LAB_PROBE_TIMEOUT', async () => {
    const r = await probe({ marked: true, hang: true });
    assert.deepEqual({ code: r.code, checks: r.checks, marked: r.marked }, { code: 1, checks: 1, marked: false });
    assert.ok(r.ms < 5_000, `cut off (${r.ms} ms)`);
  });

  it('the service stand-ins inline the same probe, with healthcheck timeouts covering a backed-off probe', async () => {
    const expected = statements(await readFile(PROBE, 'utf8'));
    for (const [service, checkTimeout] of [['frame', '${AXE_LAB_HEALTH_TIMEOUT:-2s}'], ['blueprint', '2s'], ['hive', '2s']] as const) {
      const doc = parse(await readFile(join(SERVICES, service, 'docker-compose.yml'), 'utf8'), { merge: true }) as { 'x-probe': string; services: Record<string, { healthcheck?: { test: string[]; timeout: string } }> };
      const inlined = doc['x-probe'].replaceAll('$$', '$').replace(`timeout ${checkTimeout} `, 'timeout "${LAB_PROBE_TIMEOUT:-2s}" ');
      assert.equal(inlined, expected, `${service}'s x-probe differs from lab/images/probe.sh`);
      const checks = Object.entries(doc.services).filter(([, s]) => s.healthcheck);
      assert.ok(checks.length > 0);
      for (const [name, s] of checks) {
        assert.deepEqual(s.healthcheck!.test.slice(0, 5), ['CMD', '/bin/sh', '-c', doc['x-probe'], 'lab-probe'], `${service}/${name} runs through the probe`);
        // 6 x (5 s + the check's timeout: 2 s, or the rollout lab's 10 s for frame).
        assert.ok(Number.parseInt(s.healthcheck!.timeout, 10) >= (service === 'frame' ? 90 : 42), `${service}/${name} timeout ${s.healthcheck!.timeout}`);
      }
    }
  });
});
