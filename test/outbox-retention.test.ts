/**
 * Outbox retention: which rows go (old sent and cancelled ones, with their hand-over records), which stay
 * (everything an operator or the dispatcher still needs), in batches of 1,000 rows a statement, and a
 * second run that finds nothing more. The job is in the job table like every other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { composeApp } from '../src/app/app.js';
import { JOBS, jobTable } from '../src/jobs.js';
import { parseConfig } from '../src/config/index.js';
import { fixedClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { deleteExpiredOutbox, outboxRetentionJob, retentionDelete } from '../src/outbox/retention.js';
import { COMPLAINT_RETENTION_RULE } from '../src/features/complaints/complaint-queue.js';
import type { JobContext } from '../src/jobs.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { testCwd } from './helpers/temp-dirs.js';

const NOW = '2026-11-25T00:00:00Z';

function context(now = NOW): JobContext {
  return { job: 'outbox-retention', slot: new Date(now), trigger: 'manual', date: null, clock: fixedClock(now), logger: silentLogger() };
}

describe('outbox retention', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('outbox_retention', { migrated: true });
  });
  after(async () => db.drop());

  /** One row of a status, created and last changed `days` before NOW; with one hand-over record. */
  async function row(label: string, status: string | null, days: number, extra: { confirmation?: string } = {}): Promise<number> {
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO wa_outbox (recipient, content, type, status, confirmation, created_at, updated_at)
       VALUES ('6281200000000', $1, 'retention-test', $2, $3,
               ($4::timestamptz - make_interval(days => $5))::timestamp, $4::timestamptz - make_interval(days => $5))
       RETURNING id`,
      [label, status, extra.confirmation ?? null, NOW, days],
    );
    const id = rows[0]!.id;
    await db.pool.query(
      `INSERT INTO wa_outbox_sends (outbox_id, part, parts, chat_id, body_sha256, instance, outcome)
       VALUES ($1, 0, 1, '6281200000000@c.us', md5($2), 'test', 'confirmed')`,
      [id, label],
    );
    return id;
  }

  const labels = async () => (await db.pool.query("SELECT content FROM wa_outbox WHERE type = 'retention-test' ORDER BY content")).rows.map((r) => r.content as string);
  const sendsOf = async (ids: number[]) => (await db.pool.query('SELECT count(*)::int AS n FROM wa_outbox_sends WHERE outbox_id = ANY($1::int[])', [ids])).rows[0].n as number;

  it('deletes old sent and cancelled rows with their hand-over records, and keeps everything still needed', async () => {
    const gone = [
      await row('old sent', 'sent', 91, { confirmation: 'confirmed' }),
      await row('old sent, before confirmations', 'sent', 400),
      await row('old cancelled', 'cancelled', 120),
      await row('old sent, reply of an answered complaint', 'sent', 95, { confirmation: 'confirmed' }),
    ];
    const kept = [
      await row('new sent', 'sent', 89, { confirmation: 'confirmed' }),
      await row('new cancelled', 'cancelled', 10),
      await row('old failed', 'failed', 300),
      await row('old pending', 'pending', 200),
      await row('old sending', 'sending', 200),
      await row('old NULL status', null, 200),
      await row('old sent, unconfirmed', 'sent', 150, { confirmation: 'unconfirmed' }),
      await row('old sent, awaiting', 'sent', 150, { confirmation: 'awaiting' }),
      await row('old sent, reply a complaint still waits on', 'sent', 150, { confirmation: 'confirmed' }),
    ];
    // Created long ago, but changed (cancelled) yesterday: not old yet.
    const recentlyCancelled = await row('old, cancelled yesterday', 'cancelled', 200);
    await db.pool.query(`UPDATE wa_outbox SET updated_at = $2::timestamptz - interval '1 day' WHERE id = $1`, [recentlyCancelled, NOW]);
    kept.push(recentlyCancelled);
    await db.pool.query(
      `INSERT INTO complaint_queue (complainant, response_template, status, outbox_id) VALUES ('6281200000001', 't', 'responded', $1), ('6281200000002', 't', 'queued', $2)`,
      [gone[3], kept[8]],
    );

    const result = await outboxRetentionJob({ pool: db.pool, days: 90, keep: [COMPLAINT_RETENTION_RULE] })(context());
    assert.deepEqual(result, { detail: 'deleted 4 sent or cancelled message(s) older than 90 day(s) in 1 statement(s)' });
    assert.deepEqual(await labels(), [
      'new cancelled',
      'new sent',
      'old NULL status',
      'old failed',
      'old pending',
      'old sending',
      'old sent, awaiting',
      'old sent, reply a complaint still waits on',
      'old sent, unconfirmed',
      'old, cancelled yesterday',
    ]);
    assert.equal(await sendsOf(gone), 0, 'their hand-over records went with them');
    assert.equal(await sendsOf(kept), kept.length, 'the kept rows keep theirs');
    const complaints = (await db.pool.query('SELECT status, outbox_id FROM complaint_queue ORDER BY id')).rows;
    assert.deepEqual(complaints, [{ status: 'responded', outbox_id: null }, { status: 'queued', outbox_id: kept[8] }]);

    const again = await outboxRetentionJob({ pool: db.pool, days: 90, keep: [COMPLAINT_RETENTION_RULE] })(context());
    assert.deepEqual(again, { detail: 'deleted 0 sent or cancelled message(s) older than 90 day(s) in 1 statement(s)' }, 'a second run deletes nothing more');
    assert.equal((await labels()).length, 10);
  });

  it('deletes 2,500 old rows in batches of 1,000: three statements; then none', async (t) => {
    await db.pool.query(
      `INSERT INTO wa_outbox (recipient, content, type, status, created_at, updated_at)
       SELECT '6281200000000', 'bulk ' || g, 'retention-bulk', CASE WHEN g % 5 = 0 THEN 'cancelled' ELSE 'sent' END,
              ($1::timestamptz - interval '100 days' - g * interval '1 minute')::timestamp, $1::timestamptz - interval '100 days'
         FROM generate_series(1, 2500) g`,
      [NOW],
    );
    await db.pool.query(
      `INSERT INTO wa_outbox_sends (outbox_id, part, parts, chat_id, body_sha256, instance, outcome)
       SELECT id, 0, 1, '6281200000000@c.us', md5(content), 'test', 'confirmed' FROM wa_outbox WHERE type = 'retention-bulk'`,
    );
    const started = performance.now();
    const first = await outboxRetentionJob({ pool: db.pool, days: 90, keep: [COMPLAINT_RETENTION_RULE] })(context());
    t.diagnostic(`2,500 rows and their 2,500 hand-over records deleted in ${Math.round(performance.now() - started)} ms`);
    assert.deepEqual(first, { detail: 'deleted 2500 sent or cancelled message(s) older than 90 day(s) in 3 statement(s)' });
    const left = (await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE type = 'retention-bulk'")).rows[0].n;
    assert.equal(left, 0);
    const sends = (await db.pool.query('SELECT count(*)::int AS n FROM wa_outbox_sends s WHERE NOT EXISTS (SELECT 1 FROM wa_outbox o WHERE o.id = s.outbox_id)')).rows[0].n;
    assert.equal(sends, 0, 'no hand-over record is left without its row');
    assert.deepEqual(await deleteExpiredOutbox({ pool: db.pool, days: 90, keep: [COMPLAINT_RETENTION_RULE] }, new Date(NOW)), { deleted: 0, statements: 1, more: false });
  });

  it('stops starting batches when its time budget is used; the next run goes on', async () => {
    await db.pool.query(
      `INSERT INTO wa_outbox (recipient, content, type, status, created_at, updated_at)
       SELECT '6281200000000', 'budget ' || g, 'retention-budget', 'sent',
              ($1::timestamptz - interval '100 days')::timestamp, $1::timestamptz - interval '100 days'
         FROM generate_series(1, 30) g`,
      [NOW],
    );
    const options = { pool: db.pool, days: 90, batchSize: 10, budgetMs: 0, keep: [COMPLAINT_RETENTION_RULE] };
    assert.deepEqual(await deleteExpiredOutbox(options, new Date(NOW)), { deleted: 10, statements: 1, more: true });
    const detail = (await outboxRetentionJob(options)(context())) as { detail: string };
    assert.equal(detail.detail, 'deleted 10 sent or cancelled message(s) older than 90 day(s) in 1 statement(s); the time budget ran out, the next run goes on');
    assert.deepEqual(await deleteExpiredOutbox({ ...options, budgetMs: 60_000 }, new Date(NOW)), { deleted: 10, statements: 2, more: false });
  });

  it("the service's own retention job keeps a reply a complaint still waits on (the complaints module's rule is registered)", async () => {
    const { rows: [row] } = await db.pool.query(
      `INSERT INTO wa_outbox (recipient, content, type, status, created_at, updated_at)
       VALUES ('6281200000000', 'balasan', 'complaint_reply', 'sent', ($1::timestamptz - interval '200 days')::timestamp, $1::timestamptz - interval '200 days') RETURNING id`,
      [NOW],
    );
    await db.pool.query("INSERT INTO complaint_queue (complainant, response_template, status, outbox_id) VALUES ('6281200000003', 't', 'queued', $1)", [row.id]);
    const app = await composeApp(parseConfig({ DATABASE_URL: db.url, WA_TRANSPORT: 'fake', HTTP_PORT: 'off' }, testCwd()), silentLogger(), { role: 'command', drawQr: null });
    try {
      await app.scheduler.jobs.find((j) => j.name === 'outbox-retention')!.handler(context());
    } finally {
      await app.stop();
    }
    assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM wa_outbox WHERE id = $1', [row.id])).rows[0].n, 1);
    await db.pool.query('DELETE FROM complaint_queue WHERE outbox_id = $1', [row.id]);
    await db.pool.query('DELETE FROM wa_outbox WHERE id = $1', [row.id]);
  });

  it('reads the index of sent and cancelled rows by age', async () => {
    const client = await db.pool.connect();
    try {
      // A tiny table is read whole whatever the indexes: ask the planner for its index plan.
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      const { rows } = await client.query(`EXPLAIN ${retentionDelete([COMPLAINT_RETENTION_RULE])}`, [NOW, 90, 1000]);
      assert.match(rows.map((r) => r['QUERY PLAN']).join('\n'), /Index Scan (using|on) wa_outbox_retention_idx/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('is a shared daily job without catch-up, in the job table (cicero-wa jobs, /api/jobs, the dashboard)', () => {
    const spec = JOBS.find((j) => j.name === 'outbox-retention');
    assert.deepEqual(spec && { variable: spec.variable, expression: spec.defaultExpression, shared: spec.shared, catchUp: spec.catchUp }, {
      variable: 'OUTBOX_RETENTION_CRON',
      expression: '30 3 * * *',
      shared: true,
      catchUp: false,
    });
    const config = parseConfig({ OUTBOX_RETENTION_CRON: '0 4 * * 0', OUTBOX_RETENTION_DAYS: '30' });
    assert.equal(config.outbox.retentionDays, 30);
    assert.equal(jobTable(config, {}).find((j) => j.name === 'outbox-retention')?.expression, '0 4 * * 0');
  });
});
