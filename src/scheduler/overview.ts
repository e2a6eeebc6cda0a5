/**
 * The jobs as an operator sees them (`cicero-wa jobs`, `GET /api/jobs`): schedule, next fire, pause
 * state and last run; and the calendar dates a report job can be run for.
 */
import type pg from 'pg';
import type { JobDefinition } from '../jobs.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { isPaused } from './job-config.js';
import { lastRuns } from './run-ledger.js';
import { CronSchedule } from './schedule-math.js';

/** A real calendar date written YYYY-MM-DD. */
export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

export interface JobListing {
  name: string;
  variable: string;
  expression: string | null;
  shared: boolean;
  next: Date | null;
  paused: boolean;
  lastRun: { slot: Date; trigger: string; status: string; enqueued: number | null; detail: string | null; error: string | null } | null;
}

export async function jobListings(pool: pg.Pool, jobs: JobDefinition[], timeZone: string, clock: Clock, logger: Logger): Promise<JobListing[]> {
  let runs: Awaited<ReturnType<typeof lastRuns>> = new Map();
  try {
    runs = await lastRuns(pool);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err; // no ledger yet: nothing has run
  }
  const listings: JobListing[] = [];
  for (const job of jobs) {
    const run = runs.get(job.name);
    listings.push({
      name: job.name,
      variable: job.variable,
      expression: job.expression,
      shared: job.shared,
      next: job.expression === null ? null : new CronSchedule(job.expression, timeZone).next(clock.now()),
      paused: await isPaused(pool, job.name, logger),
      lastRun: run && job.shared ? { slot: run.slot, trigger: run.trigger, status: run.status, enqueued: run.enqueued, detail: run.detail, error: run.error } : null,
    });
  }
  return listings;
}

