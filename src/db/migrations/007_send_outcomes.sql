-- Send outcomes: every hand-over of a message (or of one part of a split message) to WhatsApp is a row
-- in wa_outbox_sends, written before the hand-over (so a crash during it is known) and settled after:
--   handing_over  the hand-over has started and its outcome is not recorded yet
--   confirmed     WhatsApp gave the message id (at once, or later through its own-message and ack events)
--   unknown       WhatsApp Web took the message but gave no id back: never sent again automatically
--   unconfirmed   still unknown after WA_CONFIRM_TIMEOUT_MS: an operator decides (outbox resend)
--   failed        the hand-over was refused before WhatsApp took the message
--   rejected      WhatsApp reported ack -1: the message never reached its server; the row is retried
-- wa_outbox.confirmation summarises a sent row's parts: confirmed, awaiting (some part unknown) or
-- unconfirmed (some part unconfirmed); dry_run when a dry run (WA_TRANSPORT=log) only logged it.
-- NULL on rows that are not sent, and on rows sent before this migration.

ALTER TABLE wa_outbox
  ADD COLUMN IF NOT EXISTS confirmation TEXT,
  ADD COLUMN IF NOT EXISTS confirmed_at TIMESTAMPTZ;

ALTER TABLE wa_outbox
  ADD CONSTRAINT wa_outbox_confirmation_check
  CHECK (confirmation IN ('confirmed', 'awaiting', 'unconfirmed', 'dry_run')) NOT VALID;

CREATE INDEX IF NOT EXISTS wa_outbox_unconfirmed_idx ON wa_outbox (id) WHERE confirmation IN ('awaiting', 'unconfirmed');

CREATE TABLE IF NOT EXISTS wa_outbox_sends (
  id BIGSERIAL PRIMARY KEY,
  outbox_id INTEGER NOT NULL,
  -- 0-based part of the row's text, and how many parts it has.
  part INTEGER NOT NULL,
  parts INTEGER NOT NULL,
  chat_id TEXT NOT NULL,
  -- SHA-256 (hex) of the part's text with line breaks and outer white space normalised: what an
  -- own-message event is matched on, without keeping a second copy of the text.
  body_sha256 TEXT NOT NULL,
  instance TEXT NOT NULL,
  handed_over_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  outcome TEXT NOT NULL DEFAULT 'handing_over'
    CHECK (outcome IN ('handing_over', 'confirmed', 'unknown', 'unconfirmed', 'failed', 'rejected')),
  reason TEXT,
  wa_message_id TEXT,
  settled_at TIMESTAMPTZ,
  ack SMALLINT,
  delivered_at TIMESTAMPTZ,
  read_at TIMESTAMPTZ
);

CREATE INDEX IF NOT EXISTS wa_outbox_sends_outbox_idx ON wa_outbox_sends (outbox_id, part);

-- Hand-overs go with their outbox rows. Not a foreign key: its share lock on the outbox row, taken at
-- every hand-over, would cost more than the record itself; deletes and truncates are rare, so they
-- carry the cost instead (a statement-level trigger each).
CREATE OR REPLACE FUNCTION cicero_wa_outbox_sends_follow_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM wa_outbox_sends s USING deleted_rows d WHERE s.outbox_id = d.id;
  RETURN NULL;
END;
$$;

CREATE TRIGGER wa_outbox_sends_follow_delete
  AFTER DELETE ON wa_outbox
  REFERENCING OLD TABLE AS deleted_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cicero_wa_outbox_sends_follow_delete();

CREATE OR REPLACE FUNCTION cicero_wa_outbox_sends_follow_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE wa_outbox_sends;
  RETURN NULL;
END;
$$;

CREATE TRIGGER wa_outbox_sends_follow_truncate
  AFTER TRUNCATE ON wa_outbox
  FOR EACH STATEMENT EXECUTE FUNCTION cicero_wa_outbox_sends_follow_truncate();
-- Not unique: an id is confirmed once by the confirmer's own check, and a transport that gave the same
-- id twice must not make the record of a message that went out fail.
CREATE INDEX IF NOT EXISTS wa_outbox_sends_message_idx ON wa_outbox_sends (wa_message_id) WHERE wa_message_id IS NOT NULL;
-- The confirmer's working set: hand-overs whose outcome is not known (a hand-over under way is not in
-- it, so a send that is confirmed at once never touches this index).
CREATE INDEX IF NOT EXISTS wa_outbox_sends_open_idx ON wa_outbox_sends (body_sha256, handed_over_at)
  WHERE outcome IN ('unknown', 'unconfirmed');

-- A row's confirmation from its parts' hand-overs (the latest good one per part): unconfirmed if any
-- part is, awaiting if any part's outcome is open, else confirmed (also for rows without hand-overs,
-- sent before this table existed). p_except/p_except_outcome stand one hand-over's outcome in for what
-- the table says, for a statement that settles that hand-over and the row together.
CREATE OR REPLACE FUNCTION cicero_wa_outbox_confirmation(p_outbox integer, p_except bigint DEFAULT NULL, p_except_outcome text DEFAULT NULL)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE
           WHEN bool_or(outcome = 'unconfirmed') THEN 'unconfirmed'
           WHEN bool_or(outcome IN ('unknown', 'handing_over')) THEN 'awaiting'
           ELSE 'confirmed'
         END
    FROM (SELECT outcome FROM wa_outbox_sends
           WHERE outbox_id = p_outbox AND outcome IN ('confirmed', 'unknown', 'unconfirmed', 'handing_over')
             AND id IS DISTINCT FROM p_except
          UNION ALL
          SELECT p_except_outcome WHERE p_except_outcome IS NOT NULL) parts
$$;
