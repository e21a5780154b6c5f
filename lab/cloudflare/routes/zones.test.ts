import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyState, seedZones } from '../state.js';
import { ACCOUNT_NAME, zoneView } from './zones.js';

describe('the zone as the API returns it', () => {
  it('names its owner with string id and name, as the spec\'s zones_zone has them (no nulls)', () => {
    const state = emptyState('191c612f38aa111220ede3ae192e965b');
    seedZones(state, [{ name: 'axelabs.ai' }]);
    const [zone] = state.zones;
    assert.ok(zone);
    assert.deepEqual(zoneView(zone, state).owner, { id: state.accountId, name: ACCOUNT_NAME, type: 'organization' });
  });
});
