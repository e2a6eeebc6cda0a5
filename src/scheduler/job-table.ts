/**
 * The job table: the seed's six jobs, each with its variable, default expression, catch-up window and
 * whether it runs once per slot across instances (shared) or in every instance (a local trigger).
 * Handlers come from the modules; a job whose module is not there yet still runs on schedule and
 * records its runs.
 */
import { CRON_JOB_NAMES, CRON_SCHEDULE_VARIABLES, type Config, type CronJobName } from '../config/index.js';
import type { JobHandler, JobHandlers } from '../jobs.js';
import type { JobDefinition } from './scheduler.js';

interface JobTraits {
  /** Reports catch up on a missed slot; the other jobs cover missed time by themselves. */
  catchUp: boolean;
  shared: boolean;
}

export const JOB_TRAITS: Record<CronJobName, JobTraits> = {
  'daily-report': { catchUp: true, shared: true },
  'weekly-report': { catchUp: true, shared: true },
  'monthly-report': { catchUp: true, shared: true },
  // Covers the time since its last successful run, so nothing is missed by a gap.
  'task-delivery-recap': { catchUp: false, shared: true },
  // Takes whatever is pending, so the next run covers a gap.
  'complaint-response': { catchUp: false, shared: true },
  // Wakes this instance's dispatcher; every instance polls its own.
  'wa-gateway-poll': { catchUp: false, shared: false },
};

/** The jobs that take `--date` (a report period). */
export const REPORT_JOBS: readonly CronJobName[] = ['daily-report', 'weekly-report', 'monthly-report'];

/** Stands in for a module that is not part of this version: the run is recorded, nothing is enqueued. */
function noModuleYet(name: CronJobName): JobHandler {
  return async () => ({ enqueued: 0, detail: `no ${name} module in this version: run recorded only` });
}

export function jobTable(config: Config, handlers: JobHandlers): JobDefinition[] {
  return CRON_JOB_NAMES.map((name) => ({
    name,
    variable: CRON_SCHEDULE_VARIABLES[name].variable,
    defaultExpression: CRON_SCHEDULE_VARIABLES[name].defaultExpression,
    expression: config.cron.schedules[name],
    catchUpHours: JOB_TRAITS[name].catchUp ? config.cron.catchUpHours : 0,
    shared: JOB_TRAITS[name].shared,
    handler: handlers[name] ?? noModuleYet(name),
  }));
}

export { Scheduler, type JobDefinition, type RunOutcome } from './scheduler.js';
export type { JobContext, JobHandler, JobHandlers, JobResult } from '../jobs.js';
