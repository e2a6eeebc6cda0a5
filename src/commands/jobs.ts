/**
 * `cicero-wa run <job> [--date YYYY-MM-DD]` runs one job once (for an OS crontab, or to send a report
 * again; dedup keys keep a repeat from enqueuing twice). `cicero-wa jobs` lists the jobs with their
 * schedule, next fire, pause state and last run.
 */
import { systemClock } from '../lib/clock.js';
import { composeApp } from '../app/app.js';
import { JOB_NAMES, type JobName } from '../jobs.js';
import { announceEmbeddedStart, print, type CommandContext } from './context.js';
import { REPORT_JOBS } from '../jobs.js';
import type { RunOutcome } from '../scheduler/scheduler.js';
import { reportDateProblem, jobListingJson, jobListings, type JobListing } from '../scheduler/overview.js';
import { formatZoned, zoneName } from '../lib/zoned-time.js';
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
      return `${job}: succeeded, ${outcome.enqueued} message(s) enqueued${outcome.detail ? ` (${outcome.detail})` : ''}`;
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
    { header: 'SCHEDULE', cell: (j) => `${j.variable}=${j.expression ?? 'off'}` },
    { header: `NEXT (${zone})`, cell: (j) => (j.paused ? `${time(j.next)} PAUSED` : time(j.next)) },
    { header: `LAST RUN (${zone})`, cell: (j) => (!j.shared ? 'every instance; not recorded' : j.lastRun ? `${time(j.lastRun.slot)} ${j.lastRun.trigger}` : 'never') },
    { header: 'OUTCOME', cell: (j) => (j.lastRun ? j.lastRun.status + (j.lastRun.enqueued !== null ? `, ${j.lastRun.enqueued} enqueued` : '') : '-') },
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

/** `cicero-wa jobs [--json]`. */
export async function commandJobs(context: CommandContext): Promise<number> {
  if (context.args.length > 0) throw new UsageError(`jobs takes no arguments (got ${context.args.join(' ')})`);
  return withCommandApp(context, async (app) => {
    const listings = await jobListings(app.database.pool, app.scheduler.jobs, context.config.cron.timezone, systemClock, context.logger);
    print(formatJobs(listings, context.config.cron.timezone, context.options.json === true));
    return 0;
  });
}
