/**
 * The monthly job's workbooks, one unit at a time, whatever the number of units: personnel read one
 * batch of units at a time (no statement reads more than a batch's), each batch's workbooks built and
 * in the outbox before the next batch is read, one build at a time, each workbook in the outbox before
 * the next is built; a workbook already in the outbox not built again; a workbook too large for the
 * thread's bounded heap built in a larger one; and the event loop free while a large unit's workbook is
 * built (in the worker thread).
 *
 * Six small units of 2,610 posts in June (so about 5,000 posts, two units, to a batch) and, for the
 * event loop, one unit of 400 personnel with posts in July only.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { fixedClock } from '../src/lib/clock.js';
import { createLogger, silentLogger } from '../src/lib/logger.js';
import { recapNumbers } from '../src/features/rekap/recap-numbers.js';
import { PEOPLE_SQL } from '../src/features/rekap/recap-statements.js';
import { reportJob } from '../src/features/rekap/report-job.js';
import { unitWorkbook } from '../src/features/rekap/unit-workbook.js';
import { workbookThread, type WorkbookBuilder } from '../src/features/rekap/workbook-builder.js';
import type { JobContext, JobHandler, JobResult } from '../src/jobs.js';
import { REPO_ROOT } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const SMALL_UNITS = 6;
const BIG_UNIT = 'MEM_9';
/**
 * The longest the event loop may wait at once while the big unit's workbook is built: generous for a busy
 * CI machine (20 to 50 ms here), and well under what building that workbook on the event loop takes
 * (300 to 550 ms here).
 */
const STALL_BOUND_MS = 150;

/**
 * Units MEM_<first>..MEM_<last>, each with `people` personnel (one in seven without an Instagram
 * handle) and, for `days` days from `from`, `ig` Instagram and `tt` TikTok posts a day, each liked or
 * commented on by two thirds of the unit.
 */
async function addUnits(db: pg.Pool, [first, last]: [number, number], people: number, from: string, days: number, ig: number, tt: number): Promise<void> {
  await db.query(
    `INSERT INTO clients (client_id, nama, client_type, client_status, client_group)
     SELECT 'MEM_' || u, 'Polres Mem ' || u, 'ORG', true, '120363' || lpad(u::text, 12, '0') || '@g.us' FROM generate_series($1::int, $2::int) u`,
    [first, last],
  );
  await db.query(
    `INSERT INTO "user" (user_id, nama, title, divisi, insta, tiktok, client_id, status, exception)
     SELECT 'MEM_' || u || '_' || k, 'Personil ' || k, (ARRAY['AKP', 'IPDA', 'BRIPKA', 'BRIPDA'])[1 + k % 4], (ARRAY['SAT LANTAS', 'SAT RESKRIM'])[1 + k % 2],
            CASE WHEN k % 7 = 3 THEN NULL ELSE 'mem' || u || '.p' || k END, 'mem' || u || '_tt' || k, 'MEM_' || u, true, false
       FROM generate_series($1::int, $2::int) u, generate_series(1, $3::int) k`,
    [first, last, people],
  );
  for (const [posts, key, lists, column, perDay, handle] of [
    ['insta_post', 'shortcode', 'insta_like', 'likes', ig, `'mem' || u || '.p' || k`],
    ['tiktok_post', 'video_id', 'tiktok_comment', 'comments', tt, `'mem' || u || '_tt' || k`],
  ] as const) {
    // $1, $2: the units; $3: the days; $4: the first day (posts) or the personnel (lists).
    const series = `generate_series($1::int, $2::int) u, generate_series(0, $3::int - 1) d, generate_series(1, ${perDay}) j`;
    const id = `'${key}_' || u || '_' || d || '_' || j`;
    await db.query(`INSERT INTO ${posts} (${key}, client_id, created_at) SELECT ${id}, 'MEM_' || u, $4::date + d + interval '8 hours' + j * interval '1 minute' FROM ${series}`, [first, last, days, from]);
    await db.query(
      `INSERT INTO ${lists} (${key}, ${column})
       SELECT ${id}, (SELECT jsonb_agg(${handle}) FROM generate_series(1, $4::int) k WHERE (k + d + j) % 3 <> 0) FROM ${series}`,
      [first, last, days, people],
    );
  }
}

