-- Schedules that are data: a job whose schedule is a list of times of day (in CRON_TIMEZONE) keeps the
-- list here once an operator changes it (`cicero-wa jobs times`, PUT /api/jobs/:name/times, the
-- dashboard's Jadwal page). No row: the job table's default times. An empty list: the job is off.
-- Every change notifies the running schedulers, which read the list again and reschedule at once.
--
-- And the run ledger says what a run held back (decided not to send now) beside what it enqueued.

CREATE TABLE IF NOT EXISTS cicero_wa_job_times (
  job TEXT PRIMARY KEY,
  times TEXT[] NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_by TEXT NOT NULL,
  CONSTRAINT cicero_wa_job_times_format CHECK (array_to_string(times, ',') ~ '^(([01][0-9]|2[0-3]):[0-5][0-9](,|$))*$'),
  CONSTRAINT cicero_wa_job_times_count CHECK (cardinality(times) <= 48)
);

CREATE OR REPLACE FUNCTION cicero_wa_job_times_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cicero_wa_job_times', COALESCE(NEW.job, OLD.job));
  RETURN NULL;
END;
$$;

CREATE TRIGGER cicero_wa_job_times_notify
  AFTER INSERT OR UPDATE OR DELETE ON cicero_wa_job_times
  FOR EACH ROW EXECUTE FUNCTION cicero_wa_job_times_notify();

ALTER TABLE cron_job_runs ADD COLUMN IF NOT EXISTS held_back INTEGER;
