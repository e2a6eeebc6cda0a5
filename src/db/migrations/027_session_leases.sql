-- Which process drives which WhatsApp number (src/sessions/leases.ts): a process runs a session only
-- while it holds the session's lease. `owner` is the holding process (`host:pid:random`, the same id as
-- wa_outbox.locked_by), `owner_host` its host label, `lease_until` when the lease ends unless renewed,
-- `heartbeat_at` its last renewal, `owned_since` when this holder took it. `fence` grows by one at every
-- takeover: every claim and every hand-over of the session's messages proves the holder's fence, so a
-- process that lost the session can never send for it. `pinned_host`: only a process with this host
-- label (WA_HOST_LABEL) may take the session; NULL: any.
ALTER TABLE wa_sessions ADD COLUMN IF NOT EXISTS owner text;
ALTER TABLE wa_sessions ADD COLUMN IF NOT EXISTS owner_host text;
ALTER TABLE wa_sessions ADD COLUMN IF NOT EXISTS lease_until timestamptz;
ALTER TABLE wa_sessions ADD COLUMN IF NOT EXISTS heartbeat_at timestamptz;
ALTER TABLE wa_sessions ADD COLUMN IF NOT EXISTS owned_since timestamptz;
ALTER TABLE wa_sessions ADD COLUMN IF NOT EXISTS fence bigint NOT NULL DEFAULT 0;
ALTER TABLE wa_sessions ADD COLUMN IF NOT EXISTS pinned_host text
  CHECK (pinned_host IS NULL OR pinned_host ~ '^[A-Za-z0-9._-]{1,64}$');

-- Every process reconciles when a session is added, removed, enabled, disabled, re-paired, pinned, or
-- taken or let go (a takeover, or a holder handing it over on shutdown: the others may take it at once).
-- A renewal sets neither column, so it notifies nobody.
CREATE OR REPLACE TRIGGER wa_sessions_change AFTER INSERT OR DELETE OR UPDATE OF enabled, auth_profile, pairing, pair_phone, pinned_host, owner ON wa_sessions
  FOR EACH ROW EXECUTE FUNCTION wa_sessions_notify_change();

-- The data directory of the holder (a random id kept in DATA_DIR/instance-home): a process restarted on
-- the same data directory and host, finding its predecessor's pid gone, takes the session at once
-- instead of waiting out a lease nobody can renew (src/sessions/leases.ts, deadPredecessors).
ALTER TABLE wa_sessions ADD COLUMN IF NOT EXISTS owner_home text;
