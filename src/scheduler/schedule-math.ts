/**
 * When a node-cron expression fires, from any instant, in a time zone: the next fire after an instant
 * and the last fire at or before it. Matching is node-cron's own (`task.match`), so these answers
 * agree with what node-cron runs; this module only chooses which instants to ask about, a day at a
 * time, so a monthly or yearly schedule costs a few hundred checks rather than one per minute.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { zonedParts } from '../lib/zoned-time.js';


interface LocalDate {
  year: number;
  month: number; // 1-12
  day: number;
}


/** The instant at which the zone's clock shows this wall time (the earlier one across a DST change). */
export function zonedTime(date: LocalDate, hour: number, minute: number, second: number, timeZone: string): Date {
  const wall = Date.UTC(date.year, date.month - 1, date.day, hour, minute, second);
  const offsetAt = (instant: number) => {
    const p = zonedParts(new Date(instant), timeZone);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - instant;
  };
  const first = wall - offsetAt(wall);
  const second_ = wall - offsetAt(first);
  return new Date(Math.min(first, second_));
}

function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Seconds of the day the expression allows, ascending. */
function timesOfDay(expression: string): number[] {
  const fields = cron.parse(expression);
  const times: number[] = [];
  for (const h of fields.hour) for (const m of fields.minute) for (const s of fields.second) times.push(h * 3600 + m * 60 + s);
  return times.sort((a, b) => a - b);
}

const MAX_DAYS = 366 * 5; // a schedule with no fire in five years (e.g. 30 February) has none

export class CronSchedule {
  private readonly task: ScheduledTask;
  private readonly times: number[];

  constructor(
    readonly expression: string,
    readonly timeZone: string,
  ) {
    this.task = cron.createTask(expression, () => undefined, { timezone: timeZone });
    this.times = timesOfDay(expression);
  }

  private at(date: LocalDate, secondOfDay: number): Date {
    return zonedTime(date, Math.floor(secondOfDay / 3600), Math.floor((secondOfDay % 3600) / 60), secondOfDay % 60, this.timeZone);
  }

  /** Does the day's first allowed time fire? If not, no time that day does (the day itself is excluded). */
  private dayMatches(date: LocalDate): boolean {
    return this.task.match(this.at(date, this.times[0]!));
  }

  /** The first fire strictly after `after`, or null. */
  next(after: Date): Date | null {
    const start = zonedParts(after, this.timeZone);
    const startSecond = start.hour * 3600 + start.minute * 60 + start.second;
    for (let offset = 0; offset < MAX_DAYS; offset++) {
      const date = addDays(start, offset);
      if (!this.dayMatches(date)) continue;
      for (const t of this.times) {
        if (offset === 0 && t < startSecond) continue; // earlier that day
        const instant = this.at(date, t);
        if (instant.getTime() > after.getTime() && this.task.match(instant)) return instant;
      }
    }
    return null;
  }

  /** The last fire at or before `atOrBefore`, or null. */
  previous(atOrBefore: Date): Date | null {
    const start = zonedParts(atOrBefore, this.timeZone);
    const startSecond = start.hour * 3600 + start.minute * 60 + start.second;
    const descending = [...this.times].reverse();
    for (let offset = 0; offset < MAX_DAYS; offset++) {
      const date = addDays(start, -offset);
      if (!this.dayMatches(date)) continue;
      for (const t of descending) {
        if (offset === 0 && t > startSecond) continue; // later that day
        const instant = this.at(date, t);
        if (instant.getTime() <= atOrBefore.getTime() && this.task.match(instant)) return instant;
      }
    }
    return null;
  }
}

/** When a schedule fires: the next fire after an instant, and the last one at or before it. */
export interface Schedule {
  next(after: Date): Date | null;
  previous(atOrBefore: Date): Date | null;
}

/**
 * A list of times of day ("HH:MM", each a slot every day) in a time zone. A wall time a DST change
 * skips fires at the instant the zone's clock would have shown it (as `zonedTime` gives it).
 */
export class TimesSchedule implements Schedule {
  private readonly minutes: number[];

  constructor(
    readonly times: readonly string[],
    readonly timeZone: string,
  ) {
    this.minutes = [...new Set(times.map((t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5))))].sort((a, b) => a - b);
  }

  private at(date: LocalDate, minuteOfDay: number): Date {
    return zonedTime(date, Math.floor(minuteOfDay / 60), minuteOfDay % 60, 0, this.timeZone);
  }

  /** The first fire strictly after `after`, or null for an empty list. */
  next(after: Date): Date | null {
    const start = zonedParts(after, this.timeZone);
    for (let offset = 0; offset <= 2 && this.minutes.length > 0; offset++) {
      const date = addDays(start, offset);
      for (const m of this.minutes) {
        const instant = this.at(date, m);
        if (instant.getTime() > after.getTime()) return instant;
      }
    }
    return null;
  }

  /** The last fire at or before `atOrBefore`, or null for an empty list. */
  previous(atOrBefore: Date): Date | null {
    const start = zonedParts(atOrBefore, this.timeZone);
    const descending = [...this.minutes].reverse();
    for (let offset = 0; offset <= 2 && descending.length > 0; offset++) {
      const date = addDays(start, -offset);
      for (const m of descending) {
        const instant = this.at(date, m);
        if (instant.getTime() <= atOrBefore.getTime()) return instant;
      }
    }
    return null;
  }

  /** The node-cron expression of each time (one task each). */
  expressions(): string[] {
    return this.minutes.map((m) => `${m % 60} ${Math.floor(m / 60)} * * *`);
  }
}

/** A job's schedule: its expression, or its list of times (null: the job is off). */
export function scheduleOf(job: { expression: string | null; defaultTimes?: readonly string[] }, times: readonly string[] | undefined, timeZone: string): Schedule | null {
  if (job.defaultTimes) {
    const list = times ?? job.defaultTimes;
    return list.length === 0 ? null : new TimesSchedule(list, timeZone);
  }
  return job.expression === null ? null : new CronSchedule(job.expression, timeZone);
}
