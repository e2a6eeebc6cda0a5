/**
 * The numbers every recap is made from (the text, the workbooks, the API): for a period, per unit, per
 * person and per day, how many of the unit's posts there were and how many each person liked (Instagram)
 * or commented on (TikTok), and each person's verdict.
 *
 * Set-based: one statement reads the period's posts of every unit; then one statement per batch of units
 * (about POSTS_PER_STATEMENT posts) reads only that batch's like and comment lists (by primary key),
 * unpacks each once, and judges the batch's personnel in SQL. It returns each person's numbers when they
 * are asked for (a workbook), else only the head counts per unit, division and verdict (a text recap).
 * The cost follows the period's data, not the whole history times the number of units, and each
 * statement holds its snapshot briefly.
 *
 * The judgement, as Cicero_V2 makes it: personnel with `exception = true` or `status = false` are left
 * out; a handle is compared trimmed, in lower case, without leading `@`; only the unit's own posts count;
 * a person is **sudah** with at least half of the period's posts, **kurang** with some, **belum** with
 * none, **tanpa username** without a handle on file.
 */
import pg from 'pg';
import type { Queryable } from '../../db/pool.js';
import { countsSql, ENGAGEMENT_SQL, NO_DIVISION, PEOPLE_SQL, PLATFORMS, POSTS_SQL, VERDICTS, verdictOf, type CountsRow, type EngagementRow, type PersonRow, type Platform, type PostRow, type Verdict } from './recap-statements.js';

export { NO_DIVISION, PLATFORMS, VERDICTS, verdictOf, type Platform, type Verdict } from './recap-statements.js';
export { compareText, rankOrder } from './personnel-order.js';
import { compareText, rankOrder } from './personnel-order.js';

/** Units per batch where the work is per unit (the report job enqueues and builds workbooks a batch at a time). */
export const UNITS_PER_STATEMENT = 50;


/**
 * Posts whose like or comment lists one statement reads, about: whole units are added to a statement
 * until it holds this many (a day of 800 units in one statement, a month in a few dozen), so each
 * statement holds its snapshot for about a second at most at national scale.
 */
export const POSTS_PER_STATEMENT = 5000;

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
  /** Verdict counts per division (alphabetical); added up, the unit's. */
  divisions: DivisionTally[];
  /**
   * Personnel judged (excused and inactive left out), by rank (highest first), then name; empty when
   * the numbers were asked for without people (`withPeople: false`).
   */
  people: PersonNumbers[];
}

