-- The WhatsApp numbers of this gateway (src/sessions/): one row per session, its own LocalAuth profile
-- (so its own QR code or pairing code), the number it paired, the state its client last reported, how
-- it pairs, whether it runs, and the message types it is the home number of (routing: a person who
-- never talked to any number hears from the type's home number). The service's single-number
-- configuration becomes the session 'default' at start-up, with its auth profile kept.
CREATE TABLE IF NOT EXISTS wa_sessions (
  name          text        PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
  label         text        NOT NULL DEFAULT '',
  auth_profile  text        NOT NULL UNIQUE CHECK (auth_profile ~ '^[A-Za-z0-9_-]{1,64}$'),
  paired_number text,
  state         text        NOT NULL DEFAULT 'new',
  state_reason  text,
  state_since   timestamptz NOT NULL DEFAULT now(),
  pairing       text        NOT NULL DEFAULT 'qr' CHECK (pairing IN ('qr', 'code')),
  pair_phone    text,
  enabled       boolean     NOT NULL DEFAULT true,
  home_types    text[]      NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (pairing = 'qr' OR pair_phone IS NOT NULL)
);

-- A session added, removed, enabled, disabled or re-paired: every running service reconciles its
-- runtimes at once (the payload is the session's name).
CREATE OR REPLACE FUNCTION wa_sessions_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('wa_sessions_changed', coalesce(NEW.name, OLD.name));
  RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER wa_sessions_change AFTER INSERT OR DELETE OR UPDATE OF enabled, auth_profile, pairing, pair_phone ON wa_sessions
  FOR EACH ROW EXECUTE FUNCTION wa_sessions_notify_change();
