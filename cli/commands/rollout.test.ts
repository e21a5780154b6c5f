import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { History } from '../../controller/history.js';
import { axe, tempDir } from '../../test/helpers.js';
import type { RolloutView } from './rollout.js';

describe('axe rollout', () => {
  it('status shows the waves, who failed at which step and why; pause, resume and abort are recorded', async () => {
    await using home = await tempDir('rollout-cli');
    const env = { AXE_HOME: home.path, AXE_CONFIG: '' };
    const none = await axe(['rollout', 'status'], { env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no controller history at .*history\.sqlite.*run axe controller first/);

    const h = History.open(join(home.path, 'controller', 'history.sqlite'));
    h.startRollout({ service: 'frame', ref: 'v1', from_ref: null, state: 'complete' });
    const r = h.startRollout({ service: 'frame', ref: 'v2', from_ref: 'v1' });
    h.putRolloutCustomer(r.id, 'c3', { wave: 0, admitted_at: 1_000, failed_at: 2_000, step: 'health', reason: 'frame-mcp-green unhealthy' });
    h.putRolloutCustomer(r.id, 'a1', { wave: 1 });
    h.putRolloutCustomer(r.id, 'b2', { wave: -1 });
    h.setRolloutState(r.id, 'halted');
    h.close();

    const status = await axe(['rollout', 'status', 'frame'], { env });
    assert.equal(status.code, 1, 'a halted rollout exits 1');
    assert.match(status.stdout, /^frame v2 \(from v1\): halted, started /m);
    assert.match(status.stdout, /canary\s+c3\s+failed: at health: frame-mcp-green unhealthy/);
    assert.match(status.stdout, /wave 1\s+a1\s+held/);
    assert.match(status.stdout, /pinned\s+b2\s+pinned/);
    const json = JSON.parse((await axe(['rollout', 'status', '--json'], { env })).stdout) as RolloutView[];
    assert.equal(json[0]!.customers.find((c) => c.customer === 'c3')!.failed!.step, 'health');

    const pause = await axe(['rollout', 'pause', 'frame'], { env });
    assert.equal(pause.code, 0, pause.stderr);
    assert.match(pause.stdout, /frame v2: paused/);
    assert.equal((await axe(['rollout', 'resume', 'frame'], { env })).code, 0);
    assert.equal((await axe(['rollout', 'abort', 'frame'], { env })).code, 0);
    const again = await axe(['rollout', 'resume', 'frame'], { env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /frame v2 was aborted: it stays stopped.*merge a new ref for frame/);
    const unknown = await axe(['rollout', 'pause', 'hive'], { env });
    assert.match(unknown.stderr, /no rollout of hive/);

    const events = await axe(['history', '--type', 'rollout', '--json'], { env });
    const messages = (JSON.parse(events.stdout) as Array<{ message: string }>).map((e) => e.message);
    assert.deepEqual(messages.filter((m) => / by axe rollout /.test(m)).map((m) => m.replace(/ \(.*\)$/, '')), ['frame v2: paused by axe rollout pause', 'frame v2: running by axe rollout resume', 'frame v2: aborted by axe rollout abort']);
  });
});
