import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveRollout, type RolloutPolicy } from '../../schemas/rollout.js';
import { type CustomerProgress, type FleetMember, planRollout, type Release, waveMembers } from './plan.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 5, 8, 0);
const fleet = (ids: string[], extra: Partial<Record<string, Partial<FleetMember>>> = {}): FleetMember[] => ids.map((id) => ({ id, labels: [], pin: null, ...extra[id] }));
const SIX = ['a1', 'b2', 'c3', 'd4', 'e5', 'f6'];
const policy = (p: RolloutPolicy = {}) => resolveRollout({ canary: { customers: ['c3'] }, waves: [2], bake: '10m', failure_budget: 1, offline_deadline: '30m', ...p }, undefined);
const release: Release = { service: 'frame', ref: 'v2', control: 'running' };

function plan(progress: Record<string, CustomerProgress>, now: number, p = policy(), f = fleet(SIX), r = release) {
  return planRollout({ release: r, policy: p, fleet: f, progress: new Map(Object.entries(progress)), now });
}
const admitted = (pl: ReturnType<typeof plan>): string[] => pl.customers.filter((c) => c.newRef).map((c) => c.id).sort();
const healthy = (at: number): CustomerProgress => ({ admittedAt: at, healthySince: at });

describe('rollout waves', () => {
  it('canary, then the listed waves, then the rest; ordered by id', () => {
    assert.deepEqual(waveMembers(policy(), fleet(SIX)), [['c3'], ['a1', 'b2'], ['d4', 'e5', 'f6']]);
    assert.deepEqual(waveMembers(policy({ waves: ['50%', 1] }), fleet(SIX)), [['c3'], ['a1', 'b2', 'd4'], ['e5'], ['f6']]);
  });

  it('the default (no rollout: anywhere): label canary, else the first by id; then 25%, then the rest — never everyone at once', () => {
    const d = resolveRollout(undefined, undefined);
    assert.deepEqual(waveMembers(d, fleet(SIX)), [['a1'], ['b2', 'c3'], ['d4', 'e5', 'f6']]);
    assert.deepEqual(waveMembers(d, fleet(SIX, { e5: { labels: ['canary'] } })), [['e5'], ['a1', 'b2'], ['c3', 'd4', 'f6']]);
    assert.equal(d.bakeMs, 10 * MIN);
    assert.equal(d.offlineDeadlineMs, 30 * MIN);
  });

  it('the manifest overrides the fleet default field by field', () => {
    const r = resolveRollout({ bake: '1m' }, { waves: [3], bake: '1h', canary: { label: 'early' } });
    assert.equal(r.bakeMs, MIN);
    assert.deepEqual(r.waves, [3]);
    assert.deepEqual(r.canary, { label: 'early' });
  });

  it('a canary label', () => {
    const f = fleet(SIX, { b2: { labels: ['early'] }, f6: { labels: ['early'] } });
    assert.deepEqual(waveMembers(policy({ canary: { label: 'early' } }), f)[0], ['b2', 'f6']);
  });

  it('starts with the canary only', () => {
    const p = plan({}, T0);
    assert.deepEqual(admitted(p), ['c3']);
    assert.equal(p.state, 'running');
    assert.deepEqual(p.waves.map((w) => w.state), ['running', 'waiting', 'waiting']);
  });

  it('the next wave waits for the bake, then opens; waves in order', () => {
    const canaryUp = { c3: healthy(T0 + MIN) };
    assert.deepEqual(admitted(plan(canaryUp, T0 + 5 * MIN)), ['c3'], 'baking');
    const baking = plan(canaryUp, T0 + 5 * MIN);
    assert.equal(baking.customers.find((c) => c.id === 'c3')!.state, 'baking');
    assert.equal(baking.nextCheckAt, T0 + 11 * MIN);
    assert.deepEqual(admitted(plan(canaryUp, T0 + 11 * MIN)), ['a1', 'b2', 'c3']);
    const wave1Up = { ...canaryUp, a1: healthy(T0 + 12 * MIN), b2: { admittedAt: T0 + 12 * MIN } };
    assert.deepEqual(admitted(plan(wave1Up, T0 + 40 * MIN)), ['a1', 'b2', 'c3'], 'b2 not healthy yet holds wave 2');
    const allUp = { ...wave1Up, b2: healthy(T0 + 13 * MIN) };
    assert.deepEqual(admitted(plan(allUp, T0 + 23 * MIN)), SIX);
    const done = plan({ ...allUp, d4: healthy(T0 + 24 * MIN), e5: healthy(T0 + 24 * MIN), f6: healthy(T0 + 25 * MIN) }, T0 + 35 * MIN);
    assert.equal(done.state, 'complete');
    assert.ok(done.customers.every((c) => c.state === 'done'));
  });

  it('healthy then unhealthy again: the bake restarts from the new healthy-since', () => {
    assert.deepEqual(admitted(plan({ c3: { admittedAt: T0, healthySince: null } }, T0 + 60 * MIN)), ['c3']);
  });
});

