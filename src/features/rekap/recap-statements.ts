/**
 * The statements behind the recap numbers (recap-numbers.ts): the period's posts; the personnel; per
 * batch of units, their like and comment lists unpacked once, giving either each name's engagement
 * (for each person's numbers) or, judged in SQL, only the head counts per unit, division and verdict.
 */

export const PLATFORMS = ['instagram', 'tiktok'] as const;
export type Platform = (typeof PLATFORMS)[number];
export type Verdict = 'sudah' | 'kurang' | 'belum' | 'tanpa_username';

/** The verdicts, in the order recaps name them. */
export const VERDICTS = ['sudah', 'kurang', 'belum', 'tanpa_username'] as const satisfies readonly Verdict[];

export const NO_DIVISION = 'Tanpa divisi';

/** A unit's posts of the period on one platform. */
export interface PostsRow {
  client_id: string;
  platform: Platform;
  /** Their ids, a JSON array of strings. */
  ids: string;
  /** Their days as offsets from the period's first day, comma-separated, in the order of `ids`. */
  days: string;
}

const UNITS_FILTER = 'CASE WHEN $3::text[] IS NULL THEN true ELSE client_id = ANY($3::text[]) END';

/**
 * The period's posts, read once for all units (Cicero_V2 has no index on client_id: one scan each), a
 * row per unit and platform: a few thousand rows at national scale rather than a quarter of a million,
 * which the driver would parse on the event loop in one go.
 */
export const POSTS_SQL = `
  SELECT client_id::text AS client_id, 'instagram' AS platform,
         json_agg(shortcode ORDER BY created_at, shortcode)::text AS ids,
         string_agg((created_at::date - $1::date)::text, ',' ORDER BY created_at, shortcode) AS days
    FROM insta_post WHERE created_at >= $1::date AND created_at < $2::date + 1 AND ${UNITS_FILTER}
   GROUP BY client_id
  UNION ALL
  SELECT client_id::text, 'tiktok',
         json_agg(video_id ORDER BY created_at, video_id)::text,
         string_agg((created_at::date - $1::date)::text, ',' ORDER BY created_at, video_id)
    FROM tiktok_post WHERE created_at >= $1::date AND created_at < $2::date + 1 AND ${UNITS_FILTER}
   GROUP BY client_id`;

const LIST = (column: string) => `CASE WHEN jsonb_typeof(${column}) = 'array' THEN ${column} ELSE '[]'::jsonb END`;
/**
 * cicero_wa_handle's rule (trimmed, leading @ dropped, lower case, '' as none), written with ltrim
 * instead of its regular expression: the same result for every string, at a fraction of the cost on
 * millions of like entries.
 */
const HANDLE = (value: string) => `nullif(lower(ltrim(btrim(${value}), '@')), '')`;

/**
 * The verdict on one person for one platform, in TypeScript (each person's numbers) and in SQL (the
 * head counts): the one rule written twice, kept side by side; test/recap-numbers.test.ts holds them
 * equal. Sudah: in at least half of the unit's posts; kurang: in some; belum: in none.
 */
export function verdictOf(handle: string | null, engaged: number, posts: number): Verdict {
  if (handle === null) return 'tanpa_username';
  if (posts > 0 && engaged * 2 >= posts) return 'sudah';
  return engaged > 0 ? 'kurang' : 'belum';
}
const VERDICT = (handle: string, engaged: string, posts: string) =>
  `CASE WHEN ${handle} IS NULL THEN 'tanpa_username' WHEN ${posts} > 0 AND 2 * ${engaged} >= ${posts} THEN 'sudah' WHEN ${engaged} > 0 THEN 'kurang' ELSE 'belum' END`;

/** The personnel judged (exception = true and status = false left out), read once. */
export const PEOPLE_SQL = `
  SELECT client_id::text AS client_id, user_id::text AS user_id, nama::text AS nama, title::text AS title,
         coalesce(nullif(btrim(divisi), ''), '${NO_DIVISION}')::text AS division, ${HANDLE('insta')} AS ig, ${HANDLE('tiktok')} AS tt
    FROM "user"
   WHERE client_id = ANY($1::text[]) AND status IS DISTINCT FROM false AND exception IS DISTINCT FROM true`;

export interface PersonRow {
  client_id: string;
  user_id: string;
  nama: string | null;
  title: string | null;
  division: string;
  ig: string | null;
  tt: string | null;
}

