/**
 * Documents through the outbox, and messages that follow another, on a real PostgreSQL. WhatsApp is
 * replaced by the fake transport (and, for the WhatsApp Web adapter, by the stand-in client that
 * behaves like today's WhatsApp Web).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Config } from '../src/config/index.js';
import { silentLogger } from '../src/lib/logger.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { outboxListener } from '../src/outbox/channel.js';
import { OutboxValidationError, enqueue, enqueueOne, type OutboxMessage } from '../src/outbox/enqueue.js';
import { bodyFingerprint } from '../src/outbox/hand-overs.js';
import { outboxRow, rowJson } from '../src/outbox/listing.js';
import { cancelRows } from '../src/outbox/operator-actions.js';
import { FakeTransport, type FakeTransportOptions } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';
import { standInTransport, type TodaysWhatsAppWebStandIn } from './helpers/wa-standin.js';
import { tempDir } from './helpers/temp-dirs.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const workbook = (label: string) => Buffer.from(`PK\u0003\u0004 workbook ${label} ${'x'.repeat(200)}`);

describe('outbox documents and ordering (fake transport in place of WhatsApp)', () => {
  let db: TestDatabase;
  const running: Array<{ stop(): Promise<void> }> = [];
  const dirs: string[] = [];

  before(async () => {
    db = await createTestDatabase('outbox_documents', { migrated: true });
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE'); // its trigger empties wa_outbox_sends
  });
  afterEach(async () => {
    for (const r of running.splice(0).reverse()) await r.stop();
    for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
  });

  async function dispatcherOn(transport: FakeTransport | ReturnType<typeof standInTransport>, dispatch: Partial<Config['dispatch']> = {}, instanceId = 'documents-test'): Promise<SessionDelivery> {
    const dispatcher = new SessionDelivery({ pool: db.pool, transport, logger: silentLogger(), dispatch: fastDispatch(dispatch), defaultCountryCode: '62', instanceId, confirmSettleMs: 100 });
    const listener = outboxListener({ connectionString: db.url, logger: silentLogger(), onNotify: () => dispatcher.trigger('notify'), onReconnect: () => undefined });
    await listener.start();
    running.push(listener, dispatcher);
    dispatcher.start();
    return dispatcher;
  }

  async function fakeGateway(fake: FakeTransportOptions = {}, dispatch: Partial<Config['dispatch']> = {}, instanceId?: string) {
    const transport = new FakeTransport(fake);
    await transport.start();
    const dispatcher = await dispatcherOn(transport, dispatch, instanceId);
    return { transport, dispatcher };
  }

  async function drained(): Promise<void> {
    await waitUntil(async () => {
      const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status IN ('pending', 'sending')");
      return rows[0].n === 0;
    }, 15_000, 'the outbox to drain');
  }

  const rows = async () =>
    (await db.pool.query('SELECT id, status, last_error, confirmation, wa_message_id, parts_sent FROM wa_outbox ORDER BY id')).rows;

  describe('enqueue', () => {
    const base: OutboxMessage = { recipient: '081234567890', content: 'Rekap mingguan', type: 'weekly_report', document: { fileName: 'rekap.xlsx', mimeType: XLSX, bytes: workbook('a') } };

    it('refuses a bad document, caption or follows naming the field, and writes nothing of its batch', async () => {
      const cases: Array<[string, Partial<OutboxMessage>, OutboxValidationError['field'], RegExp]> = [
        ['empty file name', { document: { ...base.document!, fileName: ' ' } }, 'document', /fileName must not be empty/],
        ['a folder in the name', { document: { ...base.document!, fileName: '../rekap.xlsx' } }, 'document', /without folders/],
        ['a backslash in the name', { document: { ...base.document!, fileName: 'c:\\rekap.xlsx' } }, 'document', /without folders/],
        ['NUL in the name', { document: { ...base.document!, fileName: 'rekap\u0000.xlsx' } }, 'document', /without folders/],
        ['a name of 201 characters', { document: { ...base.document!, fileName: `${'r'.repeat(196)}.xlsx` } }, 'document', /201 characters long; the limit is 200/],
        ['no MIME type', { document: { ...base.document!, mimeType: 'excel' } }, 'document', /mimeType "excel" is not a MIME type: expected type\/subtype/],
        ['empty bytes', { document: { ...base.document!, bytes: Buffer.alloc(0) } }, 'document', /bytes must not be empty/],
        ['bytes that are text', { document: { ...base.document!, bytes: 'PK' as unknown as Buffer } }, 'document', /bytes must be a Buffer/],
        ['over the limit', { document: { ...base.document!, bytes: Buffer.alloc(1001) } }, 'document', /1,001 bytes; the limit is 1,000 \(WA_DOCUMENT_MAX_BYTES\)/],
        ['a caption of 1,025 characters', { content: 'k'.repeat(1025) }, 'content', /caption of 1,025 characters; the limit is 1,024/],
        ['empty text without a document', { content: '', document: null }, 'content', /must not be empty/],
        ['follows an unknown key', { follows: 'rekap:nowhere' }, 'follows', /names no message: no earlier message of this batch and no outbox row has the dedup key "rekap:nowhere"/],
        ['follows itself', { dedupKey: 'self', follows: 'self' }, 'follows', /another message/],
      ];
      for (const [what, change, field, reason] of cases) {
        await assert.rejects(
          enqueue(db.pool, [{ recipient: '081234567890', content: 'Pesan pertama', type: 'test', dedupKey: 'first' }, { ...base, ...change }], { documentMaxBytes: 1000 }),
          (err: unknown) => {
            assert.ok(err instanceof OutboxValidationError, `${what}: ${String(err)}`);
            assert.equal(err.field, field, what);
            assert.match(err.message, new RegExp(`^outbox message 1: ${field} `), what);
            assert.match(err.message, reason, what);
            assert.match(err.message, /nothing of this batch was written/, what);
            return true;
          },
        );
      }
      assert.equal((await rows()).length, 0, 'nothing written');
    });

    it('follows: a message of another session cannot be followed; a later message of the batch is not "earlier"', async () => {
      await enqueueOne(db.pool, { recipient: '081234567890', content: 'Teks', type: 'test', dedupKey: 'other-session', session: 'polda' });
      await assert.rejects(enqueueOne(db.pool, { ...base, session: 'default', follows: 'other-session' }), /follows names message 1 of session "polda"; a message can follow only one of its own session \("default"\)/);
      // Without a session of its own, a follower is routed to its leader's number (delivery/routing.ts).
      const follower = await enqueueOne(db.pool, { ...base, dedupKey: 'follower', follows: 'other-session' });
      assert.equal((await db.pool.query('SELECT session FROM wa_outbox WHERE id = $1', [follower.id])).rows[0].session, null);
      await db.pool.query('DELETE FROM wa_outbox WHERE id = $1', [follower.id]);
      await assert.rejects(
        enqueue(db.pool, [{ ...base, dedupKey: 'f', follows: 'later' }, { recipient: '081234567890', content: 'Teks', type: 'test', dedupKey: 'later' }]),
        /outbox message 0: follows names no message/,
      );
    });

    it('stores the bytes with their sha256 beside the caption, and resolves follows to the row id (in the batch or already there)', async () => {
      const bytes = workbook('stored');
      const [text, doc] = await enqueue(db.pool, [
        { recipient: '120363012345678901@g.us', content: 'Rekap mingguan Polres A', type: 'weekly_report', dedupKey: 'weekly:a:text' },
        { recipient: '120363012345678901@g.us', content: '', type: 'weekly_report', dedupKey: 'weekly:a:xlsx', follows: 'weekly:a:text', document: { fileName: 'rekap-a.xlsx', mimeType: XLSX, bytes } },
      ]);
      const later = await enqueueOne(db.pool, { recipient: '120363012345678901@g.us', content: 'Catatan', type: 'test', follows: 'weekly:a:xlsx' });
      const { rows: stored } = await db.pool.query('SELECT id, content, document_name, document_mime, document, document_sha256, follows_id FROM wa_outbox ORDER BY id');
      assert.deepEqual(stored.map((r) => r.id), [text!.id, doc!.id, later.id]);
      assert.equal(stored[0].document, null);
      assert.equal(stored[1].content, '');
      assert.deepEqual([stored[1].document_name, stored[1].document_mime, stored[1].document_sha256], ['rekap-a.xlsx', XLSX, sha256(bytes)]);
      assert.ok(Buffer.from(stored[1].document).equals(bytes));
      assert.deepEqual(stored.map((r) => (r.follows_id === null ? null : Number(r.follows_id))), [null, text!.id, doc!.id]);

      // The admin views show the document's name, type and size, never its bytes.
      const json = rowJson((await outboxRow(db.pool, doc!.id))!, 'Asia/Jakarta');
      assert.deepEqual(json.document, { fileName: 'rekap-a.xlsx', mimeType: XLSX, size: bytes.length });
      assert.equal(json.followsId, text!.id);
      assert.ok(!JSON.stringify(json).includes('workbook'), 'no bytes in the view');

      // Enqueued again (a re-run of the job): nothing new, the same ids.
      const again = await enqueue(db.pool, [
        { recipient: '120363012345678901@g.us', content: 'Rekap mingguan Polres A', type: 'weekly_report', dedupKey: 'weekly:a:text' },
        { recipient: '120363012345678901@g.us', content: '', type: 'weekly_report', dedupKey: 'weekly:a:xlsx', follows: 'weekly:a:text', document: { fileName: 'rekap-a.xlsx', mimeType: XLSX, bytes } },
      ]);
      assert.deepEqual(again.map((r) => [r.id, r.inserted]), [[text!.id, false], [doc!.id, false]]);
      assert.equal((await rows()).length, 3);
    });
  });

  it('sends a document row with sendDocument and its caption; the stand-in received the same bytes (sha256)', async () => {
    const bytes = workbook('sent');
    const caption = 'Rekap mingguan Polres A\nminggu ke-47';
    const { id } = await enqueueOne(db.pool, { recipient: '081234567890', content: caption, type: 'weekly_report', document: { fileName: 'rekap-mingguan.xlsx', mimeType: XLSX, bytes } });
    const { transport } = await fakeGateway();
    await drained();
    assert.equal(transport.sends.length, 1);
    const send = transport.sends[0]!;
    assert.equal(send.chatId, '6281234567890@c.us');
    assert.equal(send.text, caption, 'the caption');
    assert.deepEqual({ ...send.document, bytes: undefined }, { fileName: 'rekap-mingguan.xlsx', mimeType: XLSX, size: bytes.length, sha256: sha256(bytes), bytes: undefined });
    const [row] = await rows();
    assert.deepEqual([row.id, row.status, row.confirmation, row.parts_sent, row.wa_message_id], [id, 'sent', 'confirmed', 1, send.messageId]);
    const { rows: handOvers } = await db.pool.query('SELECT part, parts, body_sha256, outcome FROM wa_outbox_sends WHERE outbox_id = $1', [id]);
    assert.deepEqual(handOvers, [{ part: 0, parts: 1, body_sha256: bodyFingerprint(caption), outcome: 'confirmed' }]);
  });

  it('a document row written by another program with a caption over 1,024 characters fails alone (a caption is never split)', async () => {
    // Written by another program (enqueue refuses it): the dispatcher fails it with the reason.
    const bytes = workbook('long caption');
    await db.pool.query(
      `INSERT INTO wa_outbox (recipient, content, type, document_name, document_mime, document, document_sha256) VALUES ('081234567890', $1, 'raw', 'a.xlsx', $2, $3, $4)`,
      ['k'.repeat(1500), XLSX, bytes, sha256(bytes)],
    );
    await db.pool.query(`INSERT INTO wa_outbox (recipient, content, type) VALUES ('081234567890', 'sesudahnya', 'raw')`);
    const { transport } = await fakeGateway();
    await drained();
    const [bad, good] = await rows();
    assert.equal(bad.status, 'failed');
    assert.match(bad.last_error, /^caption_too_long: 1,500 characters; a document's caption may have at most 1,024$/);
    assert.equal(good.status, 'sent');
    assert.deepEqual(transport.sends.map((s) => s.text), ['sesudahnya']);
  });

  it('rows written by another program with a wrong checksum, too large or without a name fail alone; the rows behind them are delivered; a seed-style text row is sent as before', async () => {
    const bytes = workbook('raw');
    const big = Buffer.alloc(5000, 1);
    const insert = (name: string | null, mime: string | null, doc: Buffer | null, sum: string | null, content = 'Lampiran') =>
      db.pool.query(
        `INSERT INTO wa_outbox (recipient, content, type, document_name, document_mime, document, document_sha256) VALUES ('081234567890', $1, 'raw', $2, $3, $4, $5)`,
        [content, name, mime, doc, sum],
      );
    const seedText = () => db.pool.query(`INSERT INTO wa_outbox (recipient, content, type) VALUES ('081234567890', 'Pesan biasa', 'seed')`);
    await insert('a.xlsx', XLSX, bytes, sha256(Buffer.from('something else')));
    await seedText();
    await insert('b.xlsx', XLSX, big, sha256(big));
    await seedText();
    await insert(null, XLSX, bytes, sha256(bytes));
    await insert('c.xlsx', 'excel', bytes, sha256(bytes));
    await insert('d.xlsx', XLSX, null, null);
    await insert('e.xlsx', XLSX, bytes, sha256(bytes).toUpperCase(), '');
    const { transport } = await fakeGateway({}, { documentMaxBytes: 4096 });
    await drained();
    const outcome = (await rows()).map((r) => [r.status, r.last_error]);
    assert.deepEqual(outcome, [
      ['failed', 'document_invalid: checksum does not match (document_sha256 is not the sha256 of document)'],
      ['sent', null],
      ['failed', 'document_too_large: 5,000 bytes; the limit is 4,096 (WA_DOCUMENT_MAX_BYTES)'],
      ['sent', null],
      ['failed', 'document_invalid: the row has no document_name'],
      ['failed', 'document_invalid: document_mime "excel" is not a MIME type: expected type/subtype, e.g. application/pdf'],
      ['failed', 'document_invalid: the row has no document bytes'],
      ['sent', null],
    ]);
    assert.deepEqual(
      transport.sends.map((s) => [s.text, s.document?.fileName ?? null]),
      [['Pesan biasa', null], ['Pesan biasa', null], ['', 'e.xlsx']],
      'the seed-style rows went as text; the good document (checksum in capitals, no caption) as a document',
    );
    assert.equal(transport.sends[2]!.document!.sha256, sha256(bytes));
  });

  it("a document's unknown outcome is not sent again, and the stand-in's own-message event (its caption as body) confirms it", async () => {
    const { transport, dispatcher } = await fakeGateway({ behaviour: () => 'unknown' });
    const bytes = workbook('unknown');
    const { id } = await enqueueOne(db.pool, { recipient: '120363012345678901@g.us', content: 'Rekap harian', type: 'daily_report', document: { fileName: 'rekap.xlsx', mimeType: XLSX, bytes } });
    const { id: bare } = await enqueueOne(db.pool, { recipient: '120363012345678901@g.us', content: '', type: 'daily_report', document: { fileName: 'lampiran.pdf', mimeType: 'application/pdf', bytes } });
    await drained();
    assert.deepEqual((await rows()).map((r) => [r.id, r.status, r.confirmation]), [[id, 'sent', 'awaiting'], [bare, 'sent', 'awaiting']]);
    for (let i = 0; i < 3; i++) dispatcher.trigger('again');
    await dispatcher.idle();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(transport.sends.length, 2, 'not sent again');

    // WhatsApp Web reports a document's caption as its body, '' when it has none.
    for (const send of transport.sends) transport.emitOwnMessage({ messageId: `wa-${send.document!.fileName}`, chatIds: [send.chatId], body: send.text });
    await waitUntil(async () => (await rows()).every((r) => r.confirmation === 'confirmed'), 5000, 'both confirmed');
    assert.deepEqual((await rows()).map((r) => r.wa_message_id), ['wa-rekap.xlsx', 'wa-lampiran.pdf']);
    assert.equal(transport.sends.length, 2);
  });

  it('through the WhatsApp Web adapter (stand-in client like today\'s WhatsApp Web: no id back): a document is confirmed by its message_create', async () => {
    const base = await tempDir('cicero-wa-documents-');
    dirs.push(base);
    const clients: TodaysWhatsAppWebStandIn[] = [];
    const transport = standInTransport({ authPath: path.join(base, 'wa-auth'), authProfile: 'documents', logger: silentLogger(), behaviour: { resolveWith: 'undefined' } }, (c) => clients.push(c));
    await transport.start();
    await waitUntil(() => clients.length === 1, 2000, 'a client');
    clients[0]!.emit('ready');
    running.push({ stop: () => transport.close() });
    await dispatcherOn(transport);
    await enqueueOne(db.pool, { recipient: '120363012345678901@g.us', content: 'Rekap bulanan', type: 'monthly_report', document: { fileName: 'rekap-bulanan.xlsx', mimeType: XLSX, bytes: workbook('wwebjs') } });
    await waitUntil(async () => (await rows())[0]?.confirmation === 'confirmed', 10_000, 'the document confirmed by message_create');
    assert.equal(clients[0]!.totalHandOvers, 1);
  });

  describe('follows', () => {
    it('with two dispatchers sharing the session, no follower of 50 pairs is handed over before its leader', async () => {
      const shared = { sendDelayMs: 2 };
      await fakeGateway(shared, { batchSize: 3 }, 'documents-a');
      await fakeGateway(shared, { batchSize: 3 }, 'documents-b');
      const messages: OutboxMessage[] = [];
      for (let i = 0; i < 50; i++) {
        const chat = `12036301234567${String(i % 5).padStart(4, '0')}@g.us`;
        messages.push({ recipient: chat, content: `Rekap unit ${i}`, type: 'weekly_report', dedupKey: `w:${i}:text` });
        messages.push({ recipient: chat, content: `Rekap unit ${i} (xlsx)`, type: 'weekly_report', dedupKey: `w:${i}:xlsx`, follows: `w:${i}:text`, document: { fileName: `unit-${i}.xlsx`, mimeType: XLSX, bytes: workbook(String(i)) } });
      }
      await enqueue(db.pool, messages);
      await drained();
      const { rows: pairs } = await db.pool.query(
        `SELECT f.id AS follower, l.id AS leader,
                (SELECT min(id) FROM wa_outbox_sends WHERE outbox_id = l.id) AS leader_send,
                (SELECT min(id) FROM wa_outbox_sends WHERE outbox_id = f.id) AS follower_send,
                (SELECT min(handed_over_at) FROM wa_outbox_sends WHERE outbox_id = l.id) AS leader_at,
                (SELECT min(handed_over_at) FROM wa_outbox_sends WHERE outbox_id = f.id) AS follower_at,
                (SELECT array_agg(DISTINCT instance) FROM wa_outbox_sends WHERE outbox_id IN (l.id, f.id)) AS instances
           FROM wa_outbox f JOIN wa_outbox l ON l.id = f.follows_id ORDER BY f.id`,
      );
      assert.equal(pairs.length, 50);
      for (const p of pairs) {
        assert.ok(Number(p.follower_send) > Number(p.leader_send), `follower ${p.follower} handed over after leader ${p.leader}`);
        assert.ok(p.follower_at >= p.leader_at, `follower ${p.follower} not before leader ${p.leader}`);
      }
      const { rows: by } = await db.pool.query('SELECT instance, count(*)::int AS n FROM wa_outbox_sends GROUP BY instance ORDER BY instance');
      assert.equal(by.length, 2, `both dispatchers sent: ${JSON.stringify(by)}`);
      assert.ok((await rows()).every((r) => r.status === 'sent'));
    });

    it('a follower waits while its leader is pending (due later), goes right after it, and is released by a failed or cancelled leader', async () => {
      const { transport } = await fakeGateway({ behaviour: ({ text }) => (text === 'gagal' ? { fail: 'permanent', reason: 'not_on_whatsapp' } : 'ok') });
      const soon = new Date(Date.now() + 1500);
      await enqueue(db.pool, [
        { recipient: '081234567890', content: 'pertama', type: 'test', dedupKey: 'lead', sendAt: soon },
        { recipient: '081234567890', content: 'kedua', type: 'test', follows: 'lead' },
        { recipient: '081234567891', content: 'gagal', type: 'test', dedupKey: 'fails' },
        { recipient: '081234567891', content: 'sesudah gagal', type: 'test', follows: 'fails' },
        { recipient: '081234567892', content: 'dibatalkan', type: 'test', dedupKey: 'cancelled', sendAt: new Date(Date.now() + 3_600_000) },
        { recipient: '081234567892', content: 'sesudah batal', type: 'test', follows: 'cancelled' },
      ]);
      await waitUntil(async () => (await db.pool.query("SELECT status FROM wa_outbox WHERE dedup_key = 'fails'")).rows[0].status === 'failed' && transport.sends.length >= 1, 5000, 'the failed leader and its follower');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(transport.sends.map((s) => s.text), ['sesudah gagal'], 'the failed leader releases its follower; the others wait');
      const cancelled = (await db.pool.query("SELECT id FROM wa_outbox WHERE dedup_key = 'cancelled'")).rows[0].id;
      await cancelRows(db.pool, [cancelled]);
      await waitUntil(() => transport.sends.some((s) => s.text === 'sesudah batal'), 5000, 'the follower of the cancelled row');
      await waitUntil(() => transport.sends.some((s) => s.text === 'kedua'), 5000, 'the follower of the later leader');
      const order = transport.sends.map((s) => s.text);
      assert.ok(order.indexOf('pertama') < order.indexOf('kedua'), order.join(' | '));
      assert.ok(transport.sends.find((s) => s.text === 'pertama')!.at.getTime() >= soon.getTime() - 50);
    });
  });
});
