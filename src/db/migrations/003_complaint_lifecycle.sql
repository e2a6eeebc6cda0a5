-- Complaint lifecycle: pending -> queued (reply in the outbox) -> responded (reply sent) or failed.

ALTER TABLE complaint_queue
  ADD COLUMN IF NOT EXISTS outbox_id INTEGER REFERENCES wa_outbox (id) ON DELETE SET NULL,
  ADD COLUMN IF NOT EXISTS failure_reason TEXT,
  ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT now();

ALTER TABLE complaint_queue
  ADD CONSTRAINT complaint_queue_status_check
  CHECK (status IN ('pending', 'queued', 'responded', 'failed')) NOT VALID;

CREATE INDEX IF NOT EXISTS complaint_queue_pending_idx ON complaint_queue (created_at, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS complaint_queue_outbox_id_idx ON complaint_queue (outbox_id) WHERE outbox_id IS NOT NULL;
