/**
 * The reminder day in CRON_TIMEZONE: its date, a run's time as "HH:MM", and when a run's plan ends: at
 * the day's next reminder time, else at the start of quiet hours (WA_QUIET_HOURS) or at midnight,
 * whichever comes first. A run inside quiet hours has no time to send at all.
 */
import type { GovernorConfig } from '../../config/types.js';
import { quietUntil } from '../../governor/policy.js';
import { instantOf, zonedParts } from '../../lib/zoned-time.js';

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DAY_MS = 86_400_000;

/** YYYY-MM-DD of `at` in the zone. */
export function localDay(at: Date, timeZone: string): string {
  const p = zonedParts(at, timeZone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** HH:MM of `at` in the zone. */
export function localTime(at: Date, timeZone: string): string {
  const p = zonedParts(at, timeZone);
  return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}

/** `HH:MM` on the day of `at`, as an instant. */
function timeOnDay(at: Date, hhmm: string, timeZone: string): Date {
  const m = TIME.exec(hhmm);
  if (!m) throw new Error(`reminder time "${hhmm}" is not HH:MM`);
  const p = zonedParts(at, timeZone);
  return instantOf({ year: p.year, month: p.month, day: p.day, hour: Number(m[1]), minute: Number(m[2]) }, timeZone);
}

/** The start of the next day in the zone. */
function nextMidnight(at: Date, timeZone: string): Date {
  const p = zonedParts(at, timeZone);
  const next = new Date(Date.UTC(p.year, p.month - 1, p.day) + DAY_MS);
  return instantOf({ year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate(), hour: 0, minute: 0 }, timeZone);
}

/** When the plan of the run at `slot` ends (see the file's comment), and what ends it. */
export function planEnd(slot: Date, times: readonly string[], quietHours: GovernorConfig['quietHours'], timeZone: string): { at: Date; by: string } {
  if (quietUntil(slot, quietHours, timeZone)) return { at: slot, by: 'quiet hours (WA_QUIET_HOURS)' };
  const next = times
    .filter((t) => TIME.test(t))
    .map((t) => timeOnDay(slot, t, timeZone))
    .filter((t) => t > slot)
    .sort((a, b) => a.getTime() - b.getTime())[0];
  if (next) return { at: next, by: `the next reminder time ${localTime(next, timeZone)}` };
  const midnight = nextMidnight(slot, timeZone);
  if (quietHours) {
    const hhmm = `${String(Math.floor(quietHours.startMinute / 60)).padStart(2, '0')}:${String(quietHours.startMinute % 60).padStart(2, '0')}`;
    const quietStart = timeOnDay(slot, hhmm, timeZone);
    if (quietStart > slot && quietStart < midnight) return { at: quietStart, by: 'quiet hours (WA_QUIET_HOURS)' };
  }
  return { at: midnight, by: 'midnight' };
}
