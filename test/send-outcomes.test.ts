/**
 * Sends on today's WhatsApp Web: the WhatsApp Web transport driven by stand-ins for whatsapp-web.js's
 * Client that behave like the July 2026 builds (sendMessage resolves undefined, $1-shaped keys,
 * LID-filed chats), with the dispatcher on a real PostgreSQL. No message whose outcome is unknown is
 * ever handed to WhatsApp twice.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { silentLogger } from '../src/lib/logger.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { outboxListener } from '../src/outbox/channel.js';
import { listOutbox } from '../src/outbox/listing.js';
import { resendRows } from '../src/outbox/operator-actions.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { splitText } from '../src/delivery/split-text.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';
import { standInTransport, type StandInBehaviour, type TodaysWhatsAppWebStandIn } from './helpers/wa-standin.js';
import { startChild, tempDir } from './helpers/cli.js';

const STANDIN_SERVICE = new URL('./helpers/standin-service.ts', import.meta.url).pathname;
import type { Config } from '../src/config/index.js';

describe('send outcomes on today\'s WhatsApp Web (stand-in clients for whatsapp-web.js)', () => {
  let db: TestDatabase;
  const running: Array<{ stop(): Promise<void> }> = [];
  const dirs: string[] = [];

  before(async () => {
    db = await createTestDatabase('send_outcomes', { migrated: true });
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
  });
  afterEach(async () => {
    for (const r of running.splice(0).reverse()) await r.stop();
    for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
  });

  /** A ready WhatsApp Web transport on a stand-in client, and a dispatcher sending through it. */
  async function gateway(behaviour: StandInBehaviour, dispatch: Partial<Config['dispatch']> = {}) {
    const base = await tempDir('cicero-wa-outcomes-');
    dirs.push(base);
    const clients: TodaysWhatsAppWebStandIn[] = [];
    const transport = standInTransport({ authPath: path.join(base, 'wa-auth'), authProfile: 'outcomes', logger: silentLogger(), behaviour }, (c) => clients.push(c));
    await transport.start();
    await waitUntil(() => clients.length === 1, 2000, 'a client');
    clients[0]!.emit('ready');
    running.push({ stop: () => transport.close() });
    const dispatcher = new SessionDelivery({
      pool: db.pool,
      transport,
      logger: silentLogger(),
      dispatch: fastDispatch(dispatch),
      defaultCountryCode: '62',
      instanceId: 'outcomes-test',
      confirmSettleMs: 100,
    });
    const listener = outboxListener({ connectionString: db.url, logger: silentLogger(), onNotify: () => dispatcher.trigger('notify'), onReconnect: () => undefined });
    await listener.start();
    running.push(listener, dispatcher);
    dispatcher.start();
    return { transport, client: clients[0]!, dispatcher };
  }

  const rowsById = async () =>
    (await db.pool.query('SELECT id, status, attempts, confirmation, wa_message_id, last_error, ack, delivered_at, read_at, parts_sent FROM wa_outbox ORDER BY id')).rows;

  async function settled(what: string, timeoutMs = 20_000): Promise<void> {
    await waitUntil(async () => {
      const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status IN ('pending', 'sending')");
      return rows[0].n === 0;
    }, timeoutMs, what);
  }

  it('today\'s WhatsApp Web stand-in: 50 messages (one split) each handed over once, confirmed by message_create with $1 keys, receipts recorded', async (t) => {
    const lidContact = '6281200000049@c.us';
    const { client } = await gateway({ lids: new Map([[lidContact, '141880100663303@lid']]) });
    const long = Array.from({ length: 200 }, (_, i) => `${i + 1}. BRIPKA Andi Saputra — sudah like dan komentar ✅`).join('\n');
    assert.ok(long.length > 4096);
    const messages = Array.from({ length: 50 }, (_, i) => ({
      recipient: i === 49 ? '081200000049' : i % 2 === 0 ? `12036301234567${String(i).padStart(4, '0')}@g.us` : `0812000000${String(i).padStart(2, '0')}`,
      content: i === 7 ? long : `Rekap harian ${i}: Sudah 12 · Kurang 3 · Belum 1`,
      type: 'daily_report',
    }));
    await enqueue(db.pool, messages);
    await settled('50 messages sent');
    // Confirmations and receipts arrive after the sends. The rows are read once, when at least 49 are
    // confirmed and every confirmed one has its read receipt, and the checks below are made on that one
    // reading (a row confirmed just after it would not have its receipt yet).
    let rows: Awaited<ReturnType<typeof rowsById>> = [];
    await waitUntil(async () => {
      rows = await rowsById();
      const confirmedNow = rows.filter((r) => r.confirmation === 'confirmed');
      return confirmedNow.length >= 49 && confirmedNow.every((r) => r.read_at !== null && r.ack >= 3);
    }, 20_000, 'confirmations and read receipts');

    const parts = splitText(long).length;
    assert.ok(parts >= 2);
    assert.equal(client.totalHandOvers, 49 + parts, 'every part handed to WhatsApp once');
    assert.ok([...client.handOvers.values()].every((n) => n === 1), 'no text handed over twice');
    assert.ok(rows.every((r) => r.status === 'sent'), 'all sent');
    const confirmed = rows.filter((r) => r.confirmation === 'confirmed');
    t.diagnostic(`confirmed ${confirmed.length} of 50; hand-overs ${client.totalHandOvers}`);
    assert.ok(confirmed.length >= 49);
    const createdIds = new Set(client.created.map((m) => m.id.$1));
    assert.ok(confirmed.every((r) => createdIds.has(r.wa_message_id)), 'the WhatsApp id is the one WhatsApp gave');
    assert.ok(confirmed.every((r) => r.ack === 3 && r.delivered_at && r.read_at && r.delivered_at <= r.read_at), 'receipts recorded');
    const lidRow = rows[49];
    assert.equal(lidRow.confirmation, 'confirmed', 'a message WhatsApp filed under the LID is matched through the phone number');
    const { rows: splitParts } = await db.pool.query("SELECT part, outcome, wa_message_id FROM wa_outbox_sends WHERE outbox_id = 8 ORDER BY part");
    assert.equal(splitParts.length, parts);
    assert.ok(splitParts.every((p) => p.outcome === 'confirmed' && p.wa_message_id), 'each part of the split message confirmed on its own');
  });

  it('a stand-in that never confirms: each handed over once, flagged unconfirmed after the timeout, listed for the operator, never resent', async () => {
    // A page that never gives the id back, raises no own-message event and cannot look a chat up.
    const { client } = await gateway({ createAfterMs: null, resolveWith: 'undefined', lookupsFail: true }, { confirmTimeoutMs: 1500 });
    await enqueue(db.pool, Array.from({ length: 20 }, (_, i) => ({ recipient: `0813000000${String(i).padStart(2, '0')}`, content: `Pesan ${i}`, type: 'test' })));
    await settled('20 sends');
    let rows = await rowsById();
    assert.ok(rows.every((r) => r.status === 'sent' && r.confirmation === 'awaiting'), 'sent, awaiting confirmation');
    assert.ok(rows.every((r) => /^awaiting confirmation: no_message_id/.test(r.last_error)));
    await waitUntil(async () => (await rowsById()).every((r) => r.confirmation === 'unconfirmed'), 10_000, 'flagged unconfirmed');
    rows = await rowsById();
    assert.ok(rows.every((r) => /^unconfirmed: no receipt within 1\.5 s \(no_message_id/.test(r.last_error)), rows[0].last_error);
    const listed = await listOutbox(db.pool, { unconfirmed: true, limit: 50 });
    assert.equal(listed.length, 20, 'the operator list shows them');
    assert.ok(listed.every((r) => r.confirmation === 'unconfirmed'));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(client.totalHandOvers, 20, 'nothing was resent');
    assert.ok([...client.handOvers.values()].every((n) => n === 1));

    // The operator resends one by hand.
    const [result] = await resendRows(db.pool, [rows[0].id]);
    assert.equal(result!.done, true, result!.detail);
    await waitUntil(() => client.handOvers.get('Pesan 0') === 2, 5000, 'the resend');
    const [again] = await resendRows(db.pool, [rows[1].id, 9999]).then((r) => r);
    assert.equal(again!.done, true);
    const confirmedRow = await resendRows(db.pool, [rows[0].id]);
    assert.equal(confirmedRow[0]!.done, false, 'a row awaiting confirmation is not resent');
  });

  it('a stand-in whose send times out after the hand-over: exactly one hand-over per message', async () => {
    const { client } = await gateway({ resolveWith: 'never', createAfterMs: null }, { sendTimeoutMs: 200, leaseMs: 60_000 });
    await enqueue(db.pool, Array.from({ length: 5 }, (_, i) => ({ recipient: `0814000000${i}`, content: `Lambat ${i}`, type: 'test' })));
    await settled('5 sends');
    await new Promise((r) => setTimeout(r, 500));
    const rows = await rowsById();
    assert.ok(rows.every((r) => r.status === 'sent' && r.confirmation === 'awaiting' && r.attempts === 1));
    assert.ok(rows.every((r) => /timeout after hand-over/.test(r.last_error)), rows[0].last_error);
    assert.equal(client.totalHandOvers, 5);
    assert.ok([...client.handOvers.values()].every((n) => n === 1));
  });

  it('a stand-in that raises ack -1: the message is retried by the backoff and the retry is confirmed', async () => {
    const { client } = await gateway({ acks: (handOver) => (handOver === 1 ? [-1] : [1, 2]) });
    await enqueue(db.pool, [{ recipient: '081500000001', content: 'Gagal sekali', type: 'test' }]);
    await waitUntil(async () => (await rowsById())[0]?.confirmation === 'confirmed' && client.handOvers.get('Gagal sekali') === 2, 10_000, 'the retry confirmed');
    await waitUntil(async () => (await rowsById())[0].delivered_at !== null, 5000, 'a delivery receipt');
    const [row] = await rowsById();
    assert.equal(row.status, 'sent');
    assert.equal(row.attempts, 2);
    const { rows: sends } = await db.pool.query('SELECT outcome, reason FROM wa_outbox_sends ORDER BY id');
    assert.deepEqual(sends.map((s) => s.outcome), ['rejected', 'confirmed']);
    assert.match(sends[0].reason, /^ack_error/);
    assert.equal(row.wa_message_id, client.created[1]!.id.$1);
  });

  it('an older build\'s stand-in (sendMessage resolves the message with _serialized) is confirmed at once', async () => {
    const { client } = await gateway({ resolveWith: 'message', keyShape: '_serialized', createAfterMs: 0 });
    await enqueue(db.pool, [{ recipient: '081600000001', content: 'Langsung', type: 'test' }]);
    await settled('the send');
    const [row] = await rowsById();
    assert.equal(row.confirmation, 'confirmed');
    assert.equal(row.wa_message_id, client.created[0]?.id._serialized ?? row.wa_message_id);
    await new Promise((r) => setTimeout(r, 300));
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM wa_outbox_sends');
    assert.equal(rows[0].n, 1, 'its own message_create does not confirm anything else');
  });

  it('a service killed with SIGKILL between a hand-over and its record repeats nothing: the restarted service finds it in the chat (stand-in client, real processes)', async (t) => {
    const dir = await tempDir();
    dirs.push(dir);
    const handOverLog = path.join(dir, 'handovers.jsonl');
    const env = {
      DATABASE_URL: db.url,
      DATA_DIR: dir,
      WA_SEND_INTERVAL_MS: '0',
      WA_SEND_JITTER_MS: '0',
      WA_SEND_MAX_PER_MINUTE: '100000',
      WA_LEASE_MS: '2000',
      WA_SEND_TIMEOUT_MS: '1000',
      WA_CONFIRM_TIMEOUT_MS: '600000',
      WA_SETTLE_GRACE_MS: '1000',
      TEST_HANDOVER_LOG: handOverLog,
      TEST_RESOLVE_AFTER_MS: '400',
      TEST_RESOLVE_WITH: 'undefined',
      LOG_LEVEL: 'info',
    };
    await enqueue(db.pool, Array.from({ length: 12 }, (_, i) => ({ recipient: `0817000000${String(i).padStart(2, '0')}`, content: `Kritis ${i}`, type: 'test' })));
    const handOvers = async () => (await fs.readFile(handOverLog, 'utf8').catch(() => '')).split('\n').slice(0, -1).map((l) => JSON.parse(l).text as string);
    const first = startChild(STANDIN_SERVICE, env, dir);
    await waitUntil(async () => (await handOvers()).length >= 4, 30_000, 'four hand-overs');
    first.child.kill('SIGKILL'); // during the fourth send's 400 ms wait for WhatsApp Web's answer
    await first.exited;
    const beforeRestart = await handOvers();

    const second = startChild(STANDIN_SERVICE, env, dir);
    try {
      await waitUntil(async () => {
        const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status = 'sent' AND confirmation = 'confirmed'");
        return rows[0].n === 12;
      }, 60_000, 'all rows sent and confirmed after the restart');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    const all = await handOvers();
    const repeats = all.length - new Set(all).size;
    t.diagnostic(`killed after ${beforeRestart.length} hand-overs; messages handed over twice: ${repeats}`);
    assert.equal(repeats, 0, 'the message in flight at the kill is not sent again');
    assert.equal(new Set(all).size, 12, 'every message handed over');
    // This page gives no id back and raises no event: every send was unknown until looked for in its chat.
    const { rows: checks } = await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox_sends WHERE outcome = 'confirmed' AND chat_check->>'result' = 'found'");
    assert.equal(checks[0].n, 12, 'each confirmed from its chat, the check kept');
  });
});
