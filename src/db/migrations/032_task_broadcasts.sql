-- The task broadcast to unit groups (src/features/reminders/): per unit and day, the set of links the
-- unit's group was last sent, written in the transaction that enqueues the broadcast. The next run
-- compares today's posts with it (send only when the set changed; mark the new links [BARU]), so a
-- restart repeats nothing.
CREATE TABLE IF NOT EXISTS wa_task_broadcasts (
  client_id TEXT NOT NULL,
  day DATE NOT NULL,
  -- The Instagram shortcodes and TikTok video ids of the last broadcast, in the order shown.
  ig_shortcodes TEXT[] NOT NULL DEFAULT '{}',
  tiktok_video_ids TEXT[] NOT NULL DEFAULT '{}',
  -- The group it went to, the outbox row that carries it, and how many went that day.
  group_id TEXT NOT NULL,
  outbox_id BIGINT,
  broadcasts INTEGER NOT NULL DEFAULT 1,
  broadcast_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (client_id, day)
);
