-- Delivery bookkeeping for wa_outbox. Every added column has a default, so a writer that knows only the
-- seed's columns (INSERT INTO wa_outbox (recipient, content, type) VALUES (...)) keeps working, and rows
-- that were pending before this migration are due at once.

ALTER TABLE wa_outbox
  ADD COLUMN IF NOT EXISTS dedup_key TEXT,
  ADD COLUMN IF NOT EXISTS attempts INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ADD COLUMN IF NOT EXISTS lease_until TIMESTAMPTZ,
  ADD COLUMN IF NOT EXISTS locked_by TEXT,
  ADD COLUMN IF NOT EXISTS last_error TEXT,
  ADD COLUMN IF NOT EXISTS parts_sent INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS wa_message_id TEXT,
  ADD COLUMN IF NOT EXISTS ack SMALLINT,
  ADD COLUMN IF NOT EXISTS delivered_at TIMESTAMPTZ,
  ADD COLUMN IF NOT EXISTS read_at TIMESTAMPTZ,
  ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ NOT NULL DEFAULT now();

-- pending -> sending -> sent; failed (the dead letter, with last_error); cancelled (by an operator).
-- NOT VALID: rows written before this migration are not checked, new and updated rows are.
ALTER TABLE wa_outbox
  ADD CONSTRAINT wa_outbox_status_check
  CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')) NOT VALID;

-- One message per dedup key; rows without a key are never deduplicated.
CREATE UNIQUE INDEX IF NOT EXISTS wa_outbox_dedup_key_key ON wa_outbox (dedup_key) WHERE dedup_key IS NOT NULL;

-- Finding due rows stays cheap however many sent rows the table holds: these partial indexes contain
-- only the rows that still need work.
CREATE INDEX IF NOT EXISTS wa_outbox_due_idx ON wa_outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS wa_outbox_lease_idx ON wa_outbox (lease_until) WHERE status = 'sending';
CREATE INDEX IF NOT EXISTS wa_outbox_dead_letter_idx ON wa_outbox (id) WHERE status IN ('failed', 'cancelled');
CREATE INDEX IF NOT EXISTS wa_outbox_wa_message_id_idx ON wa_outbox (wa_message_id) WHERE wa_message_id IS NOT NULL;

-- One notification per INSERT statement that added pending rows (a batch insert is one notification;
-- an insert whose rows were all deduplicated away sends none). Delivered at commit.
CREATE OR REPLACE FUNCTION cicero_wa_outbox_notify_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM inserted_rows WHERE status = 'pending') THEN
    PERFORM pg_notify('wa_outbox_pending', '');
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER wa_outbox_notify_insert
  AFTER INSERT ON wa_outbox
  REFERENCING NEW TABLE AS inserted_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cicero_wa_outbox_notify_insert();
