/**
 * A scheduler process for the multi-instance test: the real Scheduler on the database at
 * TEST_SCHEDULER_DB, with one test job on a second-level expression whose handler appends
 * "<slot> <pid>" to TEST_SCHEDULER_LOG. Runs for TEST_SCHEDULER_SECONDS, then stops.
 */
import { appendFileSync } from 'node:fs';
import { systemClock } from '../../src/lib/clock.js';
import type { JobDefinition } from '../../src/jobs.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { createPool } from '../../src/db/pool.js';
import { silentLogger } from '../../src/lib/logger.js';

const pool = createPool(process.env.TEST_SCHEDULER_DB!, 4, silentLogger());
const job: JobDefinition = {
  name: 'complaint-response',
  variable: 'COMPLAINT_RESPONSE_CRON',
  defaultExpression: '*/5 * * * *',
  expression: process.env.TEST_SCHEDULER_CRON ?? '*/2 * * * * *',
  catchUpHours: 0,
  shared: true,
  handler: async ({ slot }) => {
    appendFileSync(process.env.TEST_SCHEDULER_LOG!, `${slot.toISOString()} ${process.pid}\n`);
    return { enqueued: 1 };
  },
};
const scheduler = new Scheduler({ pool, jobs: [job], timezone: 'Asia/Jakarta', historyDays: 90, logger: silentLogger(), clock: systemClock });
await scheduler.start();
process.stdout.write('scheduler started\n');
await new Promise((r) => setTimeout(r, Number(process.env.TEST_SCHEDULER_SECONDS ?? '20') * 1000));
await scheduler.stop();
await pool.end();
