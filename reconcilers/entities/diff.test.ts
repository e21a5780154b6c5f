import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Customer } from '../../schemas/customers.js';
import { diffEntities, type EntitiesDesired, type EntitiesObserved, entityValues, healthEntities, parseListing } from './diff.js';

const target = (service: string) => ({ service, project: `acme-${service}`, container: '@active', blueGreen: null, command: [service, 'list-entities', '--json'] });

const desired: EntitiesDesired = {
  customer: 'acme',
  entities: [
    { id: 'acmec', legal_name: 'Acme Corp', kind: 'corporate', accounting_standard: 'ksme' },
    { id: 'acmev', legal_name: 'Acme Ventures', kind: 'corporate', accounting_standard: 'kifrs' },
  ],
  hooks: [
    { service: 'frame', hook: 'register_entities', list: target('frame'), register: target('frame'), commands: new Map() },
    { service: 'hive', hook: 'register_entities', list: target('hive'), register: target('hive'), commands: new Map() },
  ],
};

describe('entities diff', () => {
  test('every entity registered everywhere: nothing to do, Healthy', () => {
    const observed: EntitiesObserved = new Map([
      ['frame/register_entities', { state: 'listed', ids: new Set(['acmec', 'acmev', 'old']) }],
      ['hive/register_entities', { state: 'listed', ids: new Set(['acmev', 'acmec']) }],
    ]);
    assert.deepEqual(diffEntities(desired, observed), []);
    assert.equal(healthEntities(desired, observed).status, 'Healthy');
  });

  test('only the missing ones are registered; a service not running yet gets all, marked so', () => {
    const observed: EntitiesObserved = new Map([
      ['frame/register_entities', { state: 'listed', ids: new Set(['acmec']) }],
      ['hive/register_entities', { state: 'down' }],
    ]);
    const actions = diffEntities(desired, observed);
    assert.deepEqual(actions.map((a) => a.target), ['entity:frame/acmev', 'entity:hive/acmec', 'entity:hive/acmev']);
    assert.match(actions[1]!.summary, /\(once hive runs\)/);
    assert.equal(healthEntities(desired, observed).reason, 'ServiceDown');
  });

  test('a list command that fails is Degraded and nothing is registered blindly there', () => {
    const observed: EntitiesObserved = new Map([
      ['frame/register_entities', { state: 'error', message: 'exit 2' }],
      ['hive/register_entities', { state: 'listed', ids: new Set(['acmec', 'acmev']) }],
    ]);
    assert.deepEqual(diffEntities(desired, observed), []);
    assert.equal(healthEntities(desired, observed).status, 'Degraded');
  });

  test('listings: ids or objects with id; an entity given as an id takes the legal name and the defaults', () => {
    assert.deepEqual([...parseListing('[{"id":"a","legal_name":"A"},"b",{"x":1}]')], ['a', 'b']);
    assert.deepEqual([...parseListing('')], []);
    assert.throws(() => parseListing('{"id":"a"}'), /JSON array/);
    const customer = Customer.parse({ legal_name: 'Demo Company', primary_domain: 'demo.example.com', public_domain: 'demo.axelabs.ai', tailscale_host: 'demo-macmini.t.ts.net' });
    assert.deepEqual(entityValues(customer, 'demo'), { id: 'demo', legal_name: 'Demo Company', kind: 'corporate', accounting_standard: 'ksme' });
    assert.deepEqual(entityValues(customer, { id: 'x', legal_name: 'X Ltd', kind: 'individual' }), { id: 'x', legal_name: 'X Ltd', kind: 'individual', accounting_standard: 'ksme' });
  });
});
