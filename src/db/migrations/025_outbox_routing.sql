-- Routing (src/delivery/routing.ts): a row whose producer names no session (Cicero_V2's SQL INSERT, an
-- API call without one) is written with session NULL, "to be routed", and the router gives it the number
-- the person talks to, or one that is in the group. Claims take only rows of their own session, so a
-- NULL row is never sent before it is routed. Rows written before this migration keep their session.
ALTER TABLE wa_outbox ALTER COLUMN session DROP NOT NULL;
ALTER TABLE wa_outbox ALTER COLUMN session SET DEFAULT NULL;
-- Why this session: 'explicit' (the producer named it; NULL on a row written with a session by another
-- program, read the same), 'wrote_last', 'delivered_last', 'home', 'any_number', 'group_member',
-- 'group_admin', 'only_number', 'failover: …' after a move, or 'menunggu: …' when it waits on a number
-- that cannot send now.
ALTER TABLE wa_outbox ADD COLUMN IF NOT EXISTS route_reason text;
-- Every move of a routed row from one session to another: [{from, to, at, why}].
ALTER TABLE wa_outbox ADD COLUMN IF NOT EXISTS route_moves jsonb NOT NULL DEFAULT '[]';
ALTER TABLE wa_outbox ADD COLUMN IF NOT EXISTS routed_at timestamptz;

-- The router's look for work (each drain makes it): nothing unrouted is one index page. The predicate is
-- outbox/routing.ts's UNROUTED, word for word, so rows failed at once (no session, failed) stay out of it.
CREATE INDEX IF NOT EXISTS wa_outbox_unrouted_idx ON wa_outbox (id)
  WHERE session IS NULL AND (status = 'pending' OR (status IS NULL OR status NOT IN ('pending', 'sending', 'sent', 'failed', 'cancelled')));
-- Failover reads a session's waiting rows that the router placed.
CREATE INDEX IF NOT EXISTS wa_outbox_routed_waiting_idx ON wa_outbox (session, id)
  WHERE status = 'pending' AND route_reason IS NOT NULL AND route_reason <> 'explicit';
-- The router asks every session about one group at once.
CREATE INDEX IF NOT EXISTS wa_group_members_chat_idx ON wa_group_members (chat_id);

-- Chat affinity (src/sessions/affinity.ts): which numbers a person talks to. Keyed by the person's chat
-- id as the outbox addresses it (`<digits>@c.us`, else the LID); fed by the inbox (the person wrote to
-- the session) and by delivered receipts (the session reached them, ack >= 2).
CREATE TABLE IF NOT EXISTS wa_chat_affinity (
  chat_id           text        NOT NULL,
  session           text        NOT NULL,
  last_inbound_at   timestamptz,
  last_delivered_at timestamptz,
  PRIMARY KEY (chat_id, session)
);

-- What the inbox already knows: each person's last message to each number.
INSERT INTO wa_chat_affinity (chat_id, session, last_inbound_at)
SELECT coalesce(sender_phone, chat_id), session, max(coalesce(sent_at, received_at))
  FROM wa_inbox
 WHERE NOT is_group
 GROUP BY 1, 2
ON CONFLICT (chat_id, session) DO UPDATE
   SET last_inbound_at = greatest(wa_chat_affinity.last_inbound_at, EXCLUDED.last_inbound_at);

-- And what the outbox delivered to a recipient already written as a number id or full international number.
INSERT INTO wa_chat_affinity (chat_id, session, last_delivered_at)
SELECT r.chat_id, r.session, max(r.delivered_at)
  FROM (SELECT CASE WHEN recipient ~ '^[0-9]{8,15}@(c\.us|s\.whatsapp\.net)$' THEN split_part(recipient, '@', 1) || '@c.us'
                    WHEN regexp_replace(recipient, '[\s().+-]', '', 'g') ~ '^[1-9][0-9]{7,14}$'
                    THEN regexp_replace(recipient, '[\s().+-]', '', 'g') || '@c.us' END AS chat_id,
               session, delivered_at
          FROM wa_outbox
         WHERE delivered_at IS NOT NULL AND session IS NOT NULL) r
 WHERE r.chat_id IS NOT NULL
 GROUP BY 1, 2
ON CONFLICT (chat_id, session) DO UPDATE
   SET last_delivered_at = greatest(wa_chat_affinity.last_delivered_at, EXCLUDED.last_delivered_at);
