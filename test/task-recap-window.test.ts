/**
 * The task delivery recap reads only its window: on the service's own view it runs
 * cicero_wa_task_deliveries(from, upTo), whose range on tasks.created_at an index serves, and gives the
 * same lines, in the same order, as the view 005 installed; an operator's view is read as it is.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { migrate } from '../src/db/migrate.js';
import { rekapHandlers } from '../src/features/rekap/index.js';
import { isOwnTaskView, taskDeliveriesQuery } from '../src/features/rekap/task-delivery-recap.js';
import { fixedClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import type { JobContext } from '../src/jobs.js';
import { REPO_ROOT } from './helpers/cli.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

/** The view's definition as migration 005 installs it, read from that file. */
async function definition005(): Promise<string> {
  const sql = await fs.readFile(path.join(REPO_ROOT, 'src/db/migrations/005_report_views.sql'), 'utf8');
  const found = /CREATE VIEW task_delivery_recap_view AS([\s\S]*?)\$view\$/.exec(sql);
  assert.ok(found, '005 defines task_delivery_recap_view');
  return found[1]!;
}

const rowsOf = async (db: TestDatabase, sql: string, from: string, upTo: string) =>
  (await db.pool.query<{ recipient: string; summary: string }>(sql, [from, upTo])).rows.map((r) => `${r.recipient} | ${r.summary}`);

