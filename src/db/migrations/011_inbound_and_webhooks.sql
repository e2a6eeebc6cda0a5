-- Incoming WhatsApp messages, complaints that arrive by WhatsApp, and webhook deliveries.

-- Every incoming message, once per WhatsApp message id and session. Stored before anything reacts to
-- it; `handled_at` is set in the transaction that reacts, so a crash between the two leaves the message
-- to be handled at the next start, and a message WhatsApp delivers again is neither stored nor handled
-- twice.
CREATE TABLE IF NOT EXISTS wa_inbox (
  id BIGSERIAL PRIMARY KEY,
  session TEXT NOT NULL DEFAULT 'default',
  wa_message_id TEXT NOT NULL,
  chat_id TEXT NOT NULL,
  is_group BOOLEAN NOT NULL,
  sender_id TEXT NOT NULL,
  sender_phone TEXT,
  sender_lid TEXT,
  sender_name TEXT,
  body TEXT NOT NULL DEFAULT '',
  media JSONB,
  sent_at TIMESTAMPTZ NOT NULL,
  received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  handled_at TIMESTAMPTZ,
  -- What the intake did: complaint, complaint_format_reply, opt_in, opt_in_unknown, none.
  outcome TEXT,
  UNIQUE (session, wa_message_id)
);
CREATE INDEX IF NOT EXISTS wa_inbox_unhandled_idx ON wa_inbox (id) WHERE handled_at IS NULL;
CREATE INDEX IF NOT EXISTS wa_inbox_received_idx ON wa_inbox (received_at);

-- A complaint that arrived by WhatsApp: its message, what was read from it, and the chat to answer in.
ALTER TABLE complaint_queue
  ADD COLUMN IF NOT EXISTS inbox_id BIGINT,
  ADD COLUMN IF NOT EXISTS parsed JSONB,
  ADD COLUMN IF NOT EXISTS reply_chat TEXT;
CREATE INDEX IF NOT EXISTS complaint_queue_inbox_idx ON complaint_queue (inbox_id) WHERE inbox_id IS NOT NULL;

-- One row per event and receiver, written in the transaction of what caused the event, sent later by
-- the webhook sender (never inside a transaction). `ordering_key` (the chat) keeps one chat's events in
-- order for a receiver.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id BIGSERIAL PRIMARY KEY,
  event_id UUID NOT NULL DEFAULT gen_random_uuid(),
  event TEXT NOT NULL,
  url TEXT NOT NULL,
  ordering_key TEXT NOT NULL DEFAULT '',
  payload JSONB NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- Retried until then (WEBHOOK_RETRY_FOR_MS after the event), then dead-lettered as failed.
  retry_until TIMESTAMPTZ NOT NULL DEFAULT now() + interval '1 day',
  locked_by TEXT,
  lease_until TIMESTAMPTZ,
  last_status INTEGER,
  last_error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  delivered_at TIMESTAMPTZ,
  UNIQUE (event_id, url)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_order_idx ON webhook_deliveries (url, ordering_key, id) WHERE status = 'pending';

-- New deliveries wake the webhook senders at commit (one notification per statement).
CREATE OR REPLACE FUNCTION cicero_wa_webhook_notify_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('webhook_deliveries_pending', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER webhook_deliveries_notify_insert
  AFTER INSERT ON webhook_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION cicero_wa_webhook_notify_insert();
