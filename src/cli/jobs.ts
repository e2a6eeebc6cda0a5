/**
 * `cicero-wa run <job> [--date YYYY-MM-DD]` runs one job once (for an OS crontab, or to send a report
 * again; dedup keys keep a repeat from enqueuing twice). `cicero-wa jobs` lists the jobs with their
 * schedule, next fire, pause state and last run.
 */
import type pg from 'pg';
import type { Clock } from '../clock.js';
import { CRON_JOB_NAMES, type Config, type CronJobName } from '../config.js';
import { REPORT_JOBS, type JobDefinition, type RunOutcome } from '../cron/index.js';
import { isPaused } from '../cron/job-config.js';
import { lastRuns } from '../cron/run-ledger.js';
import { CronSchedule, formatInZone } from '../cron/schedule-math.js';
import type { Logger } from '../logger.js';
import { UsageError } from './usage.js';

export interface RunCommand {
  job: CronJobName;
  date: string | null;
}

function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

export function parseRunCommand(positionals: string[], options: { date?: string }): RunCommand {
  const [job, ...rest] = positionals;
  if (!job) throw new UsageError(`run needs a job: one of ${CRON_JOB_NAMES.join(', ')}`);
  if (!(CRON_JOB_NAMES as readonly string[]).includes(job)) {
    throw new UsageError(`unknown job "${job}": expected one of ${CRON_JOB_NAMES.join(', ')}`);
  }
  if (rest.length > 0) throw new UsageError(`run takes one job (got also ${rest.join(' ')})`);
  if (options.date !== undefined) {
    if (!(REPORT_JOBS as readonly string[]).includes(job)) throw new UsageError(`--date applies to ${REPORT_JOBS.join(', ')}, not ${job}`);
    if (!isCalendarDate(options.date)) throw new UsageError(`--date "${options.date}" is invalid: expected a calendar date YYYY-MM-DD`);
  }
  return { job: job as CronJobName, date: options.date ?? null };
}

export function formatOutcome(job: string, outcome: RunOutcome): string {
  switch (outcome.status) {
    case 'succeeded':
      return `${job}: succeeded, ${outcome.enqueued} message(s) enqueued${outcome.detail ? ` (${outcome.detail})` : ''}`;
    case 'failed':
      return `${job}: failed: ${outcome.error}`;
    default:
      return `${job}: ${outcome.status}: ${outcome.reason}`;
  }
}

export async function listJobs(pool: pg.Pool, jobs: JobDefinition[], config: Config, clock: Clock, logger: Logger): Promise<string[]> {
  let runs: Awaited<ReturnType<typeof lastRuns>> = new Map();
  try {
    runs = await lastRuns(pool);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err; // no ledger yet: nothing has run
  }
  const tz = config.cron.timezone;
  const lines: string[] = [];
  for (const job of jobs) {
    const schedule = job.expression === null ? 'off' : job.expression;
    const next = job.expression === null ? null : new CronSchedule(job.expression, tz).next(clock.now());
    const paused = (await isPaused(pool, job.name, logger)) ? '  PAUSED (cron_job_config)' : '';
    const run = runs.get(job.name);
    const last = !job.shared
      ? 'runs in every instance; not recorded'
      : run
        ? `${formatInZone(run.slot, tz)} ${run.trigger} ${run.status}` +
          (run.enqueued !== null ? `, ${run.enqueued} enqueued` : '') +
          (run.error ? `: ${run.error}` : run.detail ? ` (${run.detail})` : '')
        : 'never';
    lines.push(
      `${job.name.padEnd(20)} ${`${job.variable}=${schedule}`.padEnd(40)} next ${next ? formatInZone(next, tz) : '-'}${paused}\n` +
        `${''.padEnd(20)} last ${last}`,
    );
  }
  return lines;
}
