/**
 * `npm run bench -- recap` (or `tsx bench/recap.ts`): the recap build at Cicero_V2's scale.
 *
 * One database (BENCH_RECAP_DATABASE, default cwa_bench_recap, created and dropped here) grows
 * 50 → 200 → 800 units of Cicero_V2-shaped data (bench/recap-data.ts). At each size, for the daily,
 * weekly and monthly period (medians of BENCH_RUNS runs):
 *
 * - the service's recap: recapNumbers + recapText for every unit with a group, as the report job builds
 *   it, with each statement timed (the longest is what holds a snapshot longest);
 * - the baseline: one hand-written statement (below, written apart from recap-numbers.ts) computing the
 *   same per-unit counts; its counts must equal the service's, or the bench fails;
 * - at 50 units only, the old per-unit view (daily_report_view …) once, for reference.
 *
 * At each size, the monthly report job as the service runs it, with each unit's workbook and text only,
 * each in a process of its own: peak RSS, longest event-loop stall, time a workbook (bench/recap-job.ts;
 * BENCH_RECAP_JOB_RUNS runs, default BENCH_RUNS, one at 800 units and more).
 *
 * At 800 units, the task delivery recap's query on a one-hour window at the end of the data, with one
 * day and with 60 days of task history: the current view's shape, and a direct read of `tasks` by
 * `created_at` without and with an index on tasks(created_at).
 *
 * Writes the `recap` entry of bench/results.json and bench/recap-figures.md.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import type { Queryable } from '../src/db/pool.js';
import { silentLogger } from '../src/lib/logger.js';
import { reportPeriod, type ReportKind } from '../src/features/rekap/periods.js';
import { recapNumbers, sumTallies, type RecapNumbers } from '../src/features/rekap/recap-numbers.js';
import { recapText } from '../src/features/rekap/recap-text.js';
import { DAYS, FIRST_DAY, IG_PER_DAY, PEOPLE_PER_UNIT, TT_PER_DAY, addTasks, addUnits } from './recap-data.js';
import { buildService, jobMarkdown, measureJob, type JobFigures } from './recap-job.js';
import { ROOT, log, machine, median, mergeResults, withBenchServer } from './common.js';

const SIZES = (process.env.BENCH_RECAP_SIZES ?? '50,200,800').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Runs of the monthly job in its own process, per size; at 800 units and more one (each takes minutes). */
const jobRuns = (units: number) => Number(process.env.BENCH_RECAP_JOB_RUNS ?? (units >= 800 ? 1 : RUNS));
const DATABASE = process.env.BENCH_RECAP_DATABASE ?? 'cwa_bench_recap';
/** The longest a recap statement may run (what "a few seconds" of snapshot means here). */
const STATEMENT_LIMIT_MS = Number(process.env.BENCH_RECAP_STATEMENT_LIMIT_MS ?? 5000);
const KINDS: ReportKind[] = ['daily', 'weekly', 'monthly'];
/** Periods within the 60 days (2026-09-01 … 2026-10-30): the last day, the last whole week, September. */
const PERIOD_DATES: Record<ReportKind, string> = { daily: '2026-10-30', weekly: '2026-10-25', monthly: '2026-09-15' };

// ---- The baseline ----------------------------------------------------------------------------------

const NAME = (value: string) => `nullif(lower(ltrim(btrim(${value}), '@')), '')`;
/** Per unit and name: the number of the unit's posts of the period whose list holds the name. */
const SEEN = (posts: string, id: string, lists: string, column: string) => `
    SELECT client_id, name, count(*) AS n
      FROM (SELECT DISTINCT p.client_id, p.${id}, ${NAME('x.name')} AS name
              FROM ${posts} p
              JOIN ${lists} l ON l.${id} = p.${id},
                   jsonb_array_elements_text(CASE WHEN jsonb_typeof(l.${column}) = 'array' THEN l.${column} END) AS x(name)) s
     GROUP BY client_id, name`;

/**
 * The per-unit counts in one statement: each period's post counted once per unit, each like list
 * unpacked once with its names normalised (trimmed, leading @ dropped, lower case), a name counted once
 * per post, then every judged person of every active unit joined to the number of the unit's posts their
 * handle appears in. sudah: in at least half of the unit's posts; kurang: in some; belum: in none;
 * tanpa username: no handle.
 */
