/// <reference lib="dom" />
/**
 * The dashboard as an Indonesian operator meets it in the evening: every page in both languages without
 * a script error, a waiting message that says why and until when, words instead of raw codes, and an
 * unreachable WhatsApp Web explained. Debian's Chromium through playwright-core, against the service
 * (real PostgreSQL, real HTTP on loopback); WhatsApp is the fake transport, or the WhatsApp Web
 * transport on a stand-in client.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { seedDemo } from '../src/features/rekap/demo/seed.js';
import { systemClock } from '../src/lib/clock.js';
import { formatZoned, zonedParts } from '../src/lib/zoned-time.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { WhatsAppWebTransport } from '../src/whatsapp/wwebjs/transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { TodaysWhatsAppWebStandIn } from './helpers/wa-standin.js';
import { tempDir, testCwd } from './helpers/temp-dirs.js';

const CHROMIUM = '/usr/bin/chromium';
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const PAGES = ['hari-ini', 'sesi', 'pesan', 'pesan-masuk', 'jadwal', 'komplain'];
const OFF = { WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off', COMPLAINT_RESPONSE_CRON: 'off', CRON_CATCHUP_HOURS: '0' };
const ZONE = 'Asia/Jakarta';
const SLEMAN_GROUP = '120363000000000101@g.us'; // the demo unit Polres Sleman's group (clients.client_group)

/** Quiet hours around now in WIB: from the hour before to two hours on ("HH:00-HH:00"), and when they end. */
function quietHoursNow(): { setting: string; endHour: string } {
  const hour = zonedParts(new Date(), ZONE).hour;
  const h = (n: number) => String((n + 24) % 24).padStart(2, '0');
  return { setting: `${h(hour - 1)}:00-${h(hour + 2)}:00`, endHour: h(hour + 2) };
}

interface MessageJson {
  id: number;
  status: string;
  recipientName: string | null;
  session: string | null;
  heldBack: { kind: string; scope: string; until: string | null; untilLocal: string | null; reason: string } | null;
}

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/** A page whose console errors and uncaught exceptions are collected. */
async function watchedPage(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { page, errors };
}

async function open(page: Page, tab: string): Promise<void> {
  await page.evaluate((t) => (location.hash = t), tab);
  await page.waitForFunction((t) => document.body.dataset.loaded === t, tab);
}

/** The view drawn: a card with something in it. */
async function drawn(page: Page, tab: string): Promise<void> {
  await page.waitForFunction(
    (t) => document.body.dataset.loaded === t && (document.querySelector('main#view section.card')?.textContent ?? '').trim().length > 0,
    tab,
    { timeout: 10_000 },
  );
}

