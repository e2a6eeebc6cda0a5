/**
 * The statements behind the recap numbers (recap-numbers.ts), and the judgement in SQL: the period's
 * posts; per batch of units, their like and comment lists unpacked once and the personnel judged, with
 * each person's numbers or only the head counts.
 */

export const PLATFORMS = ['instagram', 'tiktok'] as const;
export type Platform = (typeof PLATFORMS)[number];
export type Verdict = 'sudah' | 'kurang' | 'belum' | 'tanpa_username';

/** The verdicts, in the order recaps name them. */
export const VERDICTS = ['sudah', 'kurang', 'belum', 'tanpa_username'] as const satisfies readonly Verdict[];

export const NO_DIVISION = 'Tanpa divisi';

export interface PostRow {
  client_id: string;
  platform: Platform;
  id: string;
  /** The post's day as an offset from the period's first day. */
  day: number;
}

const UNITS_FILTER = 'CASE WHEN $3::text[] IS NULL THEN true ELSE client_id = ANY($3::text[]) END';

/** The period's posts, read once for all units (Cicero_V2 has no index on client_id: one scan each). */
export const POSTS_SQL = `
  SELECT client_id::text AS client_id, 'instagram' AS platform, shortcode::text AS id, created_at::date - $1::date AS day
    FROM insta_post WHERE created_at >= $1::date AND created_at < $2::date + 1 AND ${UNITS_FILTER}
  UNION ALL
  SELECT client_id::text, 'tiktok', video_id::text, created_at::date - $1::date
    FROM tiktok_post WHERE created_at >= $1::date AND created_at < $2::date + 1 AND ${UNITS_FILTER}`;

const LIST = (column: string) => `CASE WHEN jsonb_typeof(${column}) = 'array' THEN ${column} ELSE '[]'::jsonb END`;
/**
 * cicero_wa_handle's rule (trimmed, leading @ dropped, lower case, '' as none), written with ltrim
 * instead of its regular expression: the same result for every string, at a fraction of the cost on
 * millions of like entries.
 */
const HANDLE = (value: string) => `nullif(lower(ltrim(btrim(${value}), '@')), '')`;
const VERDICT = (handle: string, engaged: string, posts: string) =>
  `CASE WHEN ${handle} IS NULL THEN 'tanpa_username' WHEN ${posts} > 0 AND 2 * ${engaged} >= ${posts} THEN 'sudah' WHEN ${engaged} > 0 THEN 'kurang' ELSE 'belum' END`;

/**
 * The judgement of one batch of units, given the batch's units with their post counts ($1–$3) and its
 * posts ($4–$7) as arrays. Only the batch's own like and comment lists are read (primary-key lookups),
 * each unpacked once; a name twice in one list counts once; the batch's personnel are read from "user"
 * (excused and inactive left out). Names are compared byte for byte (COLLATE "C"): equality is all that
 * is needed, and sorting under the database's language collation cost half of the statement.
 * Ends in `judged`: one row per person with the verdict per platform and the days of the posts engaged
 * with (offsets from the period's first day).
 */
/** Per (unit, name): the number of the unit's posts whose list holds the name (and their days). */
const SEEN = (posts: string, lists: string, key: string, column: string, withDays: boolean) => `
    SELECT client_id, handle, count(*)::int AS n${withDays ? ', array_agg(day) AS days' : ''}
      FROM (SELECT DISTINCT p.client_id COLLATE "C" AS client_id, p.id, ${withDays ? 'p.day, ' : ''}${HANDLE('x.value')} COLLATE "C" AS handle
              FROM ${posts} p
              JOIN ${lists} l ON l.${key} = p.id
             CROSS JOIN LATERAL jsonb_array_elements_text(${LIST(`l.${column}`)}) x) s
     WHERE handle IS NOT NULL
     GROUP BY 1, 2`;
const JUDGED_CTE = (withDays: boolean) => `
  WITH units AS (
    SELECT * FROM unnest($1::text[], $2::int[], $3::int[]) AS u(client_id, ig_posts, tt_posts)
  ), ig_posts AS (
    SELECT * FROM unnest($4::text[], $5::text[], $6::int[]) AS p(id, client_id, day)
  ), tt_posts AS (
    SELECT * FROM unnest($7::text[], $8::text[], $9::int[]) AS p(id, client_id, day)
  ), ig AS (${SEEN('ig_posts', 'insta_like', 'shortcode', 'likes', withDays)}
  ), tt AS (${SEEN('tt_posts', 'tiktok_comment', 'video_id', 'comments', withDays)}
  ), people AS (
    SELECT u.client_id::text COLLATE "C" AS client_id, u.user_id::text AS user_id, u.nama::text AS nama, u.title::text AS title,
           coalesce(nullif(btrim(u.divisi), ''), '${NO_DIVISION}')::text AS division,
           ${HANDLE('u.insta')} COLLATE "C" AS ig, ${HANDLE('u.tiktok')} COLLATE "C" AS tt
      FROM "user" u
     WHERE u.client_id = ANY($1::text[]) AND u.status IS DISTINCT FROM false AND u.exception IS DISTINCT FROM true
  ), judged AS (
    SELECT pe.*, ${withDays ? 'i.days AS ig_days, t.days AS tt_days,' : ''}
           ${VERDICT('pe.ig', 'coalesce(i.n, 0)', 'un.ig_posts')} AS ig_verdict,
           ${VERDICT('pe.tt', 'coalesce(t.n, 0)', 'un.tt_posts')} AS tt_verdict
      FROM people pe
      JOIN units un ON un.client_id = pe.client_id
      LEFT JOIN ig i ON i.client_id = pe.client_id AND i.handle = pe.ig
      LEFT JOIN tt t ON t.client_id = pe.client_id AND t.handle = pe.tt
  )`;

/** Each person of the batch, judged. */
export const PEOPLE_SQL = `${JUDGED_CTE(true)}
  SELECT client_id, user_id, nama, title, division, ig, tt, ig_days, tt_days, ig_verdict, tt_verdict FROM judged`;

/** The batch's head counts per unit, division and pair of verdicts (all a text recap needs). */
export const COUNTS_SQL = `${JUDGED_CTE(false)}
  SELECT client_id, division, ig_verdict, tt_verdict, count(*)::int AS people FROM judged GROUP BY 1, 2, 3, 4`;

export interface JudgedRow {
  client_id: string;
  user_id: string;
  nama: string | null;
  title: string | null;
  division: string;
  ig: string | null;
  tt: string | null;
  ig_days: number[] | null;
  tt_days: number[] | null;
  ig_verdict: Verdict;
  tt_verdict: Verdict;
}

export interface CountsRow {
  client_id: string;
  division: string;
  ig_verdict: Verdict;
  tt_verdict: Verdict;
  people: number;
}