const BASELINE_SQL = `
  WITH units AS (
    SELECT client_id FROM clients WHERE client_status IS DISTINCT FROM false
  ), judged AS (
    SELECT client_id,
           ${NAME('insta')} AS ig,
           ${NAME('tiktok')} AS tt
      FROM "user"
     WHERE coalesce(status, true) AND NOT coalesce(exception, false)
  ), ig_posts AS (
    SELECT client_id, shortcode FROM insta_post WHERE created_at >= $1::date AND created_at < $2::date + 1
  ), tt_posts AS (
    SELECT client_id, video_id FROM tiktok_post WHERE created_at >= $1::date AND created_at < $2::date + 1
  ), ig_seen AS (${SEEN('ig_posts', 'shortcode', 'insta_like', 'likes')}
  ), tt_seen AS (${SEEN('tt_posts', 'video_id', 'tiktok_comment', 'comments')}
  ), ig_count AS (
    SELECT client_id, count(*) AS n FROM ig_posts GROUP BY client_id
  ), tt_count AS (
    SELECT client_id, count(*) AS n FROM tt_posts GROUP BY client_id
  )
  SELECT u.client_id::text AS client_id,
         coalesce(ic.n, 0)::int AS ig_posts,
         coalesce(tc.n, 0)::int AS tt_posts,
         count(j.client_id)::int AS people,
         count(*) FILTER (WHERE j.ig IS NOT NULL AND 2 * i.n >= ic.n)::int AS ig_sudah,
         count(*) FILTER (WHERE j.ig IS NOT NULL AND 2 * i.n < ic.n)::int AS ig_kurang,
         count(*) FILTER (WHERE j.ig IS NOT NULL AND i.n IS NULL)::int AS ig_belum,
         count(*) FILTER (WHERE j.client_id IS NOT NULL AND j.ig IS NULL)::int AS ig_tanpa,
         count(*) FILTER (WHERE j.tt IS NOT NULL AND 2 * t.n >= tc.n)::int AS tt_sudah,
         count(*) FILTER (WHERE j.tt IS NOT NULL AND 2 * t.n < tc.n)::int AS tt_kurang,
         count(*) FILTER (WHERE j.tt IS NOT NULL AND t.n IS NULL)::int AS tt_belum,
         count(*) FILTER (WHERE j.client_id IS NOT NULL AND j.tt IS NULL)::int AS tt_tanpa
    FROM units u
    LEFT JOIN ig_count ic ON ic.client_id = u.client_id
    LEFT JOIN tt_count tc ON tc.client_id = u.client_id
    LEFT JOIN judged j ON j.client_id = u.client_id
    LEFT JOIN ig_seen i ON i.client_id = j.client_id AND i.name = j.ig
    LEFT JOIN tt_seen t ON t.client_id = j.client_id AND t.name = j.tt
   GROUP BY u.client_id, ic.n, tc.n`;

interface BaselineRow {
  client_id: string;
  ig_posts: number;
  tt_posts: number;
  people: number;
  ig_sudah: number;
  ig_kurang: number;
  ig_belum: number;
  ig_tanpa: number;
  tt_sudah: number;
  tt_kurang: number;
  tt_belum: number;
  tt_tanpa: number;
}

/** Fails the bench when the service's counts differ from the baseline's for any unit. */
function assertSameCounts(kind: ReportKind, units: number, numbers: RecapNumbers, baseline: BaselineRow[]): void {
  const expected = new Map(baseline.map((row) => [row.client_id, row]));
  if (expected.size !== numbers.units.length) {
    throw new Error(`${kind} at ${units} units: the service recapped ${numbers.units.length} units, the baseline ${expected.size}`);
  }
  for (const unit of numbers.units) {
    const t = sumTallies(unit.divisions.map((d) => d.tally));
    const got = {
      ig_posts: unit.posts.instagram, tt_posts: unit.posts.tiktok, people: t.people,
      ig_sudah: t.instagram.sudah, ig_kurang: t.instagram.kurang, ig_belum: t.instagram.belum, ig_tanpa: t.instagram.tanpa_username,
      tt_sudah: t.tiktok.sudah, tt_kurang: t.tiktok.kurang, tt_belum: t.tiktok.belum, tt_tanpa: t.tiktok.tanpa_username,
    };
    const want = expected.get(unit.clientId);
    if (!want) throw new Error(`${kind} at ${units} units: ${unit.clientId} is not in the baseline`);
    for (const [key, value] of Object.entries(got)) {
      if (want[key as keyof BaselineRow] !== value) {
        throw new Error(`${kind} at ${units} units, ${unit.clientId}: ${key} is ${value} in the service's recap, ${want[key as keyof BaselineRow]} in the baseline`);
      }
    }
  }
}

