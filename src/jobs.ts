/**
 * The job table: every scheduled job in one place, with the variable that sets its schedule and its
 * default expression (or, for a schedule that is data, its default times of day), whether it runs once per slot across instances (shared) or in every instance
 * (local), whether a missed slot is caught up, and which part of the service handles it. The
 * configuration takes its variables from here; the composition root binds the handlers.
 *
 * Also what a job is to the modules that implement one: a handler given the run's context, which
 * returns how many messages it enqueued (or why it could not run). The scheduler decides when.
 */
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';

export type RunTrigger = 'schedule' | 'catch-up' | 'manual';

export interface JobContext {
  job: JobName;
  /** The scheduled time this run is for (for a manual run: when it was started). */
  slot: Date;
  trigger: RunTrigger;
  /** The period asked for with `cicero-wa run <job> --date YYYY-MM-DD`, else null. */
  date: string | null;
  clock: Clock;
  logger: Logger;
}

export interface JobResult {
  /** Outbox rows this run enqueued. */
  enqueued?: number;
  /**
   * Messages the run decided not to send now: waiting for the governor's budgets, past a cut-off, or left
   * for a later run (e.g. a group's second broadcast in one run).
   */
  heldBack?: number;
  /** A short note for the run ledger. */
  detail?: string;
  /** The job could not run here, for this reason (recorded as `skipped`, not failed). */
  skipped?: string;
}

export type JobHandler = (context: JobContext) => Promise<JobResult | void>;

/** What the handlers are made from; the composition root provides it. */
export interface JobSources {
  rekap: Record<'daily-report' | 'weekly-report' | 'monthly-report' | 'task-delivery-recap', JobHandler>;
  complaints: { respond: JobHandler };
  broadcasts: { task: JobHandler };
  delivery: { poll: JobHandler };
  outbox: { retention: JobHandler; maintenance: JobHandler };
  /** Engagement reminders: a run at a reminder time (`remind`) and the paced release of its plan (`release`). */
  reminders: { remind: JobHandler; release: JobHandler };
}

interface JobSpec {
  name: string;
  /** The variable holding its node-cron expression; null for a schedule that is data (`defaultTimes`). */
  variable: string | null;
  defaultExpression: string | null;
  /**
   * A schedule that is data: times of day ("HH:MM" in CRON_TIMEZONE), these by default, changed without
   * a restart through `cicero-wa jobs times`, the API or the dashboard (src/scheduler/job-times.ts).
   */
  defaultTimes?: readonly string[];
  /** Once per slot across instances (recorded in the run ledger), or in every instance. */
  shared: boolean;
  /**
   * A slot missed while the service was down runs at start-up (within CRON_CATCHUP_HOURS; for a list of
   * times, only the latest time passed, and only the same day in CRON_TIMEZONE).
   */
  catchUp: boolean;
  /** Takes `--date`: the report period. */
  takesDate: boolean;
  handler: (sources: JobSources) => JobHandler;
}

export const JOBS = [
  { name: 'daily-report', variable: 'DAILY_REPORT_CRON', defaultExpression: '0 7 * * *', shared: true, catchUp: true, takesDate: true, handler: (s) => s.rekap['daily-report'] },
  { name: 'weekly-report', variable: 'WEEKLY_REPORT_CRON', defaultExpression: '0 7 * * 1', shared: true, catchUp: true, takesDate: true, handler: (s) => s.rekap['weekly-report'] },
  { name: 'monthly-report', variable: 'MONTHLY_REPORT_CRON', defaultExpression: '0 7 1 * *', shared: true, catchUp: true, takesDate: true, handler: (s) => s.rekap['monthly-report'] },
  // Covers the time since its last successful run, so a gap is never missed: no catch-up needed.
  { name: 'task-delivery-recap', variable: 'TASK_DELIVERY_RECAP_CRON', defaultExpression: '*/30 * * * *', shared: true, catchUp: false, takesDate: false, handler: (s) => s.rekap['task-delivery-recap'] },
  // Compares each unit's posts of the day with its last broadcast, so the next run covers a gap.
  { name: 'task-broadcast', variable: 'TASK_BROADCAST_CRON', defaultExpression: '0,30 6-17 * * *', shared: true, catchUp: false, takesDate: false, handler: (s) => s.broadcasts.task },
  // Takes whatever is pending, so the next run covers a gap.
  { name: 'complaint-response', variable: 'COMPLAINT_RESPONSE_CRON', defaultExpression: '*/5 * * * *', shared: true, catchUp: false, takesDate: false, handler: (s) => s.complaints.respond },
  // Deletes old sent and cancelled messages; whatever one run leaves, the next one takes.
  { name: 'outbox-retention', variable: 'OUTBOX_RETENTION_CRON', defaultExpression: '30 3 * * *', shared: true, catchUp: false, takesDate: false, handler: (s) => s.outbox.retention },
  // Puts back what stopped holders left, flags sends never confirmed, normalises odd statuses: session by session.
  { name: 'outbox-maintenance', variable: 'OUTBOX_MAINTENANCE_CRON', defaultExpression: '* * * * *', shared: true, catchUp: false, takesDate: false, handler: (s) => s.outbox.maintenance },
  // Personal engagement reminders; times of day kept as data. A run missed by a restart a few minutes before runs once.
  { name: 'engagement-reminder', variable: null, defaultExpression: null, defaultTimes: ['17:05', '17:35'], shared: true, catchUp: true, takesDate: false, handler: (s) => s.reminders.remind },
  // Moves planned engagement reminders into the outbox as fast as the governor lets each number send; the next tick takes what waits.
  { name: 'reminder-release', variable: 'REMINDER_RELEASE_CRON', defaultExpression: '* * * * *', shared: true, catchUp: false, takesDate: false, handler: (s) => s.reminders.release },
  // Wakes this instance's dispatcher: every instance polls its own.
  { name: 'wa-gateway-poll', variable: 'WA_GATEWAY_POLL_CRON', defaultExpression: '*/2 * * * *', shared: false, catchUp: false, takesDate: false, handler: (s) => s.delivery.poll },
] as const satisfies readonly JobSpec[];

