/**
 * Several WhatsApp numbers in one service, as the composition root builds them: the service's own
 * configuration becomes the session `default` (its auth profile kept: an upgrade needs no new pairing),
 * and every enabled session of wa_sessions gets its own runtime (transport, dispatcher, confirmer,
 * intake) over its own stand-in WhatsApp. Real PostgreSQL with Cicero_V2's tables. Every number
 * understands notifwa#on/off and "Pesan Komplain", and answers from itself; a session removed or
 * disabled while the service runs stops, one added starts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { NOTIFWA_REPLY_TYPE } from '../src/features/notifwa/opt-in.js';
import { COMPLAINT_REPLY_TYPE } from '../src/features/complaints/responder.js';
import { silentLogger } from '../src/lib/logger.js';
import { addSession, listSessions, removeSession, setEnabled } from '../src/sessions/registry.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import type { InboundMessage } from '../src/whatsapp/transport.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

const BUDI = '6281300000001@c.us'; // BRIPKA Budi, NRP 75010001, Polres A (test/fixtures/cicero-v2-rows.sql)
const NUMBERS = { default: '6281100000001', admin: '6281100000002', user: '6281100000003' } as const;
type Name = keyof typeof NUMBERS;

let counter = 0;
function inbound(chatId: string, body: string): InboundMessage {
  counter++;
  return { messageId: `false_${chatId}_N${counter}`, chatId, isGroup: false, senderId: chatId, senderPhone: chatId, senderLid: null, senderName: null, body, sentAt: new Date(), media: null, isStatus: false };
}

describe('several numbers in one service (a stand-in WhatsApp per number, one database)', () => {
  let db: TestDatabase;
  let app: App;
  const standIns = new Map<string, FakeTransport>();
  const standIn = (name: Name) => standIns.get(name)!;

  before(async () => {
    db = await createTestDatabase('several_numbers', { migrated: true });
    await loadCiceroTables(db.pool);
    // Registered before the service starts (cicero-wa sessions add): they start with it.
    await addSession(db.pool, { name: 'admin', label: 'Nomor admin' });
    await addSession(db.pool, { name: 'user', label: 'Nomor user', authProfile: 'cicero-user' });
    const off = { DAILY_REPORT_CRON: 'off', WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off' };
    const config = parseConfig(
      { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_AUTH_PROFILE: 'polda-jatim', WA_GOVERNOR: 'off', HTTP_PORT: 'off', WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0', COMPLAINT_RESPONSE_CRON: '* * * * * *', ...off },
      testCwd(),
    );
    const make = (name: string) => {
      const transport = new FakeTransport({ number: NUMBERS[name as Name] ?? '6281100000009' });
      standIns.set(name, transport);
      return transport;
    };
    app = await startApp(config, silentLogger(), { transport: make('default'), transports: (session) => make(session.name), drawQr: null });
  });
  after(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('the configured number becomes the session default with its auth profile kept; every enabled session runs', async () => {
    const sessions = await listSessions(db.pool);
    assert.deepEqual(
      sessions.map((s) => [s.name, s.authProfile]).sort(),
      [['admin', 'admin'], ['default', 'polda-jatim'], ['user', 'cicero-user']],
    );
    assert.deepEqual(app.sessions.list().map((r) => r.name).sort(), ['admin', 'default', 'user']);
    await waitUntil(async () => (await db.pool.query("SELECT 1 FROM wa_sessions WHERE state = 'ready' AND paired_number IS NOT NULL")).rowCount === 3, 5000, 'each ready, its number kept');
  });

  it('notifwa#off on any number clears the opt-in and is answered from that number', async () => {
    const optIn = async () => (await db.pool.query<{ v: boolean }>(`SELECT wa_notification_opt_in AS v FROM "user" WHERE user_id = '75010001'`)).rows[0]!.v;
    for (const name of ['default', 'admin', 'user'] as const) {
      await db.pool.query(`UPDATE "user" SET wa_notification_opt_in = true WHERE user_id = '75010001'`);
      const message = inbound(BUDI, 'notifwa#off');
      standIn(name).emitInbound(message);
      await waitUntil(async () => (await optIn()) === false, 5000, `notifwa#off heard on ${name} clears the opt-in`);
      const { rows } = await db.pool.query<{ session: string; session_of_inbox: string }>(
        `SELECT o.session, i.session AS session_of_inbox FROM wa_inbox i JOIN wa_outbox o ON o.dedup_key = 'inbox:' || i.id || ':notifwa'
          WHERE i.wa_message_id = $1 AND o.type = $2`,
        [message.messageId, NOTIFWA_REPLY_TYPE],
      );
      assert.deepEqual(rows, [{ session: name, session_of_inbox: name }], `answered from ${name}`);
      await waitUntil(async () => standIn(name).sends.some((s) => s.chatId === BUDI && /notifwa|notifikasi/i.test(s.text)), 5000, `${name} sent the answer`);
    }
  });

  it('a complaint heard on the user number is answered from the user number', async () => {
    const before = { default: standIn('default').sends.length, admin: standIn('admin').sends.length };
    standIn('user').emitInbound(inbound(BUDI, 'Pesan Komplain\nNRP : 75010001\nNama : Budi\n\nKendala\n- Sudah like Instagram tapi belum tercatat'));
    await waitUntil(
      async () => (await db.pool.query("SELECT 1 FROM wa_outbox WHERE type = $1 AND session = 'user' AND status = 'sent'", [COMPLAINT_REPLY_TYPE])).rowCount === 1,
      15_000,
      'the complaint answered and sent from user',
    );
    assert.equal((await db.pool.query("SELECT 1 FROM wa_outbox WHERE type = $1 AND session <> 'user'", [COMPLAINT_REPLY_TYPE])).rowCount, 0);
    assert.equal(standIn('default').sends.length, before.default, 'nothing from default');
    assert.equal(standIn('admin').sends.length, before.admin, 'nothing from admin');
  });

  it('a number disabled or removed while the service runs stops; one added starts at once', async () => {
    await setEnabled(db.pool, 'admin', false);
    await waitUntil(async () => app.sessions.get('admin') === undefined, 5000, 'admin stopped');
    assert.equal(standIn('admin').status().state, 'disconnected', "admin's WhatsApp closed");
    await addSession(db.pool, { name: 'cadangan' });
    await waitUntil(async () => app.sessions.get('cadangan')?.transport.status().state === 'ready', 5000, 'cadangan started');
    await removeSession(db.pool, 'cadangan');
    await waitUntil(async () => app.sessions.get('cadangan') === undefined, 5000, 'cadangan stopped');
    await setEnabled(db.pool, 'admin', true);
    await waitUntil(async () => app.sessions.get('admin')?.transport.status().state === 'ready', 5000, 'admin started again, on a new transport');
    assert.notEqual(app.sessions.get('admin')!.transport, undefined);
  });
});