// ---- Measuring ---------------------------------------------------------------------------------------

/**
 * The pool, with every statement's time recorded (in ms) in `times`. Still a pool to the code it is
 * given (it runs statements on several connections at once, as the report job's pool does).
 */
function timedQueryable(pool: pg.Pool, times: number[]): Queryable {
  const timed = Object.create(pool) as pg.Pool;
  timed.query = (async (...args: Parameters<pg.Pool['query']>) => {
    const started = performance.now();
    try {
      return await (pool.query as (...a: unknown[]) => Promise<unknown>).apply(pool, args);
    } finally {
      times.push(performance.now() - started);
    }
  }) as unknown as pg.Pool['query'];
  return timed;
}

interface ServiceRun {
  ms: number;
  statements: number[];
  messages: number;
  numbers: RecapNumbers;
  texts: Map<string, string>;
}

/** What the report job builds: the numbers of every active unit, and the text of each unit with a group. */
async function serviceRecap(pool: pg.Pool, kind: ReportKind, from: string, to: string): Promise<ServiceRun> {
  const statements: number[] = [];
  const started = performance.now();
  // As the report job asks: the daily text needs the counts only; weekly and monthly each person's numbers too (the workbook).
  const numbers = await recapNumbers(timedQueryable(pool, statements), { from, to, withPeople: kind !== 'daily' });
  const texts = new Map<string, string>();
  for (const unit of numbers.units) if (unit.group?.trim()) texts.set(unit.clientId, recapText(kind, unit, from, to));
  return { ms: performance.now() - started, statements, messages: texts.size, numbers, texts };
}

async function timedQuery<R extends pg.QueryResultRow>(pool: pg.Pool, sql: string, params: unknown[]): Promise<{ ms: number; rows: R[] }> {
  const started = performance.now();
  const { rows } = await pool.query<R>(sql, params);
  return { ms: performance.now() - started, rows };
}

const round = (x: number, digits = 0) => Number(x.toFixed(digits));

interface KindFigures {
  from: string;
  to: string;
  messages: number;
  serviceMs: number;
  baselineMs: number;
  serviceVsBaseline: number;
  statements: number;
  longestStatementMs: number;
  serviceRunsMs: number[];
  baselineRunsMs: number[];
}

async function measureKind(pool: pg.Pool, kind: ReportKind, units: number): Promise<KindFigures> {
  const period = reportPeriod(kind, new Date(), 'Asia/Jakarta', PERIOD_DATES[kind]);
  const service: ServiceRun[] = [];
  const baseline: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const ours = await serviceRecap(pool, kind, period.start, period.end);
    const theirs = await timedQuery<BaselineRow>(pool, BASELINE_SQL, [period.start, period.end]);
    if (run === 0) assertSameCounts(kind, units, ours.numbers, theirs.rows);
    service.push({ ...ours, numbers: { ...ours.numbers, units: [] }, texts: new Map() });
    baseline.push(theirs.ms);
  }
  const serviceMs = median(service.map((r) => r.ms));
  const baselineMs = median(baseline);
  const figures: KindFigures = {
    from: period.start,
    to: period.end,
    messages: service[0]!.messages,
    serviceMs: round(serviceMs),
    baselineMs: round(baselineMs),
    serviceVsBaseline: round(serviceMs / baselineMs, 2),
    statements: service[0]!.statements.length,
    longestStatementMs: round(Math.max(...service.flatMap((r) => r.statements))),
    serviceRunsMs: service.map((r) => round(r.ms)),
    baselineRunsMs: baseline.map((ms) => round(ms)),
  };
  log(`  ${units} units, ${kind} ${period.start}..${period.end}: service ${figures.serviceMs} ms, baseline ${figures.baselineMs} ms (${figures.serviceVsBaseline}×), ${figures.statements} statements, longest ${figures.longestStatementMs} ms`);
  return figures;
}

/**
 * The old per-unit views, once each (at 50 units): the job's statement, and whether its text is the
 * service's. Migration 014 removed them; they are put back in the bench's database from 005's text, and
 * dropped again after.
 */