export type JobName = (typeof JOBS)[number]['name'];
export const JOB_NAMES: readonly JobName[] = JOBS.map((j) => j.name);
type CronJob = Extract<(typeof JOBS)[number], { variable: string }>;
/** The jobs whose schedule is a node-cron expression in a variable. */
export type CronJobName = CronJob['name'];
export const CRON_JOBS: readonly CronJob[] = JOBS.filter((j): j is CronJob => j.variable !== null);
/** The jobs whose schedule is a list of times kept as data. */
export const TIMES_JOB_NAMES: readonly JobName[] = JOBS.filter((j) => 'defaultTimes' in j).map((j) => j.name);
/** The jobs that take `--date` (a report period). */
export const REPORT_JOBS: readonly JobName[] = JOBS.filter((j) => j.takesDate).map((j) => j.name);

/** A job whose schedule is data, by name (with its default times), whatever this process runs. */
export function timesJob(name: string): { name: JobName; expression: null; defaultTimes: readonly string[] } | undefined {
  const spec = JOBS.find((j) => j.name === name);
  return spec && 'defaultTimes' in spec ? { name: spec.name, expression: null, defaultTimes: spec.defaultTimes } : undefined;
}

export type JobHandlers = Partial<Record<JobName, JobHandler>>;

/** A job as the scheduler runs it: the table's entry with its configured schedule and handler. */
export interface JobDefinition {
  name: JobName;
  /** Null for a schedule that is data (`defaultTimes`). */
  variable: string | null;
  defaultExpression: string | null;
  /** The configured node-cron expression; null when the job is off, or its schedule is a list of times. */
  expression: string | null;
  /** Set for a schedule that is data: the times of day used until an operator sets others. */
  defaultTimes?: readonly string[];
  /** How far back a missed slot is caught up at start-up (0: never). */
  catchUpHours: number;
  shared: boolean;
  handler: JobHandler;
}

/** The handlers of every job, from what the service is made of. */
export function jobHandlers(sources: JobSources): Record<JobName, JobHandler> {
  return Object.fromEntries(JOBS.map((j) => [j.name, j.handler(sources)])) as Record<JobName, JobHandler>;
}

/** Stands in for a handler not given (tests): the run is recorded, nothing is enqueued. */
function noHandler(name: JobName): JobHandler {
  return async () => ({ enqueued: 0, detail: `no ${name} handler in this process: run recorded only` });
}

/** The table with its schedules (`cron` of the configuration) and handlers. */
export function jobTable(config: { cron: { schedules: Record<CronJobName, string | null>; catchUpHours: number } }, handlers: JobHandlers): JobDefinition[] {
  return JOBS.map((j) => ({
    name: j.name,
    variable: j.variable,
    defaultExpression: j.defaultExpression,
    expression: j.variable === null ? null : config.cron.schedules[j.name as CronJobName],
    ...('defaultTimes' in j ? { defaultTimes: j.defaultTimes } : {}),
    catchUpHours: j.catchUp ? config.cron.catchUpHours : 0,
    shared: j.shared,
    handler: handlers[j.name] ?? noHandler(j.name),
  }));
}
