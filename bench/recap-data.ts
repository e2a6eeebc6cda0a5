/**
 * Cicero_V2-shaped data for the recap bench, generated in set-based SQL (generate_series, jsonb_agg) in
 * the tables of src/features/rekap/demo/cicero-v2-schema.sql, with no index but their primary keys (as
 * on Cicero_V2). Units are added in steps, so one database grows 50 → 200 → 800 units.
 *
 * Per unit: 100 personnel (5 excused, 2 inactive, so 93 judged), 10 without an Instagram handle and 10
 * without a TikTok one (NULL, '' or blank), Polri ranks, a handful of divisions; 3 Instagram and 2 TikTok
 * posts a day for DAYS days; each post liked (commented) by 40–95% of the unit's personnel with a handle
 * (a per-person activity makes some people keen and some not), the names in mixed case, some with `@`,
 * some twice in one list, plus 1–4 likers from outside the unit; 2% of the posts have no like list yet.
 * Every unit has a WhatsApp group but one in 40.
 *
 * Tasks (`tasks(shortcode, user_id, created_at)`): each Instagram post handed to its unit's 100 personnel
 * within 100 seconds of the post. `tasks.shortcode` references `insta_post`, so TikTok posts have none.
 */
import type pg from 'pg';

export const FIRST_DAY = '2026-09-01';
export const DAYS = 60;
export const PEOPLE_PER_UNIT = 100;
export const IG_PER_DAY = 3;
export const TT_PER_DAY = 2;

const RANKS = [
  'KOMPOL', 'AKP', 'IPTU', 'IPTU', 'IPDA', 'IPDA', 'AIPTU', 'AIPTU', 'AIPDA', 'AIPDA', 'BRIPKA', 'BRIPKA', 'BRIPKA',
  'BRIGPOL', 'BRIGPOL', 'BRIGPOL', 'BRIPTU', 'BRIPTU', 'BRIPTU', 'BRIPTU', 'BRIPDA', 'BRIPDA', 'BRIPDA', 'BRIPDA', 'BRIPDA',
  'AKBP', 'PENATA', 'Bripda', 'Brigadir',
];
const DIVISIONS = ['SAT LANTAS', 'SAT RESKRIM', 'SAT SAMAPTA', 'SAT INTELKAM', 'BAG OPS', 'SI UMUM', 'SAT NARKOBA'];

const sqlArray = (xs: readonly string[]) => `ARRAY[${xs.map((x) => `'${x}'`).join(', ')}]`;

/** The unit's client id, and a person's user id (an NRP-like number). */
export const clientId = (unit: number) => `BENCH${String(unit).padStart(4, '0')}`;
const CLIENT_ID = (u: string) => `'BENCH' || lpad(${u}::text, 4, '0')`;
const USER_ID = (u: string, k: string) => `lpad((${u} * 1000 + ${k})::text, 8, '0')`;
/** A person's handle, lower case (as compared): stored and liked in other cases. */
const IG_HANDLE = (u: string, k: string) => `'polres' || ${u} || '.personil' || ${k}`;
const TT_HANDLE = (u: string, k: string) => `'tt_' || ${u} || '_' || ${k}`;
/** How keen a person is, in [0, 1). */
const ACTIVITY = (u: string, k: string) => `(((${k}) * 37 + (${u}) * 11) % 100) / 100.0`;
/** A name as a like list carries it: lower, upper or mixed case, sometimes with @. */
const AS_LIKED = (handle: string, salt: string) =>
  `CASE WHEN (${salt}) % 7 = 0 THEN '@' ELSE '' END || CASE (${salt}) % 3 WHEN 0 THEN lower(${handle}) WHEN 1 THEN upper(${handle}) ELSE initcap(${handle}) END`;
/**
 * Liked when 0.5·activity + 0.5·random() (a triangular variable on [0, 1]) is under the quantile of the
 * post's fraction f, so f of the unit's personnel like it on average.
 */
const LIKED = (activity: string, f: string) =>
  `0.5 * ${activity} + 0.5 * random() < CASE WHEN ${f} <= 0.5 THEN sqrt(${f} / 2) ELSE 1 - sqrt((1 - ${f}) / 2) END`;

