/**
 * The owner proof of the dispatcher's statements (real PostgreSQL): a row whose lease expired while its
 * dispatcher was stalled is recovered and claimed by another dispatcher; the former holder, still
 * thinking it holds the row (it is `sending`), then gets no hand-over proof, cannot mark it sent,
 * failed or for a retry, cannot hand it back or defer it, cannot push its lease, cannot record its
 * progress on it, and cannot load its document. Each guard on its own, in a session no
 * wa_sessions lease covers (a dispatcher outside the service's sessions), so the row's owner check is
 * the only thing between the former holder and the row.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { extendLeases, loadDocument } from '../src/outbox/claims.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { recordHandOver, recordPartOutcome, type HandOver } from '../src/outbox/part-outcomes.js';
import { claimDueRows, deferRow, markFailed, markRetry, markSent, recoverExpiredLeases, releaseRows } from '../src/outbox/row-status.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const SESSION = 'lain';
const FORMER = 'former-holder';
const CURRENT = 'current-holder';
const WORKBOOK = Buffer.from('PK\u0003\u0004 rekap mingguan');

describe('a row taken over after its lease expired: the former holder proves nothing (real PostgreSQL)', () => {
  let db: TestDatabase;
  let rowId: number;
  before(async () => {
    db = await createTestDatabase('outbox_guards', { migrated: true });
  });
  after(async () => db.drop());

  /** A row with a document, claimed by FORMER, its lease run out, recovered, and claimed by CURRENT. */
  beforeEach(async () => {
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
    await enqueue(db.pool, [
      {
        recipient: '6281200000001@c.us',
        content: 'Rekap mingguan terlampir',
        type: 'weekly-report',
        session: SESSION,
        document: { fileName: 'rekap-mingguan.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', bytes: WORKBOOK },
      },
    ]);
    const [claimed] = await claimDueRows(db.pool, FORMER, SESSION, 1, 60_000, 1000);
    assert.ok(claimed, 'the former holder claimed the row');
    rowId = claimed.id;
    await db.pool.query("UPDATE wa_outbox SET lease_until = now() - interval '1 second' WHERE id = $1", [rowId]);
    assert.deepEqual(await recoverExpiredLeases(db.pool, SESSION), { pending: 1, sent: 0 });
    const [again] = await claimDueRows(db.pool, CURRENT, SESSION, 1, 60_000, 1000);
    assert.equal(again?.id, rowId, 'the current holder claimed it again');
  });

  const handOver = (owner: string): HandOver => ({
    rowId, owner, session: SESSION, part: 0, parts: 1, chatId: '6281200000001@c.us', bodySha256: 'b'.repeat(64), leaseMs: 60_000, countAttempt: true, fence: null,
  });

  /** The row as the current holder left it: still its own, being sent, no try counted. */
  async function stillHeldByCurrent(): Promise<void> {
    const { rows } = await db.pool.query('SELECT status, locked_by, attempts, sent_at, last_error FROM wa_outbox WHERE id = $1', [rowId]);
    assert.deepEqual(rows[0], { status: 'sending', locked_by: CURRENT, attempts: 0, sent_at: null, last_error: 'lease expired: the dispatcher holding it stopped (former-holder)' });
  }

  it("the former holder's hand-over proof is refused: nothing recorded, nothing may be sent; the current holder's is given", async () => {
    assert.equal(await recordHandOver(db.pool, handOver(FORMER)), null, 'no proof for the former holder');
    await stillHeldByCurrent();
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM wa_outbox_sends');
    assert.equal(rows[0].n, 0, 'no hand-over recorded');
    assert.ok(await recordHandOver(db.pool, handOver(CURRENT)), 'the current holder gets its proof');
  });

  it('the former holder cannot mark the row sent', async () => {
    const marked = await markSent(db.pool, FORMER, rowId, 1, null, { confirmation: 'awaiting', lastError: null });
    assert.deepEqual(marked, { held: false, sentAt: null });
    await stillHeldByCurrent();
  });

  it('the former holder cannot mark the row failed', async () => {
    assert.equal(await markFailed(db.pool, FORMER, rowId, 'send failed: timeout', true), false);
    await stillHeldByCurrent();
  });

  it('the former holder cannot put the row back for a retry', async () => {
    assert.equal(await markRetry(db.pool, FORMER, rowId, 'send failed: timeout', 1000, true), false);
    await stillHeldByCurrent();
  });

  it('the former holder cannot hand the row back untried', async () => {
    assert.equal(await releaseRows(db.pool, FORMER, [rowId]), 0);
    await stillHeldByCurrent();
  });

  it('the former holder cannot defer the row for the governor', async () => {
    assert.equal(await deferRow(db.pool, FORMER, rowId, new Date(Date.now() + 3_600_000), 'cold gap: 45 s'), false);
    await stillHeldByCurrent();
    const { rows } = await db.pool.query('SELECT deferred_until, deferred_reason FROM wa_outbox WHERE id = $1', [rowId]);
    assert.deepEqual(rows[0], { deferred_until: null, deferred_reason: null });
  });

  it("the former holder cannot push the row's lease; the current holder can", async () => {
    await db.pool.query("UPDATE wa_outbox SET lease_until = now() + interval '10 seconds' WHERE id = $1", [rowId]);
    const leaseLeft = async () => {
      const { rows } = await db.pool.query('SELECT extract(epoch FROM lease_until - now())::float AS s FROM wa_outbox WHERE id = $1', [rowId]);
      return rows[0].s as number;
    };
    await extendLeases(db.pool, FORMER, [rowId], 3_600_000);
    assert.ok((await leaseLeft()) <= 10, 'the lease is as the current holder left it');
    await extendLeases(db.pool, CURRENT, [rowId], 3_600_000);
    assert.ok((await leaseLeft()) > 3_000, "the current holder's push takes");
  });

  it("the former holder's part outcome settles its own hand-over but writes no progress on the row", async () => {
    const sendId = await recordHandOver(db.pool, handOver(CURRENT));
    assert.ok(sendId, 'the current holder handed part 1 over');
    await recordPartOutcome(db.pool, FORMER, rowId, sendId, { outcome: 'confirmed', messageId: 'true_6281200000001@c.us_FORMER' }, 1);
    const { rows } = await db.pool.query('SELECT parts_sent, wa_message_id FROM wa_outbox WHERE id = $1', [rowId]);
    assert.deepEqual(rows[0], { parts_sent: 0, wa_message_id: null }, "the row's progress is the current holder's to write");
    const sends = await db.pool.query('SELECT outcome FROM wa_outbox_sends WHERE id = $1', [sendId]);
    assert.equal(sends.rows[0].outcome, 'confirmed', 'the hand-over itself is settled (the message went to WhatsApp either way)');
  });

  it("the former holder cannot load the row's document; the current holder can", async () => {
    assert.equal(await loadDocument(db.pool, FORMER, rowId, 1_000_000), null);
    assert.deepEqual(await loadDocument(db.pool, CURRENT, rowId, 1_000_000), WORKBOOK);
  });
});
