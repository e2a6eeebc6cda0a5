/**
 * The numbers every recap is made from (the text, the workbooks, the API): for a period, per unit, per
 * person and per day, how many of the unit's posts there were and how many each person liked (Instagram)
 * or commented on (TikTok), and each person's verdict.
 *
 * Set-based: one statement reads the period's posts of every unit, one the personnel; then one statement
 * per batch of units reads that batch's like and comment lists (by primary key), unpacks each once and
 * joins it to the batch's handles. The cost follows the period's data, not the whole history times the
 * number of units, and each statement holds its snapshot briefly (a batch of UNITS_PER_STATEMENT units).
 *
 * The judgement, as Cicero_V2 makes it: personnel with `exception = true` or `status = false` are left
 * out; a handle is compared trimmed, in lower case, without leading `@`; only the unit's own posts count;
 * a person is **sudah** with at least half of the period's posts, **kurang** with some, **belum** with
 * none, **tanpa username** without a handle on file.
 */
import type { Queryable } from '../../db/pool.js';

export const PLATFORMS = ['instagram', 'tiktok'] as const;
export type Platform = (typeof PLATFORMS)[number];
export type Verdict = 'sudah' | 'kurang' | 'belum' | 'tanpa_username';

/** Units per statement: each statement holds a snapshot for well under a few seconds at national scale. */
export const UNITS_PER_STATEMENT = 50;

export interface PersonNumbers {
  userId: string;
  name: string;
  /** Pangkat (`"user".title`), e.g. BRIPDA; null when not on file. */
  rank: string | null;
  /** Divisi / satfung, trimmed; "Tanpa divisi" when none. */
  division: string;
  handles: Record<Platform, string | null>;
  /** Posts of the unit this person engaged with, per day (YYYY-MM-DD); days without any are absent. */
  engagedByDay: Record<Platform, Record<string, number>>;
  /** The same, over the period. */
  engaged: Record<Platform, number>;
  verdict: Record<Platform, Verdict>;
}

export interface UnitNumbers {
  clientId: string;
  /** `clients.nama`, or the client id when it is blank. */
  name: string;
  /** `clients.client_group`: where the unit's recap goes (null when none). */
  group: string | null;
  /** The unit's posts per day (YYYY-MM-DD); days without posts are absent. */
  postsByDay: Record<Platform, Record<string, number>>;
  posts: Record<Platform, number>;
  /** Personnel judged (excused and inactive left out), by rank (highest first), then name. */
  people: PersonNumbers[];
}

export interface RecapNumbers {
  /** First and last day of the period (YYYY-MM-DD, local dates as Cicero_V2 stores them). */
  from: string;
  to: string;
  /** Every day of the period, in order. */
  days: string[];
  units: UnitNumbers[];
}

export interface VerdictCounts {
  sudah: number;
  kurang: number;
  belum: number;
  tanpa_username: number;
}

export interface Tally {
  people: number;
  instagram: VerdictCounts;
  tiktok: VerdictCounts;
}

export const NO_DIVISION = 'Tanpa divisi';

/**
 * Polri ranks from the highest, as Cicero_V2 orders personnel in its workbooks; the common abbreviations
 * name the same rank. A rank not in the list comes after BRIPDA.
 */
const RANKS: readonly (readonly string[])[] = [
  ['JENDERAL POLISI', 'JENDERAL'],
  ['KOMISARIS JENDERAL POLISI', 'KOMJEN', 'KOMJEN POL'],
  ['INSPEKTUR JENDERAL POLISI', 'IRJEN', 'IRJEN POL'],
  ['BRIGADIR JENDERAL POLISI', 'BRIGJEN', 'BRIGJEN POL'],
  ['KOMISARIS BESAR POLISI', 'KOMBES', 'KOMBES POL'],
  ['AJUN KOMISARIS BESAR POLISI', 'AKBP'],
  ['KOMISARIS POLISI', 'KOMPOL'],
  ['AJUN KOMISARIS POLISI', 'AKP'],
  ['INSPEKTUR POLISI SATU', 'IPTU'],
  ['INSPEKTUR POLISI DUA', 'IPDA'],
  ['AJUN INSPEKTUR POLISI SATU', 'AIPTU'],
  ['AJUN INSPEKTUR POLISI DUA', 'AIPDA'],
  ['BRIGADIR POLISI KEPALA', 'BRIPKA'],
  ['BRIGADIR POLISI', 'BRIGPOL', 'BRIGADIR'],
  ['BRIGADIR POLISI SATU', 'BRIPTU'],
  ['BRIGADIR POLISI DUA', 'BRIPDA'],
];
const RANK_ORDER = new Map(RANKS.flatMap((names, order) => names.map((name) => [name, order] as const)));

