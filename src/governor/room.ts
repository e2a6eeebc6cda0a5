/**
 * The room a session has now, read without taking any of it: how many messages the governor would let
 * it send (the least of its minute, hour and day budgets left, the warm-up's day included), how many of
 * them may go to people who have not written (WA_COLD_PER_DAY left; none while the gap after the last
 * one, WA_COLD_GAP_SECONDS at its shortest, runs), which of the given chats are such people, and what
 * holds it back (a pause, quiet hours, a budget) until when. A producer that releases work in slices
 * (the engagement reminders) sizes each slice by it, so the dispatcher is not handed rows to defer.
 */
import type { GovernorConfig } from '../config/types.js';
import type { Queryable } from '../db/pool.js';
import { budgetSpent, budgetsLeft } from './budgets.js';
import { freeAt, windowCounts, wroteRecentlyAmong, WINDOWS } from './permitted-sends.js';
import { quietUntil } from './policy.js';

export interface Room {
  /** Messages the session may send now (Infinity with the governor off). */
  total: number;
  /** Of those, messages to people who have not written (at most `total`). */
  cold: number;
  /** The given chats that have not written to the session within WA_WARM_CONTACT_DAYS. */
  coldChats: string[];
  /** When more room opens, if something holds it back now (null: an operator must resume the session, or nothing holds). */
  until: Date | null;
  /** What holds it back, naming the setting; null when nothing does. */
  reason: string | null;
  /** What bounds `total` and `cold` (e.g. "8 messages in a minute (WA_BUDGET_PER_MINUTE)"): why a caller that fills them waits. */
  bounds: { total: string; cold: string };
}

export const UNLIMITED_ROOM: Room = { total: Infinity, cold: Infinity, coldChats: [], until: null, reason: null, bounds: { total: 'no limit (WA_GOVERNOR=off)', cold: 'no limit (WA_GOVERNOR=off)' } };

/** What `Governor.room` knows before it reads the windows: the session's pause and warm-up day. */
export interface RoomInputs {
  config: GovernorConfig;
  timeZone: string;
  session: string;
  /** Personal chats the caller means to send to. */
  chatIds: readonly string[];
  now: Date;
  paused: { until: Date | null; reason: string } | null;
  warmupDay: number | null;
}

export async function roomOf(db: Queryable, input: RoomInputs): Promise<Room> {
  const { config, session, now } = input;
  const coldChats = input.chatIds.length === 0 ? [] : await coldAmong(db, input);
  const counts = await windowCounts(db, session, now, '');
  const left = budgetsLeft(config, counts, input.warmupDay);
  const windows = ['minute', 'hour', 'day'] as const;
  const bound = windows.reduce((a, b) => (left[b].left < left[a].left ? b : a));
  const words = {
    minute: 'a minute (WA_BUDGET_PER_MINUTE)',
    hour: 'an hour (WA_BUDGET_PER_HOUR)',
    day: left.day.limit < config.perDay && input.warmupDay !== null ? `24 hours (the warm-up's day ${input.warmupDay + 1}, WA_WARMUP_SCHEDULE)` : '24 hours (WA_BUDGET_PER_DAY)',
  };
  const bounds = { total: `${left[bound].limit} messages in ${words[bound]}`, cold: `${config.coldPerDay} messages a day to people who have not written (WA_COLD_PER_DAY)` };
  const none = (until: Date | null, reason: string): Room => ({ total: 0, cold: 0, coldChats, until, reason, bounds });
  if (input.paused) return none(input.paused.until, input.paused.reason);
  const quietEnd = quietUntil(now, config.quietHours, input.timeZone);
  if (quietEnd) return none(quietEnd, 'quiet hours (WA_QUIET_HOURS) for personal chats');

  const total = left[bound].left;
  if (total === 0) {
    const spent = await budgetSpent(db, config, session, now, counts, input.warmupDay, 1);
    return none(spent?.until ?? null, spent?.reason ?? `${bounds.total} reached`);
  }
  const coldLeft = Math.max(0, config.coldPerDay - counts.coldDay);
  if (coldLeft === 0) {
    const until = await freeAt(db, session, now, WINDOWS.day, counts.coldDay + 1 - config.coldPerDay, 'cold');
    return { total, cold: 0, coldChats, until, reason: `${bounds.cold} reached`, bounds };
  }
  const gapEnd = counts.lastCold ? new Date(counts.lastCold.getTime() + config.coldGapMs[0]) : null;
  if (gapEnd && gapEnd > now) {
    return { total, cold: 0, coldChats, until: gapEnd, reason: `a gap of at least ${Math.round(config.coldGapMs[0] / 1000)} s between messages to people who have not written (WA_COLD_GAP_SECONDS)`, bounds };
  }
  return { total, cold: Math.min(total, coldLeft), coldChats, until: null, reason: null, bounds };
}

async function coldAmong(db: Queryable, input: RoomInputs): Promise<string[]> {
  const warm = await wroteRecentlyAmong(db, input.session, input.chatIds, input.now, input.config.warmContactDays * WINDOWS.day);
  return [...new Set(input.chatIds)].filter((c) => !warm.has(c));
}