export interface DivisionTally {
  division: string;
  tally: Tally;
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


/** The days from `from` to `to`, inclusive. */
export function daysOf(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/** Posts per day, in the order of the days, from the day offsets of the posts (one entry per post). */
function countByDay(offsets: number[] | null, days: readonly string[]): Record<string, number> {
  const byDay: Record<string, number> = {};
  for (const offset of [...(offsets ?? [])].sort((a, b) => a - b)) {
    const day = days[offset]!;
    byDay[day] = (byDay[day] ?? 0) + 1;
  }
  return byDay;
}

function emptyTally(): Tally {
  const counts = (): VerdictCounts => ({ sudah: 0, kurang: 0, belum: 0, tanpa_username: 0 });
  return { people: 0, instagram: counts(), tiktok: counts() };
}

/** Verdict counts over some personnel. */
export function tally(people: readonly PersonNumbers[]): Tally {
  const result = emptyTally();
  result.people = people.length;
  for (const person of people) {
    for (const platform of PLATFORMS) result[platform][person.verdict[platform]]++;
  }
  return result;
}

/** Verdict counts added up (a unit's divisions into the unit's total). */
export function sumTallies(tallies: readonly Tally[]): Tally {
  const total = emptyTally();
  for (const t of tallies) {
    total.people += t.people;
    for (const platform of PLATFORMS) for (const verdict of VERDICTS) total[platform][verdict] += t[platform][verdict];
  }
  return total;
}


export interface RecapScope {
  /** First and last day, YYYY-MM-DD. */
  from: string;
  to: string;
  /** Only these units (client ids); default every unit whose client_status is not false. */
  clientIds?: readonly string[];
  /**
   * Each person's numbers (names, ranks, engagement per day: what a workbook shows); default true.
   * Without them (a text recap needs only the counts) every count still comes from the same judgement.
   */
  withPeople?: boolean;
}

function emptyByPlatform<T>(make: () => T): Record<Platform, T> {
  return { instagram: make(), tiktok: make() };
}

/** Consecutive groups of units whose posts add up to about POSTS_PER_STATEMENT (a unit is never split). */
function batchesOf(units: readonly UnitNumbers[]): UnitNumbers[][] {
  const batches: UnitNumbers[][] = [];
  let current: UnitNumbers[] = [];
  let posts = 0;
  for (const unit of units) {
    current.push(unit);
    posts += unit.posts.instagram + unit.posts.tiktok;
    if (posts >= POSTS_PER_STATEMENT) {
      batches.push(current);
      current = [];
      posts = 0;
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function person(row: PersonRow, unit: UnitNumbers, engagedDays: Record<Platform, number[] | null>, days: readonly string[]): PersonNumbers {
  const engagedByDay = { instagram: countByDay(engagedDays.instagram, days), tiktok: countByDay(engagedDays.tiktok, days) };
  const engaged = { instagram: engagedDays.instagram?.length ?? 0, tiktok: engagedDays.tiktok?.length ?? 0 };
  return {
    userId: row.user_id,
    name: row.nama?.trim() || row.user_id,
    rank: row.title?.trim() || null,
    division: row.division.trim() || NO_DIVISION,
    handles: { instagram: row.ig, tiktok: row.tt },
    engagedByDay,
    engaged,
    verdict: {
      instagram: verdictOf(row.ig, engaged.instagram, unit.posts.instagram),
      tiktok: verdictOf(row.tt, engaged.tiktok, unit.posts.tiktok),
    },
  };
}

/** Verdict counts per division of some judged personnel (in the order met). */
export function divisionsOf(people: readonly PersonNumbers[]): DivisionTally[] {
  const byDivision = new Map<string, PersonNumbers[]>();
  for (const p of people) (byDivision.get(p.division) ?? byDivision.set(p.division, []).get(p.division)!).push(p);
  return [...byDivision].map(([division, who]) => ({ division, tally: tally(who) }));
}

/** The recap numbers of a period, for every active unit or the ones asked for (in the order of their names). */
export async function recapNumbers(db: Queryable, scope: RecapScope): Promise<RecapNumbers> {
  const withPeople = scope.withPeople ?? true;
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
      divisions: [],
      people: [],
    });
  }

  const days = daysOf(scope.from, scope.to);
  const { rows: posts } = await db.query<PostRow>(POSTS_SQL, [scope.from, scope.to, scope.clientIds ?? null]);
  const postsOf = new Map<string, PostRow[]>();
  for (const post of posts) {
    const unit = units.get(post.client_id);
    if (!unit) continue; // an inactive unit's post
    const day = days[post.day]!;
    unit.postsByDay[post.platform][day] = (unit.postsByDay[post.platform][day] ?? 0) + 1;
    unit.posts[post.platform]++;
    (postsOf.get(post.client_id) ?? postsOf.set(post.client_id, []).get(post.client_id)!).push(post);
  }

  const peopleOf = new Map<string, PersonRow[]>();
  if (withPeople) {
    const { rows } = await db.query<PersonRow>(PEOPLE_SQL, [[...units.keys()]]);
    for (const row of rows) (peopleOf.get(row.client_id) ?? peopleOf.set(row.client_id, []).get(row.client_id)!).push(row);
  }
  for (const batch of batchesOf([...units.values()])) {
    if (withPeople) {
      const batchPosts = batch.flatMap((u) => postsOf.get(u.clientId) ?? []);
      const columns = (platform: Platform) => {
        const mine = batchPosts.filter((p) => p.platform === platform);
        return [mine.map((p) => p.id), mine.map((p) => p.client_id), mine.map((p) => p.day)];
      };
      const { rows } = batchPosts.length > 0 ? await db.query<EngagementRow>(ENGAGEMENT_SQL, [...columns('instagram'), ...columns('tiktok')]) : { rows: [] };
      const daysOf = new Map(rows.map((e) => [`${e.platform}\u0000${e.client_id}\u0000${e.handle}`, e.days]));
      const engagedDays = (platform: Platform, row: PersonRow, handle: string | null) => (handle === null ? null : (daysOf.get(`${platform}\u0000${row.client_id}\u0000${handle}`) ?? null));
      for (const unit of batch) {
        for (const row of peopleOf.get(unit.clientId) ?? []) {
          unit.people.push(person(row, unit, { instagram: engagedDays('instagram', row, row.ig), tiktok: engagedDays('tiktok', row, row.tt) }, days));
        }
      }
    } else {
      // Both platforms at once, each on its own connection when `db` is a pool (one after the other on a
      // single connection).
      const count = async (platform: Platform) => ({
        platform,
        rows: (await db.query<CountsRow>(countsSql(platform), [batch.map((u) => u.clientId), batch.map((u) => u.posts[platform]), scope.from, scope.to])).rows,
      });
      const counted = db instanceof pg.Pool ? await Promise.all(PLATFORMS.map(count)) : [await count('instagram'), await count('tiktok')];
      const tallies = new Map<string, Tally>();
      for (const { platform, rows } of counted) {
        for (const row of rows) {
          const key = `${row.client_id}\u0000${row.division}`;
          let t = tallies.get(key);
          if (!t) {
            t = emptyTally();
            tallies.set(key, t);
            units.get(row.client_id)!.divisions.push({ division: row.division, tally: t });
          }
          if (platform === 'instagram') t.people += row.people; // every person is counted on each platform
          t[platform][row.verdict] += row.people;
        }
      }
    }
  }
  for (const unit of units.values()) {
    if (withPeople) {
      const order = new Map(unit.people.map((p) => [p, rankOrder(p.rank)]));
      unit.people.sort((a, b) => order.get(a)! - order.get(b)! || compareText(a.name, b.name) || compareText(a.userId, b.userId));
      unit.divisions = divisionsOf(unit.people);
    }
    unit.divisions.sort((a, b) => compareText(a.division, b.division));
  }
  return { from: scope.from, to: scope.to, days, units: [...units.values()] };
}