/** Runs a monthly job for the month holding `date`. */
async function run(job: JobHandler, date: string): Promise<JobResult> {
  const context: JobContext = { job: 'monthly-report', slot: new Date(`${date}T00:00:00Z`), trigger: 'manual', date, clock: fixedClock(`${date}T00:00:00Z`), logger: silentLogger() };
  return (await job(context)) as JobResult;
}

const workbooksInOutbox = async (db: pg.Pool) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM wa_outbox WHERE document IS NOT NULL')).rows[0]!.n;

/**
 * What one run of the job did, watched from outside: the units of each statement that read personnel,
 * with the workbooks in the outbox at that moment; each build, with the workbooks in the outbox when it
 * started; the most builds under way at once.
 */
interface Watch {
  peopleReads: Array<{ units: string[]; workbooksInOutbox: number }>;
  builds: Array<{ unit: string; workbooksInOutbox: number }>;
  mostAtOnce: number;
}

/** The monthly job with workbooks on a pool and a builder that record what it does. */
function watchedJob(db: TestDatabase, watch: Watch) {
  const pool = Object.create(db.pool) as pg.Pool;
  pool.query = (async (...args: unknown[]) => {
    if (args[0] === PEOPLE_SQL) watch.peopleReads.push({ units: (args[1] as string[][])[0]!, workbooksInOutbox: await workbooksInOutbox(db.pool) });
    return (db.pool.query as (...a: unknown[]) => Promise<unknown>).apply(db.pool, args);
  }) as unknown as pg.Pool['query'];
  let underWay = 0;
  const workbookBuilder = (): WorkbookBuilder => {
    const real = workbookThread(silentLogger());
    return {
      async build(period, unit, kind) {
        watch.mostAtOnce = Math.max(watch.mostAtOnce, ++underWay);
        try {
          watch.builds.push({ unit: unit.clientId, workbooksInOutbox: await workbooksInOutbox(db.pool) });
          return await real.build(period, unit, kind);
        } finally {
          underWay--;
        }
      },
      close: () => real.close(),
    };
  };
  return reportJob('monthly', 'monthly-report', { pool, timeZone: 'Asia/Jakarta', sendEmpty: false, attachExcel: true, workbookBuilder });
}

const newWatch = (): Watch => ({ peopleReads: [], builds: [], mostAtOnce: 0 });

/** Event-loop delays from now on (its timer runs from the next turn of the loop, hence the wait). */
async function watchingEventLoop(): Promise<IntervalHistogram> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  await sleep(30);
  return delay;
}

