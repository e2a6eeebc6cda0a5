/**
 * Cicero_V2's own switch for scheduled jobs: a row in its `cron_job_config` table whose `job_key` is our
 * job name and `is_active = false` pauses that job. Read at each fire, so pausing needs no restart.
 */
import type { Queryable } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';

const UNDEFINED_TABLE = '42P01';

/** True when the job is paused. A database without the table pauses nothing; a failed lookup pauses nothing and warns. */
export async function isPaused(db: Queryable, job: string, logger: Logger): Promise<boolean> {
  try {
    const { rows } = await db.query<{ is_active: boolean | null }>('SELECT is_active FROM cron_job_config WHERE job_key = $1', [job]);
    return rows[0]?.is_active === false;
  } catch (err) {
    if ((err as { code?: string }).code === UNDEFINED_TABLE) return false;
    logger.warn({ job, err: (err as Error).message }, 'could not read cron_job_config; running the job');
    return false;
  }
}
