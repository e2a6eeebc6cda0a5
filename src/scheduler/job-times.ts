/**
 * Schedules that are data: the times of day ("HH:MM" in CRON_TIMEZONE) of a job whose schedule is a
 * list (`defaultTimes` in the job table), kept in `cicero_wa_job_times` once an operator changes them.
 * No row: the job table's defaults. An empty list: the job is off. Each change notifies
 * JOB_TIMES_CHANNEL (a trigger on the table, so an SQL edit counts too); every running scheduler reads
 * the list again and reschedules, without a restart.
 *
 * Validation is here, for the command line, the API and the dashboard alike: each time "HH:MM" from
 * 00:00 to 23:59, no time twice, at most MAX_TIMES of them.
 */
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.js';
import { OperatorError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { JOBS, type JobName } from '../jobs.js';

export const JOB_TIMES_CHANNEL = 'cicero_wa_job_times';
/** At most this many times in a list (one every half hour). */
export const MAX_TIMES = 48;
const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
export const TIME_ALLOWED = 'expected a time of day HH:MM from 00:00 to 23:59, e.g. 17:05';

export interface TimesProblem {
  field: string;
  message: string;
}

/** What is wrong with a list of times given from outside (`field`: how the caller names it), or []. */
export function timesProblems(value: unknown, field: string): TimesProblem[] {
  if (!Array.isArray(value)) return [{ field, message: `must be a list of times of day HH:MM (an empty list switches the job off)` }];
  const problems: TimesProblem[] = [];
  if (value.length > MAX_TIMES) problems.push({ field, message: `has ${value.length} times; at most ${MAX_TIMES} are allowed` });
  const seen = new Map<string, number>();
  value.forEach((time, i) => {
    if (typeof time !== 'string' || !TIME.test(time)) {
      problems.push({ field: `${field}[${i}]`, message: `${JSON.stringify(time)} is invalid: ${TIME_ALLOWED}` });
      return;
    }
    const first = seen.get(time);
    if (first !== undefined) problems.push({ field: `${field}[${i}]`, message: `${time} is already in the list (at ${first}): each time once` });
    else seen.set(time, i);
  });
  return problems;
}

/** A list written on one line ("17:05,17:35" or "17:05 17:35"); "" and "off" are the empty list. */
export function parseTimesText(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'off') return [];
  return trimmed.split(/[\s,]+/).filter((t) => t !== '');
}

/** The times in the order of the day. */
export function sortTimes(times: readonly string[]): string[] {
  return [...times].sort();
}

export interface JobTimes {
  job: string;
  times: string[];
  /** `default`: the job table's, no one has changed them; `set`: kept in the table. */
  source: 'default' | 'set';
  updatedAt: Date | null;
  updatedBy: string | null;
}

interface TimesJob {
  name: string;
  defaultTimes?: readonly string[];
}

/**
 * The times of each job whose schedule is data. A row that is not a valid list (written by hand past the
 * table's checks) is not used: the defaults are, with a warning.
 */
export async function readJobTimes(db: Queryable, jobs: readonly TimesJob[], logger: Logger): Promise<Map<string, JobTimes>> {
  const wanted = jobs.filter((j) => j.defaultTimes);
  const result = new Map<string, JobTimes>();
  if (wanted.length === 0) return result;
  const { rows } = await db.query<{ job: string; times: string[]; updated_at: Date; updated_by: string }>(
    'SELECT job, times, updated_at, updated_by FROM cicero_wa_job_times WHERE job = ANY($1)',
    [wanted.map((j) => j.name)],
  );
  for (const job of wanted) {
    const row = rows.find((r) => r.job === job.name);
    const problems = row ? timesProblems(row.times, 'cicero_wa_job_times.times') : [];
    if (row && problems.length > 0) logger.warn({ job: job.name, problems }, 'the times kept for this job are not valid; its default times are used');
    result.set(
      job.name,
      row && problems.length === 0
        ? { job: job.name, times: sortTimes(row.times), source: 'set', updatedAt: row.updated_at, updatedBy: row.updated_by }
        : { job: job.name, times: sortTimes(job.defaultTimes!), source: 'default', updatedAt: null, updatedBy: null },
    );
  }
  return result;
}

