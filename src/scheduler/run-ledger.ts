/**
 * The run ledger (cron_job_runs): who runs which slot, and how it went. Unique (job, slot) makes a
 * slot run once across instances: the instance whose insert succeeds runs it.
 */
import type { Queryable } from '../db/pool.js';
import type { RunTrigger } from '../jobs.js';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'skipped';

export interface RunRecord {
  job: string;
  slot: Date;
  trigger: RunTrigger;
  instance: string;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  enqueued: number | null;
  /** Messages the run decided not to send now (JobResult.heldBack); null when it says nothing of it. */
  heldBack: number | null;
  detail: string | null;
  error: string | null;
}

/**
 * Records the slot as running by this instance. Returns the run id, or null when another instance has
 * it. With `retryFailed`, a slot whose earlier run failed is taken again (catch-up).
 */
export async function claimSlot(
  db: Queryable,
  run: { job: string; slot: Date; trigger: RunTrigger; instance: string; retryFailed: boolean },
): Promise<number | null> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO cron_job_runs (job, slot, trigger, instance, status)
     VALUES ($1, $2, $3, $4, 'running')
     ON CONFLICT (job, slot) DO UPDATE
        SET trigger = EXCLUDED.trigger, instance = EXCLUDED.instance, status = 'running', started_at = now(),
            finished_at = NULL, enqueued = NULL, held_back = NULL, detail = NULL, error = NULL, attempts = cron_job_runs.attempts + 1
      WHERE $5 AND cron_job_runs.status = 'failed'
     RETURNING id`,
    [run.job, run.slot, run.trigger, run.instance, run.retryFailed],
  );
  return rows[0] ? Number(rows[0].id) : null;
}

/** Records a slot that was not run (paused, or the previous run still going), unless someone has it. */
export async function recordSkipped(
  db: Queryable,
  run: { job: string; slot: Date; trigger: RunTrigger; instance: string; reason: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO cron_job_runs (job, slot, trigger, instance, status, finished_at, detail)
     VALUES ($1, $2, $3, $4, 'skipped', now(), $5)
     ON CONFLICT (job, slot) DO NOTHING`,
    [run.job, run.slot, run.trigger, run.instance, run.reason],
  );
  return rowCount === 1;
}

export async function finishRun(
  db: Queryable,
  id: number,
  outcome: { status: 'succeeded' | 'failed' | 'skipped'; enqueued: number | null; heldBack?: number | null; detail: string | null; error: string | null },
): Promise<void> {
  await db.query(
    `UPDATE cron_job_runs SET status = $2, finished_at = now(), enqueued = $3, held_back = $4, detail = $5, error = $6 WHERE id = $1`,
    [id, outcome.status, outcome.enqueued, outcome.heldBack ?? null, outcome.detail, outcome.error],
  );
}

/** Runs left `running` by an instance that died are failed, so catch-up may take their slot again. */
export async function abandonStaleRuns(db: Queryable, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE cron_job_runs
        SET status = 'failed', finished_at = now(), error = 'abandoned: instance ' || instance || ' stopped during the run'
      WHERE status = 'running' AND started_at < now() - $1 * interval '1 millisecond'`,
    [olderThanMs],
  );
  return rowCount ?? 0;
}

/** Marks this instance's unfinished runs as failed (it is stopping and will not finish them). */
export async function failRunsOf(db: Queryable, instance: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE cron_job_runs SET status = 'failed', finished_at = now(), error = $2 WHERE status = 'running' AND instance = $1`,
    [instance, reason],
  );
}

export async function pruneHistory(db: Queryable, days: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM cron_job_runs WHERE started_at < now() - $1 * interval '1 day' AND status <> 'running'`,
    [days],
  );
  return rowCount ?? 0;
}

/** The latest runs of each job, newest first (`perJob` of them). */
export async function lastRuns(db: Queryable, perJob = 1): Promise<Map<string, RunRecord[]>> {
  const { rows } = await db.query(
    `SELECT job, slot, trigger, instance, status, started_at, finished_at, enqueued, held_back, detail, error
       FROM (SELECT *, row_number() OVER (PARTITION BY job ORDER BY started_at DESC) AS n FROM cron_job_runs) r
      WHERE n <= $1 ORDER BY job, started_at DESC`,
    [perJob],
  );
  const byJob = new Map<string, RunRecord[]>();
  for (const r of rows) {
    const record: RunRecord = {
      job: r.job,
      slot: r.slot,
      trigger: r.trigger,
      instance: r.instance,
      status: r.status,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      enqueued: r.enqueued,
      heldBack: r.held_back,
      detail: r.detail,
      error: r.error,
    };
    byJob.set(record.job, [...(byJob.get(record.job) ?? []), record]);
  }
  return byJob;
}
