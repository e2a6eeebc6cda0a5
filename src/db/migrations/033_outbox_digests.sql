-- Digests (src/outbox/digests.ts): a message with a digest key is not sent on its own. The outbox
-- maintenance folds the messages of one recipient and key (and session, when the producer named one)
-- whose window has closed into one digest row (type 'digest', digest_count = how many it folds), and
-- links each of them to it (digest_id). The originals keep the five statuses: they wait as pending and
-- end as their digest ends (the trigger below).
--
-- Cicero_V2 (or any SQL producer) sets the key with its INSERT:
--   INSERT INTO wa_outbox (recipient, content, type, digest_key) VALUES ('6281…', '…', 'admin_log', 'cicero-log');
-- A key that is not 1 to 100 of A-Z a-z 0-9 . _ : - (or set on a document, or on a text too long to be an
-- entry) is cleared by the composer and the row is sent as a plain message, the reason in last_error.
ALTER TABLE wa_outbox ADD COLUMN IF NOT EXISTS digest_key text;
-- On an original: the digest row it was folded into.
ALTER TABLE wa_outbox ADD COLUMN IF NOT EXISTS digest_id integer;
-- On a digest row: how many originals it folds.
ALTER TABLE wa_outbox ADD COLUMN IF NOT EXISTS digest_count integer;

-- The composer's look for originals still waiting for their window.
CREATE INDEX IF NOT EXISTS wa_outbox_digest_waiting_idx ON wa_outbox (recipient, digest_key, created_at, id)
  WHERE digest_key IS NOT NULL AND digest_id IS NULL AND status = 'pending';
-- A digest's originals (outbox show, and the trigger that ends them with it).
CREATE INDEX IF NOT EXISTS wa_outbox_digest_members_idx ON wa_outbox (digest_id) WHERE digest_id IS NOT NULL;
-- The router's look for work without the originals (they are never routed: their digest is). The
-- predicate is outbox/routing.ts's UNROUTED, word for word.
CREATE INDEX IF NOT EXISTS wa_outbox_unrouted_plain_idx ON wa_outbox (id)
  WHERE session IS NULL AND digest_key IS NULL AND (status = 'pending' OR (status IS NULL OR status NOT IN ('pending', 'sending', 'sent', 'failed', 'cancelled')));

-- The originals end as their digest ends, in the statement that changes the digest, whichever path
-- changes it (the dispatcher, the lease recovery, an operator's retry or cancel): sent with it (its send
-- time, confirmation and receipt), failed with a reason naming it, cancelled with it, and pending again
-- when it is put back (they wait for it, never claimed on their own).
CREATE OR REPLACE FUNCTION cicero_wa_outbox_digest_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'sent' THEN
    UPDATE wa_outbox
       SET status = 'sent', sent_at = NEW.sent_at, confirmation = NEW.confirmation, confirmed_at = NEW.confirmed_at,
           ack = NEW.ack, delivered_at = NEW.delivered_at, read_at = NEW.read_at,
           last_error = NULL, failure_code = NULL, deferred_reason = NULL, deferred_until = NULL, updated_at = now()
     WHERE digest_id = NEW.id;
  ELSIF NEW.status = 'failed' THEN
    UPDATE wa_outbox
       SET status = 'failed', failure_code = NEW.failure_code,
           last_error = 'digest #' || NEW.id || ' failed: ' || coalesce(NEW.last_error, 'no reason given'),
           deferred_reason = NULL, deferred_until = NULL, updated_at = now()
     WHERE digest_id = NEW.id AND status IS DISTINCT FROM 'failed';
  ELSIF NEW.status = 'cancelled' THEN
    UPDATE wa_outbox
       SET status = 'cancelled', last_error = 'digest #' || NEW.id || ' cancelled', deferred_reason = NULL, deferred_until = NULL, updated_at = now()
     WHERE digest_id = NEW.id AND status IS DISTINCT FROM 'cancelled';
  ELSIF NEW.status IN ('pending', 'sending') THEN
    UPDATE wa_outbox
       SET status = 'pending', sent_at = NULL, confirmation = NULL, confirmed_at = NULL, last_error = NULL, failure_code = NULL,
           deferred_reason = 'dalam ringkasan #' || NEW.id, deferred_until = NULL, updated_at = now()
     WHERE digest_id = NEW.id AND status IS DISTINCT FROM 'pending';
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER wa_outbox_digest_follow
  AFTER UPDATE OF status, confirmation, ack ON wa_outbox
  FOR EACH ROW
  WHEN (NEW.digest_count IS NOT NULL AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.confirmation IS DISTINCT FROM NEW.confirmation OR OLD.ack IS DISTINCT FROM NEW.ack))
  EXECUTE FUNCTION cicero_wa_outbox_digest_follow();
