/**
 * What a scheduled job is to the modules that implement one: a handler given the run's context, which
 * returns how many messages it enqueued. The scheduler (cron/) decides when handlers run.
 */
import type { Clock } from './lib/clock.js';
import type { CronJobName } from './config/index.js';
import type { Logger } from './lib/logger.js';

export type RunTrigger = 'schedule' | 'catch-up' | 'manual';

export interface JobContext {
  job: CronJobName;
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
  /** A short note for the run ledger. */
  detail?: string;
  /** The job could not run here, for this reason (recorded as `skipped`, not failed). */
  skipped?: string;
}

export type JobHandler = (context: JobContext) => Promise<JobResult | void>;

export type JobHandlers = Partial<Record<CronJobName, JobHandler>>;
