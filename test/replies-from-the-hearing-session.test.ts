/**
 * Two WhatsApp numbers in one process, on a real PostgreSQL with Cicero_V2's tables: sessions `default`
 * and `admin`, each heard by its own intake and delivered by its own session delivery over its own
 * stand-in transport (the fake transport, in place of WhatsApp Web). Whatever answers a message goes
 * out from the number that heard it: a complaint's reply (written later by the responder), the format
 * reply, the notes, the note to a unit's operator, the notifwa answers; and the inbox row, the
 * complaint and the webhook events say which number heard it. The `admin` side of each test fails if
 * the session is dropped anywhere along the way (a dropped session is `default`).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { runComplaintsCommand } from '../src/commands/complaints.js';
import { MIGRATIONS_DIR, migrate } from '../src/db/migrate.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { listComplaints } from '../src/features/complaints/complaint-queue.js';
import { FORMAT_REPLY_TYPE, NOTE_REPLY_TYPE, inboundComplaints } from '../src/features/complaints/inbound-complaints.js';
import { loadTemplates } from '../src/features/complaints/reply.js';
import { COMPLAINT_REPLY_TYPE, OPERATOR_NOTICE_TYPE, complaintResponder, type ComplaintResponder } from '../src/features/complaints/responder.js';
import { retryComplaints } from '../src/features/complaints/retry.js';
import { NOTIFWA_REPLY_TYPE, optInCommands } from '../src/features/notifwa/opt-in.js';
import { inboxJson, listInbox } from '../src/inbound/inbox.js';
import { Intake } from '../src/inbound/intake.js';
import { silentLogger } from '../src/lib/logger.js';
import { cancelRows } from '../src/outbox/operator-actions.js';
import { OutcomeHooks } from '../src/outbox/outcomes.js';
import { WebhookEvents } from '../src/webhooks/events.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import type { InboundMessage } from '../src/whatsapp/transport.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { tempDir } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';

const SESSIONS = ['default', 'admin'] as const;
type Session = (typeof SESSIONS)[number];
const BUDI = '6281300000001@c.us'; // BRIPKA Budi, NRP 75010001, Polres A (test/fixtures/cicero-v2-rows.sql)
const OPERATOR = '6281234567890@c.us'; // Polres A's client_operator
const STRANGER = '6281377700001@c.us';
const logger = silentLogger();

const complaint = (nrp: string) => `Pesan Komplain\nNRP : ${nrp}\nNama : Budi\n\nKendala\n- Sudah like Instagram tapi belum tercatat`;

let counter = 0;
function inbound(chatId: string, body: string): InboundMessage {
  counter++;
  return { messageId: `false_${chatId}_S${counter}`, chatId, isGroup: false, senderId: chatId, senderPhone: chatId, senderLid: null, senderName: null, body, sentAt: new Date(), media: null, isStatus: false };
}

interface OutboxRow {
  id: number;
  session: string;
  recipient: string;
  type: string;
  status: string;
}

describe('answers go out from the number that heard the message (two sessions over two stand-in transports, one database)', () => {
  let db: TestDatabase;
  let responder: ComplaintResponder;
  const numbers = new Map<Session, { transport: FakeTransport; intake: Intake; delivery: SessionDelivery }>();
  const number = (session: Session) => numbers.get(session)!;

  /** The stand-in of `session` hears a message; returns its inbox row's id once it is handled. */
  const hear = async (session: Session, chatId: string, body: string): Promise<number> => {
    const message = inbound(chatId, body);
    number(session).transport.emitInbound(message);
    await number(session).intake.idle();
    const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM wa_inbox WHERE wa_message_id = $1 AND handled_at IS NOT NULL', [message.messageId]);
    assert.equal(rows.length, 1, `${message.messageId} stored and handled`);
    return Number(rows[0]!.id);
  };
  /** One pass of the complaint-response job (the job a cron or an insert starts in the service). */
  const respond = async () => {
    await responder.handler({ job: 'complaint-response', slot: new Date(), trigger: 'manual', date: null, clock: { now: () => new Date() }, logger });
  };
  /** Every session's delivery drains until nothing is pending or being sent. */
  const deliver = async () => {
    await waitUntil(
      async () => {
        for (const { delivery } of numbers.values()) {
          delivery.trigger('test');
          await delivery.idle();
        }
        return (await db.pool.query("SELECT 1 FROM wa_outbox WHERE status IN ('pending', 'sending')")).rowCount === 0;
      },
      10_000,
      'every reply sent',
    );
  };
  const outbox = async (where: string, params: unknown[]) =>
    (await db.pool.query<OutboxRow>(`SELECT id, session, recipient, type, status FROM wa_outbox WHERE ${where} ORDER BY id`, params)).rows;
  /** What each stand-in handed to WhatsApp in a chat. */
  const sentTo = (chatId: string) => Object.fromEntries(SESSIONS.map((s) => [s, number(s).transport.sends.filter((m) => m.chatId === chatId).length]));

  before(async () => {
    db = await createTestDatabase('replies_from_hearer', { migrated: true });
    await loadCiceroTables(db.pool);
    // Webhook events are recorded (no sender runs: they stay in webhook_deliveries to be read).
    const webhooks = new WebhookEvents({ urls: ['http://127.0.0.1:9/hook'], events: ['message.received', 'complaint.received'], retryForMs: 60_000 });
    const hooks = new OutcomeHooks();
    responder = complaintResponder({ pool: db.pool, templates: await loadTemplates(null), timeZone: 'Asia/Jakarta', defaultCountryCode: '62' }, { now: () => new Date() }, logger);
    hooks.onOutcome([COMPLAINT_REPLY_TYPE], responder.outcomeHook);
    for (const session of SESSIONS) {
      const transport = new FakeTransport({ number: session === 'admin' ? '6281100000002' : '6281100000001' });
      await transport.start();
      const handlers = [
        inboundComplaints(webhooks, { perMessage: 3, perSenderHour: 50, defaultCountryCode: '62', timeZone: 'Asia/Jakarta' }),
        optInCommands('62'),
      ];
      const intake = new Intake({ pool: db.pool, session, transport, webhooks, handlers, logger });
      await intake.start();
      const delivery = new SessionDelivery({ pool: db.pool, transport, logger, dispatch: fastDispatch(), defaultCountryCode: '62', hooks, session });
      delivery.start();
      numbers.set(session, { transport, intake, delivery });
    }
  });
  beforeEach(async () => {
    await deliver();
    await db.pool.query('DELETE FROM complaint_queue; DELETE FROM wa_outbox; DELETE FROM webhook_deliveries');
    for (const { transport } of numbers.values()) transport.sends.length = 0;
  });
  after(async () => {
    for (const { intake, delivery } of numbers.values()) {
      await intake.stop();
      await delivery.stop();
    }
    await db?.drop();
  });

  it('a "Pesan Komplain" heard on admin is queued with session admin and answered from admin; the same heard on default stays default', async () => {
    const heard = { admin: await hear('admin', BUDI, complaint('75010001')), default: await hear('default', BUDI, complaint('75010001')) };
    const complaints = async () =>
      (await db.pool.query<{ id: number; inbox_id: string; session: string; status: string; outbox_id: number | null }>('SELECT id, inbox_id, session, status, outbox_id FROM complaint_queue ORDER BY id')).rows;
    const queued = await complaints();
    assert.deepEqual(queued.map((c) => [Number(c.inbox_id), c.session, c.status]), [[heard.admin, 'admin', 'pending'], [heard.default, 'default', 'pending']]);

    await respond();
    const replies = await outbox('type = $1', [COMPLAINT_REPLY_TYPE]);
    const bySession = new Map((await complaints()).map((c) => [c.session, c.outbox_id]));
    assert.deepEqual(replies.map((r) => [r.id, r.session, r.recipient]), [[bySession.get('admin'), 'admin', BUDI], [bySession.get('default'), 'default', BUDI]], "each reply in its complaint's session");

    await deliver();
    assert.deepEqual(sentTo(BUDI), { default: 1, admin: 1 }, 'each number sent its own reply, no more');
    for (const session of SESSIONS) assert.match(number(session).transport.sends[0]!.text, /Laporan Anda sedang kami tindak lanjuti/, session);
    assert.deepEqual((await complaints()).map((c) => c.status), ['responded', 'responded'], 'each responded once its own number sent it');

    // The webhook events, the inbox and the complaint listings say which number heard it.
    const events = (await db.pool.query<{ event: string; data: { inboxId: number; session: string } }>("SELECT event, payload->'data' AS data FROM webhook_deliveries ORDER BY id")).rows;
    assert.deepEqual(
      events.map((e) => [e.event, Number(e.data.inboxId), e.data.session]),
      [['message.received', heard.admin, 'admin'], ['complaint.received', heard.admin, 'admin'], ['message.received', heard.default, 'default'], ['complaint.received', heard.default, 'default']],
    );
    const inbox = await listInbox(db.pool, { limit: 2 });
    assert.deepEqual(inbox.map((m) => [m.id, inboxJson(m, 'Asia/Jakarta').session]), [[heard.default, 'default'], [heard.admin, 'admin']]);
    assert.deepEqual((await listComplaints(db.pool, { limit: 10 })).map((c) => c.session), ['default', 'admin']);
    const listed = await runComplaintsCommand(db.pool, { action: 'list', limit: 10, ids: [], json: true }, 'Asia/Jakarta');
    assert.deepEqual((JSON.parse(listed.lines.join('\n')) as Array<{ session: string }>).map((c) => c.session), ['default', 'admin']);
    const table = await runComplaintsCommand(db.pool, { action: 'list', limit: 10, ids: [], json: false }, 'Asia/Jakarta');
    assert.match(table.lines[0]!, /^\s*ID\s+STATUS\s+COMPLAINANT\s+SESSION\s/);
    assert.match(table.lines.find((l) => /^\s*\d+\s+responded/.test(l) && l.includes('admin'))!, /\s6281300000001@c\.us\s+admin\s/);
  });

  it('heard on admin: the format reply, the "not found" note, a stranger\'s reply and the note to the unit\'s operator all go from admin', async () => {
    const malformed = await hear('admin', BUDI, 'Pesan Komplain\nNama : Budi\n\nKendala\n- like belum tercatat');
    await hear('admin', STRANGER, complaint('75029999')); // an NRP nobody has
    await hear('admin', STRANGER.replace('01@', '02@'), complaint('75010001')); // Budi's NRP, from someone else
    await respond();
    const rows = await outbox('true', []);
    assert.deepEqual(
      rows.map((r) => [r.type, r.recipient, r.session]),
      [
        [FORMAT_REPLY_TYPE, BUDI, 'admin'],
        [NOTE_REPLY_TYPE, STRANGER, 'admin'],
        [COMPLAINT_REPLY_TYPE, STRANGER.replace('01@', '02@'), 'admin'],
        [OPERATOR_NOTICE_TYPE, OPERATOR, 'admin'],
      ],
    );
    assert.equal((await outbox('dedup_key = $1', [`inbox:${malformed}:format`])).length, 1, 'the format reply is the one to that message');
    await deliver();
    for (const chat of [BUDI, STRANGER, STRANGER.replace('01@', '02@'), OPERATOR]) assert.deepEqual(sentTo(chat), { default: 0, admin: 1 }, chat);
  });

  it('notifwa#off heard on admin clears the opt-in and is answered from admin; notifwa#on heard on default sets it and is answered from default', async () => {
    const optIn = async () => (await db.pool.query<{ v: boolean }>(`SELECT wa_notification_opt_in AS v FROM "user" WHERE user_id = '75010001'`)).rows[0]!.v;
    await db.pool.query(`UPDATE "user" SET wa_notification_opt_in = true WHERE user_id = '75010001'`);
    const off = await hear('admin', BUDI, 'notifwa#off');
    assert.equal(await optIn(), false);
    assert.deepEqual((await outbox('dedup_key = $1', [`inbox:${off}:notifwa`])).map((r) => [r.type, r.session]), [[NOTIFWA_REPLY_TYPE, 'admin']]);
    await deliver();
    assert.deepEqual(sentTo(BUDI), { default: 0, admin: 1 });
    assert.match(number('admin').transport.sends[0]!.text, /\*dinonaktifkan\* untuk BRIPKA Budi/);

    const on = await hear('default', BUDI, 'notifwa#on');
    assert.equal(await optIn(), true);
    assert.deepEqual((await outbox('dedup_key = $1', [`inbox:${on}:notifwa`])).map((r) => r.session), ['default']);
    await deliver();
    assert.deepEqual(sentTo(BUDI), { default: 1, admin: 1 });
  });

  it('a complaint heard on admin is answered again from admin: after its reply was deleted, and after an operator retries it', async () => {
    const replies = () => outbox('type = $1', [COMPLAINT_REPLY_TYPE]);
    const state = async () => (await db.pool.query<{ id: number; status: string; failure_reason: string | null }>('SELECT id, status, failure_reason FROM complaint_queue')).rows[0]!;
    number('admin').transport.setReady(false, 'stand-in: offline');
    try {
      await hear('admin', BUDI, complaint('75010001'));
      await respond();
      const [first] = await replies();
      assert.equal(first!.session, 'admin');
      // Its reply deleted before it went: the next pass answers the complaint again (queued without a reply is pending).
      await db.pool.query('DELETE FROM wa_outbox WHERE id = $1', [first!.id]);
      await respond();
      const [second] = await replies();
      assert.deepEqual([second!.session, (await state()).status], ['admin', 'queued']);
      // Cancelled, so failed; the cancelled row removed; an operator retries: pending, and a new reply is written.
      await cancelRows(db.pool, [second!.id]);
      await respond();
      assert.deepEqual([(await state()).status, (await state()).failure_reason], ['failed', 'reply_cancelled: cancelled by an operator']);
      await db.pool.query('DELETE FROM wa_outbox WHERE id = $1', [second!.id]);
      const { id } = await state();
      assert.deepEqual(await retryComplaints(db.pool, [id]), [{ id, done: true, detail: 'pending again; a new reply will be written' }]);
      await respond();
      assert.deepEqual((await replies()).map((r) => r.session), ['admin'], 'the new reply goes from the number that heard the complaint');
    } finally {
      number('admin').transport.setReady(true);
    }
    await deliver();
    assert.deepEqual(sentTo(BUDI), { default: 0, admin: 1 });
    assert.equal((await state()).status, 'responded');
  });
});

