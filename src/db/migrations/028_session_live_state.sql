-- What the holder of a session (src/sessions/leases.ts) shows the rest of the cluster, so the API and
-- dashboard of any instance can show and control every number (src/sessions/live-view.ts):
--
-- wa_session_live: the session's WhatsApp state as its holder last saw it: state, reason, QR code or
-- pairing code, web version, paired number, page fix (`view`, JSON). Written only by the holder with its
-- fence; a reader shows it only while that holder's lease is in force.
CREATE TABLE IF NOT EXISTS wa_session_live (
  session    text        PRIMARY KEY REFERENCES wa_sessions (name) ON DELETE CASCADE,
  owner      text        NOT NULL,
  fence      bigint      NOT NULL,
  view       jsonb       NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Commands for a session's holder from an instance that does not run it (a pairing code, a logout):
-- inserted, announced on wa_session_commands, taken by the holder within 20 s or never, answered in
-- `result` or `error`.
CREATE TABLE IF NOT EXISTS wa_session_commands (
  id           bigserial   PRIMARY KEY,
  session      text        NOT NULL REFERENCES wa_sessions (name) ON DELETE CASCADE,
  command      text        NOT NULL CHECK (command IN ('pairing_code', 'logout')),
  argument     text,
  requested_by text        NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT now(),
  taken_by     text,
  done_at      timestamptz,
  result       jsonb,
  error        jsonb
);
CREATE INDEX IF NOT EXISTS wa_session_commands_open_idx ON wa_session_commands (session, requested_at) WHERE taken_by IS NULL;

CREATE OR REPLACE FUNCTION wa_session_commands_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('wa_session_commands', NEW.session);
  RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER wa_session_commands_insert AFTER INSERT ON wa_session_commands
  FOR EACH ROW EXECUTE FUNCTION wa_session_commands_notify();
