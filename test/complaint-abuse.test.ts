/**
 * What outside checks found about complaints and quiet hours, each rule at its limit (the running
 * service on a real PostgreSQL; the fake transport standing in for WhatsApp):
 *
 * - a complaint names the person only to that person's own number; a stranger naming an officer's NRP
 *   learns nothing, and the unit's operator is told;
 * - one message, and one sender in an hour, can only make so many complaints; the rest get one answer,
 *   and a stranger's answers never go ahead of the recaps (bulk priority);
 * - a complaint whose reply cannot be written fails alone;
 * - an NRP the personnel table knows is taken whatever its length; an unknown one gets "not found";
 * - quiet hours never hold a reply to a chat that just wrote;
 * - a report date far in the future is a usage error naming the allowed range.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { Governor } from '../src/governor/governor.js';
import type { Clock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import type { InboundMessage } from '../src/whatsapp/transport.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { runCli } from './helpers/cli.js';
import { complaint } from './helpers/complaints.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { testCwd } from './helpers/temp-dirs.js';

const CRONS_OFF = { DAILY_REPORT_CRON: 'off', WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off', COMPLAINT_RESPONSE_CRON: 'off' };
const BUDI = '6281300000001@c.us'; // BRIPKA Budi, NRP 75010001, Polres A (test/fixtures/cicero-v2-rows.sql)
const OPERATOR = '6281399900000@c.us';
const STRANGER = '6281377700001@c.us';

let counter = 0;
function inbound(chatId: string, body: string): InboundMessage {
  counter++;
  return {
    messageId: `false_${chatId}_ABUSE${counter}`, chatId, isGroup: false, senderId: chatId, senderPhone: chatId, senderLid: null,
    senderName: null, body, sentAt: new Date(), media: null, isStatus: false,
  };
}

describe('complaints from anyone who writes (fake transport standing in for WhatsApp)', () => {
  let db: TestDatabase;
  let app: App;
  let transport: FakeTransport;
  const outbox = async (recipient: string) =>
    (await db.pool.query<{ type: string; content: string; priority: number }>('SELECT type, content, priority FROM wa_outbox WHERE recipient = $1 ORDER BY id', [recipient])).rows;
  const send = async (chatId: string, body: string) => {
    transport.emitInbound(inbound(chatId, body));
    await app.intake!.idle();
    await answered();
  };
  /** Every pending complaint answered (a pass of its own, after the one a new complaint starts). */
  const answered = async () => {
    await app.responder.idle();
    await app.responder.handler({ clock: { now: () => new Date() }, logger: silentLogger() } as never);
    await app.responder.idle();
  };

  before(async () => {
    db = await createTestDatabase('complaint_abuse', { migrated: true });
    await loadCiceroTables(db.pool);
    await db.pool.query(`UPDATE clients SET client_operator = '081399900000' WHERE client_id = 'POLRES_A'`);
    // An NRP of 7 digits the personnel table knows (an old registration).
    await db.pool.query(`INSERT INTO "user" (user_id, nama, title, whatsapp, client_id) VALUES ('7501234', 'Wati', 'AIPTU', '081300000077', 'POLRES_A')`);
    const config = parseConfig({ DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', HTTP_PORT: 'off', ...CRONS_OFF }, testCwd());
    transport = new FakeTransport({ ready: false }); // nothing is sent: the outbox shows what would be
    app = await startApp(config, pino({ level: 'silent' }), { transport, drawQr: null });
  });
  beforeEach(async () => {
    await db.pool.query('DELETE FROM wa_outbox; DELETE FROM complaint_queue');
  });
  after(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('a stranger naming an officer\'s NRP learns nothing of the officer; the unit\'s operator is told; the officer himself is named', async () => {
    await send(STRANGER, complaint('75010001'));
    const [reply, ...rest] = await outbox(STRANGER);
    assert.equal(rest.length, 0);
    assert.equal(reply!.type, 'complaint-reply');
    for (const secret of ['Budi', 'BRIPKA', '75010001', 'Polres A', 'POLRES_A']) assert.ok(!reply!.content.includes(secret), `the reply does not show "${secret}":\n${reply!.content}`);
    assert.match(reply!.content, /Data personel tidak kami tampilkan karena nomor ini bukan nomor WhatsApp yang terdaftar untuk NRP tersebut/);
    assert.equal(reply!.priority, 2, 'an answer to someone who is not personnel is bulk');
    const [notice] = await outbox(OPERATOR);
    assert.equal(notice!.type, 'complaint-operator-notice');
    assert.match(notice!.content, /NRP: 75010001 \(BRIPKA Budi\)/);
    assert.match(notice!.content, /Dikirim dari nomor 6281377700001@c\.us, yang bukan nomor WhatsApp terdaftar personel tersebut/);

    await send(BUDI, complaint('75010001'));
    const [own] = await outbox(BUDI);
    assert.match(own!.content, /\*Pelapor:\* BRIPKA Budi \(NRP 75010001\) — Polres A/);
    assert.equal(own!.priority, 0, 'personnel are answered as a reply');
    assert.equal((await outbox(OPERATOR)).length, 1, 'no notice when the officer writes himself');
  });

  it('one message with 20 reports: 3 taken, one answer about the rest; an hour from one sender: 5 taken, one note an hour', async () => {
    await send(STRANGER, Array.from({ length: 20 }, () => complaint('75010001')).join('\n\n'));
    const { rows: taken } = await db.pool.query('SELECT count(*)::int AS n FROM complaint_queue');
    assert.equal(taken[0].n, 3, 'COMPLAINTS_PER_MESSAGE (3)');
    let toStranger = await outbox(STRANGER);
    assert.equal(toStranger.filter((m) => m.type === 'complaint-reply').length, 3);
    const notes = toStranger.filter((m) => m.type === 'complaint-note');
    assert.equal(notes.length, 1, 'one answer about the rest');
    assert.match(notes[0]!.content, /^17 laporan lain dalam pesan ini tidak kami proses \(paling banyak 3 laporan per pesan dan 5 laporan per nomor dalam satu jam\)/);

    for (let i = 0; i < 4; i++) await send(STRANGER, complaint('75010001'));
    assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM complaint_queue')).rows[0].n, 5, 'COMPLAINTS_PER_SENDER_HOUR (5)');
    toStranger = await outbox(STRANGER);
    assert.equal(toStranger.filter((m) => m.type === 'complaint-reply').length, 5);
    assert.equal(toStranger.filter((m) => m.type === 'complaint-note').length, 1, 'a stranger gets at most one note an hour');
    assert.ok(toStranger.every((m) => m.priority === 2), 'nothing to a stranger goes ahead of the recaps');
    assert.equal(toStranger.length, 6, `six messages in all for 24 reports: ${toStranger.map((m) => m.type).join(', ')}`);
  });

  it('an NRP the personnel table knows is taken whatever its length; an unknown one is told "not found", never "format"', async () => {
    await send('6281300000077@c.us', complaint('7501234'));
    assert.deepEqual((await db.pool.query('SELECT parsed->>\'nrp\' AS nrp FROM complaint_queue')).rows, [{ nrp: '7501234' }], 'seven digits, known: a complaint');
    assert.match((await outbox('6281300000077@c.us'))[0]!.content, /AIPTU Wati \(NRP 7501234\)/);

    await send('6281300000088@c.us', complaint('7501299'));
    await send('6281300000099@c.us', complaint('75029999'));
    await send('6281300000066@c.us', 'Pesan Komplain\nNama : Tanpa NRP\nKendala\n- like belum tercatat');
    assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM complaint_queue')).rows[0].n, 1, 'unknown NRPs are no complaint');
    assert.match((await outbox('6281300000088@c.us'))[0]!.content, /^NRP 7501299 tidak ditemukan di data personel \(NRP\/NIP biasanya 8–18 angka\)\. Periksa kembali NRP Anda/);
    assert.match((await outbox('6281300000099@c.us'))[0]!.content, /^NRP 75029999 tidak ditemukan di data personel\. Periksa kembali NRP Anda/);
    assert.ok(!(await outbox('6281300000099@c.us'))[0]!.content.includes('format'), 'not called a format error');
    assert.match((await outbox('6281300000066@c.us'))[0]!.content, /^Pesan komplain belum dapat kami proses: NRP tidak ditemukan\.\n\nMohon kirim ulang dengan format berikut/);
  });

  it('one complaint whose reply cannot be written fails alone, with its reason; the others are answered', async () => {
    await db.pool.query(
      `INSERT INTO complaint_queue (complainant, response_template, status) VALUES ('081300000001', 'instagram_not_recorded', 'pending'), ('081300000001', $1, 'pending'), ('081300000077', 'generic', 'pending')`,
      [`Jawaban yang terlalu panjang: ${'x'.repeat(70_000)}`],
    );
    await answered();
    const { rows } = await db.pool.query('SELECT status, failure_reason FROM complaint_queue ORDER BY id');
    assert.deepEqual(rows.map((r) => r.status), ['queued', 'failed', 'queued']);
    assert.match(rows[1].failure_reason, /^reply_invalid: outbox message 0: content .*65,?536/);
    assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM wa_outbox')).rows[0].n, 2);
  });
});

describe('quiet hours and a chat that just wrote (the governor, fixed clock)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('quiet_replies', { migrated: true });
  });
  after(async () => db.drop());

  it('at 23:00 WIB a reply to a chat that wrote 3 h 59 min ago goes; 4 h 1 min ago, or any chat with WA_QUIET_REPLY_WINDOW_HOURS=0, waits till 06:00', async () => {
    const now = new Date('2026-11-25T16:00:00Z'); // 23:00 WIB
    const clock: Clock = { now: () => now };
    const wrote = async (chatId: string, minutesAgo: number) =>
      db.pool.query(`INSERT INTO wa_inbox (session, wa_message_id, chat_id, is_group, sender_id, sender_phone, body, sent_at) VALUES ('default', $1, $2, false, $2, $2, 'halo', $3)`, [
        `in-${chatId}`, chatId, new Date(now.getTime() - minutesAgo * 60_000),
      ]);
    await wrote('6281300001111@c.us', 239);
    await wrote('6281300002222@c.us', 241);
    const config = parseConfig({}, '/srv').governor;
    const governor = new Governor({ pool: db.pool, config: { ...config, warmup: null }, timeZone: 'Asia/Jakarta', clock, logger: silentLogger() });
    const ask = (g: Governor, chatId: string) => g.permit({ session: 'default', chatId, text: 'Terima kasih, laporan diterima.', parts: 1 });
    const recent = await ask(governor, '6281300001111@c.us');
    assert.equal(recent.ok, true, 'wrote within 4 h: answered now');
    const older = await ask(governor, '6281300002222@c.us');
    assert.equal(older.ok, false);
    if (!older.ok) {
      assert.equal(older.until!.toISOString(), '2026-11-25T23:00:00.000Z', 'until 06:00 WIB');
      assert.match(older.reason, /quiet hours \(WA_QUIET_HOURS\)/);
    }
    const strict = new Governor({ pool: db.pool, config: { ...config, warmup: null, replyWindowMs: 0 }, timeZone: 'Asia/Jakarta', clock, logger: silentLogger() });
    assert.equal((await ask(strict, '6281300001111@c.us')).ok, false, 'no window: quiet hours hold it');
  });
});

describe('report dates', () => {
  it('cicero-wa run with a date far in the future is a usage error (exit 2) naming the allowed range', async () => {
    const result = await runCli(['run', 'weekly-report', '--date', '9999-12-31'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--date "9999-12-31" is invalid: it is outside the dates a report covers: 2000-01-01 to 2099-12-31/);
    const old = await runCli(['run', 'daily-report', '--date', '1999-12-31'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    assert.equal(old.code, 2);
  });
});
