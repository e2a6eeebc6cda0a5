/**
 * Personal engagement reminders, made from Cicero_V2's tables as Cicero_V2 decides them
 * (recipients.ts, plan.ts), paced by the governor (release.ts). Two jobs:
 *
 * - `reminderJob`: a reminder run at its slot (one of the day's reminder times): the plan replaced,
 *   then a first release. Its report is a row of wa_reminder_runs; its ledger note says it in a line.
 * - `releaseJob`: the periodic release (`reminder-release`): as much of the plan as the numbers may
 *   send now.
 */
import type pg from 'pg';
import type { GovernorConfig } from '../../config/types.js';
import { withTransaction } from '../../db/pool.js';
import type { JobHandler } from '../../jobs.js';
import { formatZoned } from '../../lib/zoned-time.js';
import { hasPersonnel } from '../personnel.js';
import { localDay, localTime, planEnd } from './day.js';
import { writePlan } from './plan.js';
import { describeRelease, releasePlanned, type RoomSource } from './release.js';

export { REMINDER_TYPE, THANKS_TYPE } from './plan.js';
export type { RoomSource } from './release.js';

export interface ReminderOptions {
  pool: pg.Pool;
  timeZone: string;
  /** REMINDER_UNITS: upper-case unit ids, or null for every unit. */
  units: readonly string[] | null;
  defaultCountryCode: string;
  /** The governor (its room per session) and its settings (quiet hours, the cold gap). */
  governor: RoomSource;
  governorConfig: Pick<GovernorConfig, 'quietHours' | 'coldGapMs' | 'enabled'>;
  /** The day's reminder times, HH:MM in CRON_TIMEZONE: a plan ends at the next one. */
  times: () => Promise<string[]>;
}

function release(options: ReminderOptions, now: () => Date) {
  return releasePlanned({
    pool: options.pool, timeZone: options.timeZone, rooms: options.governor, units: options.units, countryCode: options.defaultCountryCode,
    coldGapMs: options.governorConfig.enabled ? options.governorConfig.coldGapMs : [0, 0], now,
  });
}

/** A reminder run for its slot (JobContext.slot: the reminder time). */
export function reminderJob(options: ReminderOptions): JobHandler {
  return async ({ slot, clock }) => {
    if (!(await hasPersonnel(options.pool))) return { skipped: 'this database has no Cicero_V2 tables ("user", clients)' };
    const { timeZone } = options;
    const day = localDay(slot, timeZone);
    const end = planEnd(slot, await options.times(), options.governorConfig.quietHours, timeZone);
    const planned = await withTransaction(options.pool, (tx) =>
      writePlan(tx, { slot, day, units: options.units, countryCode: options.defaultCountryCode, expiresAt: end.at }),
    );
    const released = await release(options, () => clock.now());
    const head = `${localTime(slot, timeZone)} ${day}`;
    if (planned.thanks + planned.reminders === 0) {
      return { enqueued: released.released.thanks + released.released.reminders, detail: `${head}: nothing to send (no posts today, or everyone already thanked or reminded in this run)` };
    }
    return {
      enqueued: released.released.thanks + released.released.reminders,
      heldBack: released.waiting,
      detail: `${head}: ${planned.reminders} reminder(s) and ${planned.thanks} thank-you(s) planned until ${formatZoned(end.at, timeZone)} (${end.by}); ${describeRelease(released, timeZone)}`
        + (planned.expiredEarlier > 0 ? `; ${planned.expiredEarlier} of the last run expired unsent` : ''),
    };
  };
}

/** The periodic release (`reminder-release`). */
export function releaseJob(options: ReminderOptions): JobHandler {
  return async ({ clock }) => {
    const released = await release(options, () => clock.now());
    const enqueued = released.released.thanks + released.released.reminders;
    if (enqueued === 0 && released.waiting === 0 && released.expired === 0) return { enqueued: 0, detail: 'nothing planned' };
    return { enqueued, heldBack: released.waiting, detail: describeRelease(released, options.timeZone) };
  };
}

/** Both handlers, as the job table takes them. */
export function reminderHandlers(options: ReminderOptions): { remind: JobHandler; release: JobHandler } {
  return { remind: reminderJob(options), release: releaseJob(options) };
}
