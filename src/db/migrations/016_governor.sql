-- The ban-risk governor (src/governor/): what each WhatsApp session has been allowed to send, its
-- warm-up, its risk signals and its pause, kept in the database so that they hold across restarts and
-- across instances sharing a session.

-- Every message (each part of a long one) the governor let a session hand to WhatsApp, at the time it
-- did: the budgets are counted from here. Written in the same transaction as the check, under a lock on
-- the session, so two instances never both take the last place in a budget.
CREATE TABLE IF NOT EXISTS wa_governor_sends (
  id BIGSERIAL PRIMARY KEY,
  session TEXT NOT NULL,
  at TIMESTAMPTZ NOT NULL,
  chat_id TEXT NOT NULL,
  personal BOOLEAN NOT NULL,
  -- A personal chat that has not written to this number (recently).
  cold BOOLEAN NOT NULL,
  -- sha256 of the text: the same text to many personal chats is spread out.
  text_sha256 TEXT NOT NULL,
  outbox_id BIGINT
);
CREATE INDEX IF NOT EXISTS wa_governor_sends_session_idx ON wa_governor_sends (session, at);

-- One row per session: its warm-up, its pause and the last risk score.
CREATE TABLE IF NOT EXISTS wa_session_guard (
  session TEXT PRIMARY KEY,
  -- The number seen paired (a different one starts the warm-up again).
  number TEXT,
  -- When the number was first seen paired by this service.
  first_paired_at TIMESTAMPTZ,
  -- Day 0 of the warm-up (the first pairing, or the first send after a long idle period).
  warmup_started_at TIMESTAMPTZ,
  -- The last message the governor let through (a long silence starts the warm-up again).
  last_send_at TIMESTAMPTZ,
  -- Paused: until this time (a cooling period), or without end (paused_until NULL) when pause_kind is
  -- 'operator' or 'critical'. Not paused: pause_kind NULL.
  pause_kind TEXT CHECK (pause_kind IN ('cooling', 'critical', 'operator')),
  paused_at TIMESTAMPTZ,
  paused_until TIMESTAMPTZ,
  pause_reason TEXT,
  -- The last resume by an operator: risk signals before it no longer count.
  resumed_at TIMESTAMPTZ,
  risk_score INTEGER NOT NULL DEFAULT 0,
  risk_level TEXT NOT NULL DEFAULT 'low',
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What the session saw that says WhatsApp may be unhappy with the number.
CREATE TABLE IF NOT EXISTS wa_risk_events (
  id BIGSERIAL PRIMARY KEY,
  session TEXT NOT NULL,
  at TIMESTAMPTZ NOT NULL,
  kind TEXT NOT NULL,
  weight INTEGER NOT NULL,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS wa_risk_events_session_idx ON wa_risk_events (session, at);

-- Whether a personal chat wrote to this number: looked up by chat and by the sender's phone number.
CREATE INDEX IF NOT EXISTS wa_inbox_chat_idx ON wa_inbox (session, chat_id, sent_at);
CREATE INDEX IF NOT EXISTS wa_inbox_sender_phone_idx ON wa_inbox (session, sender_phone, sent_at) WHERE sender_phone IS NOT NULL;

-- Deferred by the governor: until when and why (the attempts are not touched).
ALTER TABLE wa_outbox
  ADD COLUMN IF NOT EXISTS deferred_until TIMESTAMPTZ,
  ADD COLUMN IF NOT EXISTS deferred_reason TEXT;

-- A session resumed (its pause ended by an operator): the dispatchers are woken at once.
CREATE OR REPLACE FUNCTION wa_session_guard_notify_resume() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.pause_kind IS NOT NULL AND NEW.pause_kind IS NULL THEN
    PERFORM pg_notify('wa_outbox_pending', '');
  END IF;
  RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER wa_session_guard_resume AFTER UPDATE ON wa_session_guard
  FOR EACH ROW EXECUTE FUNCTION wa_session_guard_notify_resume();
