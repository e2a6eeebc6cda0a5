/** Prints the next fire of each default schedule after the instant in argv[2], for the zone test. */
import { CRON_JOB_NAMES, CRON_SCHEDULE_VARIABLES } from '../../src/config/index.js';
import { CronSchedule } from '../../src/scheduler/schedule-math.js';

const from = new Date(process.argv[2]!);
const result: Record<string, string | null> = {};
for (const name of CRON_JOB_NAMES) {
  result[name] = new CronSchedule(CRON_SCHEDULE_VARIABLES[name].defaultExpression, 'Asia/Jakarta').next(from)?.toISOString() ?? null;
}
process.stdout.write(JSON.stringify(result));
