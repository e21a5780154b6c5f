import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Action } from '../reconcilers/types.js';
import { isDrift, type LastKnown, type Observation, syncedUnder } from './drift.js';

const create: Action = { kind: 'dns', op: 'create', target: 'dns:acme.axelabs.ai', summary: 'create CNAME acme.axelabs.ai', payload: {} };
const synced: Observation = { sync: 'Synced', health: { status: 'Healthy', reason: 'Ready', message: 'ok' }, actions: [], applied: [] };
const failed: Observation = { sync: 'Unknown', health: { status: 'Unknown', reason: 'TransientError', message: 'Cloudflare answered 503' }, actions: [], applied: [], error: { class: 'transient', message: 'Cloudflare answered 503' } };
const waiting: Observation = { sync: 'Unknown', health: { status: 'Unknown', reason: 'DependencyFailed', message: 'waiting for tunnel' }, actions: [], applied: [] };
const suspended: Observation = { sync: 'Unknown', health: { status: 'Suspended', reason: 'Suspended', message: 'suspended by policy' }, actions: [], applied: [] };
const corrected: Observation = { sync: 'Synced', health: { status: 'Healthy', reason: 'Ready', message: 'ok' }, actions: [], applied: [create] };
const outOfSync: Observation = { sync: 'OutOfSync', health: { status: 'Degraded', reason: 'Missing', message: 'no record' }, actions: [create], applied: [] };

/** Runs observations in order; returns which were drift. */
function run(digest: string, ...steps: Observation[]): boolean[] {
  let prev: LastKnown | null = null;
  return steps.map((k) => {
    const drift = isDrift(k, prev, digest);
    prev = { synced_desired: syncedUnder(k, prev, digest) };
    return drift;
  });
}

describe('drift decision', () => {
  it('Synced, then a correction: drift', () => {
    assert.deepEqual(run('d1', synced, corrected), [false, true]);
  });

  it('Synced, a failed observation (503), then a correction: still drift', () => {
    assert.deepEqual(run('d1', synced, failed, corrected), [false, false, true]);
    assert.deepEqual(run('d1', synced, failed, failed, outOfSync), [false, false, false, true], 'observe-only: found OutOfSync after two errors');
  });

  it('Synced, a kind waiting on a failed dependency, then a correction: drift', () => {
    assert.deepEqual(run('d1', synced, waiting, corrected), [false, false, true]);
  });

  it('never Synced (a fresh customer), even across errors: not drift', () => {
    assert.deepEqual(run('d1', outOfSync, corrected), [false, false]);
    assert.deepEqual(run('d1', failed, corrected), [false, false]);
    assert.deepEqual(run('d1', corrected), [false]);
  });

  it('Synced under another desired state: not drift (the change is the revision)', () => {
    const prev = { synced_desired: syncedUnder(synced, null, 'd1') };
    assert.equal(isDrift(corrected, { synced_desired: syncedUnder(failed, prev, 'd1') }, 'd2'), false);
  });

  it('suspended in between forgets the last Synced; the failed observation itself is never drift', () => {
    assert.deepEqual(run('d1', synced, suspended, corrected), [false, false, false]);
    assert.equal(isDrift(failed, { synced_desired: 'd1' }, 'd1'), false);
  });
});
