/**
 * The dispatcher in this process, on a real PostgreSQL, with WhatsApp replaced by the fake transport.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createLogger, silentLogger } from '../src/lib/logger.js';
import { OutboxMaintenance } from '../src/delivery/outbox-maintenance.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { outboxListener } from '../src/outbox/channel.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { outboxRow, rowJson } from '../src/outbox/listing.js';
import { outboxSummary } from '../src/outbox/summary.js';
import { FakeTransport, type FakeTransportOptions } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';

describe('dispatcher (fake transport in place of WhatsApp)', () => {
  let db: TestDatabase;
  let transport: FakeTransport;
  let dispatcher: SessionDelivery;
  const running: Array<{ stop(): Promise<void> }> = [];

  before(async () => {
    db = await createTestDatabase('dispatcher', { migrated: true });
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
  });

  async function startDispatcher(fake: FakeTransportOptions = {}, dispatch = fastDispatch()): Promise<void> {
    transport = new FakeTransport(fake);
    await transport.start();
    dispatcher = new SessionDelivery({ pool: db.pool, transport, logger: process.env.DEBUG_TEST ? createLogger('trace', pino.destination({ dest: process.env.DEBUG_TEST, sync: true })) : silentLogger(), dispatch, defaultCountryCode: '62', instanceId: 'test-dispatcher' });
    running.push(dispatcher);
    const listener = outboxListener({ connectionString: db.url, logger: silentLogger(), onNotify: () => dispatcher.trigger('notify'), onReconnect: () => undefined });
    await listener.start();
    running.push(listener);
    dispatcher.start();
  }

  const statuses = async () =>
    (await db.pool.query('SELECT id, status, attempts, last_error, parts_sent, wa_message_id, sent_at FROM wa_outbox ORDER BY id')).rows;

  async function drained(): Promise<void> {
    await waitUntil(async () => {
      const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status IN ('pending', 'sending')");
      return rows[0].n === 0;
    }, 10_000, 'the outbox to drain');
    await dispatcher.idle();
  }

  it('sends every pending row once and marks it sent with the time and message id', async () => {
    await enqueue(db.pool, Array.from({ length: 25 }, (_, i) => ({ recipient: `08123456${String(i).padStart(4, '0')}`, content: `Pesan ${i}`, type: 'test' })));
    await startDispatcher();
    await drained();
    const rows = await statuses();
    assert.ok(rows.every((r) => r.status === 'sent' && r.attempts === 1 && r.sent_at && r.wa_message_id?.startsWith('fake-')));
    assert.equal(transport.sends.length, 25);
    assert.equal(transport.sends[0]!.chatId, '6281234560000@c.us');
    assert.equal(transport.maxConcurrentSends, 1);
  });

  it('is single-flight: a burst of triggers never runs two drains at once', async () => {
    await startDispatcher({ sendDelayMs: 2 });
    for (let i = 0; i < 40; i++) {
      await enqueue(db.pool, [{ recipient: '081234567890', content: `Pesan ${i}`, type: 'test' }]);
      for (let j = 0; j < 5; j++) dispatcher.trigger('burst');
    }
    await drained();
    assert.equal(transport.sends.length, 40);
    assert.equal(new Set(transport.sends.map((s) => s.text)).size, 40);
    assert.equal(transport.maxConcurrentSends, 1);
  });

  it('retries a transient failure with backoff, and then sends', async () => {
    await startDispatcher({ behaviour: ({ attempt }) => (attempt <= 2 ? { fail: 'transient', reason: 'timeout' } : 'ok') });
    await enqueue(db.pool, [{ recipient: '081234567890', content: 'Coba lagi', type: 'test' }]);
    await drained();
    const [row] = await statuses();
    assert.equal(row.status, 'sent');
    assert.equal(row.attempts, 3);
    assert.equal(transport.sends.length, 1);
  });

  it('fails a permanent error at once, and a transient one when the attempts are used up, keeping the reason', async () => {
    await startDispatcher({
      behaviour: ({ chatId }) => (chatId.startsWith('62811') ? { fail: 'permanent', reason: 'not_on_whatsapp' } : { fail: 'transient', reason: 'timeout' }),
    });
    await enqueue(db.pool, [
      { recipient: '081100000000', content: 'Tidak terdaftar', type: 'test' },
      { recipient: '081200000000', content: 'Selalu gagal', type: 'test' },
    ]);
    await drained();
    const [permanent, exhausted] = await statuses();
    assert.equal(permanent.status, 'failed');
    assert.equal(permanent.attempts, 1);
    assert.match(permanent.last_error, /^not_on_whatsapp/);
    assert.equal(exhausted.status, 'failed');
    assert.equal(exhausted.attempts, 4);
    assert.match(exhausted.last_error, /^attempts exhausted \(4\): timeout/);
    // Why, as a code of the catalogue: what "failures by reason" counts and the API returns (not the text).
    const codes = (await db.pool.query('SELECT failure_code FROM wa_outbox ORDER BY id')).rows.map((r) => r.failure_code);
    assert.deepEqual(codes, ['not_on_whatsapp', 'timeout']);
    const summary = await outboxSummary(db.pool, 'Asia/Jakarta');
    assert.deepEqual(summary.failures24h, [{ reason: 'not_on_whatsapp', count: 1 }, { reason: 'timeout', count: 1 }]);
    assert.equal(rowJson((await outboxRow(db.pool, permanent.id))!, 'Asia/Jakarta').failureCode, 'not_on_whatsapp');
  });

  it('claims nothing while the transport is not ready, and drains within 1 s once it is', async () => {
    await startDispatcher({ ready: false });
    await enqueue(db.pool, Array.from({ length: 5 }, (_, i) => ({ recipient: '081234567890', content: `Pesan ${i}`, type: 'test' })));
    dispatcher.trigger('poll');
    await dispatcher.idle();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok((await statuses()).every((r) => r.status === 'pending' && r.attempts === 0), 'nothing claimed');
    transport.setReady(true);
    const took = await waitUntil(async () => (await statuses()).every((r) => r.status === 'sent'), 1000, 'drain after ready');
    assert.ok(took < 1000);
  });

  it('when WhatsApp drops mid-drain, hands the claimed rows back untried and claims nothing more until it is ready again', async () => {
    await startDispatcher({
      behaviour: ({ text }) => {
        if (text === 'Pesan 0') transport.setReady(false, 'fake: connection lost'); // drops while the first row goes
        return 'ok';
      },
    });
    let claimed = 0;
    dispatcher.observe({ claimed: () => claimed++ });
    await enqueue(db.pool, Array.from({ length: 5 }, (_, i) => ({ recipient: '081234567890', content: `Pesan ${i}`, type: 'test' })));
    await waitUntil(async () => (await statuses())[0]?.status === 'sent', 2000, 'the first row sent');
    await dispatcher.idle();
    await new Promise((r) => setTimeout(r, 500)); // not ready for half a second: a drain that went on would claim again and again
    assert.equal(claimed, 5, 'one claim of the five rows, none while not ready');
    const waiting = (await db.pool.query('SELECT status, attempts, locked_by FROM wa_outbox WHERE id > 1 ORDER BY id')).rows;
    assert.deepEqual(waiting, Array.from({ length: 4 }, () => ({ status: 'pending', attempts: 0, locked_by: null })), 'handed back untried');
    transport.setReady(true);
    await drained();
    assert.equal(transport.sends.length, 5);
    assert.equal(claimed, 9, 'the four claimed once more, once ready');
  });

  it('ends each odd row as documented without holding up the rows behind it; text arrives byte-exact', async () => {
    await startDispatcher();
    const long = Array.from({ length: 800 }, (_, i) => `${i + 1}. AIPDA Siti Rahmawati — sudah ✅ 🙏🏽`).join('\n');
    const indonesian = 'Mohon ijin Komandan,\n*Rekap Harian* _Selasa, 24 November 2026_\nSudah: 12 · Kurang: 3 · Belum: 1 🇮🇩';
    await enqueue(db.pool, [
      { recipient: 'budi', content: 'Nomor salah', type: 'test' },
      { recipient: '081234567890', content: long, type: 'test' },
      { recipient: '120363012345678901@g.us', content: indonesian, type: 'test' },
    ]);
    await db.pool.query("INSERT INTO wa_outbox (recipient, content, type) VALUES ('081234567891', '', 'legacy')");
    await enqueue(db.pool, [{ recipient: '081234567892', content: 'Baris terakhir', type: 'test' }]);
    await drained();
    const rows = await statuses();
    assert.equal(rows[0].status, 'failed');
    assert.match(rows[0].last_error, /^invalid_recipient: "budi" is not a phone number/);
    assert.equal(rows[1].status, 'sent');
    const parts = transport.sends.filter((s) => s.chatId === '6281234567890@c.us');
    assert.ok(parts.length >= 8, `a ${long.length}-character text goes in several parts (${parts.length})`);
    assert.equal(rows[1].parts_sent, parts.length);
    assert.equal(Buffer.compare(Buffer.from(parts.map((p) => p.text).join('')), Buffer.from(long)), 0);
    assert.equal(rows[2].status, 'sent');
    assert.equal(transport.sends.find((s) => s.chatId === '120363012345678901@g.us')!.text, indonesian);
    assert.equal(rows[3].status, 'failed');
    assert.match(rows[3].last_error, /^empty_content/);
    assert.equal(rows[4].status, 'sent', 'the row behind them is sent');
  });

  it('resumes a split message from the first unsent part after a failure', async () => {
    let failed = false;
    await startDispatcher({
      behaviour: ({ text }) => {
        if (!failed && text.startsWith('3.')) {
          failed = true;
          return { fail: 'transient', reason: 'connection_lost' };
        }
        return 'ok';
      },
    });
    const block = (n: number) => `${n}. ${'x'.repeat(4000)}\n`;
    const content = [1, 2, 3, 4].map(block).join('');
    await enqueue(db.pool, [{ recipient: '081234567890', content, type: 'test' }]);
    await drained();
    const [row] = await statuses();
    assert.equal(row.status, 'sent');
    assert.equal(row.attempts, 2);
    assert.deepEqual(transport.sends.map((s) => s.text.slice(0, 2)), ['1.', '2.', '3.', '4.'], 'each part sent exactly once, in order');
  });

  it('takes over a row whose lease expired (its dispatcher died) once the outbox maintenance puts it back; the drain itself does not', async () => {
    // A claimed row always has its session (a row without one is routed before any claim).
    const [queued] = await enqueue(db.pool, [{ recipient: '081234567890', content: 'Tertinggal', type: 'test', session: 'default' }]);
    await db.pool.query(
      "UPDATE wa_outbox SET status = 'sending', locked_by = 'dead-host:1', lease_until = now() - interval '1 second', attempts = 1 WHERE id = $1",
      [queued!.id],
    );
    await startDispatcher();
    await dispatcher.idle();
    dispatcher.trigger('test');
    await dispatcher.idle();
    assert.equal((await statuses())[0].status, 'sending', 'a drain leaves a stopped holder\'s row to the maintenance');
    const maintenance = new OutboxMaintenance({ pool: db.pool, logger: silentLogger(), dispatch: fastDispatch(), hooks: dispatcher.hooks, governor: null });
    assert.equal((await maintenance.run()).recoveredPending, 1);
    await drained();
    const [row] = await statuses();
    assert.equal(row.status, 'sent');
    assert.equal(row.attempts, 2);
    assert.equal(transport.sends.length, 1);
  });

  it('runs outcome hooks in the transaction that marks the row', async () => {
    await db.pool.query('CREATE TABLE IF NOT EXISTS hook_log (outbox_id int, status text, reason text, sent_at timestamp)');
    await startDispatcher({ behaviour: ({ chatId }) => (chatId.startsWith('62811') ? { fail: 'permanent', reason: 'not_on_whatsapp' } : 'ok') });
    let calls = 0;
    dispatcher.hooks.onOutcome(['complaint_reply'], async (tx, event) => {
      calls++;
      if (calls === 1) throw new Error('hook failed once'); // the mark is rolled back and retried
      await tx.query('INSERT INTO hook_log VALUES ($1, $2, $3, $4)', [event.row.id, event.status, event.reason, event.sentAt]);
    });
    await enqueue(db.pool, [
      { recipient: '081234567890', content: 'Balasan', type: 'complaint_reply' },
      { recipient: '081100000000', content: 'Balasan', type: 'complaint_reply' },
      { recipient: '081234567890', content: 'Rekap', type: 'daily_report' },
    ]);
    await drained();
    const log = (await db.pool.query('SELECT h.*, o.sent_at AS outbox_sent_at FROM hook_log h JOIN wa_outbox o ON o.id = h.outbox_id ORDER BY outbox_id')).rows;
    assert.equal(log.length, 2, 'one hook run per complaint_reply row, none for other types');
    assert.equal(log[0].status, 'sent');
    assert.deepEqual(log[0].sent_at, log[0].outbox_sent_at);
    assert.equal(log[1].status, 'failed');
    assert.match(log[1].reason, /not_on_whatsapp/);
    assert.equal(transport.sends.filter((s) => s.text === 'Balasan').length, 1, 'a failing hook does not make the message go twice');
  });

  it('records delivery receipts on the row: highest ack, delivered and read times', async () => {
    await startDispatcher();
    await enqueue(db.pool, [{ recipient: '081234567890', content: 'Tanda terima', type: 'test' }]);
    await drained();
    const messageId = transport.sends[0]!.messageId;
    transport.emitAck(messageId, 1);
    await waitUntil(async () => (await statuses())[0].wa_message_id === messageId, 1000, 'sent');
    transport.emitAck(messageId, 2);
    await waitUntil(async () => (await db.pool.query('SELECT delivered_at FROM wa_outbox')).rows[0].delivered_at !== null, 2000, 'delivered');
    transport.emitAck(messageId, 3);
    transport.emitAck(messageId, 2); // a late, lower receipt does not lower the ack
    await waitUntil(async () => (await db.pool.query('SELECT read_at FROM wa_outbox')).rows[0].read_at !== null, 2000, 'read');
    await new Promise((r) => setTimeout(r, 100));
    const { rows } = await db.pool.query('SELECT ack, delivered_at <= read_at AS ordered FROM wa_outbox');
    assert.deepEqual(rows[0], { ack: 3, ordered: true });
  });

  it('a hook that keeps failing does not stop delivery: the row is marked without it', async () => {
    await startDispatcher();
    dispatcher.hooks.onOutcome(['complaint_reply'], async () => {
      throw new Error('hook is broken');
    });
    await enqueue(db.pool, [
      { recipient: '081234567890', content: 'Balasan', type: 'complaint_reply' },
      { recipient: '081234567891', content: 'Berikutnya', type: 'test' },
    ]);
    await drained();
    assert.deepEqual((await statuses()).map((r) => r.status), ['sent', 'sent']);
    assert.equal(transport.sends.length, 2, 'each sent once');
  });

  it('on stop, finishes the send in flight and hands the other claimed rows back at once', async () => {
    await enqueue(db.pool, Array.from({ length: 10 }, (_, i) => ({ recipient: '081234567890', content: `Pesan ${i}`, type: 'test' })));
    await startDispatcher({ sendDelayMs: 300 });
    await waitUntil(async () => (await statuses()).some((r) => r.status === 'sending'), 2000, 'a claim');
    await new Promise((r) => setTimeout(r, 100)); // the first send is in flight
    await dispatcher.stop();
    const rows = await statuses();
    assert.equal(rows.filter((r) => r.status === 'sending').length, 0, 'nothing left claimed');
    assert.equal(rows.filter((r) => r.status === 'sent').length, 1, 'the send in flight finished and was marked');
    assert.ok(rows.filter((r) => r.status === 'pending').every((r) => r.attempts === 0), 'handed back without using an attempt');
  });
});
