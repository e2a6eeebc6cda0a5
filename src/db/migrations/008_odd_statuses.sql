-- Rows with a status the service does not use (NULL, 'PENDING', a seed-era 'queued', …: written by other
-- programs). Indexes holding only them, so looking for them at every drain costs nothing however large
-- the tables grow.
CREATE INDEX IF NOT EXISTS wa_outbox_odd_status_idx ON wa_outbox (id)
  WHERE status IS NULL OR status NOT IN ('pending', 'sending', 'sent', 'failed', 'cancelled');

CREATE INDEX IF NOT EXISTS complaint_queue_odd_status_idx ON complaint_queue (id)
  WHERE status IS NULL OR status NOT IN ('pending', 'queued', 'responded', 'failed');
