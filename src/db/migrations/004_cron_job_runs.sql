-- The run ledger: one row per (job, scheduled slot). The instance that inserts the slot runs it; the
-- others skip it, so across any number of instances each slot runs once. Manual runs
-- (cicero-wa run) are recorded with the moment they were started as their slot.

CREATE TABLE IF NOT EXISTS cron_job_runs (
  id BIGSERIAL PRIMARY KEY,
  job TEXT NOT NULL,
  slot TIMESTAMPTZ NOT NULL,
  trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'catch-up', 'manual')),
  instance TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  finished_at TIMESTAMPTZ,
  attempts INTEGER NOT NULL DEFAULT 1,
  enqueued INTEGER,
  detail TEXT,
  error TEXT,
  CONSTRAINT cron_job_runs_job_slot_key UNIQUE (job, slot)
);

CREATE INDEX IF NOT EXISTS cron_job_runs_job_started_idx ON cron_job_runs (job, started_at DESC);
CREATE INDEX IF NOT EXISTS cron_job_runs_running_idx ON cron_job_runs (started_at) WHERE status = 'running';
