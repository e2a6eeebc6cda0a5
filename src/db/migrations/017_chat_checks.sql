-- Settling an unknown outcome from the chat itself: what the service looked at and decided, kept on the
-- hand-over. JSONB: result (found | not_found | not_far_enough | unreadable), at, the chat read, how
-- many own messages it gave and the oldest one's time, the message id found, whether it was sent again,
-- the error of a chat that could not be read. A hand-over found missing is `rejected` with the reason
-- "not delivered (checked in the chat)" (its row goes back to the retry path, as after an ack -1), or
-- `unconfirmed` when WA_RESEND_CHECKED=false leaves it to an operator.
ALTER TABLE wa_outbox_sends ADD COLUMN IF NOT EXISTS chat_check JSONB;