/** Adds units from..to (inclusive) with their personnel, posts and like/comment lists. */
export async function addUnits(db: pg.Pool | pg.ClientBase, from: number, to: number): Promise<void> {
  const range = [from, to];
  await db.query(
    `INSERT INTO clients (client_id, nama, client_type, client_status, client_insta, client_tiktok, client_operator, client_group)
     SELECT ${CLIENT_ID('u')}, 'POLRES BENCH ' || lpad(u::text, 4, '0'), 'ORG', true, 'polres' || u, 'polres' || u,
            '628' || lpad(u::text, 9, '0'),
            CASE WHEN u % 40 = 0 THEN NULL ELSE '120363' || lpad(u::text, 12, '0') || '@g.us' END
       FROM generate_series($1::int, $2::int) u`,
    range,
  );
  await db.query(
    `INSERT INTO "user" (user_id, nama, title, divisi, jabatan, insta, tiktok, client_id, status, exception)
     SELECT ${USER_ID('u', 'k')}, 'Personil ' || u || '-' || k,
            (${sqlArray(RANKS)})[1 + (k * 7 + u) % ${RANKS.length}],
            CASE WHEN k % 17 = 0 THEN (ARRAY[NULL, '', ' '])[1 + (k / 17) % 3]
                 ELSE (${sqlArray(DIVISIONS)})[1 + (k + u) % (3 + u % 5)] || CASE WHEN k % 23 = 0 THEN ' ' ELSE '' END END,
            'ANGGOTA',
            CASE WHEN k % 10 = 3 THEN (ARRAY[NULL, '', '  '])[1 + (k / 10) % 3]
                 ELSE CASE k % 4 WHEN 0 THEN '@' WHEN 1 THEN ' ' ELSE '' END || initcap(${IG_HANDLE('u', 'k')}) END,
            CASE WHEN k % 10 = 7 THEN (ARRAY[NULL, '', '@'])[1 + (k / 10) % 3]
                 ELSE CASE k % 5 WHEN 0 THEN '@' ELSE '' END || upper(${TT_HANDLE('u', 'k')}) END,
            ${CLIENT_ID('u')}, NOT (k IN (44, 88)), k % 20 = 5
       FROM generate_series($1::int, $2::int) u, generate_series(1, ${PEOPLE_PER_UNIT}) k`,
    range,
  );
  await addPosts(db, range, {
    post: 'insta_post', id: 'shortcode', prefix: 'ig', perDay: IG_PER_DAY, hours: [6, 11, 16],
    extra: { columns: '', values: '' },
    list: 'insta_like', listColumn: 'likes', handle: IG_HANDLE, noHandle: 3,
  });
  await addPosts(db, range, {
    post: 'tiktok_post', id: 'video_id', prefix: '7', perDay: TT_PER_DAY, hours: [9, 19],
    extra: { columns: ', like_count, comment_count', values: ', 100 + (u * 7 + d) % 900, 50 + (u + d) % 60' },
    list: 'tiktok_comment', listColumn: 'comments', handle: TT_HANDLE, noHandle: 7,
  });
}

interface PostShape {
  post: string;
  id: string;
  prefix: string;
  perDay: number;
  hours: number[];
  extra: { columns: string; values: string };
  list: string;
  listColumn: string;
  handle: (u: string, k: string) => string;
  /** Personnel with k % 10 = noHandle have no handle, so like nothing under one. */
  noHandle: number;
}

const POST_ID = (prefix: string, u: string, d: string, j: string) =>
  `'${prefix}' || lpad(${u}::text, 4, '0') || lpad(${d}::text, 2, '0') || ${j}`;

async function addPosts(db: pg.Pool | pg.ClientBase, range: number[], s: PostShape): Promise<void> {
  await db.query(
    `INSERT INTO ${s.post} (${s.id}, client_id, caption, created_at${s.extra.columns})
     SELECT ${POST_ID(s.prefix, 'u', 'd', 'j')}, ${CLIENT_ID('u')},
            'Kegiatan ' || (ARRAY['patroli', 'sosialisasi', 'bakti sosial', 'pengamanan'])[1 + (u + d + j) % 4] || ' hari ke-' || d,
            date '${FIRST_DAY}' + d + (${sqlArray(s.hours.map(String))})[j + 1]::int * interval '1 hour'
              + ((u * 7 + d * 13 + j * 3) % 50) * interval '1 minute'${s.extra.values}
       FROM generate_series($1::int, $2::int) u, generate_series(0, ${DAYS - 1}) d, generate_series(0, ${s.perDay - 1}) j`,
    range,
  );
  // One correlated subquery per post builds its list (no sort of all like entries at once).
  await db.query(
    `INSERT INTO ${s.list} (${s.id}, ${s.listColumn}, updated_at)
     SELECT ${POST_ID(s.prefix, 'u', 'd', 'j')},
            coalesce((SELECT jsonb_agg(${AS_LIKED(s.handle('u', 'k'), 'k + d + j + r')})
                        FROM generate_series(1, ${PEOPLE_PER_UNIT}) k, generate_series(1, CASE WHEN k % 29 = 0 THEN 2 ELSE 1 END) r
                       WHERE k % 10 <> ${s.noHandle} AND ${LIKED(ACTIVITY('u', 'k'), 'f')}), '[]'::jsonb)
              || (SELECT jsonb_agg('Warga.' || (u * 31 + d * 7 + j + o) % 9973) FROM generate_series(1, 1 + (u + d + j) % 4) o),
            date '${FIRST_DAY}' + d + 1
       FROM (SELECT u, d, j, 0.40 + 0.55 * random() AS f
               FROM generate_series($1::int, $2::int) u, generate_series(0, ${DAYS - 1}) d, generate_series(0, ${s.perDay - 1}) j
              WHERE (u + d * ${s.perDay} + j) % 50 <> 0) p`,
    range,
  );
}

/**
 * Hands each Instagram post of units 1..units on days firstDay..lastDay (0-based) to its unit's personnel:
 * one row per person, within 100 seconds of the post. Foreign-key triggers are skipped for the load
 * (session_replication_role = replica; the rows are consistent by construction).
 */
export async function addTasks(db: pg.ClientBase, units: number, firstDay: number, lastDay: number): Promise<number> {
  await db.query('SET session_replication_role = replica');
  try {
    const { rowCount } = await db.query(
      `INSERT INTO tasks (shortcode, user_id, created_at)
       SELECT ${POST_ID('ig', 'u', 'd', 'j')}, ${USER_ID('u', 'k')},
              date '${FIRST_DAY}' + d + (ARRAY[6, 11, 16])[j + 1] * interval '1 hour'
                + ((u * 7 + d * 13 + j * 3) % 50) * interval '1 minute' + k * interval '1 second'
         FROM generate_series($1::int, $2::int) d, generate_series(0, ${IG_PER_DAY - 1}) j, generate_series(1, $3::int) u,
              generate_series(1, ${PEOPLE_PER_UNIT}) k`,
      [firstDay, lastDay, units],
    );
    return rowCount ?? 0;
  } finally {
    await db.query('RESET session_replication_role');
  }
}