describe('the dashboard in the evening (Chromium through playwright-core)', { skip: !existsSync(CHROMIUM) && 'no /usr/bin/chromium (apt-get install -y chromium)' }, () => {
  let db: TestDatabase;
  let app: App;
  let browser: Browser;
  let base: string;
  const quiet = quietHoursNow();
  const api = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${base}${route}`, { method, headers: method === 'GET' ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    assert.ok(r.ok, `${method} ${route}: ${r.status} ${await r.clone().text()}`);
    return (await r.json()) as T;
  };
  const message = (id: number) => api<MessageJson>('GET', `/api/messages/${id}`);
  const send = async (recipient: string, text: string) => (await api<{ id: number }>('POST', '/api/messages', { recipient, text })).id;

  before(async () => {
    db = await createTestDatabase('dashboard_operator', { migrated: true });
    const config = parseConfig(
      { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', HTTP_PORT: '0', WA_TYPING_MAX_MS: '0', WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0', WA_QUIET_HOURS: quiet.setting, WA_WARMUP: 'off', ...OFF },
      testCwd(),
    );
    app = await startApp(config, pino({ level: 'silent' }), {
      transport: new FakeTransport({ ready: true, number: '6281234567890' }),
      drawQr: null,
      prepare: async (database) => void (await seedDemo(database.pool, systemClock, config.cron.timezone)),
    });
    base = app.http!.url!;
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await db?.drop();
  });

  for (const [label, viewport] of Object.entries(VIEWPORTS)) {
    it(`at ${viewport.width}×${viewport.height} (${label}) every page switches between Bahasa Indonesia and English and back, drawn, without a script error`, async () => {
      const context = await browser.newContext({ viewport, locale: 'id-ID' });
      // No periodic refresh (the page believes itself hidden): what is drawn after a switch is the switch's own doing.
      await context.addInitScript({ content: "Object.defineProperty(document, 'hidden', { get: function () { return true; } });" });
      const { page, errors } = await watchedPage(context);
      await page.goto(`${base}/dashboard`);
      await page.waitForSelector('nav.tabs');
      const inLanguage = async (tab: string, lang: string) => {
        await page.waitForFunction((l) => document.documentElement.lang === l, lang);
        await drawn(page, tab);
        assert.match(await page.textContent('nav.tabs') ?? '', lang === 'en' ? /Today/ : /Hari ini/, `${tab}: the menu in ${lang}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${tab} in ${lang} at ${viewport.width} px scrolls sideways by ${overflow} px`);
      };
      for (const tab of PAGES) {
        await open(page, tab);
        await drawn(page, tab);
        await page.click('#lang');
        await inLanguage(tab, 'en');
        await page.click('#lang');
        await inLanguage(tab, 'id');
        // Twice in a row, the second while the first one's page is still reading the API.
        let release: () => void = () => undefined;
        const held = new Promise<void>((r) => (release = r));
        let seen: () => void = () => undefined;
        const asked = new Promise<void>((r) => (seen = r));
        await page.route('**/api/**', async (route) => {
          seen();
          await held;
          await route.continue().catch(() => undefined);
        });
        await page.click('#lang');
        await asked;
        await page.click('#lang');
        release();
        await inLanguage(tab, 'id');
        await page.unroute('**/api/**');
      }
      assert.deepEqual(errors, []);
      await context.close();
    });
  }
  it('a message held by quiet hours, by a spent hourly budget or by a pause says why and until when (WIB): GET /api/messages/{id}, its OpenAPI schema, Pesan and Hari ini', async () => {
    // A personal chat in quiet hours: the governor's answer is written on the row.
    const personal = await send('081234567001', 'Selamat malam, laporan Anda kami terima.');
    await waitUntil(async () => (await message(personal)).heldBack !== null, 10_000, 'the quiet-hours hold');
    const quietHold = (await message(personal)).heldBack!;
    assert.equal(quietHold.kind, 'quiet_hours');
    assert.equal(quietHold.scope, 'message');
    assert.match(quietHold.reason, /WA_QUIET_HOURS/);
    assert.match(quietHold.until ?? '', new RegExp(`T${quiet.endHour}:00:00\\.000\\+07:00$`));
    assert.match(quietHold.untilLocal ?? '', new RegExp(` ${quiet.endHour}:00:00 WIB$`));

    // The hour's budget spent (120 sends recorded half an hour ago): the first group message is told so;
    // the next one is not asked about, and waits for the session's hold.
    await db.pool.query(
      "INSERT INTO wa_governor_sends (session, at, chat_id, personal, cold, text_sha256) SELECT 'default', now() - interval '30 minutes', 'x@g.us', false, false, 'x' FROM generate_series(1, 120)",
    );
    const first = await send(SLEMAN_GROUP, 'Rekap uji satu');
    await waitUntil(async () => (await message(first)).heldBack?.scope === 'message', 10_000, "the budget hold written on the row");
    assert.equal((await message(first)).heldBack!.kind, 'budget_hour');
    const second = await send(SLEMAN_GROUP, 'Rekap uji dua');
    // Written without a session, it is routed at once (to the one number), then waits for that number's hold.
    await waitUntil(async () => (await message(second)).session !== null, 10_000, 'the second message routed');
    const behind = (await message(second)).heldBack;
    assert.equal(behind?.kind, 'budget_hour');
    assert.equal(behind?.scope, 'session');
    assert.match(behind?.untilLocal ?? '', /WIB$/);

    // The OpenAPI document describes it.
    const doc = await api<{ paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: { properties: Record<string, { properties: Record<string, { enum?: string[] }> }> } }> }> } }> }>('GET', '/openapi.json');
    const held = doc.paths['/api/messages/{id}']!.get.responses['200']!.content['application/json']!.schema.properties.heldBack!;
    assert.ok(held.properties.kind?.enum?.includes('quiet_hours'));
    assert.ok(held.properties.untilLocal && held.properties.scope && held.properties.reason);

    const context = await browser.newContext({ viewport: VIEWPORTS.desktop, locale: 'id-ID' });
    const { page, errors } = await watchedPage(context);
    await page.goto(`${base}/dashboard#pesan`);
    await page.waitForSelector(`[data-hold="budget_hour"]`);
    const rowText = async (id: number) => page.locator('tr', { has: page.locator(`td[data-label="ID"]:text-is("${id}")`) }).locator('[data-status]').innerText();
    assert.match(await rowText(personal), new RegExp(`menunggu\\s+ditahan: jam tenang \\(WA_QUIET_HOURS\\) sampai \\d\\d-\\d\\d-\\d{4} ${quiet.endHour}:00:00 WIB`));
    assert.match(await rowText(second), /menunggu\s+ditahan: batas pesan per jam tercapai \(WA_BUDGET_PER_HOUR\) sampai \d\d-\d\d-\d{4} \d\d:\d\d:\d\d WIB/);
    await open(page, 'hari-ini');
    await page.waitForSelector('#held [data-hold="quiet_hours"]');
    assert.match(await page.innerText('#held'), new RegExp(`1 pesan ditahan: jam tenang \\(WA_QUIET_HOURS\\) sampai \\d\\d-\\d\\d-\\d{4} ${quiet.endHour}:00:00 WIB`));
    assert.match(await page.innerText('#held'), /2 pesan ditahan: batas pesan per jam tercapai/);

    // An operator's pause: every message of the session waits until it is resumed.
    await api('POST', '/api/sessions/default/pause', { reason: 'uji' });
    const paused = await message(second);
    assert.equal(paused.heldBack?.kind, 'paused_operator');
    assert.equal(paused.heldBack?.until, null);
    await page.waitForSelector('#held [data-hold="paused_operator"]');
    assert.match(await page.innerText('#held'), /ditahan: pengiriman dijeda oleh operator sampai dilanjutkan operator/);
    await open(page, 'pesan');
    await page.waitForSelector('[data-hold="paused_operator"]');
    assert.match(await rowText(second), /pengiriman dijeda oleh operator sampai dilanjutkan operator/);
    await page.click('#lang');
    await page.waitForSelector('[data-hold="paused_operator"]');
    assert.match(await rowText(second), /pending\s+held: sending paused by an operator until an operator resumes/);
    await page.click('#lang');
    await api('POST', '/api/sessions/default/resume');
    assert.deepEqual(errors, []);
    await context.close();
  });

  it("words, not codes: statuses, jobs and schedules in Bahasa Indonesia (in English in the English view), a unit's group by the unit's name", async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop, locale: 'id-ID' });
    const { page, errors } = await watchedPage(context);
    await page.goto(`${base}/dashboard#jadwal`);
    await drawn(page, 'jadwal');
    const daily = page.locator('tr', { has: page.locator('[data-schedule="daily-report"]') });
    assert.match(await daily.locator('td').first().innerText(), /^Rekap harian\s+daily-report$/);
    assert.equal(await daily.locator('[data-schedule] > span').first().innerText(), 'Pada 07:00 WIB');
    assert.equal(await page.locator('[data-schedule="wa-gateway-poll"] > span').first().innerText(), 'Setiap 2 menit');
    assert.match(await page.getAttribute('[data-schedule="daily-report"]', 'title') ?? '', /^DAILY_REPORT_CRON=0 7 \* \* \*$/);
    await page.click('#lang');
    await page.waitForFunction(() => document.querySelector('[data-schedule="daily-report"] > span')?.textContent === 'At 07:00 WIB');
    assert.match(await daily.locator('td').first().innerText(), /^Daily recap\s+daily-report$/);
    await page.click('#lang');

    // A message to a unit's group: the unit's name, the group's id beside it; its status in words.
    const id = await send(SLEMAN_GROUP, 'Rekap uji kata');
    const m = await message(id);
    assert.equal(m.recipientName, 'Polres Sleman');
    await open(page, 'pesan');
    const row = page.locator('tr', { has: page.locator(`td[data-label="ID"]:text-is("${id}")`) });
    await row.waitFor();
    assert.match(await row.locator('td[data-label="Penerima"]').innerText(), new RegExp(`^Polres Sleman\\s+${SLEMAN_GROUP}$`));
    assert.equal(await row.locator('td[data-label="Penerima"] [title]').getAttribute('title'), SLEMAN_GROUP);
    assert.match(await row.locator('[data-status]').innerText(), /^menunggu/);
    assert.doesNotMatch(await page.innerText('#message-list'), /\bpending\b|\bsent\b/);
    assert.deepEqual(errors, []);
    await context.close();
  });

  for (const [label, viewport] of Object.entries(VIEWPORTS)) {
    it(`at ${viewport.width}×${viewport.height} (${label}) an opened message spans the table instead of one narrow column`, async () => {
      const context = await browser.newContext({ viewport, locale: 'id-ID' });
      const { page, errors } = await watchedPage(context);
      const id = await send(SLEMAN_GROUP, `Rekap harian Polres Sleman ${label}\n\n${'Instagram: 12 dari 40 personel sudah like semua konten hari ini. '.repeat(6)}`);
      await page.goto(`${base}/dashboard#pesan`);
      await page.click(`tr:has(td[data-label="ID"]:text-is("${id}")) button.secondary`);
      await page.waitForSelector(`#detail-${id}`);
      const widths = await page.evaluate((i) => ({
        detail: document.getElementById(`detail-${i}`)!.getBoundingClientRect().width,
        table: document.querySelector('#message-list .table-wrap')!.getBoundingClientRect().width,
      }), id);
      assert.ok(widths.detail >= 0.9 * widths.table, `the opened message is ${Math.round(widths.detail)} px wide in a table of ${Math.round(widths.table)} px`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `scrolls sideways by ${overflow} px`);
      assert.deepEqual(errors, []);
      await context.close();
    });
  }
});

