-- The dashboard's "today" reads the outbox by creation time: an index keeps that a range read at any size.
CREATE INDEX IF NOT EXISTS wa_outbox_created_idx ON wa_outbox (created_at);
