-- Several WhatsApp numbers can share one outbox: each row belongs to the session (the number) that sends
-- it, and a session's dispatcher claims only its own rows. Rows written without one (the seed's INSERT,
-- Cicero_V2's code) belong to 'default', the service's own session. Hand-overs carry their session, so
-- one number's events never confirm another's sends.
ALTER TABLE wa_outbox ADD COLUMN IF NOT EXISTS session TEXT NOT NULL DEFAULT 'default';
ALTER TABLE wa_outbox_sends ADD COLUMN IF NOT EXISTS session TEXT NOT NULL DEFAULT 'default';

CREATE INDEX IF NOT EXISTS wa_outbox_session_due_idx ON wa_outbox (session, next_attempt_at, id) WHERE status = 'pending';
