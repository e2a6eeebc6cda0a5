-- Why a message failed, as a code from a fixed catalogue (src/outbox/vocabulary.ts, FAILURE_CODES):
-- "failures by reason" and the API read it instead of the text of last_error. Rows that failed before
-- this column get the code their last_error starts with, where it is one of the catalogue's.
ALTER TABLE wa_outbox ADD COLUMN IF NOT EXISTS failure_code TEXT;

UPDATE wa_outbox
   SET failure_code = CASE
         WHEN last_error LIKE 'not delivered (checked in the chat)%'
           OR regexp_replace(last_error, '^attempts exhausted \(\d+\): ', '') LIKE 'not delivered (checked in the chat)%' THEN 'not_delivered'
         WHEN split_part(regexp_replace(last_error, '^attempts exhausted \(\d+\): ', ''), ':', 1) IN (
           'not_on_whatsapp', 'invalid_recipient', 'rejected', 'ack_error', 'timeout', 'not_ready', 'not_taken', 'connection_lost',
           'send_error', 'no_hand_over', 'content_too_large', 'caption_too_long', 'document_invalid', 'document_too_large',
           'empty_content', 'processing_error')
           THEN split_part(regexp_replace(last_error, '^attempts exhausted \(\d+\): ', ''), ':', 1)
         ELSE 'other'
       END
 WHERE status = 'failed' AND failure_code IS NULL;
