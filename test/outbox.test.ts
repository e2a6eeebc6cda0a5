import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { withTransaction } from '../src/db/pool.js';
import { OutboxValidationError, enqueue, enqueueOne, type OutboxMessage } from '../src/outbox/enqueue.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

/** Counts the outbox's insert notifications on a dedicated connection. */
async function listen(url: string): Promise<{ count(): number; settle(): Promise<void>; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let received = 0;
  client.on('notification', (n) => {
    if (n.channel === 'wa_outbox_pending') received++;
  });
  await client.query('LISTEN wa_outbox_pending');
  return {
    count: () => received,
    // A round trip on the listening connection flushes notifications already sent to it.
    settle: async () => {
      await new Promise((r) => setTimeout(r, 50));
      await client.query('SELECT 1');
    },
    close: () => client.end(),
  };
}

const message = (n: number, extra: Partial<OutboxMessage> = {}): OutboxMessage => ({
  recipient: `0812000000${String(n).padStart(2, '0')}`,
  content: `Pesan ${n}`,
  type: 'test',
  ...extra,
});

describe('outbox service', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('outbox', { migrated: true });
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
  });

  it('enqueues many messages in one statement: one notification, results in input order', async () => {
    const listener = await listen(db.url);
    try {
      const messages = Array.from({ length: 250 }, (_, i) => message(i));
      const results = await enqueue(db.pool, messages);
      await listener.settle();
      assert.equal(listener.count(), 1, 'a statement-level trigger fires once per insert statement');
      assert.equal(results.length, 250);
      assert.ok(results.every((r) => r.inserted));
      const { rows } = await db.pool.query('SELECT id, recipient, content, status, attempts FROM wa_outbox ORDER BY id');
      assert.equal(rows.length, 250);
      results.forEach((result, i) => {
        const row = rows.find((r) => r.id === result.id);
        assert.equal(row.content, `Pesan ${i}`, 'each result is the id of its own message');
        assert.equal(row.status, 'pending');
        assert.equal(row.attempts, 0);
      });
    } finally {
      await listener.close();
    }
  });

  it("writes inside the caller's transaction: a rollback leaves nothing, and notifies nobody", async () => {
    const listener = await listen(db.url);
    try {
      await assert.rejects(
        withTransaction(db.pool, async (client) => {
          await enqueue(client, [message(1), message(2)]);
          throw new Error('caller failed after enqueue');
        }),
        /caller failed/,
      );
      await listener.settle();
      assert.equal((await db.pool.query('SELECT * FROM wa_outbox')).rowCount, 0);
      assert.equal(listener.count(), 0);
      await withTransaction(db.pool, (client) => enqueue(client, [message(3)]));
      await listener.settle();
      assert.equal((await db.pool.query('SELECT * FROM wa_outbox')).rowCount, 1);
      assert.equal(listener.count(), 1);
    } finally {
      await listener.close();
    }
  });

  it('deduplicates by key, across calls and within a batch, and says which messages were new', async () => {
    const first = await enqueue(db.pool, [message(1, { dedupKey: 'daily:2026-11-24:A' }), message(2, { dedupKey: 'daily:2026-11-24:B' })]);
    const listener = await listen(db.url);
    try {
      const second = await enqueue(db.pool, [
        message(3, { dedupKey: 'daily:2026-11-24:A' }),
        message(4, { dedupKey: 'daily:2026-11-24:C' }),
        message(5, { dedupKey: 'daily:2026-11-24:C' }),
        message(6),
      ]);
      assert.deepEqual(second.map((r) => r.inserted), [false, true, false, true]);
      assert.equal(second[0]!.id, first[0]!.id, 'a repeated key points at the existing row');
      assert.equal(second[2]!.id, second[1]!.id, 'a key repeated within the batch points at its first message');
      const { rows } = await db.pool.query('SELECT content FROM wa_outbox ORDER BY id');
      assert.deepEqual(rows.map((r) => r.content), ['Pesan 1', 'Pesan 2', 'Pesan 4', 'Pesan 6']);

      await listener.settle();
      const before = listener.count();
      const again = await enqueueOne(db.pool, message(7, { dedupKey: 'daily:2026-11-24:B' }));
      assert.deepEqual(again, { id: first[1]!.id, inserted: false, dedupKey: 'daily:2026-11-24:B' });
      await listener.settle();
      assert.equal(listener.count(), before, 'nothing new, no notification');
    } finally {
      await listener.close();
    }
  });

  it('refuses an invalid message naming the field, and writes nothing of its batch', async () => {
    const cases: Array<[Partial<OutboxMessage>, string, RegExp]> = [
      [{ recipient: '' }, 'recipient', /must not be empty/],
      [{ recipient: '   ' }, 'recipient', /must not be empty/],
      [{ content: '' }, 'content', /must not be empty/],
      [{ content: ' \n ' }, 'content', /must not be empty/],
      [{ content: 'a\u0000b' }, 'content', /NUL/],
      [{ type: '' }, 'type', /must not be empty/],
      [{ dedupKey: '' }, 'dedupKey', /must not be empty/],
      [{ recipient: 628123 as unknown as string }, 'recipient', /must be a string/],
    ];
    for (const [bad, field, reason] of cases) {
      await assert.rejects(enqueue(db.pool, [message(1), message(2, bad), message(3)]), (err: unknown) => {
        assert.ok(err instanceof OutboxValidationError, String(err));
        assert.equal(err.field, field);
        assert.equal(err.index, 1);
        assert.match(err.message, new RegExp(`message 1: ${field} `));
        assert.match(err.message, reason);
        return true;
      });
    }
    assert.equal((await db.pool.query('SELECT * FROM wa_outbox')).rowCount, 0);
  });

  it('keeps emoji, Indonesian text and long content byte-exact', async () => {
    const content = `Mohon ijin Komandan 🙏🏽\n*Rekap* _Senin, 24 November 2026_ — “sudah” ✅\n${'x'.repeat(20000)}`;
    const [result] = await enqueue(db.pool, [message(1, { content })]);
    const { rows } = await db.pool.query('SELECT content FROM wa_outbox WHERE id = $1', [result!.id]);
    assert.equal(Buffer.compare(Buffer.from(rows[0].content), Buffer.from(content)), 0);
  });

  it('an empty batch writes nothing', async () => {
    assert.deepEqual(await enqueue(db.pool, []), []);
  });

  it('finds due rows through the partial index with a million sent rows in the table', async () => {
    await db.pool.query(`
      INSERT INTO wa_outbox (recipient, content, type, status, sent_at, updated_at)
      SELECT '6281200000000@c.us', 'Rekap ' || g, 'daily_report', 'sent', now(), now() FROM generate_series(1, 1000000) g`);
    await enqueue(db.pool, Array.from({ length: 20 }, (_, i) => message(i)));
    await db.pool.query('ANALYZE wa_outbox');
    const dueQuery = `SELECT id FROM wa_outbox WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at, id LIMIT 50`;
    const plan = (await db.pool.query(`EXPLAIN (FORMAT JSON) ${dueQuery}`)).rows[0]['QUERY PLAN'];
    assert.match(JSON.stringify(plan), /wa_outbox_due_idx/, JSON.stringify(plan));
    const explain = (await db.pool.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${dueQuery}`)).rows[0]['QUERY PLAN'][0];
    assert.equal(explain.Plan['Actual Rows'], 20);
    assert.ok(explain.Plan['Shared Hit Blocks'] + (explain.Plan['Shared Read Blocks'] ?? 0) < 50, 'reads a handful of pages, not the table');
  });
});
