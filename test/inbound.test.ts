/**
 * Hearing WhatsApp, on a real PostgreSQL with Cicero_V2's tables: the fake transport stands in for
 * WhatsApp Web and emits incoming messages; webhook receivers are real HTTP servers on loopback.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import type { InboundMessage } from '../src/whatsapp/transport.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { runCli, startCli, tempDir, type CliProcess } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { readSends, stopAll } from './helpers/services.js';
import { COMPLAINT_FIXTURE } from './helpers/complaints.js';
import { testCwd } from './helpers/temp-dirs.js';

const SECRET = 'webhook-secret-3f9a1c7e5d';
const UNIT_GROUP = '120363000000000001@g.us';
const CRONS_OFF = { DAILY_REPORT_CRON: 'off', WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off', COMPLAINT_RESPONSE_CRON: 'off' };

function message(id: string, overrides: Partial<InboundMessage> = {}): InboundMessage {
  const chatId = overrides.chatId ?? '6281299900001@c.us';
  return {
    messageId: `false_${chatId}_${id}`,
    chatId,
    isGroup: chatId.endsWith('@g.us'),
    senderId: chatId.endsWith('@g.us') ? '6281299900001@c.us' : chatId,
    senderPhone: chatId.endsWith('@g.us') ? '6281299900001@c.us' : chatId,
    senderLid: null,
    senderName: 'Personil',
    body: `pesan ${id}`,
    sentAt: new Date('2026-11-25T01:00:00Z'),
    media: null,
    isStatus: false,
    ...overrides,
  };
}

/** A webhook receiver: answers with `answer()` (a status, or 'hang'), records each request with whether its signature is valid. */
async function receiver(answer: () => number | 'hang'): Promise<{ url: string; received: Array<{ id: string; event: string; status: number; valid: boolean; chat: string }>; close(): Promise<void> }> {
  const received: Array<{ id: string; event: string; status: number; valid: boolean; chat: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const status = answer();
      if (status === 'hang') return;
      const timestamp = String(req.headers['x-cicero-timestamp']);
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest('hex')}`;
      const parsed = JSON.parse(body) as { id: string; event: string; data: { chatId?: string; recipient?: string } };
      received.push({ id: String(req.headers['x-cicero-event-id']), event: parsed.event, status, valid: expected === req.headers['x-cicero-signature'] && parsed.id === req.headers['x-cicero-event-id'], chat: parsed.data.chatId ?? parsed.data.recipient ?? '' });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe('incoming messages (the fake transport emits them as WhatsApp Web would)', () => {
  let db: TestDatabase;
  let app: App;
  let transport: FakeTransport;
  let flakyUntil = 0;
  let flaky: Awaited<ReturnType<typeof receiver>>;
  let dead: Awaited<ReturnType<typeof receiver>>;
  let hanging: Awaited<ReturnType<typeof receiver>>;

  before(async () => {
    db = await createTestDatabase('inbound', { migrated: true });
    await loadCiceroTables(db.pool);
    flakyUntil = Date.now() + 2500;
    flaky = await receiver(() => (Date.now() < flakyUntil ? 500 : 200));
    dead = await receiver(() => 500);
    hanging = await receiver(() => 'hang');
    const config = parseConfig(
      {
        DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', HTTP_PORT: 'off', WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0', ...CRONS_OFF,
        WEBHOOK_URL: [flaky.url, dead.url, hanging.url].join(','), WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY_FOR_MS: '6000', WEBHOOK_TIMEOUT_MS: '300',
      },
      testCwd(),
    );
    transport = new FakeTransport();
    app = await startApp(config, pino({ level: 'silent' }), { transport, drawQr: null, webhookRetry: { baseMs: 100, maxMs: 400, jitter: 0.5 } });
  });
  after(async () => {
    await app?.stop();
    await Promise.all([flaky, dead, hanging].map((r) => r?.close()));
    await db?.drop();
  });

  it('200 messages, repeats among them, end as one inbox row per WhatsApp id; status updates and groups of no unit are ignored and counted', async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `M${i}`);
    for (const id of ids) transport.emitInbound(message(id, { chatId: `62812999${String(Number(id.slice(1)) % 7).padStart(5, '0')}@c.us` }));
    for (const id of ids.slice(0, 50)) transport.emitInbound(message(id, { chatId: `62812999${String(Number(id.slice(1)) % 7).padStart(5, '0')}@c.us` }));
    for (let i = 0; i < 5; i++) transport.emitInbound(message(`G${i}`, { chatId: '120363999999999999@g.us' }));
    for (let i = 0; i < 3; i++) transport.emitInbound(message(`U${i}`, { chatId: UNIT_GROUP }));
    for (let i = 0; i < 2; i++) transport.emitInbound(message(`S${i}`, { chatId: 'status@broadcast', isStatus: true }));
    await app.intake!.idle();
    const { rows } = await db.pool.query('SELECT count(*)::int AS n, count(DISTINCT wa_message_id)::int AS d, count(*) FILTER (WHERE handled_at IS NOT NULL)::int AS h FROM wa_inbox');
    assert.deepEqual(rows[0], { n: 153, d: 153, h: 153 });
    assert.equal(app.intake!.stats.duplicates, 50);
    assert.equal(app.intake!.stats.ignoredGroup, 5);
    assert.equal(app.intake!.stats.ignoredStatus, 2);
  });

  it('fifteen real-looking complaints become complaints with their fields; each gets one reply in its chat, responded only once sent; a malformed one gets the format', async () => {
    transport.setReady(false, 'stand-in: paused');
    const fixtures = COMPLAINT_FIXTURE.complaints.filter((c) => c.expect !== null);
    assert.equal(fixtures.length, 15);
    // Each reporter is in "user" with the number they write from (only an NRP the personnel table knows
    // is a complaint, and only its owner's number is answered by name). The first writes in the unit's
    // group from Budi's own number.
    const senders = fixtures.map((_, i) => (i === 0 ? '6281300000001' : `6281288800${String(i).padStart(3, '0')}`));
    for (const [i, c] of fixtures.entries()) {
      if (i === 0) continue;
      await db.pool.query(`INSERT INTO "user" (user_id, nama, title, whatsapp, client_id) VALUES ($1, $2, 'BRIGPOL', $3, 'POLRES_A') ON CONFLICT (user_id) DO NOTHING`, [c.expect!.nrp, c.expect!.name ?? 'Personil', `0${senders[i]!.slice(2)}`]);
    }
    await db.pool.query(`INSERT INTO "user" (user_id, nama, title, whatsapp, client_id) VALUES ('99990001', 'Penguji', 'BRIPDA', '081288899999', 'POLRES_A') ON CONFLICT (user_id) DO NOTHING`);
    fixtures.forEach((c, i) =>
      transport.emitInbound(
        message(`C${i}`, i === 0
          ? { chatId: UNIT_GROUP, senderId: `${senders[0]}@c.us`, senderPhone: `${senders[0]}@c.us`, body: c.text.replace('75020201', '75010001') }
          : { chatId: `${senders[i]}@c.us`, body: c.text }),
      ),
    );
    transport.emitInbound(message('BAD1', { chatId: '6281288899999@c.us', body: COMPLAINT_FIXTURE.malformed[0]!.text }));
    await app.intake!.idle();
    await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM complaint_queue WHERE status = 'queued'")).rows[0].n === 15, 10_000, 'fifteen complaints queued');
    const complaints = (await db.pool.query('SELECT id, status, response_template, parsed, reply_chat FROM complaint_queue WHERE inbox_id IS NOT NULL ORDER BY id')).rows;
    assert.equal(complaints.length, 15);
    fixtures.forEach((c, i) => {
      const expect = c.expect!;
      assert.equal(complaints[i].response_template, expect.knownIssue, c.label);
      assert.equal(complaints[i].parsed.nrp, i === 0 ? '75010001' : expect.nrp, c.label);
      assert.equal(complaints[i].parsed.name, expect.name, c.label);
      assert.equal(complaints[i].parsed.unit, expect.unit, c.label);
      assert.equal(complaints[i].parsed.instagram, expect.instagram, c.label);
      assert.equal(complaints[i].parsed.tiktok, expect.tiktok, c.label);
    });
    assert.equal(complaints.filter((c) => c.status === 'responded').length, 0, 'nothing responded before it is sent');

    transport.setReady(true);
    await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM complaint_queue WHERE status = 'responded'")).rows[0].n === 15, 15_000, 'fifteen complaints responded');
    const replies = transport.sends.filter((s) => s.text.includes('Laporan Anda sedang kami tindak lanjuti'));
    assert.equal(replies.length, 15, 'one reply per complaint');
    assert.deepEqual(new Set(replies.map((r) => r.chatId)), new Set(complaints.map((c) => c.reply_chat)), 'each in its chat');
    assert.match(replies.find((r) => r.chatId === UNIT_GROUP)!.text, /BRIPKA Budi \(NRP 75010001\)/, 'the reporter by rank and name from "user"');
    await waitUntil(() => transport.sends.some((s) => s.chatId === '6281288899999@c.us'), 10_000, 'the format reply');
    assert.match(transport.sends.find((s) => s.chatId === '6281288899999@c.us')!.text, /NRP tidak ditemukan[\s\S]*Pesan Komplain\nNRP : /);
    const priorities = (await db.pool.query(`SELECT DISTINCT priority FROM wa_outbox WHERE dedup_key LIKE 'complaint:%' OR dedup_key LIKE 'inbox:%:format'`)).rows;
    assert.deepEqual(priorities, [{ priority: 0 }], 'complaint and format replies are replies');
  });

  it('notifwa#on / notifwa#off from a bound number switches the person and confirms; from an unknown number nothing is written', async () => {
    const optIn = async () => (await db.pool.query(`SELECT wa_notification_opt_in AS v FROM "user" WHERE user_id = '75010001'`)).rows[0].v as boolean;
    transport.emitInbound(message('N1', { chatId: '6281300000001@c.us', body: 'notifwa#on' }));
    await app.intake!.idle();
    assert.equal(await optIn(), true);
    transport.emitInbound(message('N2', { chatId: '6281300000001@c.us', body: ' NOTIFWA#OFF ' }));
    await app.intake!.idle();
    assert.equal(await optIn(), false);
    const before = (await db.pool.query(`SELECT md5(string_agg(u::text, '|' ORDER BY user_id)) AS h FROM "user" u`)).rows[0].h;
    transport.emitInbound(message('N3', { chatId: '6281377777777@c.us', body: 'notifwa#on' }));
    await app.intake!.idle();
    assert.equal((await db.pool.query(`SELECT md5(string_agg(u::text, '|' ORDER BY user_id)) AS h FROM "user" u`)).rows[0].h, before, 'nothing written');
    await waitUntil(() => transport.sends.filter((s) => ['6281300000001@c.us', '6281377777777@c.us'].includes(s.chatId)).length === 3, 10_000, 'three answers');
    const answers = transport.sends.filter((s) => ['6281300000001@c.us', '6281377777777@c.us'].includes(s.chatId)).map((s) => s.text);
    assert.match(answers[0]!, /\*diaktifkan\* untuk BRIPKA Budi \(NRP 75010001\)/);
    assert.match(answers[1]!, /dinonaktifkan/);
    assert.match(answers[2]!, /belum terdaftar/);
    const priorities = (await db.pool.query(`SELECT DISTINCT priority FROM wa_outbox WHERE dedup_key LIKE 'inbox:%:notifwa'`)).rows;
    assert.deepEqual(priorities, [{ priority: 0 }], 'opt-in answers are replies');
  });

  it('webhooks: a receiver answering 500 for a while gets every event once, signed, in order per chat; one that never recovers ends dead-lettered; one that hangs holds nothing up', async () => {
    // While the hanging receiver holds its requests, WhatsApp sending goes on.
    const sentBefore = transport.sends.length;
    transport.emitInbound(message('W1', { chatId: '6281299900002@c.us', body: 'notifwa#on' }));
    await waitUntil(() => transport.sends.length > sentBefore, 5000, 'a reply sent while a receiver hangs');
    await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'")).rows[0].n === 0, 30_000, 'every delivery settled');
    const rows = (await db.pool.query('SELECT url, status, count(*)::int AS n, min(last_error) AS error FROM webhook_deliveries GROUP BY url, status ORDER BY url, status')).rows;
    const events = (await db.pool.query('SELECT count(DISTINCT event_id)::int AS n FROM webhook_deliveries')).rows[0].n as number;
    assert.ok(events > 150, `${events} events`);
    assert.deepEqual(rows.filter((r) => r.url === flaky.url).map((r) => [r.status, r.n]), [['delivered', events]]);
    const ok = flaky.received.filter((r) => r.status === 200);
    assert.equal(ok.length, events, 'each event acknowledged once');
    assert.equal(new Set(ok.map((r) => r.id)).size, events, 'no event twice');
    assert.ok(flaky.received.some((r) => r.status === 500), 'it did refuse for a while');
    assert.ok(flaky.received.every((r) => r.valid), 'valid signatures');
    const order = (await db.pool.query('SELECT event_id, ordering_key FROM webhook_deliveries WHERE url = $1 ORDER BY id', [flaky.url])).rows;
    for (const chat of new Set(order.map((r) => r.ordering_key))) {
      const expected = order.filter((r) => r.ordering_key === chat).map((r) => r.event_id);
      const got = ok.filter((r) => expected.includes(r.id)).map((r) => r.id);
      assert.deepEqual(got, expected, `events of ${chat} in order`);
    }
    assert.deepEqual(rows.filter((r) => r.url === dead.url).map((r) => [r.status, r.error]), [['failed', 'HTTP 500']]);
    assert.deepEqual(rows.filter((r) => r.url === hanging.url).map((r) => [r.status, r.error]), [['failed', 'no answer within 300 ms']]);
    const kinds = (await db.pool.query('SELECT DISTINCT event FROM webhook_deliveries ORDER BY event')).rows.map((r) => r.event);
    assert.deepEqual(kinds, ['complaint.received', 'message.received', 'message.sent', 'session.state']);
  });
});

describe('incoming messages across a SIGKILL (service processes, the stand-in delivering again after the restart)', () => {
  let db: TestDatabase;
  const services: CliProcess[] = [];
  before(async () => {
    db = await createTestDatabase('inbound_kill', { migrated: true });
    await loadCiceroTables(db.pool);
  });
  after(async () => {
    await stopAll(services);
    await db.drop();
  });

  it('no message lost, none handled twice: complaints, replies and webhook events counted', async (t) => {
    const dir = await tempDir();
    const file = path.join(dir, 'inbound.jsonl');
    const fixtures = COMPLAINT_FIXTURE.complaints.filter((c) => c.expect !== null);
    const lines = Array.from({ length: 80 }, (_, i) =>
      JSON.stringify(message(`K${i}`, { chatId: `6281277${String(i).padStart(6, '0')}@c.us`, body: i % 4 === 0 ? fixtures[(i / 4) % fixtures.length]!.text : `pesan biasa ${i}` })),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);
    // The reporters' NRPs are personnel (an NRP the personnel table does not know is no complaint).
    for (const c of fixtures) await db.pool.query(`INSERT INTO "user" (user_id, nama) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`, [c.expect!.nrp, c.expect!.name]);
    const hooks = await receiver(() => 200);
    const env = {
      DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', WA_FAKE_INBOUND_FILE: file, WA_FAKE_INBOUND_INTERVAL_MS: '25', WA_FAKE_SEND_LOG: path.join(dir, 'sends.jsonl'),
      WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0', WEBHOOK_URL: hooks.url, WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'info', ...CRONS_OFF,
      // A reply in flight at the kill is held by the dead service's lease: short, so the restart settles it
      // (sent, its outcome unknown, never handed over again) within the test.
      WA_LEASE_MS: '4000', WA_SEND_TIMEOUT_MS: '2000',
    };
    try {
      const first = startCli(['start'], env, dir);
      services.push(first);
      await waitUntil(async () => (await db.pool.query('SELECT count(*)::int AS n FROM wa_inbox')).rows[0].n >= 30, 60_000, 'a third of the messages stored');
      first.child.kill('SIGKILL');
      await first.exited;
      const storedAtKill = (await db.pool.query('SELECT count(*)::int AS n FROM wa_inbox')).rows[0].n as number;
      const second = startCli(['start'], env, dir);
      services.push(second);
      await waitUntil(async () => (await db.pool.query('SELECT count(*)::int AS n FROM wa_inbox WHERE handled_at IS NOT NULL')).rows[0].n === 80, 60_000, 'all 80 stored and handled').catch(async (err) => {
        const state = (await db.pool.query('SELECT count(*)::int AS n, count(handled_at)::int AS h FROM wa_inbox')).rows[0];
        throw new Error(`${(err as Error).message}: ${JSON.stringify(state)}\n${second.stdout().slice(-4000)}\n${second.stderr().slice(-2000)}`);
      });
      await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM complaint_queue WHERE status = 'responded'")).rows[0].n === 20, 60_000, 'all 20 complaints responded').catch(async (err) => {
        const rows = (await db.pool.query('SELECT status, failure_reason, count(*)::int AS n FROM complaint_queue GROUP BY 1, 2')).rows;
        throw new Error(`${(err as Error).message}: ${JSON.stringify(rows)}\n${second.stdout().slice(-3000)}`);
      });
      await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'")).rows[0].n === 0, 60_000, 'webhooks settled');
      const counts = (
        await db.pool.query(`SELECT (SELECT count(*)::int FROM wa_inbox) AS inbox,
                                    (SELECT count(*)::int FROM complaint_queue) AS complaints,
                                    (SELECT count(*)::int FROM wa_outbox WHERE type = 'complaint-reply') AS replies,
                                    (SELECT count(*)::int FROM webhook_deliveries WHERE event = 'complaint.received') AS complaint_events,
                                    (SELECT count(*)::int FROM webhook_deliveries WHERE event = 'message.received') AS received_events`)
      ).rows[0];
      t.diagnostic(`stored at the kill: ${storedAtKill} of 80; after the restart: ${JSON.stringify(counts)}`);
      assert.deepEqual(counts, { inbox: 80, complaints: 20, replies: 20, complaint_events: 20, received_events: 80 });
      const sends = readSends(path.join(dir, 'sends.jsonl'));
      assert.equal(sends.length - new Set(sends.map((s) => `${s.chatId}|${s.text}`)).size, 0, 'no reply handed to WhatsApp twice');
      // A reply the kill caught between its hand-over record and WhatsApp's answer is sent with an unknown
      // outcome (the stand-in may not have logged it): never handed over again.
      const unknown = (await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE type = 'complaint-reply' AND confirmation IS DISTINCT FROM 'confirmed'")).rows[0].n as number;
      assert.ok(sends.length <= 20 && sends.length >= 20 - unknown, `${sends.length} replies handed over, ${unknown} with an unknown outcome`);
      t.diagnostic(`replies handed over: ${sends.length}; with an unknown outcome after the kill: ${unknown}`);

      // What an operator sees: cicero-wa inbox list and webhooks list / retry.
      const env2 = { DATABASE_URL: db.url, WEBHOOK_URL: hooks.url, WEBHOOK_SECRET: SECRET };
      const inbox = await runCli(['inbox', 'list', '--limit', '100', '--json'], env2);
      assert.equal(inbox.code, 0, inbox.stderr);
      const listed = JSON.parse(inbox.stdout) as Array<{ outcome: string; receivedAt: string }>;
      assert.equal(listed.length, 80);
      assert.equal(listed.filter((m) => m.outcome === 'complaint').length, 20);
      assert.match(listed[0]!.receivedAt, /\+07:00$/);
      const table = await runCli(['inbox', 'list', '--limit', '3'], env2);
      assert.match(table.stdout.split('\n')[0]!, /^\s*ID\s+RECEIVED \(WIB\)\s+CHAT\s+SENDER\s+OUTCOME\s+TEXT/);
      const delivered = await runCli(['webhooks', 'list', '--status', 'delivered', '--limit', '1000', '--json'], env2);
      assert.equal(JSON.parse(delivered.stdout).length, (await db.pool.query('SELECT count(*)::int AS n FROM webhook_deliveries')).rows[0].n);
      const refused = await runCli(['webhooks', 'retry', String(JSON.parse(delivered.stdout)[0].id)], env2);
      assert.equal(refused.code, 1);
      assert.match(refused.stdout, /is delivered; only failed \(dead-lettered\) deliveries can be retried/);
    } finally {
      await hooks.close();
    }
  });
});