async function measureOldViews(pool: pg.Pool): Promise<Record<ReportKind, { ms: number; rows: number; sameTextAsService: number }>> {
  await pool.query(await fs.readFile(path.join(ROOT, 'src/db/migrations/005_report_views.sql'), 'utf8'));
  const result = {} as Record<ReportKind, { ms: number; rows: number; sameTextAsService: number }>;
  for (const kind of KINDS) {
    const period = reportPeriod(kind, new Date(), 'Asia/Jakarta', PERIOD_DATES[kind]);
    const view = { daily: ['daily_report_view', 'report_date'], weekly: ['weekly_report_view', 'week_start'], monthly: ['monthly_report_view', 'month_start'] }[kind];
    const { ms, rows } = await timedQuery<{ client_id: string; summary: string }>(
      pool,
      `SELECT recipient::text AS recipient, summary::text AS summary, client_id::text AS client_id
         FROM ${view[0]} WHERE ${view[1]} = $1::date AND coalesce(post_count, 0) > 0`,
      [period.start],
    );
    const service = await serviceRecap(pool, kind, period.start, period.end);
    const same = rows.filter((row) => service.texts.get(row.client_id) === row.summary).length;
    result[kind] = { ms: round(ms), rows: rows.length, sameTextAsService: same };
    log(`  old view ${view[0]} (${period.start}): ${round(ms)} ms, ${rows.length} rows, ${same} with the service's text`);
  }
  // Gone again, as migration 014 leaves them: with a view of its name, the report job would send the view's rows.
  await pool.query('DROP VIEW daily_report_view, weekly_report_view, monthly_report_view');
  return result;
}

// ---- The task delivery recap ------------------------------------------------------------------------

/** The job's statement today, through task_delivery_recap_view (filtered on date_trunc of created_at). */
const TASK_VIEW_SQL = `
  SELECT recipient::text AS recipient, summary::text AS summary
    FROM task_delivery_recap_view
   WHERE delivered_at >= $1::timestamp AND delivered_at < $2::timestamp
   ORDER BY delivered_at, summary`;

/** The shape the task recap is moving to: the view's rows, read from `tasks` by created_at directly. */
const TASK_DIRECT_SQL = `
  SELECT c.client_operator::text AS recipient,
         '• ' || to_char(date_trunc('minute', t.created_at), 'DD/MM HH24:MI') || ' — '
           || coalesce(nullif(btrim(c.nama), ''), c.client_id) || ': tugas post ' || t.shortcode
           || coalesce(' ("' || left(regexp_replace(nullif(btrim(p.caption), ''), '\\s+', ' ', 'g'), 40) || '")', '')
           || ' dikirim ke ' || count(DISTINCT t.user_id) || ' personil' AS summary
    FROM tasks t
    JOIN insta_post p ON p.shortcode = t.shortcode
    JOIN clients c ON c.client_id = p.client_id
   WHERE t.created_at >= $1::timestamp AND t.created_at < $2::timestamp
     AND c.client_status IS DISTINCT FROM false AND nullif(btrim(c.client_operator), '') IS NOT NULL
   GROUP BY c.client_id, c.nama, c.client_operator, t.shortcode, p.caption, date_trunc('minute', t.created_at)
   ORDER BY date_trunc('minute', t.created_at), summary`;

/** The last hour of the data that has tasks: the day's third post and its hand-out. */
const TASK_WINDOW = [`2026-10-30 16:00:00`, `2026-10-30 17:00:00`];

interface TaskShape {
  ms: number;
  rows: number;
  usesIndex?: boolean;
}

async function measureTaskQueries(pool: pg.Pool, withIndex: boolean): Promise<Record<string, TaskShape>> {
  const shapes: Record<string, TaskShape> = {};
  const plan = async (sql: string) =>
    JSON.stringify((await pool.query(`EXPLAIN (FORMAT JSON) ${sql}`, TASK_WINDOW)).rows[0]).includes('tasks_created_at');
  const one = async (name: string, sql: string) => {
    const runs: Array<{ ms: number; rows: number }> = [];
    // A query of about 0.1 s: one untimed run first (the same for every history), then the median of
    // at least 7, so the comparison is of the query, not of what the cache held.
    await pool.query(sql, TASK_WINDOW);
    for (let run = 0; run < Math.max(RUNS, 7); run++) {
      const { ms, rows } = await timedQuery(pool, sql, TASK_WINDOW);
      runs.push({ ms, rows: rows.length });
    }
    shapes[name] = { ms: round(median(runs.map((r) => r.ms)), 1), rows: runs[0]!.rows, usesIndex: await plan(sql) };
  };
  if (!withIndex) await one('view', TASK_VIEW_SQL);
  await one(withIndex ? 'directWithIndex' : 'directNoIndex', TASK_DIRECT_SQL);
  return shapes;
}

