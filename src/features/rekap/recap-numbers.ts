/**
 * The numbers every recap is made from (the text, the workbooks, the API): for a period, per unit, per
 * person and per day, how many of the unit's posts there were and how many each person liked (Instagram)
 * or commented on (TikTok), and each person's verdict.
 *
 * Set-based: one statement reads the period's posts of every unit; then, per batch of units (about
 * POSTS_PER_STATEMENT posts), statements read only that batch's personnel and like and comment lists (by
 * primary key), unpacking each list once. They give each person's numbers when they are asked for (a
 * workbook), else only the head counts per unit, division and verdict, judged in SQL (a text recap). The
 * cost follows the period's data, not the whole history times the number of units, and each statement
 * holds its snapshot briefly. `recapNumberBatches` hands the numbers over a batch at a time and makes a
 * unit's people when asked, so a caller that needs each person's numbers a unit at a time (the report
 * job's workbooks) holds one unit's people, never every unit's; `recapNumbers` collects them all.
 *
 * The judgement, as Cicero_V2 makes it: personnel with `exception = true` or `status = false` are left
 * out; a handle is compared trimmed, in lower case, without leading `@`; only the unit's own posts count;
 * a person is **sudah** with at least half of the period's posts, **kurang** with some, **belum** with
 * none, **tanpa username** without a handle on file.
 */
import { setImmediate } from 'node:timers/promises';
import pg from 'pg';
import type { Queryable } from '../../db/pool.js';
import { countsSql, ENGAGEMENT_SQL, PEOPLE_SQL, PLATFORMS, POSTS_SQL, type CountsRow, type EngagementRow, type PersonRow, type Platform, type PostsRow, type Verdict } from './recap-statements.js';
import { dayOffsets, person } from './recap-person.js';
import { divisionsOf, emptyTally, type DivisionTally, type Tally } from './recap-tally.js';

export { NO_DIVISION, PLATFORMS, VERDICTS, verdictOf, type Platform, type Verdict } from './recap-statements.js';
export { compareText, rankOrder } from './personnel-order.js';
export { divisionsOf, sumTallies, tally, type DivisionTally, type Tally, type VerdictCounts } from './recap-tally.js';
import { compareText, rankOrder } from './personnel-order.js';

/** Messages per enqueue where the report job writes many (its texts). */
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
   * the numbers were asked for without people (`withPeople: false`), and in a batch (`peopleOf`).
   */
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

