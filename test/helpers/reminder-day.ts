/**
 * The reminder day's Cicero_V2-shaped data (issue "the rest of Cicero_V2's traffic"): 120 opted-in
 * DITBINMAS personnel, 30 of another unit, 10 not opted in; today's 3 Instagram and 2 TikTok posts; likes
 * and comments so that 40 are done by 17:05 and 25 more by 17:35. With what a test needs to check it:
 * each person's missing links, the outbox rows since a mark.
 */
import type { TestDatabase } from './database.js';

export const DAY = '2026-11-25';
/** HH:MM on the day, in WIB (UTC+7), as an instant. */
export const wib = (hhmm: string, day = DAY) => new Date(`${day}T${hhmm}:00+07:00`);

export const IG = ['DqIgPost1', 'DqIgPost2', 'DqIgPost3'];
export const TT = ['7400000000000000001', '7400000000000000002'];
export const IG_LINK = (sc: string) => `https://www.instagram.com/p/${sc}`;
export const TT_LINK = (id: string) => `https://www.tiktok.com/@ditbinmas_jatim/video/${id}`;

export const handleOf = (i: number) => `person.${i}`;

/** Which of today's posts person i (65–119) has done: never all of them. */
export const igDone = (i: number, k: number) => (i + k) % 2 === 0;
export const ttDone = (i: number, k: number) => (i + k) % 3 === 0;

/** The day's data: 120 opted-in DITBINMAS personnel, 30 of POLRES_B, 10 not opted in; 3 IG + 2 TikTok posts. */
export async function seedDay(db: TestDatabase): Promise<void> {
  await db.pool.query(`
    INSERT INTO clients (client_id, nama, client_tiktok) VALUES ('DITBINMAS', 'Ditbinmas', ' @DitBinmas_Jatim'), ('POLRES_B', 'Polres B', NULL);
    INSERT INTO "user" (user_id, nama, title, insta, tiktok, whatsapp, client_id, status, wa_notification_opt_in)
    SELECT (80000000 + i)::text, 'Person ' || i, 'BRIPKA',
           CASE WHEN i % 2 = 0 THEN '@Person.' || i ELSE 'person.' || i END, 'TT_' || i,
           '0812' || (70000000 + i)::text, 'DITBINMAS', true, true
      FROM generate_series(0, 119) i;
    INSERT INTO "user" (user_id, nama, title, insta, tiktok, whatsapp, client_id, status, wa_notification_opt_in)
    SELECT (81000000 + i)::text, 'Other ' || i, 'BRIPTU', 'other.' || i, 'other_' || i, '0813' || (70000000 + i)::text, 'POLRES_B', true, true
      FROM generate_series(0, 29) i;
    INSERT INTO "user" (user_id, nama, title, insta, tiktok, whatsapp, client_id, status, wa_notification_opt_in)
    SELECT (82000000 + i)::text, 'Quiet ' || i, 'BRIPDA', NULL, NULL, '0814' || (70000000 + i)::text, 'DITBINMAS', true, false
      FROM generate_series(0, 9) i;
    INSERT INTO insta_post (shortcode, client_id, caption, created_at) VALUES
      ('DqIgPost1', 'DITBINMAS', 'a', '${DAY} 08:00'), ('DqIgPost2', 'DITBINMAS', 'b', '${DAY} 09:00'), ('DqIgPost3', 'DITBINMAS', 'c', '${DAY} 10:00'),
      ('DqYesterday', 'DITBINMAS', 'old', '2026-11-24 10:00'), ('PolresBPost', 'POLRES_B', 'd', '${DAY} 08:30');
    INSERT INTO tiktok_post (video_id, client_id, caption, created_at) VALUES
      ('7400000000000000001', 'DITBINMAS', 'e', '${DAY} 11:00'), ('7400000000000000002', 'DITBINMAS', 'f', '${DAY} 12:00');
  `);
  await setEngagement(db, (i) => i < 40);
}

/**
 * Likes and comments: those `done(i)` did everything; persons 65–119 a part (igDone, ttDone); the others
 * (40–64 before they catch up) nothing. Entries vary in case, a leading @ and shape.
 */
export async function setEngagement(db: TestDatabase, done: (i: number) => boolean): Promise<void> {
  const likes = IG.map(() => [] as string[]);
  const comments = TT.map(() => [] as unknown[]);
  for (let i = 0; i < 120; i++) {
    IG.forEach((_, k) => {
      if (done(i) || (i >= 65 && igDone(i, k))) likes[k]!.push(i % 3 === 0 ? `@${handleOf(i).toUpperCase()}` : handleOf(i));
    });
    TT.forEach((_, k) => {
      if (done(i) || (i >= 65 && ttDone(i, k))) comments[k]!.push(i % 2 === 0 ? { username: `@tt_${i}` } : i % 5 === 0 ? { user: { unique_id: `TT_${i}` } } : `tt_${i}`);
    });
  }
  await db.pool.query('DELETE FROM insta_like; DELETE FROM tiktok_comment');
  for (const [k, sc] of IG.entries()) await db.pool.query('INSERT INTO insta_like (shortcode, likes) VALUES ($1, $2)', [sc, JSON.stringify(likes[k])]);
  for (const [k, id] of TT.entries()) await db.pool.query('INSERT INTO tiktok_comment (video_id, comments) VALUES ($1, $2)', [id, JSON.stringify(comments[k])]);
}

/** Person i's missing links at 17:05 (everything for 40–64; a part for 65–119). */
export function missingOf(i: number): string[] {
  if (i < 40) return [];
  if (i < 65) return [...IG.map(IG_LINK), ...TT.map(TT_LINK)];
  return [...IG.filter((_, k) => !igDone(i, k)).map(IG_LINK), ...TT.filter((_, k) => !ttDone(i, k)).map(TT_LINK)];
}

export interface Row { id: number; recipient: string; type: string; content: string; priority: number; session: string | null; dedup_key: string }
export async function outboxSince(db: TestDatabase, afterId: number): Promise<Row[]> {
  const { rows } = await db.pool.query<Row>('SELECT id::int, recipient, type, content, priority, session, dedup_key FROM wa_outbox WHERE id > $1 ORDER BY id', [afterId]);
  return rows;
}
export const lastId = async (db: TestDatabase) => (await db.pool.query<{ n: number }>('SELECT coalesce(max(id), 0)::int AS n FROM wa_outbox')).rows[0]!.n;
export const personOf = (chatId: string) => Number(chatId.slice(5, -5)) - 70000000;
export const links = (content: string) => content.split('\n').filter((l) => /^\d+\. https:/.test(l)).map((l) => l.replace(/^\d+\. /, ''));
