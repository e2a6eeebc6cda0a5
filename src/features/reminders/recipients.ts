/**
 * Who is to get an engagement reminder today, and what each still has to do, read from Cicero_V2's
 * tables in one statement, as Cicero_V2 decides it:
 *
 * - Recipients: `"user"` rows with `status = true`, `wa_notification_opt_in = true` and a WhatsApp
 *   number of at least 10 digits, whose unit (`client_id`, trimmed, compared in upper case) is one of
 *   REMINDER_UNITS (or any unit). One message per number and unit (the lowest NRP speaks for it).
 * - Today's posts: the unit's `insta_post` and `tiktok_post` rows created on the day (their
 *   `created_at` is Jakarta local time, compared with the day in CRON_TIMEZONE). A unit without posts
 *   today gives no recipient at all.
 * - Not done: a post whose list (`insta_like.likes`, `tiktok_comment.comments`) does not hold the
 *   person's handle, both normalised (trimmed, a leading `@` dropped, lower case); a comment may be a
 *   name or an object with `username` or `user.unique_id`. No handle: every post is not done.
 * - Links: `https://www.instagram.com/p/<shortcode>`; TikTok `https://www.tiktok.com/@<unit's
 *   client_tiktok>/video/<video_id>`, or without the account when the unit has none.
 */
import type { Queryable } from '../../db/pool.js';

export interface Recipient {
  userId: string;
  chatId: string;
  /** The unit, as compared: trimmed, upper case. */
  clientId: string;
  pangkat: string | null;
  nama: string | null;
  /** The links of today's posts the person has not done yet, oldest first. */
  instagramLinks: string[];
  tiktokLinks: string[];
}

/** Cicero_V2's handle rule: trimmed, a leading @ dropped, lower case; '' is none. */
const HANDLE = (value: string) => `nullif(lower(regexp_replace(btrim(${value}), '^@', '')), '')`;
const LIST = (column: string) => `CASE WHEN jsonb_typeof(${column}) = 'array' THEN ${column} ELSE '[]'::jsonb END`;
/** A list entry's name: a string, or an object's username or user.unique_id. */
const ENTRY_NAME = `CASE jsonb_typeof(x.value) WHEN 'string' THEN x.value #>> '{}' WHEN 'object' THEN coalesce(x.value ->> 'username', x.value -> 'user' ->> 'unique_id') END`;

const RECIPIENTS_SQL = `
  WITH people AS (
    SELECT DISTINCT ON (chat_id, unit) user_id, chat_id, unit, pangkat, nama, ig, tt
      FROM (SELECT u.user_id::text AS user_id, upper(btrim(u.client_id)) AS unit,
                   nullif(btrim(u.title), '') AS pangkat, nullif(btrim(u.nama), '') AS nama,
                   ${HANDLE('u.insta')} AS ig, ${HANDLE('u.tiktok')} AS tt,
                   regexp_replace(coalesce(u.whatsapp, ''), '\\D', '', 'g') AS digits
              FROM "user" u
             WHERE u.status = true AND u.wa_notification_opt_in = true
               AND ($1::text[] IS NULL OR upper(btrim(u.client_id)) = ANY($1::text[]))) u
           CROSS JOIN LATERAL (SELECT regexp_replace(u.digits, '^0', $3) || '@c.us' AS chat_id) c
     WHERE length(u.digits) >= 10 AND ($4::text[] IS NULL OR c.chat_id = ANY($4::text[]))
     ORDER BY chat_id, unit, user_id
  ), posts AS (
    SELECT 'instagram' AS platform, p.shortcode::text AS id, upper(btrim(p.client_id)) AS unit, p.created_at,
           'https://www.instagram.com/p/' || p.shortcode AS link
      FROM insta_post p
     WHERE p.created_at >= $2::date AND p.created_at < $2::date + 1
       AND upper(btrim(p.client_id)) IN (SELECT unit FROM people)
    UNION ALL
    SELECT 'tiktok', t.video_id::text, upper(btrim(t.client_id)), t.created_at,
           CASE WHEN a.account IS NULL THEN 'https://www.tiktok.com/video/' || t.video_id
                ELSE 'https://www.tiktok.com/@' || a.account || '/video/' || t.video_id END
      FROM tiktok_post t
      LEFT JOIN LATERAL (SELECT ${HANDLE('c.client_tiktok')} AS account FROM clients c
                          WHERE upper(btrim(c.client_id)) = upper(btrim(t.client_id)) LIMIT 1) a ON true
     WHERE t.created_at >= $2::date AND t.created_at < $2::date + 1
       AND upper(btrim(t.client_id)) IN (SELECT unit FROM people)
  ), engaged AS MATERIALIZED (
    SELECT DISTINCT p.platform, p.id, ${HANDLE(ENTRY_NAME)} AS handle
      FROM posts p
      JOIN insta_like l ON p.platform = 'instagram' AND l.shortcode = p.id
     CROSS JOIN LATERAL jsonb_array_elements(${LIST('l.likes')}) x
    UNION
    SELECT DISTINCT p.platform, p.id, ${HANDLE(ENTRY_NAME)}
      FROM posts p
      JOIN tiktok_comment c ON p.platform = 'tiktok' AND c.video_id = p.id
     CROSS JOIN LATERAL jsonb_array_elements(${LIST('c.comments')}) x
  ), todo AS (
    SELECT pe.user_id, pe.chat_id, pe.unit, po.platform, po.link, po.created_at, po.id,
           NOT EXISTS (SELECT 1 FROM engaged e
                        WHERE e.platform = po.platform AND e.id = po.id
                          AND e.handle = CASE po.platform WHEN 'instagram' THEN pe.ig ELSE pe.tt END) AS missing
      FROM people pe JOIN posts po ON po.unit = pe.unit
  )
  SELECT pe.user_id, pe.chat_id, pe.unit, pe.pangkat, pe.nama,
         coalesce(array_agg(t.link ORDER BY t.created_at, t.id) FILTER (WHERE t.missing AND t.platform = 'instagram'), '{}') AS instagram_links,
         coalesce(array_agg(t.link ORDER BY t.created_at, t.id) FILTER (WHERE t.missing AND t.platform = 'tiktok'), '{}') AS tiktok_links
    FROM people pe JOIN todo t ON t.chat_id = pe.chat_id AND t.unit = pe.unit
   GROUP BY pe.user_id, pe.chat_id, pe.unit, pe.pangkat, pe.nama
   ORDER BY pe.unit, pe.user_id`;

/**
 * Today's recipients (`day`: YYYY-MM-DD in CRON_TIMEZONE) with their links still to do (none: done).
 * `units`: upper-case unit ids, or null for every unit; `chats`: only these chat ids (null: all).
 */
export async function todaysRecipients(db: Queryable, day: string, units: readonly string[] | null, countryCode: string, chats: readonly string[] | null = null): Promise<Recipient[]> {
  const { rows } = await db.query<{ user_id: string; chat_id: string; unit: string; pangkat: string | null; nama: string | null; instagram_links: string[]; tiktok_links: string[] }>(
    RECIPIENTS_SQL,
    [units, day, countryCode, chats],
  );
  return rows.map((r) => ({
    userId: r.user_id,
    chatId: r.chat_id,
    clientId: r.unit,
    pangkat: r.pangkat,
    nama: r.nama,
    instagramLinks: r.instagram_links,
    tiktokLinks: r.tiktok_links,
  }));
}
