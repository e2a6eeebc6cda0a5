/**
 * `cicero-wa run <job> [--date YYYY-MM-DD]` runs one job once (for an OS crontab, or to send a report
 * again; dedup keys keep a repeat from enqueuing twice). `cicero-wa jobs` lists the jobs with their
 * schedule, next fire, pause state and last run (what it enqueued and held back). `cicero-wa jobs times
 * <job> [add|remove|set|reset]` shows or changes a schedule that is data; running schedulers follow.
 */
import { systemClock } from '../lib/clock.js';
import { composeApp } from '../app/app.js';
import { JOB_NAMES, TIMES_JOB_NAMES, type JobName } from '../jobs.js';
import { changeJobTimes, parseTimesText, readJobTimes, TimesChangeError, type JobTimes, type TimesChange } from '../scheduler/job-times.js';
import { scheduleOf } from '../scheduler/schedule-math.js';
import { announceEmbeddedStart, print, type CommandContext } from './context.js';
import { REPORT_JOBS } from '../jobs.js';
import type { RunOutcome } from '../scheduler/scheduler.js';
import { reportDateProblem, jobListingJson, jobListings, type JobListing } from '../scheduler/overview.js';
import { formatZoned, isoZoned, zoneName } from '../lib/zoned-time.js';
import { json, renderTable } from './table.js';
import { UsageError } from './usage.js';

export interface RunCommand {
  job: JobName;
  date: string | null;
}

export function parseRunCommand(positionals: string[], options: { date?: string }): RunCommand {
  const [job, ...rest] = positionals;
  if (!job) throw new UsageError(`run needs a job: one of ${JOB_NAMES.join(', ')}`);
  if (!(JOB_NAMES as readonly string[]).includes(job)) {
    throw new UsageError(`unknown job "${job}": expected one of ${JOB_NAMES.join(', ')}`);
  }
  if (rest.length > 0) throw new UsageError(`run takes one job (got also ${rest.join(' ')})`);
  if (options.date !== undefined) {
    if (!(REPORT_JOBS as readonly string[]).includes(job)) throw new UsageError(`--date applies to ${REPORT_JOBS.join(', ')}, not ${job}`);
    const problem = reportDateProblem(options.date);
    if (problem) throw new UsageError(`--date "${options.date}" is invalid: ${problem === 'is not a calendar date (YYYY-MM-DD)' ? 'expected a calendar date YYYY-MM-DD' : problem.replace(/^is /, 'it is ')}`);
  }
  return { job: job as JobName, date: options.date ?? null };
}

export function formatOutcome(job: string, outcome: RunOutcome): string {
  switch (outcome.status) {
    case 'succeeded':
      return `${job}: succeeded, ${outcome.enqueued} message(s) enqueued${outcome.heldBack ? `, ${outcome.heldBack} held back` : ''}${outcome.detail ? ` (${outcome.detail})` : ''}`;
    case 'failed':
      return `${job}: failed: ${outcome.error}`;
    default:
      return `${job}: ${outcome.status}: ${outcome.reason}`;
  }
}

/** `cicero-wa jobs`: a table, or with `--json` the same as JSON (times as ISO 8601 with the zone's offset). */
export function formatJobs(listings: JobListing[], timeZone: string, asJson: boolean): string[] {
  if (asJson) return json(listings.map((j) => jobListingJson(j, timeZone)));
  const zone = zoneName(timeZone);
  const time = (d: Date | null) => formatZoned(d, timeZone, { zone: false });
  return renderTable(listings, [
    { header: 'JOB', cell: (j) => j.name },
    { header: 'SCHEDULE', cell: (j) => (j.times ? `times ${j.times.times.length > 0 ? `${j.times.times.join(',')} ${zone}` : 'off'} (jobs times)` : `${j.variable}=${j.expression ?? 'off'}`) },
    { header: `NEXT (${zone})`, cell: (j) => (j.paused ? `${time(j.next)} PAUSED` : time(j.next)) },
    { header: `LAST RUN (${zone})`, cell: (j) => (!j.shared ? 'every instance; not recorded' : j.lastRun ? `${time(j.lastRun.slot)} ${j.lastRun.trigger}` : 'never') },
    {
      header: 'OUTCOME',
      cell: (j) =>
        j.lastRun ? j.lastRun.status + (j.lastRun.enqueued !== null ? `, ${j.lastRun.enqueued} enqueued` : '') + (j.lastRun.heldBack !== null ? `, ${j.lastRun.heldBack} held back` : '') : '-',
    },
    { header: 'DETAIL', cell: (j) => j.lastRun?.error ?? j.lastRun?.detail ?? '' },
  ]);
}

/** Runs `work` with the service composed as a command (same handlers as `start`, nothing started). */
async function withCommandApp(context: CommandContext, work: (app: Awaited<ReturnType<typeof composeApp>>) => Promise<number>): Promise<number> {
  const app = await composeApp(context.config, context.logger, { role: 'command', onEmbeddedStart: announceEmbeddedStart });
  try {
    return await work(app);
  } finally {
    await app.stop();
  }
}

