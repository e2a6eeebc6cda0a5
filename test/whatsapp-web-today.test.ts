/**
 * WhatsApp Web as it is today (builds since July 2026), page side too, on stand-ins of that page:
 *
 * - the message-key fix (wwebjs/msgkey-fix.ts): page-side look-ups throw `r: r` and media sends `t: t`
 *   until it is applied; it is idempotent, does nothing on a build that needs none, comes back after a
 *   reload, and its text runs in a real Chromium page;
 * - end to end in the service: a weekly recap reaches two groups as texts and then workbooks, all
 *   confirmed, and "typing…" shows before a personal message; the same stand-in without the fix fails
 *   both ways;
 * - a send that throws is settled from the chat at once: not taken, it is a failure before the hand-over
 *   (retried, sent once); taken, it is confirmed and never sent again.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig, type Config } from '../src/config/index.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { migrate } from '../src/db/migrate.js';
import type { Logger } from '../src/lib/logger.js';
import { silentLogger } from '../src/lib/logger.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { findChromium } from '../src/whatsapp/wwebjs/chromium.js';
import { MSGKEY_FIX_SOURCE, MsgKeyFix } from '../src/whatsapp/wwebjs/msgkey-fix.js';
import { messageBody } from '../src/whatsapp/wwebjs/messages.js';
import type { WhatsAppWebTransport } from '../src/whatsapp/wwebjs/transport.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { REPO_ROOT, runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';
import { BUILDS, STAND_IN_PAGE_SOURCE } from './helpers/wa-web-page.js';
import { TodaysWhatsAppWebStandIn, readyStandIn, standInTransport, type StandInBehaviour } from './helpers/wa-standin.js';
import { tempDir } from './helpers/temp-dirs.js';

const GROUP_A = '120363000000000001@g.us';
const GROUP_B = '120363000000000002@g.us';
const PERSON = '6281234567890@c.us';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const CHROMIUM = findChromium(null).path;
const API_KEY = 'today-key-3f9a1c7e5b2d';
const BROWSER_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

/** The dashboard in Chromium, signed in with the key; `view` opened. */
async function dashboard(base: string, view: string) {
  const browser = await chromium.launch({ executablePath: CHROMIUM!, args: BROWSER_ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${base}/dashboard`);
  await page.fill('#key', API_KEY);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('nav.tabs');
  await page.evaluate((t) => (location.hash = t), view);
  await page.waitForFunction((t) => document.body.dataset.loaded === t, view);
  return { browser, page, errors };
}

/** A logger whose lines are kept as objects. */
function captureLogger(lines: Array<Record<string, unknown>>): Logger {
  return pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
}

/** A MessageMedia as whatsapp-web.js builds it (what documentMedia gives). */
const media = { mimetype: XLSX, data: Buffer.from('PK workbook').toString('base64'), filename: 'rekap.xlsx', filesize: 11 };

describe('the message-key fix on stand-ins of today\'s WhatsApp Web page', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('wa_page_fix', { migrated: true });
  });
  after(async () => db.drop());

  it('stand-in page (July 2026 build): look-ups throw r: r and a media send t: t until the fix; once fixed both work and ids come back', async () => {
    const client = new TodaysWhatsAppWebStandIn({} as never, { received: [{ chatId: GROUP_A, body: 'Siap, laporan diterima' }] });
    await assert.rejects(client.getChatById(GROUP_A), /^Error: r: r$/, 'a chat with a last received message');
    await assert.rejects(client.sendMessage(GROUP_A, media, { caption: 'Rekap' }), /^Error: t: t$/, 'a media send');
    assert.equal(client.totalHandOvers, 0, 'nothing was taken');
    assert.equal(await client.sendMessage(GROUP_A, 'Rekap harian'), undefined, 'a text is taken, no id comes back');

    const lines: Array<Record<string, unknown>> = [];
    const status = await new MsgKeyFix(captureLogger(lines)).ensure(client);
    assert.equal(status.state, 'active');
    assert.equal(status.alias, '$1');
    assert.equal(status.build, BUILDS.today);

    const chat = await client.getChatById(GROUP_A);
    assert.ok(chat, 'the look-up works');
    const sent = (await client.sendMessage(GROUP_A, media, { caption: 'Rekap' })) as { id: { $1?: string } };
    assert.match(sent.id.$1 ?? '', /^true_120363000000000001@g\.us_3EB0/, 'the document is sent and its id comes back');
    const own = await chat!.fetchMessages({ limit: 10, fromMe: true });
    assert.deepEqual(own.map(messageBody), ['Rekap harian', 'Rekap'], 'the chat holds both (a document\'s caption read as its text while it uploads)');
    assert.notEqual((own[1] as { body: string }).body, 'Rekap', 'whatsapp-web.js gives an uploading document the preview as its body');
    const info = lines.filter((l) => /message-key fix/.test(String(l.msg)));
    assert.equal(info.length, 1);
    assert.equal(info[0]!.level, 30, 'logged at info');
    assert.equal(info[0]!.pageFix, 'active');
  });

  it('does nothing on a build whose keys still carry _serialized', async () => {
    const client = new TodaysWhatsAppWebStandIn({} as never, { build: 'before', received: [{ chatId: GROUP_A, body: 'Siap' }] });
    const status = await new MsgKeyFix(silentLogger()).ensure(client);
    assert.equal(status.state, 'not_needed');
    assert.equal(status.build, BUILDS.before);
    const untouched = await client.page.evaluate("Object.getOwnPropertyDescriptor(window.require('WAWebMsgKey').prototype, '_serialized') === undefined");
    assert.equal(untouched, true, 'the prototype is left as it is');
    assert.ok(await client.getChatById(GROUP_A), 'look-ups work on that build anyway');
  });

  it('is idempotent: applied again, it finds itself in place and adds nothing; logged once', async () => {
    const client = new TodaysWhatsAppWebStandIn({} as never);
    const lines: Array<Record<string, unknown>> = [];
    const fix = new MsgKeyFix(captureLogger(lines));
    await fix.ensure(client);
    const descriptor = await client.page.evaluate("String(Object.getOwnPropertyDescriptor(window.require('WAWebMsgKey').prototype, '_serialized').get)");
    const again = (await client.page.evaluate(MSGKEY_FIX_SOURCE)) as { state: string; already: boolean };
    assert.deepEqual([again.state, again.already], ['active', true]);
    await fix.ensure(client);
    assert.equal(await client.page.evaluate("String(Object.getOwnPropertyDescriptor(window.require('WAWebMsgKey').prototype, '_serialized').get)"), descriptor, 'the same accessor');
    assert.equal(lines.filter((l) => /message-key fix/.test(String(l.msg))).length, 1, 'one line per start');
  });

  it('is applied again after a reload (a new page, then ready again); the session shows it; WA_PAGE_FIX=false leaves the page alone', async () => {
    const base = await tempDir('cicero-wa-pagefix-');
    const lines: Array<Record<string, unknown>> = [];
    const clients: TodaysWhatsAppWebStandIn[] = [];
    const transport = standInTransport({ authPath: path.join(base, 'wa-auth'), authProfile: 'fix', logger: captureLogger(lines), behaviour: { received: [{ chatId: GROUP_A, body: 'Siap' }] } }, (c) => clients.push(c));
    try {
      await transport.start();
      await waitUntil(() => clients.length === 1, 2000, 'a client');
      clients[0]!.emit('ready');
      await waitUntil(() => transport.isReady(), 2000, 'ready once the page is fixed');
      assert.equal(transport.details().pageFix.state, 'active');
      const record = async () => JSON.parse(await fs.readFile(path.join(base, 'wa-auth', 'session-fix.state.json'), 'utf8').catch(() => '{}'));
      await waitUntil(async () => (await record()).pageFix?.state === 'active', 2000, 'kept beside the session for doctor');

      clients[0]!.reload();
      assert.equal(await clients[0]!.page.evaluate("Object.prototype.hasOwnProperty.call(window.require('WAWebMsgKey').prototype, '_serialized')"), false, 'the new page has no fix');
      await waitUntil(async () => (await clients[0]!.page.evaluate("Object.prototype.hasOwnProperty.call(window.require('WAWebMsgKey').prototype, '_serialized')")) === true, 2000, 'fixed again on ready');
      await transport.showTyping(GROUP_A, 20);
      assert.deepEqual(clients[0]!.chatStates.map((s) => s.state), ['typing', 'stop'], 'look-ups work after the reload');
      assert.equal(lines.filter((l) => l.level === 30 && /message-key fix/.test(String(l.msg))).length, 1, 'logged once per start');
      assert.ok(lines.some((l) => l.level === 20 && /applied again/.test(String(l.msg))), 'the re-application at debug');
    } finally {
      await transport.close();
    }
    const doctor = await runCli(['doctor'], { DATABASE_URL: db.url, WA_TRANSPORT: 'wwebjs', WA_AUTH_PATH: path.join(base, 'wa-auth'), WA_AUTH_PROFILE: 'fix' });
    const line = doctor.stdout.split('\n').find((l) => /page-fix/.test(l));
    assert.match(line ?? doctor.stdout, new RegExp(`^ok\\s+page-fix\\s+message-key fix active on WhatsApp Web ${BUILDS.today.replace(/\./g, '\\.')}, checked .* \\(message keys read _serialized from \\$1\\)$`), 'cicero-wa doctor shows it');

    const off = standInTransport({ authPath: path.join(base, 'wa-auth-off'), authProfile: 'off', logger: silentLogger(), behaviour: {}, pageFix: false }, (c) => clients.push(c));
    try {
      await off.start();
      await waitUntil(() => clients.length === 2, 2000, 'a client');
      clients[1]!.emit('ready');
      await waitUntil(() => off.isReady(), 2000, 'ready');
      assert.equal(off.details().pageFix.state, 'off');
      assert.equal(await clients[1]!.page.evaluate("Object.prototype.hasOwnProperty.call(window.require('WAWebMsgKey').prototype, '_serialized')"), false);
    } finally {
      await off.close();
      await fs.rm(base, { recursive: true, force: true });
    }
  });

  it('its text runs in a real Chromium page holding the stand-in of today\'s WhatsApp Web', { skip: CHROMIUM ? false : 'Chromium is not installed (.ci/run installs it)' }, async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM!, args: BROWSER_ARGS });
    try {
      const page = await browser.newPage();
      await page.evaluate(`(${STAND_IN_PAGE_SOURCE})(window, ${JSON.stringify({ version: BUILDS.today, keys: '$1', me: TodaysWhatsAppWebStandIn.ME })})`);
      await page.evaluate(`window.StandInWWebJS.load(${JSON.stringify([{ chatId: GROUP_A, keyId: 'IN1', fromMe: false, body: 'Siap', t: 1, ack: 3 }])})`);
      await assert.rejects(page.evaluate(`window.StandInWWebJS.getChat(${JSON.stringify(GROUP_A)})`), /r/, 'the look-up throws before the fix');
      const status = (await page.evaluate(MSGKEY_FIX_SOURCE)) as { state: string; alias: string; build: string };
      assert.deepEqual([status.state, status.alias, status.build], ['active', '$1', BUILDS.today]);
      const chat = (await page.evaluate(`window.StandInWWebJS.getChat(${JSON.stringify(GROUP_A)})`)) as { id: { _serialized: string } };
      assert.equal(chat.id._serialized, GROUP_A, 'the look-up works in Chromium');
      const again = (await page.evaluate(MSGKEY_FIX_SOURCE)) as { state: string; already: boolean };
      assert.deepEqual([again.state, again.already], ['active', true]);
    } finally {
      await browser.close();
    }
  });
});

describe('today\'s WhatsApp Web page in the running service (stand-in client)', () => {
  let db: TestDatabase;
  const dirs: string[] = [];
  before(async () => {
    db = await createTestDatabase('wa_web_today');
    await loadCiceroTables(db.pool);
    await db.pool.query(await fs.readFile(path.join(REPO_ROOT, 'test/fixtures/rekap-hard-cases.sql'), 'utf8'));
    await migrate(db.pool, silentLogger());
  });
  after(async () => {
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
    await db.drop();
  });

  /** The service on a stand-in of today's page, with the fix (WA_PAGE_FIX) on or off; the weekly recap run, a personal message sent. */
  async function weekAndPersonal(pageFix: boolean): Promise<{ client: TodaysWhatsAppWebStandIn; app: App }> {
    await db.pool.query('DELETE FROM wa_outbox; DELETE FROM cron_job_runs; DELETE FROM wa_governor_sends');
    const base = await tempDir('cicero-wa-today-');
    dirs.push(base);
    const config = parseConfig(
      {
        DATABASE_URL: db.url, WA_TRANSPORT: 'fake', HTTP_PORT: '0', API_KEY, CRON_CATCHUP_HOURS: '0', WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0',
        WA_RETRY_BASE_MS: '50', WA_RETRY_MAX_MS: '200', WA_SETTLE_GRACE_MS: '500', WA_QUIET_HOURS: 'off', WA_COLD_GAP_SECONDS: '0-0', WA_TYPING_MAX_MS: '300',
      },
      base,
    );
    const clients: TodaysWhatsAppWebStandIn[] = [];
    // Unit groups and the person have written before: their chats have a last received message.
    const behaviour: StandInBehaviour = { received: [{ chatId: GROUP_A, body: 'Siap' }, { chatId: GROUP_B, body: 'Siap' }, { chatId: PERSON, body: 'Selamat pagi' }] };
    const transport: WhatsAppWebTransport = standInTransport({ authPath: path.join(base, 'wa-auth'), authProfile: 'today', logger: silentLogger(), behaviour, pageFix }, (c) => clients.push(c));
    const app = await startApp(config, silentLogger(), { transport, drawQr: null, maxAuthFailures: 1000 });
    await waitUntil(() => clients.length === 1, 5000, 'a client');
    clients[0]!.emit('ready');
    await waitUntil(() => transport.isReady(), 5000, 'ready');
    const run = await app.scheduler.runNow('weekly-report', '2026-11-24');
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    const { rows: enqueued } = await db.pool.query('SELECT count(*)::int AS n FROM wa_outbox');
    assert.equal(enqueued[0].n, 4, 'two groups: a text and a workbook each');
    await enqueue(db.pool, [{ recipient: PERSON, content: 'Terima kasih, laporan Bapak sudah kami terima.', type: 'complaint_reply', dedupKey: `personal-${pageFix}` }]);
    return { client: clients[0]!, app };
  }

  it('stand-in with the fix: 2 texts and then 2 workbooks reach the groups, all confirmed; typing shows before the personal message', async () => {
    const { client, app } = await weekAndPersonal(true);
    try {
      await waitUntil(async () => {
        const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status = 'sent' AND confirmation = 'confirmed'");
        return rows[0].n === 5;
      }, 20_000, 'five messages sent and confirmed');
      for (const group of [GROUP_A, GROUP_B]) {
        const calls = client.sendCalls.filter((c) => c.chatId === group);
        assert.deepEqual(calls.map((c) => [c.media, c.outcome]), [[false, 'taken'], [true, 'taken']], `${group}: the text, then the workbook, each taken once`);
      }
      const personal = client.sendCalls.find((c) => c.chatId === PERSON)!;
      const typing = client.chatStates.filter((s) => s.chatId === PERSON);
      assert.deepEqual(typing.map((s) => s.state), ['typing', 'stop'], 'typing shown in the person\'s chat');
      assert.ok(typing[0]!.at < personal.at, 'before the message');
      const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox_sends WHERE outcome <> 'confirmed'");
      assert.equal(rows[0].n, 0, 'every hand-over confirmed, none failed or unknown');

      const sessions = await (await fetch(`${app.http!.url}/api/sessions`, { headers: { 'x-api-key': API_KEY } })).json();
      assert.equal(sessions.sessions[0].pageFix.state, 'active', 'GET /api/sessions shows the fix');
      assert.equal(sessions.sessions[0].pageFix.build, BUILDS.today);
      if (CHROMIUM) {
        const { browser, page, errors } = await dashboard(app.http!.url!, 'sesi');
        try {
          await page.waitForSelector('#session-page-fix');
          assert.match((await page.textContent('#session-page-fix'))!, /^Perbaikan halaman WhatsApp Web: aktif \(/);
          assert.deepEqual(errors, []);
        } finally {
          await browser.close();
        }
      }
    } finally {
      await app.stop();
    }
  });

  it('the same stand-in without the fix: the workbooks never reach the groups and typing is not shown', async () => {
    const { client, app } = await weekAndPersonal(false);
    try {
      await waitUntil(async () => {
        const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status = 'sent' AND document_name IS NULL");
        return rows[0].n === 3;
      }, 20_000, 'the texts sent');
      await waitUntil(() => client.sendCalls.filter((c) => c.media).length >= 2, 10_000, 'both workbooks tried');
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(client.sendCalls.filter((c) => c.media).every((c) => c.outcome === 't: t'), 'every workbook send throws t: t');
      assert.equal(client.created.filter((m) => m.hasMedia).length, 0, 'no workbook reached a group');
      assert.deepEqual(client.chatStates, [], 'no typing: the chat look-up throws r: r');
      const { rows } = await db.pool.query("SELECT id, confirmation, last_error FROM wa_outbox WHERE document_name IS NOT NULL AND status = 'sent'");
      assert.ok(rows.every((r) => r.confirmation === 'awaiting' && /t: t; the chat could not be read/.test(r.last_error)), JSON.stringify(rows));

      // The look into the chat that could not be made is kept, and shown by the API and the dashboard.
      const id = rows[0].id as number;
      const detail = async () => (await fetch(`${app.http!.url}/api/messages/${id}`, { headers: { 'x-api-key': API_KEY } })).json();
      await waitUntil(async () => (await detail()).handOvers?.[0]?.chatCheck?.result === 'unreadable', 5000, 'the failed look recorded');
      const shown = await detail();
      assert.equal(shown.handOvers.length, 1);
      assert.equal(shown.handOvers[0].outcome, 'unknown');
      assert.match(shown.handOvers[0].chatCheck.error, /r: r/);
      const sessions = await (await fetch(`${app.http!.url}/api/sessions`, { headers: { 'x-api-key': API_KEY } })).json();
      assert.equal(sessions.sessions[0].pageFix.state, 'off');
      if (CHROMIUM) {
        const { browser, page, errors } = await dashboard(app.http!.url!, 'sesi');
        try {
          await page.waitForSelector('#session-page-fix');
          assert.match((await page.textContent('#session-page-fix'))!, /^Perbaikan halaman WhatsApp Web: dimatikan \(WA_PAGE_FIX=false\)/);
          await page.evaluate(() => (location.hash = 'pesan'));
          await page.waitForFunction(() => document.body.dataset.loaded === 'pesan');
          await page.click(`tr:has(td:text-is("${id}")) button.secondary`);
          await page.waitForSelector(`#hand-overs-${id} [data-check="unreadable"]`);
          assert.match((await page.textContent(`#hand-overs-${id}`))!, /belum diketahui .*Dicek di chat .*: chat tidak terbaca: belum diputuskan — .*r: r/s);
          assert.deepEqual(errors, []);
        } finally {
          await browser.close();
        }
      }
    } finally {
      await app.stop();
    }
  });
});

