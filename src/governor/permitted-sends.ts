/**
 * The permitted sends (wa_governor_sends): every message (each part) the governor let a session hand
 * to WhatsApp, at the time it did. Budgets are counted from them in sliding windows; a send that never
 * reached WhatsApp gives its place back.
 */
import type { Queryable } from '../db/pool.js';

export interface WindowCounts {
  minute: number;
  hour: number;
  day: number;
  coldDay: number;
  sameTextHour: number;
  /** The session's last send within the day, if any. */
  last: Date | null;
  /** Its last send to someone who had not written, within the day. */
  lastCold: Date | null;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The session's sends in the sliding minute, hour and day before `now`. */
export async function windowCounts(db: Queryable, session: string, now: Date, textSha256: string): Promise<WindowCounts> {
  const { rows } = await db.query<{ minute: number; hour: number; day: number; cold_day: number; same_text_hour: number; last: Date | null; last_cold: Date | null }>(
    `SELECT count(*) FILTER (WHERE at > $2::timestamptz - interval '1 minute')::int AS minute,
            count(*) FILTER (WHERE at > $2::timestamptz - interval '1 hour')::int AS hour,
            count(*)::int AS day,
            count(*) FILTER (WHERE cold)::int AS cold_day,
            count(*) FILTER (WHERE personal AND text_sha256 = $3 AND at > $2::timestamptz - interval '1 hour')::int AS same_text_hour,
            max(at) AS last,
            max(at) FILTER (WHERE cold) AS last_cold
       FROM wa_governor_sends
      WHERE session = $1 AND at > $2::timestamptz - interval '1 day' AND at <= $2::timestamptz`,
    [session, now, textSha256],
  );
  const r = rows[0]!;
  return { minute: r.minute, hour: r.hour, day: r.day, coldDay: r.cold_day, sameTextHour: r.same_text_hour, last: r.last, lastCold: r.last_cold };
}

export type WindowFilter = 'all' | 'cold' | 'same-text';

/**
 * When `free` more places open in a window of `windowMs` that holds `count` sends against `budget`: the
 * time the (count - budget + free)-th oldest send leaves it.
 */
export async function freeAt(
  db: Queryable,
  session: string,
  now: Date,
  windowMs: number,
  overBy: number,
  filter: WindowFilter = 'all',
  textSha256 = '',
): Promise<Date> {
  const condition = filter === 'cold' ? 'AND cold' : filter === 'same-text' ? 'AND personal AND text_sha256 = $5' : '';
  const { rows } = await db.query<{ at: Date }>(
    `SELECT at FROM wa_governor_sends
      WHERE session = $1 AND at > $2::timestamptz - $3 * interval '1 millisecond' AND at <= $2::timestamptz ${condition}
      ORDER BY at, id OFFSET $4 LIMIT 1`,
    filter === 'same-text' ? [session, now, windowMs, Math.max(overBy - 1, 0), textSha256] : [session, now, windowMs, Math.max(overBy - 1, 0)],
  );
  const oldest = rows[0]?.at ?? now;
  return new Date(oldest.getTime() + windowMs);
}

export async function recordSends(
  db: Queryable,
  send: { session: string; at: Date; chatId: string; personal: boolean; cold: boolean; textSha256: string; outboxId: number | null },
  parts: number,
): Promise<number[]> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO wa_governor_sends (session, at, chat_id, personal, cold, text_sha256, outbox_id)
     SELECT $1, $2, $3, $4, $5, $6, $7 FROM generate_series(1, $8)
     RETURNING id`,
    [send.session, send.at, send.chatId, send.personal, send.cold, send.textSha256, send.outboxId, parts],
  );
  return rows.map((r) => Number(r.id));
}

/** Places given back: the sends never reached WhatsApp. */
export async function releaseSends(db: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length > 0) await db.query('DELETE FROM wa_governor_sends WHERE id = ANY($1::bigint[])', [ids]);
}

/** Sends older than two days are never counted again. */
export async function pruneSends(db: Queryable, now: Date): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM wa_governor_sends WHERE at < $1::timestamptz - interval \'2 days\'', [now]);
  return rowCount ?? 0;
}

export const WINDOWS = { minute: 60_000, hour: HOUR_MS, day: DAY_MS } as const;

/** Whether a personal chat wrote to this session within `withinMs` (by its chat id, or its sender's number id). */
export async function wroteRecently(db: Queryable, session: string, chatId: string, now: Date, withinMs: number): Promise<boolean> {
  // A personal chat's messages are filed under the chat; a LID chat's sender may be known by number too.
  const { rows } = await db.query<{ wrote: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM wa_inbox WHERE session = $1 AND chat_id = $2 AND sent_at > $3::timestamptz - $4 * interval '1 millisecond')
         OR EXISTS (SELECT 1 FROM wa_inbox WHERE session = $1 AND sender_phone = $2 AND sent_at > $3::timestamptz - $4 * interval '1 millisecond') AS wrote`,
    [session, chatId, now, withinMs],
  );
  return rows[0]?.wrote ?? false;
}

/** Which of these personal chats wrote to this session within `withinMs` (the batch form of wroteRecently). */
export async function wroteRecentlyAmong(db: Queryable, session: string, chatIds: readonly string[], now: Date, withinMs: number): Promise<Set<string>> {
  if (chatIds.length === 0) return new Set();
  const { rows } = await db.query<{ chat_id: string }>(
    `SELECT DISTINCT c.chat_id
       FROM unnest($2::text[]) AS c(chat_id)
      WHERE EXISTS (SELECT 1 FROM wa_inbox i
                     WHERE i.session = $1 AND (i.chat_id = c.chat_id OR i.sender_phone = c.chat_id)
                       AND i.sent_at > $3::timestamptz - $4 * interval '1 millisecond')`,
    [session, [...new Set(chatIds)], now, withinMs],
  );
  return new Set(rows.map((r) => r.chat_id));
}
