-- Documents through the outbox, and messages that follow another.
--
-- A document's bytes live in the row beside its caption (`content`): written in the same transaction as
-- the row, shared by every instance whatever machine it runs on, and gone with the row. All four
-- document columns are set for a document and NULL for text; no constraint says so, because rows
-- written by other programs are checked by the dispatcher when it claims them (a row whose document is
-- incomplete, too large or does not match its checksum fails alone with the reason).
ALTER TABLE wa_outbox
  ADD COLUMN IF NOT EXISTS document_name TEXT,
  ADD COLUMN IF NOT EXISTS document_mime TEXT,
  ADD COLUMN IF NOT EXISTS document BYTEA,
  -- sha256 of `document`, lowercase hex.
  ADD COLUMN IF NOT EXISTS document_sha256 TEXT,
  -- The row this one must not be sent before: it is not claimed while that row is pending or sending
  -- (one that failed or was cancelled no longer holds it back).
  ADD COLUMN IF NOT EXISTS follows_id BIGINT;

-- Large documents are stored out of line and not compressed again (a workbook is already a zip).
ALTER TABLE wa_outbox ALTER COLUMN document SET STORAGE EXTERNAL;