describe('task delivery recap by window', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('task_recap_window');
    await loadCiceroTables(db.pool);
    await migrate(db.pool, silentLogger());
    // Four units (one inactive, one without an operator), posts with odd captions, and 20,000 tasks over
    // 14 days, 60.5 s apart (so a minute holds one or two, at odd seconds).
    await db.pool.query(`
      INSERT INTO clients (client_id, nama, client_operator, client_status) VALUES
        ('POLRES_B', '  ', '081200000002', true), ('POLRES_OFF', 'Polres Off', '081200000003', false),
        ('POLRES_NOOP', 'Polres Tanpa Operator', ' ', true);
      INSERT INTO "user" (user_id, nama, client_id) VALUES ('U2', 'Dua', 'POLRES_A'), ('U3', 'Tiga', 'POLRES_B');
      INSERT INTO insta_post (shortcode, client_id, caption, created_at)
      SELECT 'P' || g, (ARRAY['POLRES_A', 'POLRES_B', 'POLRES_OFF', 'POLRES_NOOP'])[g % 4 + 1],
             CASE g % 3 WHEN 0 THEN NULL WHEN 1 THEN E'  Apel\\n\\n pagi   bersama  ' || repeat('panjang ', g % 7) ELSE '' END,
             timestamp '2026-11-10 00:00'
        FROM generate_series(1, 200) g;
      INSERT INTO tasks (shortcode, user_id, created_at)
      SELECT 'P' || (g % 200 + 1), (ARRAY['75010001', 'U2', 'U3', '75010001'])[g % 4 + 1],
             timestamp '2026-11-11 00:00' + (g * 60.5) * interval '1 second'
        FROM generate_series(1, 20000) g;
      ANALYZE tasks;`);
  });
  after(async () => db.drop());

  it("gives the view's lines for every window, in the view's order", async () => {
    assert.equal(await isOwnTaskView(db.pool), true, 'the view is the service\'s own, marked by 013');
    await db.pool.query(`CREATE VIEW task_view_005 AS ${await definition005()}`);
    const viewQuery = taskDeliveriesQuery(false).replace('task_delivery_recap_view', 'task_view_005');
    const windows: Array<[string, string]> = [
      ['2026-11-11 00:00', '2026-11-11 06:00'],
      ['2026-11-12 08:30', '2026-11-12 09:00'],
      ['2026-11-13 10:15:30', '2026-11-13 11:45:10'], // not whole minutes (a first run's look-back)
      ['2026-11-01 00:00', '2026-12-01 00:00'], // everything
      ['2026-11-20 00:00', '2026-11-20 00:00'], // empty
    ];
    for (const [from, upTo] of windows) {
      const expected = await rowsOf(db, viewQuery, from, upTo);
      assert.deepEqual(await rowsOf(db, taskDeliveriesQuery(true), from, upTo), expected, `${from} .. ${upTo}`);
      assert.deepEqual(await rowsOf(db, taskDeliveriesQuery(false), from, upTo), expected, `the service's view itself, ${from} .. ${upTo}`);
    }
    assert.ok((await rowsOf(db, viewQuery, ...windows[3]!)).length > 1000);
  });

  it('reads tasks through the tasks (created_at) index; the view cannot', async (t) => {
    await db.pool.query('CREATE INDEX IF NOT EXISTS tasks_created_at_idx ON tasks (created_at)');
    const plan = async (sql: string) =>
      (await db.pool.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) ${sql}`, ['2026-11-12 08:30', '2026-11-12 09:00'])).rows.map((r) => r['QUERY PLAN'] as string).join('\n');
    const own = await plan(taskDeliveriesQuery(true));
    assert.match(own, /Index (Only )?Scan (using|on) tasks_created_at_idx/, own);
    assert.doesNotMatch(own, /Seq Scan on tasks/, own);
    const throughView = await plan(taskDeliveriesQuery(false));
    assert.match(throughView, /Seq Scan on tasks/, 'grouped by minute, the view reads every task');
    const removed = (p: string) => Number(/Rows Removed by Filter: (\d+)/.exec(p)?.[1] ?? 0);
    const ms = (p: string) => /Execution Time: ([\d.]+) ms/.exec(p)?.[1];
    t.diagnostic(`a 30-minute window over 20,000 tasks: the job's query reads it by index (${removed(own)} task rows passed over, ${ms(own)} ms); through the view ${removed(throughView)} rows are read and passed over (${ms(throughView)} ms)`);
  });

  it("the job's messages are the same read either way; an operator's view is read as it is", async () => {
    const context = (now: string): JobContext => ({ job: 'task-delivery-recap', slot: new Date(now), trigger: 'manual', date: null, clock: fixedClock(now), logger: silentLogger() });
    const run = async () => {
      await db.pool.query("DELETE FROM wa_outbox WHERE type = 'task-delivery-recap'");
      await db.pool.query(`INSERT INTO cicero_wa_watermarks (job, position) VALUES ('task-delivery-recap', '2026-11-12 08:00')
                           ON CONFLICT (job) DO UPDATE SET position = excluded.position`);
      const result = await rekapHandlers({ pool: db.pool, timeZone: 'Asia/Jakarta', sendEmpty: false, attachExcel: false })['task-delivery-recap']!(context('2026-11-12T02:00:00Z'));
      const { rows } = await db.pool.query("SELECT recipient, content, dedup_key FROM wa_outbox WHERE type = 'task-delivery-recap' ORDER BY recipient");
      return { result, rows };
    };
    const own = await run();
    assert.ok(own.rows.length === 2 && own.rows.every((r) => r.content.split('\n').length > 20), 'two operators, each with an hour of lines');

    // The definition of 005, put back by an operator's CREATE OR REPLACE VIEW: no longer the marked one.
    await db.pool.query(`CREATE OR REPLACE VIEW task_delivery_recap_view AS ${await definition005()}`);
    assert.equal(await isOwnTaskView(db.pool), false);
    const operators = await run();
    assert.deepEqual(operators, own);

    // An operator's own wording is read as it is, and the service never replaces it (not at start-up either).
    await db.pool.query(`CREATE OR REPLACE VIEW task_delivery_recap_view AS
      SELECT c.client_operator AS recipient, c.client_id, t.shortcode, date_trunc('minute', t.created_at) AS delivered_at,
             count(*)::int AS personnel_count, 'Tugas ' || t.shortcode AS summary
        FROM tasks t JOIN insta_post p USING (shortcode) JOIN clients c ON c.client_id = p.client_id
       GROUP BY 1, 2, 3, 4`);
    const before = (await db.pool.query("SELECT pg_get_viewdef('task_delivery_recap_view') AS def")).rows[0].def;
    assert.equal((await db.pool.query('SELECT cicero_wa_adopt_task_view() AS own')).rows[0].own, false);
    assert.equal((await db.pool.query("SELECT pg_get_viewdef('task_delivery_recap_view') AS def")).rows[0].def, before);
    const mine = await run();
    assert.match(mine.rows[0].content, /\nTugas P\d+\n/);
  });
});
