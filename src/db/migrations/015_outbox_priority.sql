-- Priority: answers to someone who just wrote are not sent behind a bulk of recaps.
--
-- 0 reply (complaint replies, replies to incoming messages), 1 normal (manual and API messages, and rows
-- written by other programs: an INSERT that does not name the column gets the default), 2 bulk (recaps).
-- A session's dispatcher claims its due rows by priority, then oldest due first (src/outbox/claims.ts).
ALTER TABLE wa_outbox ADD COLUMN IF NOT EXISTS priority SMALLINT NOT NULL DEFAULT 1;

-- Checked for every row written or changed from now on. NOT VALID: the rows already there all hold the
-- default just given them, so reading the whole table under this migration's lock would prove nothing.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'wa_outbox'::regclass AND conname = 'wa_outbox_priority_check') THEN
    ALTER TABLE wa_outbox ADD CONSTRAINT wa_outbox_priority_check CHECK (priority BETWEEN 0 AND 2) NOT VALID;
  END IF;
END
$$;

-- The claim's order within a session, over pending rows only: a claim reads the first due rows in
-- index order and stops at its limit, however many rows wait behind them (no sort of every due row).
CREATE INDEX IF NOT EXISTS wa_outbox_claim_idx ON wa_outbox (session, priority, next_attempt_at, id) WHERE status = 'pending';
