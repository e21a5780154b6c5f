/**
 * The controller's read-only plan (warm-plan.ts): the engine asked with
 * `apply: false` on a fresh scan of the applied revision's environment, for
 * the customers and kinds asked; another revision, other settings, an
 * unknown customer or kind refused with their HTTP status; malformed bodies
 * named.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { before, describe, it } from 'node:test';
import type { CustomerResult, ReconcileOptions, reconcileCustomer } from '../reconcilers/engine.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import { type DesiredState, loadRepo } from '../schemas/repo.js';
import { EXAMPLE_REPO } from '../test/helpers.js';
import { ControlRefused } from './controls.js';
import { createLogger } from './logger.js';
import type { Current } from './revisions.js';
import { parsePlanRequest, type PlanRequest, WarmPlans } from './warm-plan.js';

const REV = 'b'.repeat(40);

describe('warm plans: the applied revision, planned read-only', () => {
  let state: DesiredState;
  const asked: Array<{ env: ReconcileEnv; id: string; options: ReconcileOptions }> = [];
  let plans: WarmPlans;
  let env: ReconcileEnv;

  before(async () => {
    const load = await loadRepo(EXAMPLE_REPO);
    assert.ok(load.ok);
    state = load.state;
    env = { state, providers: {}, settings: { zone: 'axelabs.ai' }, scan: 'the drift scan', revision: REV } as unknown as ReconcileEnv;
    const current: Current = { id: REV, subject: null, state, env, digests: new Map(), appliedAt: Date.now() };
    const engine: typeof reconcileCustomer = async (e, id, options) => {
      asked.push({ env: e, id, options });
      return { customer: id, mode: 'apply', suspended: false, resources: [], sync: 'Synced', health: 'Healthy' } satisfies CustomerResult;
    };
    plans = new WarmPlans({ applied: () => current, reconcile: engine, log: createLogger({ level: 'fatal', destination: new Writable({ write: (_c, _e, cb) => cb() }) }), settings: 'digest' });
  });

  const request = (over: Partial<PlanRequest> = {}): PlanRequest => ({ by: 'op@host', revision: REV, settings: 'digest', ...over });

  it('every customer, or the one asked with its kinds: apply false, a fresh scan, the JSON of the pass', async () => {
    const all = await plans.plan(request());
    assert.deepEqual(asked.map((a) => a.id).sort(), Object.keys(state.customers.customers).sort());
    assert.ok(asked.every((a) => a.options.apply === false && a.env.scan !== env.scan && a.env.state === state && a.env.scan === asked[0]!.env.scan));
    assert.equal(all.revision, REV);
    assert.equal(all.pid, process.pid);
    assert.deepEqual(all.plan.customers.map((c) => c.customer).sort(), Object.keys(state.customers.customers).sort());
    asked.length = 0;
    await plans.plan(request({ customer: 'acme', only: ['dns', 'tunnel'] }));
    assert.deepEqual(asked.map((a) => [a.id, a.options]), [['acme', { apply: false, only: ['dns', 'tunnel'] }]]);
  });

  it('refuses another revision or settings (409), an unknown customer (404) or kind (400)', async () => {
    const cases: Array<[Partial<PlanRequest>, number, RegExp]> = [
      [{ revision: 'c'.repeat(40) }, 409, /^the controller runs b{12}, this checkout is c{12}$/],
      [{ settings: 'other' }, 409, /another axe config/],
      [{ customer: 'nobody' }, 404, /unknown customer nobody/],
      [{ only: ['dns', 'nonsense'] }, 400, /unknown resource kind "nonsense"/],
    ];
    asked.length = 0;
    for (const [over, status, message] of cases) {
      await assert.rejects(plans.plan(request(over)), (e: unknown) => e instanceof ControlRefused && e.status === status && message.test(e.message));
    }
    assert.equal(asked.length, 0, 'nothing planned');
  });

  it('names a malformed body', () => {
    assert.deepEqual(parsePlanRequest({ by: ' op ', revision: REV, settings: 's', concurrency: 500 }), { by: 'op', revision: REV, settings: 's', concurrency: 64 });
    for (const bad of [null, {}, { by: 'op', revision: REV }, { by: 'op', revision: REV, settings: 's', only: 'dns' }, { by: 'op', revision: REV, settings: 's', concurrency: 0 }, { by: 'op', revision: REV, settings: 's', customer: 3 }]) {
      assert.equal(typeof parsePlanRequest(bad), 'string', JSON.stringify(bad));
    }
  });
});
