import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadRepo } from '../schemas/repo.js';
import { EXAMPLE_REPO } from '../test/helpers.js';
import { ALL_KINDS, withSuspensions } from './controls.js';

describe('runtime suspensions laid over the policies', () => {
  it('suspends a whole customer or one kind, leaves the others and the original state as they were', async () => {
    const load = await loadRepo(EXAMPLE_REPO);
    assert.ok(load.ok);
    const state = load.state;
    assert.equal(withSuspensions(state, []), state, 'no suspension: the same object');
    assert.equal(withSuspensions(state, [{ customer: 'gone', kind: ALL_KINDS, reason: 'r', by: 'b', at: 1 }]), state, 'a customer not in the revision changes nothing');
    const over = withSuspensions(state, [
      { customer: 'acme', kind: ALL_KINDS, reason: 'migration', by: 'ops@mac', at: 1 },
      { customer: 'demo', kind: 'dns', reason: 'by hand', by: 'ops@mac', at: 2 },
      { customer: 'demo', kind: 'stack', reason: 'by hand', by: 'ops@mac', at: 3 },
    ]);
    assert.equal(over.customers.customers.acme!.policy!.suspend, true);
    assert.deepEqual(over.customers.customers.demo!.policy!.suspend_kinds, ['dns', 'stack']);
    assert.equal(over.customers.customers.demo!.policy!.suspend, false);
    assert.equal(over.customers.customers.realchoice, state.customers.customers.realchoice);
    assert.notEqual(state.customers.customers.acme?.policy?.suspend, true, 'the applied state is not changed');
    assert.equal(over.manifests, state.manifests);
  });
});
