-- An Idempotency-Key's request: POST /api/messages stores the sha256 of the request it was given with the
-- key (its dedup key), so that the same key sent again with a different request is refused instead of
-- answered with the first message (src/http/idempotency.ts says what "the same request" is). Rows written
-- otherwise (recaps, complaint replies, other programs, the API before this column) have none.
ALTER TABLE wa_outbox ADD COLUMN IF NOT EXISTS request_sha256 TEXT;