describe('a send that throws is settled from the chat at once (stand-in client)', () => {
  let db: TestDatabase;
  const stops: Array<() => Promise<void>> = [];
  before(async () => {
    db = await createTestDatabase('wa_web_thrown', { migrated: true });
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await db.pool.query('DELETE FROM wa_outbox');
  });
  after(async () => db.drop());

  // The unit groups have messages from before: their history shows whether it reaches back past a hand-over.
  const received = [{ chatId: GROUP_A, body: 'Siap' }, { chatId: GROUP_B, body: 'Siap' }];

  async function gateway(behaviour: StandInBehaviour, dispatch: Partial<Config['dispatch']> = {}) {
    const { transport, client, close } = await readyStandIn({ received, ...behaviour }, { logger: silentLogger(), authProfile: 'thrown' });
    const dispatcher = new SessionDelivery({ pool: db.pool, transport, logger: silentLogger(), dispatch: fastDispatch({ settleGraceMs: 300, ...dispatch }), defaultCountryCode: '62', instanceId: 'thrown-test', confirmSettleMs: 100 });
    dispatcher.start();
    stops.push(async () => {
      await dispatcher.stop();
      await close();
    });
    return { client, dispatcher };
  }

  const document = { fileName: 'rekap-mingguan.xlsx', mimeType: XLSX, bytes: Buffer.from('PK rekap') };

  it('a media send the page refuses before taking it (t: t) is a failure before the hand-over: retried, sent once, never awaiting confirmation', async () => {
    const { client, dispatcher } = await gateway({ pageError: (send) => (send === 1 ? { letter: 't', when: 'before' } : null) });
    await enqueue(db.pool, [{ recipient: GROUP_A, content: 'Rekap mingguan', type: 'weekly_report', document }]);
    dispatcher.trigger('test');
    const seen = new Set<string>();
    await waitUntil(async () => {
      const { rows } = await db.pool.query('SELECT status, confirmation FROM wa_outbox');
      seen.add(`${rows[0].status}/${rows[0].confirmation ?? '-'}`);
      return rows[0].confirmation === 'confirmed';
    }, 10_000, 'sent and confirmed');
    assert.ok(![...seen].some((s) => s.endsWith('/awaiting')), `never awaiting confirmation: ${[...seen].join(', ')}`);
    assert.deepEqual(client.sendCalls.map((c) => c.outcome), ['t: t', 'taken'], 'tried twice, taken once');
    assert.equal(client.totalHandOvers, 1);
    const { rows } = await db.pool.query('SELECT outcome, reason FROM wa_outbox_sends ORDER BY id');
    assert.equal(rows.length, 2);
    assert.equal(rows[0].outcome, 'failed');
    assert.match(rows[0].reason, /^not_taken: t: t \(checked in the chat: WhatsApp Web did not take the message/);
    assert.equal(rows[1].outcome, 'confirmed');
    const { rows: row } = await db.pool.query('SELECT attempts FROM wa_outbox');
    assert.equal(row[0].attempts, 2);
  });

  it('an error thrown after the page took the message: found in the chat, confirmed, never sent again', async () => {
    const { client, dispatcher } = await gateway({ pageError: (send) => (send === 1 ? { letter: 'n', when: 'after' } : null), createAfterMs: null });
    await enqueue(db.pool, [{ recipient: GROUP_B, content: 'Rekap mingguan', type: 'weekly_report', document }]);
    dispatcher.trigger('test');
    await waitUntil(async () => (await db.pool.query('SELECT confirmation FROM wa_outbox')).rows[0].confirmation === 'confirmed', 10_000, 'confirmed');
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(client.totalHandOvers, 1, 'taken once');
    assert.equal(client.sendCalls.length, 1, 'never sent again');
    const { rows } = await db.pool.query('SELECT outcome, wa_message_id, reason FROM wa_outbox_sends');
    assert.equal(rows.length, 1);
    assert.equal(rows[0].outcome, 'confirmed');
    assert.equal(rows[0].wa_message_id, client.created[0]!.id.$1);
    assert.match(rows[0].reason, /n: n; the message is in the chat/);
  });

  it('a chat whose history does not reach back past the hand-over: the thrown send stays unknown, never sent again on a guess', async () => {
    const NEW_GROUP = '120363000000000009@g.us'; // nothing in it before: no evidence either way
    const { client, dispatcher } = await gateway({ pageError: (send) => (send === 1 ? { letter: 't', when: 'before' } : null) });
    await enqueue(db.pool, [{ recipient: NEW_GROUP, content: 'Rekap mingguan', type: 'weekly_report', document }]);
    dispatcher.trigger('test');
    await waitUntil(async () => (await db.pool.query('SELECT confirmation FROM wa_outbox')).rows[0].confirmation === 'awaiting', 10_000, 'awaiting confirmation');
    await waitUntil(async () => (await db.pool.query('SELECT chat_check FROM wa_outbox_sends')).rows[0].chat_check?.result === 'not_far_enough', 5000, 'looked at, left open');
    assert.equal(client.sendCalls.length, 1, 'not sent again');
    const { rows } = await db.pool.query('SELECT outcome, reason FROM wa_outbox_sends');
    assert.equal(rows[0].outcome, 'unknown');
    assert.match(rows[0].reason, /t: t; not among the chat's last 0 own messages, which do not show its history back to the hand-over/);
  });

  it('a send still running after its timeout is not settled from the chat until it answers: taken once, confirmed', async () => {
    // The page takes the message 1.5 s after the call; the dispatcher gives up waiting after 0.5 s.
    const { client, dispatcher } = await gateway({ takeAfterMs: 1500, createAfterMs: null }, { sendTimeoutMs: 500, confirmTimeoutMs: 60_000 });
    await enqueue(db.pool, [{ recipient: GROUP_A, content: 'Rekap harian Polres A', type: 'daily_report' }]);
    dispatcher.trigger('test');
    await waitUntil(async () => (await db.pool.query('SELECT confirmation FROM wa_outbox')).rows[0]?.confirmation === 'confirmed', 10_000, 'confirmed');
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(client.totalHandOvers, 1, 'taken once: the chat was not read while the send was running');
    const { rows } = await db.pool.query('SELECT outcome FROM wa_outbox_sends');
    assert.deepEqual(rows.map((r) => r.outcome), ['confirmed']);
  });
});
