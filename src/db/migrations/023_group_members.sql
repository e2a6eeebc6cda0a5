-- The groups each session's number is in, as WhatsApp Web last said (src/groups/membership.ts): a send
-- to a group the number is known not to be in, or an admins-only group where it is no admin, fails at
-- once. A group without a row is unknown and is sent to as before. Looked up by (session, chat_id).
CREATE TABLE IF NOT EXISTS wa_group_members (
  session     text        NOT NULL,
  chat_id     text        NOT NULL,
  name        text,
  member      boolean     NOT NULL,
  admin       boolean     NOT NULL DEFAULT false,
  admins_only boolean     NOT NULL DEFAULT false,
  seen_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (session, chat_id)
);
