-- The outbox maintenance looks every minute for sent rows left with a rejected part (an ack -1 that
-- came while the row was being sent): read through this partial index, not the whole of wa_outbox_sends.
CREATE INDEX IF NOT EXISTS wa_outbox_sends_rejected_idx ON wa_outbox_sends (session, settled_at) WHERE outcome = 'rejected';
