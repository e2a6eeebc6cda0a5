-- A sender's complaints of the last hour (the hourly limit on complaints taken from one WhatsApp
-- sender): counted by complainant and time, among the complaints that arrived by WhatsApp.
CREATE INDEX IF NOT EXISTS complaint_queue_sender_idx ON complaint_queue (complainant, created_at) WHERE inbox_id IS NOT NULL;