/** Position of a rank, highest first; unknown ranks after the known ones. */
export function rankOrder(rank: string | null): number {
  const key = (rank ?? '').trim().toUpperCase().replace(/\./g, '').replace(/\s+/g, ' ');
  return RANK_ORDER.get(key) ?? RANKS.length;
}

const collator = new Intl.Collator('id', { sensitivity: 'base', numeric: true });
export const compareText = (a: string, b: string): number => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);

/** The verdict on one person for one platform. */
export function verdictOf(handle: string | null, engaged: number, posts: number): Verdict {
  if (handle === null) return 'tanpa_username';
  if (posts > 0 && engaged * 2 >= posts) return 'sudah';
  return engaged > 0 ? 'kurang' : 'belum';
}

/** The days from `from` to `to`, inclusive. */
export function daysOf(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

const sum = (byDay: Record<string, number>) => Object.values(byDay).reduce((a, b) => a + b, 0);

/** Posts per day, in the order of the days, from the day offsets of the posts (one entry per post). */
function countByDay(offsets: number[] | null, days: readonly string[]): Record<string, number> {
  const byDay: Record<string, number> = {};
  for (const offset of [...(offsets ?? [])].sort((a, b) => a - b)) {
    const day = days[offset]!;
    byDay[day] = (byDay[day] ?? 0) + 1;
  }
  return byDay;
}

/** Verdict counts over some personnel. */
export function tally(people: readonly PersonNumbers[]): Tally {
  const counts = (): VerdictCounts => ({ sudah: 0, kurang: 0, belum: 0, tanpa_username: 0 });
  const result: Tally = { people: people.length, instagram: counts(), tiktok: counts() };
  for (const person of people) {
    for (const platform of PLATFORMS) result[platform][person.verdict[platform]]++;
  }
  return result;
}

/** Verdict counts per division, divisions in alphabetical order. */
export function tallyByDivision(unit: UnitNumbers): { division: string; tally: Tally }[] {
  const divisions = new Map<string, PersonNumbers[]>();
  for (const person of unit.people) divisions.set(person.division, [...(divisions.get(person.division) ?? []), person]);
  return [...divisions.keys()].sort(compareText).map((division) => ({ division, tally: tally(divisions.get(division)!) }));
}

export interface RecapScope {
  /** First and last day, YYYY-MM-DD. */
  from: string;
  to: string;
  /** Only these units (client ids); default every unit whose client_status is not false. */
  clientIds?: readonly string[];
}

interface PersonRow {
  client_id: string;
  user_id: string;
  nama: string | null;
  title: string | null;
  divisi: string | null;
  ig: string | null;
  tt: string | null;
}

interface PostRow {
  client_id: string;
  platform: Platform;
  id: string;
  /** The post's day as an offset from the period's first day. */
  day: number;
}

interface EngagementRow {
  platform: Platform;
  client_id: string;
  handle: string;
  /** Per post of the unit the handle appears in, its day (offset from the period's first day). */
  days: number[];
}

const UNITS_FILTER = 'CASE WHEN $3::text[] IS NULL THEN true ELSE client_id = ANY($3::text[]) END';

/** The period's posts, read once for all units (Cicero_V2 has no index on client_id: one scan each). */
const POSTS_SQL = `
  SELECT client_id::text AS client_id, 'instagram' AS platform, shortcode::text AS id, created_at::date - $1::date AS day
    FROM insta_post WHERE created_at >= $1::date AND created_at < $2::date + 1 AND ${UNITS_FILTER}
  UNION ALL
  SELECT client_id::text, 'tiktok', video_id::text, created_at::date - $1::date
    FROM tiktok_post WHERE created_at >= $1::date AND created_at < $2::date + 1 AND ${UNITS_FILTER}`;

/** The personnel judged, read once: exception = true and status = false left out. */
const PEOPLE_SQL = `
  SELECT client_id::text AS client_id, user_id::text AS user_id, nama::text AS nama, title::text AS title, divisi::text AS divisi,
         cicero_wa_handle(insta) AS ig, cicero_wa_handle(tiktok) AS tt
    FROM "user"
   WHERE client_id = ANY($1::text[]) AND status IS DISTINCT FROM false AND exception IS DISTINCT FROM true`;

const LIST = (column: string) => `CASE WHEN jsonb_typeof(${column}) = 'array' THEN ${column} ELSE '[]'::jsonb END`;
/**
 * cicero_wa_handle's rule (trimmed, leading @ dropped, lower case, '' as none), written with ltrim
 * instead of its regular expression: the same result for every string, at a fraction of the cost on
 * millions of like entries.
 */
const HANDLE = (value: string) => `nullif(lower(ltrim(btrim(${value}), '@')), '')`;

/**
 * For one batch of units, given its posts and its personnel's handles as arrays: per (unit, handle),
 * the days of the unit's posts whose like (comment) list holds the handle, one entry per post. Only the
 * batch's own lists are read (primary-key lookups); each list is unpacked once (MATERIALIZED: inlined,
 * the planner may unpack a list once per person of its unit); a name twice in one list counts once.
 */
const ENGAGEMENT_SQL = `
  WITH ig AS MATERIALIZED (
    SELECT p.client_id, p.day, h.handle
      FROM unnest($1::text[], $2::text[], $3::int[]) AS p(id, client_id, day)
      JOIN insta_like l ON l.shortcode = p.id
     CROSS JOIN LATERAL (SELECT DISTINCT ${HANDLE('x')} AS handle FROM jsonb_array_elements_text(${LIST('l.likes')}) x) h
  ), tt AS MATERIALIZED (
    SELECT p.client_id, p.day, h.handle
      FROM unnest($4::text[], $5::text[], $6::int[]) AS p(id, client_id, day)
      JOIN tiktok_comment c ON c.video_id = p.id
     CROSS JOIN LATERAL (SELECT DISTINCT ${HANDLE('x')} AS handle FROM jsonb_array_elements_text(${LIST('c.comments')}) x) h
  )
  SELECT 'instagram' AS platform, e.client_id, e.handle, array_agg(e.day) AS days
    FROM ig e JOIN unnest($7::text[], $8::text[]) AS w(client_id, handle) USING (client_id, handle)
   GROUP BY 2, 3
  UNION ALL
  SELECT 'tiktok', e.client_id, e.handle, array_agg(e.day)
    FROM tt e JOIN unnest($9::text[], $10::text[]) AS w(client_id, handle) USING (client_id, handle)
   GROUP BY 2, 3`;

function emptyByPlatform<T>(make: () => T): Record<Platform, T> {
  return { instagram: make(), tiktok: make() };
}

/** The recap numbers of a period, for every active unit or the ones asked for (in the order of their names). */
export async function recapNumbers(db: Queryable, scope: RecapScope): Promise<RecapNumbers> {
  const { rows: unitRows } = await db.query<{ client_id: string; name: string; client_group: string | null }>(
    `SELECT client_id::text AS client_id, coalesce(nullif(btrim(nama), ''), client_id)::text AS name, client_group::text AS client_group
       FROM clients
      WHERE CASE WHEN $1::text[] IS NULL THEN client_status IS DISTINCT FROM false ELSE client_id = ANY($1::text[]) END`,
    [scope.clientIds ?? null],
  );
  const units = new Map<string, UnitNumbers>();
  for (const row of unitRows.sort((a, b) => compareText(a.name, b.name) || compareText(a.client_id, b.client_id))) {
    units.set(row.client_id, {
      clientId: row.client_id,
      name: row.name,
      group: row.client_group,
      postsByDay: emptyByPlatform(() => ({})),
      posts: emptyByPlatform(() => 0),
      people: [],
    });
  }

  const ids = [...units.keys()];
  const days = daysOf(scope.from, scope.to);
  const { rows: posts } = await db.query<PostRow>(POSTS_SQL, [scope.from, scope.to, scope.clientIds ?? null]);
  const postsOf = new Map<string, PostRow[]>();
  for (const post of posts) {
    const unit = units.get(post.client_id);
    if (!unit) continue; // an inactive unit's post
    const day = days[post.day]!;
    unit.postsByDay[post.platform][day] = (unit.postsByDay[post.platform][day] ?? 0) + 1;
    unit.posts[post.platform]++;
    const list = postsOf.get(post.client_id) ?? postsOf.set(post.client_id, []).get(post.client_id)!;
    list.push(post);
  }
  const { rows: people } = await db.query<PersonRow>(PEOPLE_SQL, [ids]);
  const peopleOf = new Map<string, PersonRow[]>();
  for (const person of people) (peopleOf.get(person.client_id) ?? peopleOf.set(person.client_id, []).get(person.client_id)!).push(person);

  for (let i = 0; i < ids.length; i += UNITS_PER_STATEMENT) {
    const batch = ids.slice(i, i + UNITS_PER_STATEMENT);
    const batchPosts = batch.flatMap((id) => postsOf.get(id) ?? []);
    const batchPeople = batch.flatMap((id) => peopleOf.get(id) ?? []);
    const columns = (platform: Platform) => {
      const mine = batchPosts.filter((p) => p.platform === platform);
      return [mine.map((p) => p.id), mine.map((p) => p.client_id), mine.map((p) => p.day)];
    };
    const wanted = (handle: (p: PersonRow) => string | null) => {
      const withHandle = batchPeople.filter((p) => handle(p) !== null);
      return [withHandle.map((p) => p.client_id), withHandle.map((p) => handle(p)!)];
    };
    const { rows: engagement } = await db.query<EngagementRow>(ENGAGEMENT_SQL, [
      ...columns('instagram'),
      ...columns('tiktok'),
      ...wanted((p) => p.ig),
      ...wanted((p) => p.tt),
    ]);
    const daysOfHandle = new Map(engagement.map((e) => [`${e.platform}\u0000${e.client_id}\u0000${e.handle}`, e.days]));
    const engagedDays = (platform: Platform, person: PersonRow, handle: string | null) =>
      handle === null ? null : (daysOfHandle.get(`${platform}\u0000${person.client_id}\u0000${handle}`) ?? null);

    for (const row of batchPeople) {
      const unit = units.get(row.client_id)!;
      const engagedByDay = { instagram: countByDay(engagedDays('instagram', row, row.ig), days), tiktok: countByDay(engagedDays('tiktok', row, row.tt), days) };
      const engaged = { instagram: sum(engagedByDay.instagram), tiktok: sum(engagedByDay.tiktok) };
      unit.people.push({
        userId: row.user_id,
        name: row.nama?.trim() || row.user_id,
        rank: row.title?.trim() || null,
        division: row.divisi?.trim() || NO_DIVISION,
        handles: { instagram: row.ig, tiktok: row.tt },
        engagedByDay,
        engaged,
        verdict: {
          instagram: verdictOf(row.ig, engaged.instagram, unit.posts.instagram),
          tiktok: verdictOf(row.tt, engaged.tiktok, unit.posts.tiktok),
        },
      });
    }
  }
  for (const unit of units.values()) {
    unit.people.sort((a, b) => rankOrder(a.rank) - rankOrder(b.rank) || compareText(a.name, b.name) || compareText(a.userId, b.userId));
  }
  return { from: scope.from, to: scope.to, days, units: [...units.values()] };
}