describe('failure budget', () => {
  it('a failed canary spends a budget of 1: halted, nobody else starts, the canary goes back', () => {
    const p = plan({ c3: { admittedAt: T0, failed: { at: T0 + 2 * MIN, step: 'health', reason: 'frame-mcp-green unhealthy' } } }, T0 + 60 * MIN);
    assert.equal(p.state, 'halted');
    assert.deepEqual(admitted(p), []);
    assert.equal(p.spent, 1);
    assert.deepEqual(p.failures, [{ customer: 'c3', at: T0 + 2 * MIN, step: 'health', reason: 'frame-mcp-green unhealthy' }]);
    assert.equal(p.customers.find((c) => c.id === 'c3')!.state, 'failed');
  });

  it('a budget of 2: one failure is absorbed and the wave settles; the second halts, those already started go on', () => {
    const pol = policy({ failure_budget: 2 });
    const one = { c3: { admittedAt: T0, failed: { at: T0, step: 'up', reason: 'x' } } };
    const p1 = plan(one, T0 + MIN, pol);
    assert.equal(p1.state, 'running');
    assert.deepEqual(admitted(p1), ['a1', 'b2']);
    const p2 = plan({ ...one, a1: { admittedAt: T0 + MIN, failed: { at: T0 + 2 * MIN, step: 'up', reason: 'y' } }, b2: { admittedAt: T0 + MIN } }, T0 + 3 * MIN, pol);
    assert.equal(p2.state, 'halted');
    assert.deepEqual(admitted(p2), ['b2'], 'b2 had started: it goes on; nobody new');
  });

  it('a share of the fleet as budget', () => {
    const pol = policy({ failure_budget: '50%' });
    assert.equal(plan({}, T0, pol).budget, 3);
  });

  it('a new ref is a new rollout: its progress starts empty, the canary first again', () => {
    const p = plan({}, T0 + 90 * MIN, policy(), fleet(SIX), { ...release, ref: 'v3' });
    assert.equal(p.state, 'running');
    assert.deepEqual(admitted(p), ['c3']);
  });
});

describe('pins, offline, controls', () => {
  it('a pinned customer is in no wave and never gets the new ref', () => {
    const p = plan({ c3: healthy(T0) }, T0 + 20 * MIN, policy(), fleet(SIX, { a1: { pin: 'v1' } }));
    assert.deepEqual(p.customers.find((c) => c.id === 'a1'), { id: 'a1', wave: -1, state: 'pinned', newRef: false });
    assert.deepEqual(p.waves[1]!.members, ['b2', 'd4']);
  });

  it('a pinned canary: the canary falls to the first free customer', () => {
    assert.deepEqual(waveMembers(policy(), fleet(SIX, { c3: { pin: 'v1' } }))[0], ['a1']);
  });

  it('an offline customer holds its wave until the deadline, stays admitted, and catches up', () => {
    const up = { c3: healthy(T0), a1: healthy(T0 + 11 * MIN), b2: { admittedAt: T0 + 11 * MIN, offline: true } };
    const before = plan(up, T0 + 30 * MIN);
    assert.deepEqual(admitted(before), ['a1', 'b2', 'c3']);
    assert.equal(before.customers.find((c) => c.id === 'b2')!.state, 'pending');
    assert.equal(before.nextCheckAt, T0 + 41 * MIN);
    const after = plan(up, T0 + 41 * MIN);
    assert.deepEqual(admitted(after), SIX, 'past the deadline: wave 2 opens, b2 still admitted');
    const back = plan({ ...up, b2: { admittedAt: T0 + 11 * MIN, healthySince: T0 + 50 * MIN } }, T0 + 55 * MIN);
    assert.equal(back.customers.find((c) => c.id === 'b2')!.state, 'baking');
  });

  it('a customer waiting for its window is pending like an offline one', () => {
    const p = plan({ c3: { admittedAt: T0, waitingWindow: true } }, T0 + 31 * MIN);
    assert.deepEqual(admitted(p), ['a1', 'b2', 'c3']);
  });

  it('an offline customer admitted before a halt keeps the release; one not started is held', () => {
    const p = plan({ c3: { admittedAt: T0, failed: { at: T0, step: 'up', reason: 'x' } } }, T0, policy({ failure_budget: 2, waves: [3] }));
    assert.equal(p.state, 'running');
    const p2 = plan({ c3: { admittedAt: T0, failed: { at: T0, step: 'up', reason: 'x' } }, a1: { admittedAt: T0, offline: true }, b2: { admittedAt: T0, failed: { at: T0, step: 'up', reason: 'y' } } }, T0 + MIN, policy({ failure_budget: 2, waves: [3] }));
    assert.equal(p2.state, 'halted');
    assert.deepEqual(p2.customers.filter((c) => c.wave === 1).map((c) => [c.id, c.state, c.newRef]), [['a1', 'pending', true], ['b2', 'failed', false], ['d4', 'held', false]]);
  });

  it('paused: nobody new starts; resumed: it goes on; aborted: for good', () => {
    const up = { c3: healthy(T0) };
    const paused = plan(up, T0 + 20 * MIN, policy(), fleet(SIX), { ...release, control: 'paused' });
    assert.equal(paused.state, 'paused');
    assert.deepEqual(admitted(paused), ['c3']);
    assert.deepEqual(admitted(plan(up, T0 + 20 * MIN)), ['a1', 'b2', 'c3']);
    const aborted = plan(up, T0 + 20 * MIN, policy(), fleet(SIX), { ...release, control: 'aborted' });
    assert.equal(aborted.state, 'aborted');
    assert.deepEqual(admitted(aborted), ['c3']);
  });

  it('an empty fleet (everyone pinned) is complete', () => {
    assert.equal(plan({}, T0, policy(), fleet(['a1'], { a1: { pin: 'v1' } })).state, 'complete');
  });
});