/** The days from `from` to `to`, inclusive. */
export function daysOf(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
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

/**
 * The units asked for, in the order of their names, each with its posts of the period counted, in
 * batches (batchesOf); the posts of each unit for reading its people's engagement.
 */
async function unitsWithPosts(db: Queryable, scope: RecapScope, days: readonly string[]): Promise<{ batches: UnitNumbers[][]; postsOf: Map<string, PostsRow[]> }> {
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
  const { rows: posts } = await db.query<PostsRow>(POSTS_SQL, [scope.from, scope.to, scope.clientIds ?? null]);
  const postsOf = new Map<string, PostsRow[]>();
  for (const row of posts) {
    const unit = units.get(row.client_id);
    if (!unit) continue; // an inactive unit's posts
    for (const offset of dayOffsets(row.days)) {
      const day = days[offset]!;
      unit.postsByDay[row.platform][day] = (unit.postsByDay[row.platform][day] ?? 0) + 1;
      unit.posts[row.platform]++;
    }
    (postsOf.get(row.client_id) ?? postsOf.set(row.client_id, []).get(row.client_id)!).push(row);
  }
  return { batches: batchesOf([...units.values()]), postsOf };
}

/**
 * The personnel of a batch of units and the days of the units' posts each engaged with; each unit's
 * divisions counted, a unit at a time, letting the event loop in between (a batch holds thousands of
 * people). Returns what makes a unit's people (PersonNumbers, by rank then name) when asked; with
 * `keep`, each unit keeps the people its divisions were counted from (`unit.people`) instead.
 */
async function readPeople(db: Queryable, batch: readonly UnitNumbers[], batchPosts: readonly PostsRow[], days: readonly string[], keep: boolean): Promise<(unit: UnitNumbers) => PersonNumbers[]> {
  const { rows: people } = await db.query<PersonRow>(PEOPLE_SQL, [batch.map((u) => u.clientId)]);
  // The batch's posts per platform as three arrays: id, unit, day offset.
  const columns = (platform: Platform) => {
    const ids: string[] = [];
    const units: string[] = [];
    const offsets: number[] = [];
    for (const row of batchPosts.filter((p) => p.platform === platform)) {
      ids.push(...(JSON.parse(row.ids) as string[]));
      for (const offset of dayOffsets(row.days)) {
        units.push(row.client_id);
        offsets.push(offset);
      }
    }
    return [ids, units, offsets];
  };
  const { rows } = batchPosts.length > 0 ? await db.query<EngagementRow>(ENGAGEMENT_SQL, [...columns('instagram'), ...columns('tiktok')]) : { rows: [] };
  const seen = new Map(rows.map((e) => [`${e.platform}\u0000${e.client_id}\u0000${e.handle}`, e.days]));
  const engagedDays = (platform: Platform, row: PersonRow, handle: string | null): number[] | null => {
    const found = handle === null ? undefined : seen.get(`${platform}\u0000${row.client_id}\u0000${handle}`);
    return found === undefined ? null : dayOffsets(found);
  };
  const rowsOf = new Map<string, PersonRow[]>();
  for (const row of people) (rowsOf.get(row.client_id) ?? rowsOf.set(row.client_id, []).get(row.client_id)!).push(row);
  const peopleOf = (unit: UnitNumbers): PersonNumbers[] => {
    const judged = (rowsOf.get(unit.clientId) ?? []).map((row) => person(row, unit, { instagram: engagedDays('instagram', row, row.ig), tiktok: engagedDays('tiktok', row, row.tt) }, days));
    const order = new Map(judged.map((p) => [p, rankOrder(p.rank)]));
    return judged.sort((a, b) => order.get(a)! - order.get(b)! || compareText(a.name, b.name) || compareText(a.userId, b.userId));
  };
  for (const unit of batch) {
    await setImmediate();
    const people = peopleOf(unit);
    unit.divisions = divisionsOf(people);
    if (keep) unit.people = people;
  }
  return keep ? (unit) => unit.people : peopleOf;
}

/**
 * The head counts of a batch of units per division and verdict, judged in SQL. Both platforms at once,
 * each on its own connection when `db` is a pool (one after the other on a single connection).
 */
async function readCounts(db: Queryable, batch: readonly UnitNumbers[], scope: RecapScope): Promise<void> {
  const count = async (platform: Platform) => ({
    platform,
    rows: (await db.query<CountsRow>(countsSql(platform), [batch.map((u) => u.clientId), batch.map((u) => u.posts[platform]), scope.from, scope.to])).rows,
  });
  const counted = db instanceof pg.Pool ? await Promise.all(PLATFORMS.map(count)) : [await count('instagram'), await count('tiktok')];
  const byId = new Map(batch.map((u) => [u.clientId, u]));
  const tallies = new Map<string, Tally>();
  for (const { platform, rows } of counted) {
    for (const row of rows) {
      const key = `${row.client_id}\u0000${row.division}`;
      let t = tallies.get(key);
      if (!t) {
        t = emptyTally();
        tallies.set(key, t);
        byId.get(row.client_id)!.divisions.push({ division: row.division, tally: t });
      }
      if (platform === 'instagram') t.people += row.people; // every person is counted on each platform
      t[platform][row.verdict] += row.people;
    }
  }
}

/** A batch of units' numbers: their posts and divisions counted; each unit's people made when asked. */
export interface RecapBatch extends RecapNumbers {
  /**
   * Each person's numbers of one of the batch's units (by rank, then name), made anew at each call: a
   * caller that takes them a unit at a time holds one unit's people, not the batch's. Empty when the
   * numbers were asked for without people.
   */
  peopleOf(unit: UnitNumbers): PersonNumbers[];
}

/** The batches of recapNumberBatches; with `keepPeople` (recapNumbers) each unit keeps its people. */
async function* batchesRead(db: Queryable, scope: RecapScope, keepPeople: boolean): AsyncGenerator<RecapBatch> {
  const days = daysOf(scope.from, scope.to);
  const { batches, postsOf } = await unitsWithPosts(db, scope, days);
  for (let batch = batches.shift(); batch; batch = batches.shift()) {
    let peopleOf = (_unit: UnitNumbers): PersonNumbers[] => [];
    if (scope.withPeople ?? true) peopleOf = await readPeople(db, batch, batch.flatMap((u) => postsOf.get(u.clientId) ?? []), days, keepPeople);
    else await readCounts(db, batch, scope);
    for (const unit of batch) {
      unit.divisions.sort((a, b) => compareText(a.division, b.division));
      postsOf.delete(unit.clientId);
    }
    yield { from: scope.from, to: scope.to, days, units: batch, peopleOf };
  }
}

/**
 * The recap numbers of a period a batch of units at a time (about POSTS_PER_STATEMENT posts each), in
 * the order of the units' names: every active unit, or the ones asked for. A batch is read when the
 * previous one has been taken, and is no longer referenced here once handed over. Its units' `people`
 * are empty: `peopleOf` makes them.
 */
export function recapNumberBatches(db: Queryable, scope: RecapScope): AsyncGenerator<RecapBatch> {
  return batchesRead(db, scope, false);
}

/** The recap numbers of a period, for every active unit or the ones asked for (in the order of their names). */
export async function recapNumbers(db: Queryable, scope: RecapScope): Promise<RecapNumbers> {
  const units: UnitNumbers[] = [];
  for await (const batch of batchesRead(db, scope, true)) units.push(...batch.units);
  return { from: scope.from, to: scope.to, days: daysOf(scope.from, scope.to), units };
}
