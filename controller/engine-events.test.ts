import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Burst, eventCustomer, type EventSource } from './engine-events.js';

const target = { name: 'demo-macmini.tail-lab.ts.net', address: '127.0.0.1', port: 2201, user: 'demo' };
const sources: EventSource[] = [
  { customer: 'demo', target, networks: ['axe-demo'], volumes: ['axe-demo-frame-data'] },
  { customer: 'acme', target, networks: ['axe-acme'], volumes: [] },
];
const container = (action: string, labels: Record<string, string>) => ({ Type: 'container', Action: action, Actor: { ID: 'abc123def4567890', Attributes: { name: 'demo-hive-hive-mcp-1', ...labels } } });

describe('eventCustomer', () => {
  it('maps a managed container that died, was killed, stopped, ran out of memory or was removed to its customer', () => {
    for (const action of ['die', 'kill', 'stop', 'oom', 'destroy']) {
      assert.deepEqual(eventCustomer(container(action, { 'ai.axelabs.axe.customer': 'demo' }), sources), { customer: 'demo', what: `container demo-hive-hive-mcp-1 ${action}` }, action);
    }
  });

  it('counts a health change only when it turns unhealthy', () => {
    assert.equal(eventCustomer(container('health_status: unhealthy', { 'ai.axelabs.axe.customer': 'demo' }), sources)?.customer, 'demo');
    assert.equal(eventCustomer(container('health_status: healthy', { 'ai.axelabs.axe.customer': 'demo' }), sources), null);
  });

  it('ignores containers without axe label, of another customer, and harmless actions', () => {
    assert.equal(eventCustomer(container('die', {}), sources), null);
    assert.equal(eventCustomer(container('die', { 'ai.axelabs.axe.customer': 'someone-else' }), sources), null);
    for (const action of ['start', 'create', 'exec_start: sh -c true', 'attach']) assert.equal(eventCustomer(container(action, { 'ai.axelabs.axe.customer': 'demo' }), sources), null, action);
  });

  it('maps a removed network or volume to the customer whose stacks declare it', () => {
    assert.deepEqual(eventCustomer({ Type: 'network', Action: 'destroy', Actor: { ID: 'n1', Attributes: { name: 'axe-acme', type: 'bridge' } } }, sources), { customer: 'acme', what: 'network axe-acme removed' });
    assert.deepEqual(eventCustomer({ Type: 'volume', Action: 'destroy', Actor: { ID: 'axe-demo-frame-data', Attributes: { driver: 'local' } } }, sources), { customer: 'demo', what: 'volume axe-demo-frame-data removed' });
    assert.equal(eventCustomer({ Type: 'network', Action: 'destroy', Actor: { ID: 'n2', Attributes: { name: 'bridge-of-someone' } } }, sources), null);
    assert.equal(eventCustomer({ Type: 'network', Action: 'connect', Actor: { ID: 'n1', Attributes: { name: 'axe-acme' } } }, sources), null);
  });
});

describe('Burst (an engine event burst of one customer)', () => {
  it('fires the first event at once and, when more came within the window, once more at its end with the latest', async () => {
    const fired: string[] = [];
    const burst = new Burst(60, (key, what) => fired.push(`${key}:${what}`));
    try {
      burst.hit('a', 'kill');
      burst.hit('a', 'die');
      burst.hit('a', 'stop');
      burst.hit('b', 'kill');
      assert.deepEqual(fired, ['a:kill', 'b:kill'], 'the first of each customer at once');
      await new Promise((done) => setTimeout(done, 300));
      assert.deepEqual(fired, ['a:kill', 'b:kill', 'a:stop'], 'the burst of a read once more at its end; b had no more');
      burst.hit('a', 'destroy', Date.now() + 1_000);
      assert.deepEqual(fired.at(-1), 'a:destroy', 'a later event, a window after the last fire: at once');
    } finally {
      burst.stop();
    }
  });

  it('stop drops a pending trailing fire', async () => {
    const fired: string[] = [];
    const burst = new Burst(30, (key, what) => fired.push(`${key}:${what}`));
    burst.hit('a', 'kill');
    burst.hit('a', 'die');
    burst.stop();
    await new Promise((done) => setTimeout(done, 60));
    assert.deepEqual(fired, ['a:kill']);
  });
});