/** `cicero-wa run <job> [--date YYYY-MM-DD]`: one job once, now, through the same composition as `start`. */
export async function commandRun(context: CommandContext): Promise<number> {
  const command = parseRunCommand(context.args, context.options as { date?: string });
  return withCommandApp(context, async (app) => {
    const outcome = await app.scheduler.runNow(command.job, command.date);
    print([formatOutcome(command.job, outcome)]);
    return outcome.status === 'failed' ? 1 : 0;
  });
}

/** `cicero-wa jobs [--json]`, and `cicero-wa jobs times …`. */
export async function commandJobs(context: CommandContext): Promise<number> {
  if (context.args[0] === 'times') return commandJobTimes(context, context.args.slice(1));
  if (context.args.length > 0) throw new UsageError(`jobs takes no arguments but "times" (got ${context.args.join(' ')})`);
  return withCommandApp(context, async (app) => {
    const listings = await jobListings(app.database.pool, app.scheduler.jobs, context.config.cron.timezone, systemClock, context.logger);
    print(formatJobs(listings, context.config.cron.timezone, context.options.json === true));
    return 0;
  });
}

export interface TimesCommand {
  job: JobName;
  change: TimesChange | null;
}

const TIMES_USAGE = 'jobs times <job> [add HH:MM | remove HH:MM | set HH:MM,HH:MM | reset]';

/** `jobs times <job> [add HH:MM | remove HH:MM | set LIST | reset]`: which job, and what change (null: show). */
export function parseTimesCommand(args: string[]): TimesCommand {
  const [job, action, ...rest] = args;
  if (!job) throw new UsageError(`${TIMES_USAGE}: which job? (${TIMES_JOB_NAMES.join(', ')})`);
  if (!(TIMES_JOB_NAMES as readonly string[]).includes(job)) {
    const why = (JOB_NAMES as readonly string[]).includes(job) ? `its schedule is a node-cron expression in its variable, not a list of times` : `unknown job`;
    throw new UsageError(`"${job}": ${why}; jobs with times: ${TIMES_JOB_NAMES.join(', ')}`);
  }
  const name = job as JobName;
  if (action === undefined) return { job: name, change: null };
  const value = rest.join(' ');
  switch (action) {
    case 'add':
    case 'remove':
      if (rest.length !== 1) throw new UsageError(`${TIMES_USAGE}: ${action} takes one time HH:MM (got ${rest.length === 0 ? 'none' : value})`);
      return { job: name, change: action === 'add' ? { add: value } : { remove: value } };
    case 'set':
      if (rest.length === 0) throw new UsageError(`${TIMES_USAGE}: set takes the whole list, e.g. 17:05,17:35 ("off" for none: the job is off)`);
      return { job: name, change: { set: parseTimesText(value) } };
    case 'reset':
      if (rest.length > 0) throw new UsageError(`${TIMES_USAGE}: reset takes nothing more (got ${value})`);
      return { job: name, change: { reset: true } };
    default:
      throw new UsageError(`${TIMES_USAGE}: unknown action "${action}"`);
  }
}

/** A job's times as one line: "engagement-reminder: 17:05, 17:35 WIB (default times); next 2026-12-04 17:05:00 WIB". */
export function formatTimes(times: JobTimes, next: Date | null, timeZone: string): string {
  const zone = zoneName(timeZone);
  const list = times.times.length === 0 ? 'no times: the job is off' : `${times.times.join(', ')} ${zone}`;
  const source = times.source === 'default' ? 'default times' : `set ${formatZoned(times.updatedAt, timeZone)} by ${times.updatedBy}`;
  return `${times.job}: ${list} (${source}); next ${next ? formatZoned(next, timeZone) : 'none'}`;
}

async function commandJobTimes(context: CommandContext, args: string[]): Promise<number> {
  const command = parseTimesCommand(args);
  const timeZone = context.config.cron.timezone;
  return withCommandApp(context, async (app) => {
    const job = app.scheduler.job(command.job)!;
    let times: JobTimes;
    if (command.change === null) {
      times = (await readJobTimes(app.database.pool, [job], context.logger)).get(job.name)!;
    } else {
      try {
        times = await changeJobTimes(app.database.pool, job, command.change, 'cli');
      } catch (err) {
        if (err instanceof TimesChangeError) throw new UsageError(`jobs times ${job.name}: ${err.message}`);
        throw err;
      }
    }
    const next = scheduleOf(job, times.times, timeZone)?.next(systemClock.now()) ?? null;
    if (context.options.json === true) print(json({ ...times, updatedAt: isoZoned(times.updatedAt, timeZone), next: isoZoned(next, timeZone), timeZone }));
    else {
      print([formatTimes(times, next, timeZone)]);
      if (command.change !== null) print(['running schedulers apply it now (no restart needed)']);
    }
    return 0;
  });
}
