-- A complaint is answered from the WhatsApp number (the session) that heard it. Complaints written by
-- other programs (Cicero_V2's INSERT names no session) belong to 'default', the service's own number.
-- Complaints that arrived by WhatsApp before this column take their message's session.
ALTER TABLE complaint_queue ADD COLUMN IF NOT EXISTS session TEXT NOT NULL DEFAULT 'default';

UPDATE complaint_queue c
   SET session = i.session
  FROM wa_inbox i
 WHERE i.id = c.inbox_id AND c.session IS DISTINCT FROM i.session;
