/**
 * The schedules: node-cron jobs in CRON_TIMEZONE, each from its *_CRON variable (validated in
 * config.ts; "off" disables it). Only the jobs given a handler are registered.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { CRON_JOB_NAMES, CRON_SCHEDULE_VARIABLES, type Config, type CronJobName } from '../config.js';
import type { Logger } from '../logger.js';

export type JobHandlers = Partial<Record<CronJobName, () => void | Promise<void>>>;

export interface Schedules {
  stop(): Promise<void>;
}

export function startSchedules(config: Config, handlers: JobHandlers, logger: Logger): Schedules {
  const tasks: ScheduledTask[] = [];
  for (const name of CRON_JOB_NAMES) {
    const handler = handlers[name];
    const expression = config.cron.schedules[name];
    if (!handler) continue;
    if (expression === null) {
      logger.info({ job: name, variable: CRON_SCHEDULE_VARIABLES[name].variable }, 'job switched off');
      continue;
    }
    const task = cron.schedule(
      expression,
      async () => {
        try {
          await handler();
        } catch (err) {
          logger.error({ job: name, err: (err as Error).message }, 'job failed');
        }
      },
      { timezone: config.cron.timezone, name, noOverlap: true },
    );
    tasks.push(task);
    logger.info({ job: name, expression, timezone: config.cron.timezone, next: task.getNextRun()?.toISOString() }, 'job scheduled');
  }
  return {
    async stop() {
      await Promise.all(tasks.map((t) => t.destroy()));
    },
  };
}
