-- A complaint is answered promptly: an insert into complaint_queue notifies the running services
-- (one notification per statement, delivered at commit), besides the COMPLAINT_RESPONSE_CRON sweep.

CREATE OR REPLACE FUNCTION cicero_wa_complaint_notify_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM inserted_rows WHERE status = 'pending') THEN
    PERFORM pg_notify('complaint_queue_pending', '');
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER complaint_queue_notify_insert
  AFTER INSERT ON complaint_queue
  REFERENCING NEW TABLE AS inserted_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cicero_wa_complaint_notify_insert();
