/**
 * wa_chat_affinity: which numbers (sessions) a person talks to, owned here alone. A person's message
 * to a number sets its `last_inbound_at`; a message of that number delivered to them (ack >= 2) its
 * `last_delivered_at`. The router reads it to send from a number the person knows, never a cold one.
 *
 * The key is the person's chat id as the outbox addresses it (`<digits>@c.us`, or the LID where no
 * number is known): callers normalise it (whatsapp/recipient.ts) before it comes here.
 */
import type { Queryable } from '../db/pool.js';

/** What one person's chat knows of one number. */
export interface Affinity {
  chatId: string;
  session: string;
  lastInboundAt: Date | null;
  lastDeliveredAt: Date | null;
}

/** The person wrote to this session at `at` (a later time wins; an older message changes nothing). */
export async function recordInbound(db: Queryable, chatId: string, session: string, at: Date): Promise<void> {
  await db.query(
    `INSERT INTO wa_chat_affinity (chat_id, session, last_inbound_at) VALUES ($1, $2, $3)
     ON CONFLICT (chat_id, session) DO UPDATE
        SET last_inbound_at = greatest(wa_chat_affinity.last_inbound_at, EXCLUDED.last_inbound_at)`,
    [chatId, session, at],
  );
}

/** These sessions' messages reached these chats (delivered receipts), at `at`. */
export async function recordDelivered(db: Queryable, deliveries: ReadonlyArray<{ chatId: string; session: string }>, at: Date = new Date()): Promise<void> {
  if (deliveries.length === 0) return;
  await db.query(
    `INSERT INTO wa_chat_affinity (chat_id, session, last_delivered_at)
     SELECT DISTINCT d.chat_id, d.session, $3::timestamptz FROM unnest($1::text[], $2::text[]) AS d(chat_id, session)
     ON CONFLICT (chat_id, session) DO UPDATE
        SET last_delivered_at = greatest(wa_chat_affinity.last_delivered_at, EXCLUDED.last_delivered_at)`,
    [deliveries.map((d) => d.chatId), deliveries.map((d) => d.session), at],
  );
}

/** What is known of these chats, every session (one indexed read). */
export async function affinities(db: Queryable, chatIds: readonly string[]): Promise<Affinity[]> {
  if (chatIds.length === 0) return [];
  const { rows } = await db.query<{ chat_id: string; session: string; last_inbound_at: Date | null; last_delivered_at: Date | null }>(
    `SELECT chat_id, session, last_inbound_at, last_delivered_at FROM wa_chat_affinity WHERE chat_id = ANY($1::text[])`,
    [[...new Set(chatIds)]],
  );
  return rows.map((r) => ({ chatId: r.chat_id, session: r.session, lastInboundAt: r.last_inbound_at, lastDeliveredAt: r.last_delivered_at }));
}