interface TaskHistory {
  taskRows: number;
  createIndexMs: number;
  view: TaskShape;
  directNoIndex: TaskShape;
  directWithIndex: TaskShape;
}
const TASK_SHAPES = ['view', 'directNoIndex', 'directWithIndex'] as const;

async function measureTaskRecap(pool: pg.Pool, units: number): Promise<{ window: string[]; oneDay: TaskHistory; sixtyDays: TaskHistory; growth60DaysVs1Day: Record<string, number> }> {
  const byHistory: Record<string, TaskHistory> = {};
  for (const [label, firstDay, lastDay] of [['1day', DAYS - 1, DAYS - 1], ['60days', 0, DAYS - 2]] as const) {
    const started = performance.now();
    const client = await pool.connect();
    let added: number;
    try {
      added = await addTasks(client, units, firstDay, lastDay);
    } finally {
      client.release();
    }
    await pool.query('VACUUM ANALYZE tasks');
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tasks');
    log(`  tasks: ${added} rows added in ${((performance.now() - started) / 1000).toFixed(1)} s, ${rows[0]!.n} in all`);
    const without = await measureTaskQueries(pool, false);
    const indexStarted = performance.now();
    await pool.query('CREATE INDEX tasks_created_at ON tasks (created_at)');
    await pool.query('ANALYZE tasks');
    const createIndexMs = round(performance.now() - indexStarted);
    const withIndex = await measureTaskQueries(pool, true);
    await pool.query('DROP INDEX tasks_created_at');
    byHistory[label] = { taskRows: rows[0]!.n, createIndexMs, view: without.view!, directNoIndex: without.directNoIndex!, directWithIndex: withIndex.directWithIndex! };
    log(`  task recap, ${label} of tasks: ${JSON.stringify(byHistory[label])}`);
  }
  const oneDay = byHistory['1day']!;
  const sixtyDays = byHistory['60days']!;
  for (const shape of TASK_SHAPES) {
    if (oneDay[shape].rows !== oneDay.view.rows || sixtyDays[shape].rows !== oneDay.view.rows) {
      throw new Error(`task recap: ${shape} returned another number of rows than the view on the same window`);
    }
  }
  const growth = Object.fromEntries(TASK_SHAPES.map((shape) => [shape, round(sixtyDays[shape].ms / oneDay[shape].ms, 2)]));
  return { window: TASK_WINDOW, oneDay, sixtyDays, growth60DaysVs1Day: growth };
}

// ---- The run ------------------------------------------------------------------------------------------