describe('migration 021: complaint_queue.session', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('complaint_sessions');
  });
  after(async () => db?.drop());

  it("complaints that arrived by WhatsApp before it take their message's session; the others, and new rows naming none, are 'default'; NULL is refused", async () => {
    const dir = await tempDir();
    const files = (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    const index = files.indexOf('021_complaint_sessions.sql');
    assert.ok(index > 0, '021_complaint_sessions.sql exists');
    for (const file of files.slice(0, index)) await fs.copyFile(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
    await migrate(db.pool, logger, dir);
    const { rows: heard } = await db.pool.query<{ id: string }>(
      `INSERT INTO wa_inbox (session, wa_message_id, chat_id, is_group, sender_id, body, sent_at)
       VALUES ('admin', 'a1', $1, false, $1, 'Pesan Komplain', now()), ('default', 'd1', $1, false, $1, 'Pesan Komplain', now())
       RETURNING id`,
      [BUDI],
    );
    await db.pool.query(
      `INSERT INTO complaint_queue (complainant, response_template, inbox_id, reply_chat)
       VALUES ($1, 'generic', $2, $1), ($1, 'generic', $3, $1), ('081300000001', 'generic', NULL, NULL), ($1, 'generic', 999999, $1)`,
      [BUDI, heard[0]!.id, heard[1]!.id],
    );
    for (const file of files.slice(index)) await fs.copyFile(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
    await migrate(db.pool, logger, dir);
    const { rows } = await db.pool.query<{ session: string }>('SELECT session FROM complaint_queue ORDER BY id');
    assert.deepEqual(rows.map((r) => r.session), ['admin', 'default', 'default', 'default'], 'from the message where there is one');
    const seed = await db.pool.query("INSERT INTO complaint_queue (complainant, response_template) VALUES ('081300000002', 'generic') RETURNING session");
    assert.equal(seed.rows[0].session, 'default', "Cicero_V2's INSERT, naming no session");
    await assert.rejects(db.pool.query("INSERT INTO complaint_queue (complainant, response_template, session) VALUES ('081300000003', 'generic', NULL)"), /null value in column "session"/);
  });
});