/** The times of day in force now for one job of the job table whose schedule is data (none: []). */
export async function jobTimesNow(db: Queryable, name: JobName, logger: Logger): Promise<string[]> {
  const jobs: readonly TimesJob[] = JOBS;
  const times = await readJobTimes(db, jobs.filter((j) => j.name === name), logger);
  return times.get(name)?.times ?? [];
}

export type TimesChange = { set: string[] } | { add: string } | { remove: string } | { reset: true };

/** A change of times refused, with what is wrong by field. */
export class TimesChangeError extends OperatorError {
  override readonly exitCode = 2;

  constructor(readonly problems: TimesProblem[]) {
    super(problems.map((p) => `${p.field} ${p.message}`).join('; '));
  }
}

/**
 * Changes a job's times in one transaction (the row locked, so two changes at once both count) and
 * returns the list now in force. `by`: who changed it (`cli`, `api`, `dashboard`), kept with the row.
 * Throws TimesChangeError naming what is wrong (field `times`, `times[i]` or `time`).
 */
export async function changeJobTimes(pool: pg.Pool, job: TimesJob, change: TimesChange, by: string): Promise<JobTimes> {
  const defaults = job.defaultTimes;
  if (!defaults) throw new TimesChangeError([{ field: 'job', message: `${job.name} has a node-cron schedule set by its variable, not a list of times` }]);
  return withTransaction(pool, async (client) => {
    if ('reset' in change) {
      await client.query('DELETE FROM cicero_wa_job_times WHERE job = $1', [job.name]);
      return { job: job.name, times: sortTimes(defaults), source: 'default', updatedAt: null, updatedBy: null };
    }
    await client.query('INSERT INTO cicero_wa_job_times (job, times, updated_by) VALUES ($1, $2, $3) ON CONFLICT (job) DO NOTHING', [job.name, sortTimes(defaults), by]);
    const { rows } = await client.query<{ times: string[] }>('SELECT times FROM cicero_wa_job_times WHERE job = $1 FOR UPDATE', [job.name]);
    const next = changedList(rows[0]!.times, change);
    const problems = timesProblems(next.list, next.field);
    if (problems.length > 0) throw new TimesChangeError(problems);
    const updated = await client.query<{ times: string[]; updated_at: Date; updated_by: string }>(
      'UPDATE cicero_wa_job_times SET times = $2, updated_at = now(), updated_by = $3 WHERE job = $1 RETURNING times, updated_at, updated_by',
      [job.name, sortTimes(next.list), by],
    );
    const row = updated.rows[0]!;
    return { job: job.name, times: row.times, source: 'set', updatedAt: row.updated_at, updatedBy: row.updated_by };
  });
}

function changedList(current: string[], change: { set: string[] } | { add: string } | { remove: string }): { list: string[]; field: string } {
  if ('set' in change) return { list: change.set, field: 'times' };
  if ('add' in change) {
    const problems = timesProblems([change.add], 'time');
    if (problems.length > 0) throw new TimesChangeError([{ field: 'time', message: problems[0]!.message }]);
    if (current.includes(change.add)) throw new TimesChangeError([{ field: 'time', message: `${change.add} is already in the list (${current.join(', ')})` }]);
    return { list: [...current, change.add], field: 'times' };
  }
  if (!current.includes(change.remove)) {
    throw new TimesChangeError([{ field: 'time', message: `${change.remove} is not in the list (${current.length > 0 ? current.join(', ') : 'empty: the job is off'})` }]);
  }
  return { list: current.filter((t) => t !== change.remove), field: 'times' };
}
