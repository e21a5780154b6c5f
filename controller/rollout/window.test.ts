import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Maintenance } from '../../schemas/rollout.js';
import { localTime, nextOpening, windowOpen } from './window.js';

const utc = (iso: string): number => Date.parse(`${iso}Z`);
const paris: Maintenance = { timezone: 'Europe/Paris', windows: [{ days: ['sat', 'sun'], hours: '02:00-05:00' }] };

describe('maintenance windows', () => {
  it('no maintenance: always open', () => {
    assert.equal(windowOpen(undefined, utc('2026-12-02T12:00:00')), true);
  });

  it('local wall clock in the zone: Paris 02:00-05:00 on Saturday is 01:00-04:00 UTC in winter', () => {
    // 2026-12-05 is a Saturday.
    assert.deepEqual(localTime(utc('2026-12-05T01:00:00'), 'Europe/Paris'), { day: 'sat', minutes: 120 });
    assert.equal(windowOpen(paris, utc('2026-12-05T00:59:00')), false);
    assert.equal(windowOpen(paris, utc('2026-12-05T01:00:00')), true, 'start inclusive');
    assert.equal(windowOpen(paris, utc('2026-12-05T03:59:00')), true);
    assert.equal(windowOpen(paris, utc('2026-12-05T04:00:00')), false, 'end exclusive');
    assert.equal(windowOpen(paris, utc('2026-12-04T02:00:00')), false, 'a Friday');
  });

  it('follows daylight saving time: in summer the same window is 00:00-03:00 UTC', () => {
    // 2026-07-04 is a Saturday (CEST, UTC+2).
    assert.equal(windowOpen(paris, utc('2026-07-04T00:30:00')), true);
    assert.equal(windowOpen(paris, utc('2026-07-04T03:30:00')), false);
  });

  it('the spring-forward night: 02:00-03:00 does not exist in Paris on 2026-03-29, the window opens at 03:00 local', () => {
    // Sunday 2026-03-29: 01:00 UTC is 03:00 CEST (02:00 CET skipped).
    assert.equal(windowOpen(paris, utc('2026-03-29T00:59:00')), false, '01:59 CET');
    assert.equal(windowOpen(paris, utc('2026-03-29T01:00:00')), true, '03:00 CEST');
    assert.equal(windowOpen(paris, utc('2026-03-29T03:00:00')), false, '05:00 CEST');
  });

  it('the fall-back night: New York 01:00-02:00 happens twice on 2026-11-01 and is open both times', () => {
    const ny: Maintenance = { timezone: 'America/New_York', windows: [{ days: ['sun'], hours: '01:00-02:00' }] };
    assert.equal(windowOpen(ny, utc('2026-11-01T05:30:00')), true, '01:30 EDT');
    assert.equal(windowOpen(ny, utc('2026-11-01T06:30:00')), true, '01:30 EST');
    assert.equal(windowOpen(ny, utc('2026-11-01T07:30:00')), false, '02:30 EST');
  });

  it('a window crossing midnight belongs to the day it starts', () => {
    const tokyo: Maintenance = { timezone: 'Asia/Tokyo', windows: [{ days: ['fri'], hours: '22:00-02:00' }] };
    // Friday 2026-12-04 22:30 JST = 13:30 UTC; Saturday 01:30 JST = Friday 16:30 UTC; Saturday 22:30 JST not.
    assert.equal(windowOpen(tokyo, utc('2026-12-04T13:30:00')), true);
    assert.equal(windowOpen(tokyo, utc('2026-12-04T16:30:00')), true);
    assert.equal(windowOpen(tokyo, utc('2026-12-04T17:30:00')), false, 'Saturday 02:30');
    assert.equal(windowOpen(tokyo, utc('2026-12-05T13:30:00')), false, 'Saturday 22:30');
  });

  it('the same instant, two zones: one open, one closed', () => {
    const at = utc('2026-12-05T01:30:00');
    assert.equal(windowOpen(paris, at), true);
    assert.equal(windowOpen({ timezone: 'America/Los_Angeles', windows: paris.windows }, at), false, 'Friday 17:30 in LA');
  });

  it('the next opening', () => {
    assert.equal(nextOpening(paris, utc('2026-12-04T12:00:00')), utc('2026-12-05T01:00:00'));
    assert.equal(nextOpening(paris, utc('2026-12-05T02:00:00')), utc('2026-12-05T02:00:00'), 'open now');
    assert.equal(nextOpening({ timezone: 'UTC', windows: [{ days: ['mon'], hours: '00:00-24:00' }] }, utc('2026-12-05T00:00:00')), utc('2026-12-07T00:00:00'));
  });
});
