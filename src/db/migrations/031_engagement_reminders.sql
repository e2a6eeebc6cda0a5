-- Personal engagement reminders (src/features/reminders/), owned there.
--
-- wa_reminder_state: one row per person (chat and unit, as Cicero_V2 keys them) and day: the stage
-- reached (`reminded`, or `thanked`, after which nothing more goes that day), how many reminders went,
-- the run (slot) of the last message, and that message's outbox row with the number it was predicted
-- to go from and whether that person had not written to it (cold). Written in the transaction that
-- enqueues the message.
CREATE TABLE IF NOT EXISTS wa_reminder_state (
  day date NOT NULL,
  chat_id text NOT NULL,
  client_id text NOT NULL,
  user_id text NOT NULL,
  stage text NOT NULL CHECK (stage IN ('reminded', 'thanked')),
  reminders integer NOT NULL DEFAULT 0,
  last_slot timestamptz NOT NULL,
  outbox_id bigint,
  session text NOT NULL,
  cold boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (day, chat_id, client_id)
);
CREATE INDEX IF NOT EXISTS wa_reminder_state_outbox_idx ON wa_reminder_state (outbox_id);

-- wa_reminder_plan: what the last run decided and has not yet released to the outbox. Each run replaces
-- it; the release moves rows to wa_outbox as the governor gives room, and what reaches `expires_at`
-- (the day's next reminder time, else quiet hours or midnight) is dropped and counted, never sent.
CREATE TABLE IF NOT EXISTS wa_reminder_plan (
  id bigserial PRIMARY KEY,
  slot timestamptz NOT NULL,
  day date NOT NULL,
  kind text NOT NULL CHECK (kind IN ('reminder', 'thanks')),
  chat_id text NOT NULL,
  client_id text NOT NULL,
  user_id text NOT NULL,
  -- "Bapak/Ibu <pangkat> <nama>" is made from these at release, with the greeting for that hour.
  pangkat text,
  nama text,
  instagram_links text[] NOT NULL DEFAULT '{}',
  tiktok_links text[] NOT NULL DEFAULT '{}',
  session text NOT NULL,
  expires_at timestamptz NOT NULL,
  UNIQUE (day, chat_id, client_id)
);

-- wa_reminder_runs: each run's report, what was sent and what was held back: planned thank-yous and
-- reminders, released so far, expired (not sent before the plan's end), withdrawn (no longer a
-- recipient when its turn came: opted out, left the unit), still waiting and why.
CREATE TABLE IF NOT EXISTS wa_reminder_runs (
  slot timestamptz PRIMARY KEY,
  day date NOT NULL,
  planned_thanks integer NOT NULL DEFAULT 0,
  planned_reminders integer NOT NULL DEFAULT 0,
  released_thanks integer NOT NULL DEFAULT 0,
  released_reminders integer NOT NULL DEFAULT 0,
  expired integer NOT NULL DEFAULT 0,
  withdrawn integer NOT NULL DEFAULT 0,
  waiting integer NOT NULL DEFAULT 0,
  waiting_reason text,
  waiting_until timestamptz,
  expires_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