describe('monthly workbooks, one unit at a time', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase('recap_workbook_memory');
    await db.pool.query(await fs.readFile(path.join(REPO_ROOT, 'src/features/rekap/demo/cicero-v2-schema.sql'), 'utf8'));
    await migrate(db.pool, silentLogger());
    await addUnits(db.pool, [1, SMALL_UNITS], 8, '2026-06-01', 30, 60, 27);
    await addUnits(db.pool, [9, 9], 400, '2026-07-01', 31, 3, 2);
  });
  after(async () => {
    await db.drop();
  });

  it('reads one batch of units at a time and builds and enqueues one workbook at a time, the bytes export makes', async (t) => {
    const watch = newWatch();
    const result = await run(watchedJob(db, watch), '2026-06-15');
    t.diagnostic(`${JSON.stringify(result)}; personnel read for ${watch.peopleReads.map((r) => r.units.length).join(', ')} unit(s)`);
    assert.equal(result.enqueued, 2 * SMALL_UNITS, 'a text and a workbook per unit with posts');

    // Personnel: never more than one batch (two units of 2,610 posts) in a statement, and a batch read only
    // once the workbooks of every unit read before it are in the outbox.
    assert.ok(watch.peopleReads.length >= SMALL_UNITS / 2, 'personnel read a batch at a time, not all at once');
    let read = 0;
    for (const { units, workbooksInOutbox } of watch.peopleReads) {
      assert.ok(units.length <= 2, `one statement read the personnel of ${units.length} units`);
      assert.equal(workbooksInOutbox, read, `personnel of ${units.join(', ')} read before the workbooks of the units read earlier were in the outbox`);
      read += units.filter((u) => u !== BIG_UNIT).length;
    }

    // Workbooks: one build at a time, each started once every workbook built before it is in the outbox.
    assert.equal(watch.mostAtOnce, 1, 'one workbook built at a time');
    assert.deepEqual(watch.builds.map((b) => b.workbooksInOutbox), watch.builds.map((_, i) => i), 'each workbook enqueued before the next is built');
    assert.deepEqual(watch.builds.map((b) => b.unit).sort(), Array.from({ length: SMALL_UNITS }, (_, i) => `MEM_${i + 1}`));

    // Text first, then its workbook following it; the bytes those of the export of the same numbers.
    const { rows } = await db.pool.query<{ id: number; dedup_key: string; follows_id: number | null; document_sha256: string | null }>(
      'SELECT id::int AS id, dedup_key, follows_id::int AS follows_id, document_sha256 FROM wa_outbox ORDER BY id',
    );
    for (const book of rows.filter((r) => r.document_sha256)) {
      const text = rows.find((r) => `${r.dedup_key}:xlsx` === book.dedup_key);
      assert.ok(text && text.id < book.id && book.follows_id === text.id, `${book.dedup_key} follows its text`);
      const unit = book.dedup_key.split(':')[2]!;
      const numbers = await recapNumbers(db.pool, { from: '2026-06-01', to: '2026-06-30', clientIds: [unit] });
      const bytes = (await unitWorkbook(numbers, numbers.units[0]!, 'monthly')).bytes;
      assert.equal(book.document_sha256, createHash('sha256').update(bytes).digest('hex'), `${unit}: the bytes the export makes`);
    }
  });

  it('does not build a workbook already in the outbox; one missing is built alone, after its text', async () => {
    const again = newWatch();
    assert.equal((await run(watchedJob(db, again), '2026-06-20')).enqueued, 0);
    assert.deepEqual(again.builds, [], 'nothing built again');

    const { rows } = await db.pool.query<{ id: number; dedup_key: string }>("DELETE FROM wa_outbox WHERE dedup_key LIKE '%:MEM\\_3:%:xlsx' RETURNING id::int AS id, dedup_key");
    assert.equal(rows.length, 1);
    const once = newWatch();
    assert.equal((await run(watchedJob(db, once), '2026-06-20')).enqueued, 1);
    assert.deepEqual(once.builds.map((b) => b.unit), ['MEM_3']);
    const { rows: [book] } = await db.pool.query<{ follows: string }>(
      'SELECT t.dedup_key AS follows FROM wa_outbox w JOIN wa_outbox t ON t.id = w.follows_id WHERE w.dedup_key = $1',
      [rows[0]!.dedup_key],
    );
    assert.equal(`${book!.follows}:xlsx`, rows[0]!.dedup_key);
  });

  it('builds a workbook too large for the thread\'s heap again, alone, in a larger thread: the same bytes', async () => {
    const numbers = await recapNumbers(db.pool, { from: '2026-06-01', to: '2026-06-30', clientIds: ['MEM_1'] });
    const lines: string[] = [];
    const builder = workbookThread(createLogger('warn', { write: (line: string) => void lines.push(line) }), { old: 8, young: 1 });
    try {
      const built = await builder.build(numbers, numbers.units[0]!, 'monthly');
      assert.ok(built.bytes.equals((await unitWorkbook(numbers, numbers.units[0]!, 'monthly')).bytes));
    } finally {
      await builder.close();
    }
    assert.match(lines.join(''), /MEM_1.*too large for the workbook thread: built again in a larger one/);
  });

  it('keeps the event loop free while a unit of 400 personnel gets its workbook', async (t) => {
    const delay = await watchingEventLoop();
    const result = await run(reportJob('monthly', 'monthly-report', { pool: db.pool, timeZone: 'Asia/Jakarta', sendEmpty: false, attachExcel: true }), '2026-07-15');
    delay.disable();
    const longest = delay.max / 1e6;

    // For comparison, the same workbook built on the event loop.
    const numbers = await recapNumbers(db.pool, { from: '2026-07-01', to: '2026-07-31', clientIds: [BIG_UNIT] });
    const inline = await watchingEventLoop();
    await unitWorkbook(numbers, numbers.units[0]!, 'monthly');
    inline.disable();
    t.diagnostic(`longest event-loop stall: ${longest.toFixed(0)} ms with the workbook thread; ${(inline.max / 1e6).toFixed(0)} ms building on the event loop`);

    assert.equal(result.enqueued, 2, 'the big unit: its text and its workbook');
    assert.ok(longest < STALL_BOUND_MS, `the event loop waited ${longest.toFixed(0)} ms at once during the job (bound ${STALL_BOUND_MS} ms)`);
  });
});
