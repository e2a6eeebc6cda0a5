-- WA_AUTH_STORE=postgres (src/whatsapp/wwebjs/auth-store.ts): each auth profile's WhatsApp Web login,
-- the parts of its Chromium profile that hold it (IndexedDB and Local Storage), so another machine can
-- take the session without a new QR scan. `data` is sealed with AES-256-GCM under WA_AUTH_STORE_KEY
-- (never readable here); `sha256` is of `data` as stored; `size` the bytes stored (`plain_size`, `files`:
-- the archive before compression); `key_id` names the key without revealing it (a copy sealed under
-- another key is refused by name); `saved_by` the host label of the process that saved it; `held_by` the
-- process that restored or saved it last (host label, pid, a random id per tenure): only it may replace
-- or remove the copy, so a process that lost the session cannot overwrite its new holder's.
CREATE TABLE IF NOT EXISTS wa_auth_store (
  auth_profile text PRIMARY KEY CHECK (auth_profile ~ '^[A-Za-z0-9_-]{1,64}$'),
  data bytea NOT NULL,
  sha256 text NOT NULL,
  size integer NOT NULL,
  plain_size bigint NOT NULL,
  files integer NOT NULL,
  key_id text NOT NULL,
  saved_by text NOT NULL,
  held_by text NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
);