describe('a dry run on the dashboard (WA_TRANSPORT=log)', { skip: !existsSync(CHROMIUM) && 'no /usr/bin/chromium' }, () => {
  let db: TestDatabase;
  let app: App;
  let browser: Browser;

  before(async () => {
    db = await createTestDatabase('dashboard_dry_run', { migrated: true });
    const config = parseConfig({ DATABASE_URL: db.url, WA_TRANSPORT: 'log', HTTP_PORT: '0', WA_QUIET_HOURS: 'off', WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0', ...OFF }, testCwd());
    app = await startApp(config, pino({ level: 'silent' }), { drawQr: null });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await db?.drop();
  });

  it('says so on every page and never counts a logged message as sent ("Terkirim")', async () => {
    const base = app.http!.url!;
    const r = await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recipient: '081234567002', text: 'Uji coba', type: 'manual' }) });
    const id = ((await r.json()) as { id: number }).id;
    await waitUntil(async () => (await db.pool.query('SELECT confirmation FROM wa_outbox WHERE id = $1', [id])).rows[0].confirmation === 'dry_run', 10_000, 'the dry run');
    const context = await browser.newContext({ viewport: VIEWPORTS.phone, locale: 'id-ID' });
    const { page, errors } = await watchedPage(context);
    await page.goto(`${base}/dashboard#hari-ini`);
    await drawn(page, 'hari-ini');
    assert.match(await page.innerText('#test-mode'), /MODE UJI COBA \(WA_TRANSPORT=log\)/);
    const row = page.locator('#today-table tr', { hasText: 'manual' });
    assert.equal(await row.locator('td[data-label="Terkirim"]').innerText(), '0');
    assert.equal(await row.locator('td[data-label="Uji coba"]').innerText(), '1');
    await open(page, 'pesan');
    const status = page.locator(`tr:has(td[data-label="ID"]:text-is("${id}")) [data-status]`);
    await status.waitFor();
    assert.equal(await status.innerText(), 'uji coba: tidak dikirim');
    for (const tab of PAGES) {
      await open(page, tab);
      assert.ok(await page.locator('#test-mode').isVisible(), `the test-mode banner on ${tab}`);
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('WhatsApp Web unreachable, on a number never paired (WhatsApp Web transport on a stand-in client)', { skip: !existsSync(CHROMIUM) && 'no /usr/bin/chromium' }, () => {
  let db: TestDatabase;
  let app: App;
  let browser: Browser;
  let authDir: string;

  before(async () => {
    db = await createTestDatabase('dashboard_unreachable', { migrated: true });
    authDir = await tempDir('cicero-wa-unreachable-');
    const config = parseConfig({ DATABASE_URL: db.url, HTTP_PORT: '0', ...OFF }, testCwd());
    const logger = pino({ level: 'silent' });
    // Chromium cannot resolve web.whatsapp.com: each start fails as whatsapp-web.js reports it.
    const transport = new WhatsAppWebTransport({
      authPath: path.join(authDir, 'wa-auth'), authProfile: 'unreachable', chromiumPath: process.execPath, puppeteerArgs: [], pairPhone: null,
      readyTimeoutMs: 600_000, reconnectBaseMs: 60_000, reconnectMaxMs: 300_000, logger,
      clientFactory: (settings) => {
        const client = new TodaysWhatsAppWebStandIn(settings);
        client.initialize = async () => {
          throw new Error('net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/');
        };
        return client;
      },
    });
    app = await startApp(config, logger, { transport, drawQr: null });
    await waitUntil(() => transport.status().state === 'reconnecting', 10_000, 'the first failed start');
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await db?.drop();
    await rm(authDir, { recursive: true, force: true });
  });

  for (const [label, viewport] of Object.entries(VIEWPORTS)) {
    it(`at ${viewport.width}×${viewport.height} (${label}) Sesi WhatsApp and Hari ini explain it in Bahasa Indonesia, the next try as a clock time in WIB, the raw detail folded away; no "mengirim", no logout (the API refuses it too)`, async () => {
      const base = app.http!.url!;
      const session = ((await (await fetch(`${base}/api/sessions`)).json()) as { sessions: Array<{ name: string; paired: boolean; reason: string; problem: { cause: string; nextTryAt: string; nextTryLocal: string } }> }).sessions[0]!;
      assert.equal(session.paired, false);
      const logout = await fetch(`${base}/api/sessions/${session.name}/logout`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(logout.status, 409, 'nothing to log out on a number never paired');
      assert.match(((await logout.json()) as { message: string }).message, /no number is paired on session "default": nothing to log out/);
      assert.equal(session.problem.cause, 'dns');
      const nextTry = formatZoned(new Date(session.problem.nextTryAt), ZONE, { timeOnly: true });
      assert.equal(session.problem.nextTryLocal.slice(-12), nextTry);
      const context = await browser.newContext({ viewport, locale: 'id-ID' });
      const { page, errors } = await watchedPage(context);
      await page.goto(`${base}/dashboard#sesi`);
      await page.waitForSelector('#whatsapp-problem');
      const problem = page.locator('#whatsapp-problem');
      assert.match(await problem.innerText(), /WhatsApp Web tidak dapat dijangkau dari server ini \(jaringan\/DNS\)/);
      assert.equal(await page.innerText('#next-try'), `Percobaan berikutnya pukul ${nextTry}`);
      assert.match(nextTry, /^\d\d:\d\d:\d\d WIB$/);
      // The transport's own words: there, folded.
      assert.ok(!(await page.locator('#whatsapp-problem details code').isVisible()), 'the raw detail is folded');
      assert.equal(await page.locator('#whatsapp-problem details code').textContent(), session.reason);
      assert.doesNotMatch(await page.innerText('main'), /next try in|initialisation failed/);
      assert.match(await page.innerText('#session-guard'), /belum ditautkan/);
      assert.doesNotMatch(await page.innerText('#session-guard'), /mengirim/);
      assert.equal(await page.locator('#logout-session').count(), 0);
      await open(page, 'hari-ini');
      await page.waitForSelector('#whatsapp-problem');
      assert.match(await page.innerText('#whatsapp-problem'), /tidak dapat dijangkau dari server ini \(jaringan\/DNS\)[\s\S]*Percobaan berikutnya pukul \d\d:\d\d:\d\d WIB/);
      assert.doesNotMatch(await page.innerText('main'), /next try in/);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `scrolls sideways by ${overflow} px`);
      assert.deepEqual(errors, []);
      await context.close();
    });
  }
});
