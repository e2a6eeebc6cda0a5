/**
 * The jobs as an operator sees them (`cicero-wa jobs`, `GET /api/jobs`): schedule (an expression, or
 * the list of times kept as data), next fire, pause state and last run with what it enqueued and held
 * back; and the calendar dates a report job can be run for.
 */
import type pg from 'pg';
import type { JobDefinition } from '../jobs.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { isPaused } from './job-config.js';
import { lastRuns } from './run-ledger.js';
import { readJobTimes } from './job-times.js';
import { scheduleOf } from './schedule-math.js';
import { isoZoned } from '../lib/zoned-time.js';

/** A real calendar date written YYYY-MM-DD. */
export { REPORT_DATE_RANGE, isCalendarDate, reportDateProblem } from '../features/rekap/periods.js';

export interface JobListing {
  name: string;
  /** The variable of a node-cron schedule; null for a list of times. */
  variable: string | null;
  expression: string | null;
  /** A schedule that is data: the times of day in force (empty: off), and whether they are the defaults. */
  times: { times: string[]; defaults: string[]; source: 'default' | 'set' } | null;
  shared: boolean;
  next: Date | null;
  paused: boolean;
  lastRun: RunSummary | null;
  /** The last few runs, newest first (shared jobs only; the local poll is not recorded). */
  recentRuns: RunSummary[];
}

export interface RunSummary {
  slot: Date;
  trigger: string;
  status: string;
  enqueued: number | null;
  heldBack: number | null;
  detail: string | null;
  error: string | null;
}

/** How many runs of each job `recentRuns` holds. */
const RECENT_RUNS = 5;

export async function jobListings(pool: pg.Pool, jobs: JobDefinition[], timeZone: string, clock: Clock, logger: Logger): Promise<JobListing[]> {
  let runs: Awaited<ReturnType<typeof lastRuns>> = new Map();
  try {
    runs = await lastRuns(pool, RECENT_RUNS);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err; // no ledger yet: nothing has run
  }
  const times = await readJobTimes(pool, jobs, logger);
  const listings: JobListing[] = [];
  for (const job of jobs) {
    const recent = job.shared
      ? (runs.get(job.name) ?? []).map((r) => ({ slot: r.slot, trigger: r.trigger, status: r.status, enqueued: r.enqueued, heldBack: r.heldBack, detail: r.detail, error: r.error }))
      : [];
    const kept = times.get(job.name);
    listings.push({
      name: job.name,
      variable: job.variable,
      expression: job.expression,
      times: kept && job.defaultTimes ? { times: kept.times, defaults: [...job.defaultTimes], source: kept.source } : null,
      shared: job.shared,
      next: scheduleOf(job, kept?.times, timeZone)?.next(clock.now()) ?? null,
      paused: await isPaused(pool, job.name, logger),
      lastRun: recent[0] ?? null,
      recentRuns: recent,
    });
  }
  return listings;
}


/** A listing as a program reads it (`jobs --json`, the API): times as ISO 8601 with the zone's offset. */
export function jobListingJson(j: JobListing, timeZone: string): Record<string, unknown> {
  const run = (r: RunSummary) => ({ ...r, slot: isoZoned(r.slot, timeZone) });
  return { ...j, next: isoZoned(j.next, timeZone), lastRun: j.lastRun ? run(j.lastRun) : null, recentRuns: j.recentRuns.map(run) };
}
