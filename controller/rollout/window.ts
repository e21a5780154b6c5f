/**
 * Maintenance windows (`customers.{id}.maintenance`): is one open at an
 * instant, and when does the next one open. Pure: the clock is an argument.
 *
 * Rules:
 * - Days and hours are the customer's wall clock in its IANA time zone, so a
 *   window follows daylight saving time: "02:00-05:00" in Europe/Paris is
 *   01:00-04:00 UTC in winter and 00:00-03:00 UTC in summer.
 * - A window whose end is before its start crosses midnight and belongs to the
 *   day it starts on ("sat 22:00-02:00" is open Sunday 01:00).
 * - Start inclusive, end exclusive. On a spring-forward day a window inside
 *   the skipped hour does not open that day; on a fall-back day the repeated
 *   hour is inside it twice.
 * - No `maintenance` = always open.
 */
import { type Maintenance, WEEKDAYS, type Weekday } from '../../schemas/rollout.js';

interface LocalTime {
  day: Weekday;
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const SHORT: Record<string, Weekday> = { Mon: 'mon', Tue: 'tue', Wed: 'wed', Thu: 'thu', Fri: 'fri', Sat: 'sat', Sun: 'sun' };

/** The wall-clock weekday and minute of the day at `at` in `zone`. */
export function localTime(at: number, zone: string): LocalTime {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(zone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  return { day: SHORT[parts.weekday!]!, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

function span(hours: string): { start: number; end: number } {
  const [a, b] = hours.split('-') as [string, string];
  const min = (t: string): number => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
  return { start: min(a), end: min(b) };
}

function previous(day: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7]!;
}

/** True when a window of `maintenance` is open at `at` (always true without one). */
export function windowOpen(maintenance: Maintenance | undefined, at: number): boolean {
  if (!maintenance) return true;
  const { day, minutes } = localTime(at, maintenance.timezone);
  return maintenance.windows.some((w) => {
    const { start, end } = span(w.hours);
    if (start < end) return w.days.includes(day) && minutes >= start && minutes < end;
    return (w.days.includes(day) && minutes >= start) || (w.days.includes(previous(day)) && minutes < end);
  });
}

/** The first minute at or after `at` when a window is open (null when none opens within 8 days). */
export function nextOpening(maintenance: Maintenance | undefined, at: number): number | null {
  if (windowOpen(maintenance, at)) return at;
  const minute = 60_000;
  let t = Math.ceil(at / minute) * minute;
  for (const end = at + 8 * 86_400_000; t <= end; t += minute) if (windowOpen(maintenance, t)) return t;
  return null;
}
