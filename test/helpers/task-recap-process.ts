/**
 * One instance of the task delivery recap for the crash test: runs the job again and again on a
 * simulated clock (TEST_SIM_START + (now - TEST_WALL_START) * TEST_SIM_SPEED) for TEST_RECAP_SECONDS.
 */
import { createPool } from '../../src/db/pool.js';
import { silentLogger } from '../../src/lib/logger.js';
import { rekapHandlers } from '../../src/features/rekap/index.js';

const pool = createPool(process.env.TEST_RECAP_DB!, 2, silentLogger());
const simStart = new Date(process.env.TEST_SIM_START!).getTime();
const wallStart = Number(process.env.TEST_WALL_START);
const speed = Number(process.env.TEST_SIM_SPEED);
const clock = { now: () => new Date(simStart + (Date.now() - wallStart) * speed) };
const job = rekapHandlers({ pool, timeZone: 'Asia/Jakarta', sendEmpty: false, attachExcel: false })['task-delivery-recap']!;
const until = Date.now() + Number(process.env.TEST_RECAP_SECONDS) * 1000;
while (Date.now() < until) {
  await job({ job: 'task-delivery-recap', slot: clock.now(), trigger: 'manual', date: null, clock, logger: silentLogger() });
  await new Promise((r) => setTimeout(r, 20));
}
await pool.end();