/**
 * Per (unit, name): the unit's posts whose list holds the name, once per post (and their days, as text:
 * `3,0,3`, which the driver hands over as it is, where an int[] would be parsed character by character
 * on the event loop).
 */
const SEEN = (posts: string, lists: string, key: string, column: string, withDays: boolean) => `
    SELECT client_id, handle, count(*)::int AS n${withDays ? ", string_agg(day::text, ',') AS days" : ''}
      FROM (SELECT DISTINCT p.client_id COLLATE "C" AS client_id, p.id, ${withDays ? 'p.day, ' : ''}${HANDLE('x.value')} COLLATE "C" AS handle
              FROM ${posts} p
              JOIN ${lists} l ON l.${key} = p.id
             CROSS JOIN LATERAL jsonb_array_elements_text(${LIST(`l.${column}`)}) x) s
     WHERE handle IS NOT NULL
     GROUP BY 1, 2`;

/**
 * For one batch of units, given its posts as arrays ($1–$3 Instagram, $4–$6 TikTok: id, unit, day
 * offset): per (unit, name), the days of the unit's posts whose list holds it. Only the batch's own
 * lists are read (primary-key lookups), each unpacked once. Names are compared byte for byte (COLLATE
 * "C"): equality is all that is needed, and sorting under a language collation cost half the statement.
 */
export const ENGAGEMENT_SQL = `
  WITH ig_posts AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS p(id, client_id, day)),
       tt_posts AS (SELECT * FROM unnest($4::text[], $5::text[], $6::int[]) AS p(id, client_id, day))
  SELECT 'instagram' AS platform, client_id, handle, days FROM (${SEEN('ig_posts', 'insta_like', 'shortcode', 'likes', true)}) i
  UNION ALL
  SELECT 'tiktok', client_id, handle, days FROM (${SEEN('tt_posts', 'tiktok_comment', 'video_id', 'comments', true)}) t`;

export interface EngagementRow {
  platform: Platform;
  client_id: string;
  handle: string;
  /** Day offsets of the posts engaged with, comma-separated, one per post (e.g. `3,0,3`). */
  days: string;
}

const PLATFORM_TABLES = {
  instagram: { posts: 'insta_post', key: 'shortcode', lists: 'insta_like', column: 'likes', handle: 'insta' },
  tiktok: { posts: 'tiktok_post', key: 'video_id', lists: 'tiktok_comment', column: 'comments', handle: 'tiktok' },
} as const;

/**
 * The head counts of one batch of units on one platform ($1: the units, $2: their posts on it in the
 * period, $3/$4: the period), judged in SQL: per unit, division and verdict, the number of people. The
 * batch's posts, lists and personnel are read from Cicero_V2's tables. The two platforms are two
 * statements, run at the same time on two connections: a national day in the time of one.
 */
export const countsSql = (platform: Platform): string => {
  const t = PLATFORM_TABLES[platform];
  return `
  WITH units AS (
    SELECT * FROM unnest($1::text[], $2::int[]) AS u(client_id, posts)
  ), posts AS (
    SELECT ${t.key} AS id, client_id::text AS client_id FROM ${t.posts}
     WHERE client_id = ANY($1::text[]) AND created_at >= $3::date AND created_at < $4::date + 1
  ), seen AS (${SEEN('posts', t.lists, t.key, t.column, false)}
  ), people AS (
    SELECT u.client_id::text COLLATE "C" AS client_id, coalesce(nullif(btrim(u.divisi), ''), '${NO_DIVISION}')::text AS division,
           ${HANDLE(`u.${t.handle}`)} COLLATE "C" AS handle
      FROM "user" u
     WHERE u.client_id = ANY($1::text[]) AND u.status IS DISTINCT FROM false AND u.exception IS DISTINCT FROM true
  )
  SELECT pe.client_id, pe.division, ${VERDICT('pe.handle', 'coalesce(s.n, 0)', 'un.posts')} AS verdict, count(*)::int AS people
    FROM people pe
    JOIN units un ON un.client_id = pe.client_id
    LEFT JOIN seen s ON s.client_id = pe.client_id AND s.handle = pe.handle
   GROUP BY 1, 2, 3`;
};

export interface CountsRow {
  client_id: string;
  division: string;
  verdict: Verdict;
  people: number;
}