export async function recapBench(adminUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  const url = new URL(adminUrl);
  url.pathname = `/${DATABASE}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2, application_name: 'cicero-wa-bench-recap' });
  try {
    await pool.query(await fs.readFile(path.join(ROOT, 'src/features/rekap/demo/cicero-v2-schema.sql'), 'utf8'));
    await migrate(pool, silentLogger());
    log(`recap: runs = ${RUNS}, sizes = ${SIZES.join(', ')} units, database ${DATABASE}`);

    buildService();
    const sizes: Record<string, Record<string, unknown>> = {};
    const jobs: Record<string, JobFigures> = {};
    let units = 0;
    let oldViews: Awaited<ReturnType<typeof measureOldViews>> | null = null;
    for (const size of SIZES) {
      const started = performance.now();
      await addUnits(pool, units + 1, size);
      units = size;
      await pool.query('VACUUM ANALYZE');
      const { rows: [counts] } = await pool.query(
        `SELECT (SELECT count(*) FROM "user")::int AS people, (SELECT count(*) FROM insta_post)::int AS ig_posts,
                (SELECT count(*) FROM tiktok_post)::int AS tt_posts,
                (SELECT sum(jsonb_array_length(likes)) FROM insta_like)::bigint + (SELECT sum(jsonb_array_length(comments)) FROM tiktok_comment)::bigint AS like_entries,
                pg_database_size(current_database())::bigint AS bytes`,
      );
      const generatedSeconds = round((performance.now() - started) / 1000, 1);
      log(`${size} units: generated in ${generatedSeconds} s (${JSON.stringify(counts)})`);
      const kinds: Record<string, KindFigures> = {};
      for (const kind of KINDS) kinds[kind] = await measureKind(pool, kind, size);
      sizes[size] = { generatedSeconds, data: { people: counts.people, igPosts: counts.ig_posts, ttPosts: counts.tt_posts, likeEntries: Number(counts.like_entries), databaseMb: Math.round(Number(counts.bytes) / 2 ** 20) }, ...kinds };
      if (size === SIZES[0]) oldViews = await measureOldViews(pool);
      jobs[size] = await measureJob(pool, url.toString(), size, jobRuns(size), reportPeriod('monthly', new Date(), 'Asia/Jakarta', PERIOD_DATES.monthly));
    }

    const first = String(SIZES[0]);
    const last = String(SIZES.at(-1));
    const at = (size: string, kind: ReportKind) => sizes[size]![kind] as KindFigures;
    const growth = Object.fromEntries(KINDS.map((kind) => [kind, {
      service: round(at(last, kind).serviceMs / at(first, kind).serviceMs, 1),
      baseline: round(at(last, kind).baselineMs / at(first, kind).baselineMs, 1),
    }]));
    const taskRecap = await measureTaskRecap(pool, units);
    const checks = {
      [`within1_5xOfBaselineAt${last}`]: KINDS.every((kind) => at(last, kind).serviceVsBaseline <= 1.5),
      [`growth${first}To${last}AtMost20x`]: KINDS.every((kind) => growth[kind]!.service <= 20),
      [`longestStatementUnder${STATEMENT_LIMIT_MS}Ms`]: Object.values(sizes).every((s) => KINDS.every((kind) => (s[kind] as KindFigures).longestStatementMs <= STATEMENT_LIMIT_MS)),
      taskRecapDirectWithIndex60DaysWithin1_5xOf1Day: taskRecap.growth60DaysVs1Day.directWithIndex! <= 1.5,
    };
    const results = {
      machine: machine(),
      shape: {
        days: DAYS, firstDay: FIRST_DAY, personnelPerUnit: PEOPLE_PER_UNIT, judgedPerUnit: PEOPLE_PER_UNIT - 7,
        instagramPostsPerDay: IG_PER_DAY, tiktokPostsPerDay: TT_PER_DAY, likedBy: '40-95% of the unit', runs: RUNS,
        tasks: 'one row per Instagram post and person of its unit (tasks.shortcode references insta_post)',
      },
      statementLimitMs: STATEMENT_LIMIT_MS,
      sizes,
      growth,
      oldViewsAt50Units: oldViews,
      taskRecap,
      monthlyJob: jobs,
      checks,
    };
    await mergeResults({ recap: results });
    await fs.writeFile(path.join(ROOT, 'bench/recap-figures.md'), figuresMarkdown(results));
    log(JSON.stringify({ growth, checks, taskRecap: taskRecap.growth60DaysVs1Day, monthlyJobTargets: Object.fromEntries(Object.entries(jobs).map(([size, f]) => [size, f.targets])) }, null, 2));
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await admin.end();
  }
}

// ---- The README's figures -----------------------------------------------------------------------------

function figuresMarkdown(r: {
  machine: Record<string, string>;
  sizes: Record<string, Record<string, unknown>>;
  growth: Record<string, { service: number; baseline: number }>;
  oldViewsAt50Units: Record<ReportKind, { ms: number }> | null;
  taskRecap: Awaited<ReturnType<typeof measureTaskRecap>>;
  statementLimitMs: number;
  monthlyJob: Record<string, JobFigures>;
}): string {
  const s = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
  const sizes = Object.keys(r.sizes);
  const rows = sizes.map((size) => {
    const cells = KINDS.map((kind) => {
      const k = r.sizes[size]![kind] as KindFigures;
      return `${s(k.serviceMs)} / ${s(k.baselineMs)} (${k.serviceVsBaseline.toFixed(2)}×)`;
    });
    return `| ${size} | ${cells.join(' | ')} |`;
  });
  const longest = sizes.map((size) => `| ${size} | ${KINDS.map((kind) => {
    const k = r.sizes[size]![kind] as KindFigures;
    return `${s(k.longestStatementMs)} (${k.statements} statements)`;
  }).join(' | ')} |`);
  const data = sizes.map((size) => {
    const d = r.sizes[size]!.data as Record<string, number>;
    return `${size} units: ${d.people!.toLocaleString('en-US')} personnel, ${d.igPosts!.toLocaleString('en-US')} Instagram and ${d.ttPosts!.toLocaleString('en-US')} TikTok posts, ${(d.likeEntries! / 1e6).toFixed(1)} million like/comment entries (${d.databaseMb!.toLocaleString('en-US')} MB)`;
  });
  const t = r.taskRecap;
  const taskRow = (label: string, shape: (typeof TASK_SHAPES)[number]) =>
    `| ${label} | ${s(t.oneDay[shape]!.ms)} | ${s(t.sixtyDays[shape]!.ms)} | ${t.growth60DaysVs1Day[shape]!.toFixed(2)}× |`;
  const old = r.oldViewsAt50Units;
  const first = sizes[0]!;
  return `### Recaps at Cicero_V2's scale

\`npm run bench -- recap\` (part of \`npm run bench\`) grows one database of Cicero_V2-shaped data (100
personnel per unit of whom 93 are judged, 10% without a handle per platform, 3 Instagram and 2 TikTok
posts a day for 60 days, each liked or commented on by 40–95% of the unit in mixed case, some with \`@\`,
plus likers from outside; no index but Cicero_V2's primary keys) from ${sizes.join(' to ')} units, and at each size
times the recap build as the report job does it (\`recapNumbers\` for every unit, then \`recapText\` for
each unit with a group) beside one hand-written statement computing the same per-unit counts. The bench
fails if any unit's counts differ. Medians of ${RUNS} runs; ${r.machine.cpu}, PostgreSQL 15 with its default
settings on the same machine.

Data: ${data.join('; ')}.

| units | daily: service / one statement | weekly (7 days) | monthly (30 days) |
| --- | --- | --- | --- |
${rows.join('\n')}

- **Service / one statement** is the whole build as the report job makes it (the daily text from head
  counts judged in SQL; weekly and monthly each person's numbers per day too, which the workbooks need;
  statements of about 5,000 posts each, the text of every unit) against the bare per-unit counts of a
  single statement.
- **Growth** from ${first} to ${sizes.at(-1)} units (${Number(sizes.at(-1)) / Number(first)}× the data): service ${KINDS.map((k) => `${k} ${r.growth[k]!.service}×`).join(', ')}; the one statement ${KINDS.map((k) => `${k} ${r.growth[k]!.baseline}×`).join(', ')}. Growth near 16× is cost that follows the
  data; the batches read only their own like lists (by primary key), so more units add statements, not
  longer ones.${old ? `
- **The old views** (one plpgsql call per unit), at ${first} units, once: daily ${s(old.daily.ms)}, weekly ${s(old.weekly.ms)},
  monthly ${s(old.monthly.ms)}.` : ''}

Longest single statement of the service's recap (each holds its snapshot this long at most; the bench
checks it against ${s(r.statementLimitMs)}):

| units | daily | weekly | monthly |
| --- | --- | --- | --- |
${longest.join('\n')}

${jobMarkdown(r.monthlyJob)}
Task delivery recap, one hour at the end of the data (${(t.oneDay.view!.rows).toLocaleString('en-US')} rows of recap), at ${sizes.at(-1)} units with 1 day
(${t.oneDay.taskRows.toLocaleString('en-US')} task rows) and 60 days (${t.sixtyDays.taskRows.toLocaleString('en-US')}) of \`tasks\`:

| query | 1 day of tasks | 60 days | 60 days / 1 day |
| --- | --- | --- | --- |
${taskRow('today\'s view (`date_trunc(\'minute\', created_at)` in the filter)', 'view')}
${taskRow('`tasks.created_at >= $1 AND created_at < $2`, no index', 'directNoIndex')}
${taskRow('the same with an index on `tasks(created_at)`', 'directWithIndex')}

Only the direct predicate with the index keeps the recap's time flat as task history grows: without
the index, both shapes read every task row ever written, every 30 minutes.
`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await withBenchServer(recapBench);
}
