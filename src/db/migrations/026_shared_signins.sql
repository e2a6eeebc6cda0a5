-- Dashboard sign-ins and the wrong-key counter live in the database, so every `http` instance on it
-- (behind a load balancer) knows them and a restart signs nobody out (src/http/dashboard/sign-ins.ts,
-- src/http/auth.ts).
--
-- A sign-in: `id` is the sha256 of the cookie's random token, never the token, so a reader of this
-- table cannot sign in. The CSRF token is kept as it is: the page it is embedded in shows it anyway, and
-- it is worth nothing without the cookie.
CREATE TABLE IF NOT EXISTS http_sign_ins (
  id bytea PRIMARY KEY,
  level text NOT NULL CHECK (level IN ('full', 'read')),
  csrf text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS http_sign_ins_expires_idx ON http_sign_ins (expires_at);

-- Wrong or missing keys per address within a one-minute window that starts at its first failure.
CREATE TABLE IF NOT EXISTS http_auth_failures (
  address text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  count integer NOT NULL
);
CREATE INDEX IF NOT EXISTS http_auth_failures_window_idx ON http_auth_failures (window_start);
