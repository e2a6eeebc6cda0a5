/// <reference lib="dom" />
/**
 * The operator dashboard in a real browser: Debian's Chromium driven by playwright-core, against the
 * service (real PostgreSQL, real HTTP on loopback) with the fake transport standing in for WhatsApp and
 * emitting QR codes as WhatsApp Web does. Every page is photographed at both sizes; the pictures are
 * written only when CICERO_WA_SCREENSHOTS names a directory: `npm run screenshots` sets it to
 * docs/screenshots/ (the README's), `npm test` does not, so a test run leaves the tree as it was.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { seedDemo } from '../src/features/rekap/demo/seed.js';
import { systemClock } from '../src/lib/clock.js';
import { formatZoned } from '../src/lib/zoned-time.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

const API_KEY = 'dashboard-full-key-5d1e9a7c';
const READ_KEY = 'dashboard-read-key-8b2f4c6e';
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = process.env.CICERO_WA_SCREENSHOTS || null;
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

describe('operator dashboard (Chromium through playwright-core; fake transport as the stand-in WhatsApp)', { skip: !existsSync(CHROMIUM) && 'no /usr/bin/chromium (apt-get install -y chromium)' }, () => {
  let db: TestDatabase;
  let app: App;
  let transport: FakeTransport;
  let browser: Browser;
  let base: string;
  let context: BrowserContext;
  let page: Page;

  const signIn = async (ctx: BrowserContext, key: string): Promise<Page> => {
    const p = await ctx.newPage();
    await p.goto(`${base}/dashboard`);
    await p.fill('#key', key);
    await p.click('#signin button[type=submit]');
    await p.waitForSelector('nav.tabs');
    return p;
  };
  const open = async (p: Page, tab: string) => {
    await p.evaluate((t) => (location.hash = t), tab);
    await p.waitForFunction((t) => document.body.dataset.loaded === t, tab);
  };
  const statusOf = (p: Page, id: number) => p.locator(`tr:has(button[data-cancel="${id}"]), tr:has(button[data-retry="${id}"]), tr:has(td:text-is("${id}"))`).first().locator('[data-status]').getAttribute('data-status');
  const shoot = async (p: Page, name: string) => {
    for (const [label, size] of Object.entries(VIEWPORTS)) {
      await p.setViewportSize(size);
      await p.waitForTimeout(150);
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} at ${size.width} px scrolls sideways by ${overflow} px`);
      await p.screenshot({ fullPage: true, ...(SHOTS ? { path: path.join(SHOTS, `${name}-${label}.png`) } : {}) });
    }
    await p.setViewportSize(VIEWPORTS.desktop);
  };

  before(async () => {
    db = await createTestDatabase('dashboard', { migrated: true });
    if (SHOTS) await fs.mkdir(SHOTS, { recursive: true });
    const off = { DAILY_REPORT_CRON: 'off', WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off', COMPLAINT_RESPONSE_CRON: 'off' };
    const config = parseConfig(
      { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_QUIET_HOURS: 'off', WA_TYPING_MAX_MS: '0', WA_COLD_GAP_SECONDS: '0-0', HTTP_PORT: '0', API_KEY, API_READ_KEY: READ_KEY, WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0', ...off },
      testCwd(),
    );
    transport = new FakeTransport({ ready: false, number: '6281234567890' });
    app = await startApp(config, pino({ level: 'silent' }), {
      transport,
      drawQr: null,
      maxAuthFailures: 1000,
      prepare: async (database) => void (await seedDemo(database.pool, systemClock, config.cron.timezone)),
    });
    base = app.http!.url!;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    context = await browser.newContext({ viewport: VIEWPORTS.desktop, locale: 'id-ID' });
    context.on('dialog', (d) => void d.accept());
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await db?.drop();
  });

  it('a wrong key shows an error and sets no cookie', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(`${base}/dashboard`);
    await shoot(p, 'masuk');
    await p.fill('#key', 'not-the-key-000000');
    await p.click('#signin button[type=submit]');
    await p.waitForFunction(() => (document.getElementById('signin-error')?.textContent ?? '') !== '');
    assert.match(await p.textContent('#signin-error') ?? '', /Kunci tidak valid/);
    assert.deepEqual(await ctx.cookies(), []);
    await ctx.close();
  });

  it('signs in; shows the stand-in\'s QR, the rotated one without a reload, then ready with the number', async () => {
    transport.emitPairing({ kind: 'qr', qr: '2@stand-in-qr-one,AAAA', at: new Date() });
    page = await signIn(context, API_KEY);
    const cookie = (await context.cookies()).find((c) => c.name === 'cicero_wa_signin');
    assert.ok(cookie?.httpOnly, 'HttpOnly');
    assert.equal(cookie?.sameSite, 'Strict');
    assert.ok(cookie!.expires > Date.now() / 1000, 'expires');
    await open(page, 'sesi');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const first = await page.getAttribute('#qr', 'data-issued');
    assert.ok(first);
    assert.match(await page.textContent('main') ?? '', /Perangkat tertaut/);
    const png = await page.evaluate(async () => (await fetch((document.getElementById('qr') as HTMLImageElement).src)).headers.get('content-type'));
    assert.equal(png, 'image/png');
    await shoot(page, 'sesi-qr');
    await new Promise((r) => setTimeout(r, 50));
    transport.emitPairing({ kind: 'qr', qr: '2@stand-in-qr-two,BBBB', at: new Date() });
    await page.waitForFunction((old) => document.getElementById('qr')?.getAttribute('data-issued') !== old, first, { timeout: 10_000 });
    transport.emitPairing({ kind: 'paired', at: new Date() });
    await page.waitForSelector('#session-number', { timeout: 10_000 });
    assert.match(await page.textContent('#session-number') ?? '', /6281234567890/);
    assert.match(await page.textContent('main') ?? '', /siap/);
    assert.equal(await page.evaluate(() => (window as unknown as { marker: number }).marker), 42, 'no reload');
    // The ban-risk guard: sending, its risk score and the warm-up of a newly paired number.
    await page.waitForSelector('#session-guard', { timeout: 10_000 });
    assert.match(await page.textContent('#session-guard') ?? '', /mengirim[\s\S]*Skor risiko: 0 \(rendah\)[\s\S]*Pemanasan: hari ke-1[\s\S]*Batas 24 jam 20/);
    // Per number: the budgets left (the warm-up's first day: 20 in 24 hours) and the messages waiting.
    assert.match(await page.textContent('#session-budgets') ?? '', /^Sisa batas kirim: menit ini \d+\/8 · jam ini \d+\/120 · 24 jam \d+\/20$/);
    assert.match(await page.textContent('#session-waiting') ?? '', /^Pesan menunggu: \d+ \(sedang dikirim \d+\)/);
    await shoot(page, 'sesi');
    // A number known only from the database (rows and governor records of "admin"): its own card, with its own risk, budgets and waiting messages.
    await db.pool.query("INSERT INTO wa_session_guard (session, warmup_started_at, risk_score, risk_level) VALUES ('admin', now() - interval '10 days', 30, 'medium')");
    await db.pool.query("INSERT INTO wa_governor_sends (session, at, chat_id, personal, cold, text_sha256) SELECT 'admin', now() - interval '5 minutes', '6281200000001@c.us', true, false, 'x' FROM generate_series(1, 3)");
    await db.pool.query(
      `INSERT INTO wa_outbox (recipient, content, type, session, next_attempt_at, deferred_until, deferred_reason)
       SELECT '081200000001', 'Uji', 'manual', 'admin', now() + interval '1 hour', now() + interval '1 hour', '120 messages in an hour (WA_BUDGET_PER_HOUR) reached' FROM generate_series(1, 2)`,
    );
    try {
      const admin = page.locator('.other-session[data-session="admin"]');
      await admin.waitFor({ timeout: 10_000 });
      const text = (await admin.textContent()) ?? '';
      assert.match(text, /tidak berjalan.*tidak ada proses yang menjalankannya sekarang/);
      assert.match(text, /Skor risiko: 30 \(sedang\) · Pemanasan: selesai/);
      assert.match(text, /Sisa batas kirim: menit ini 8\/8 · jam ini 117\/120 · 24 jam 997\/1000/);
      assert.match(text, /Pesan menunggu: 2 \(sedang dikirim 0\) · ditahan pengaman nomor 2: batas pesan per jam tercapai \(WA_BUDGET_PER_HOUR\) 2/);
    } finally {
      await db.pool.query("DELETE FROM wa_outbox WHERE session = 'admin'");
      await db.pool.query("DELETE FROM wa_governor_sends WHERE session = 'admin'");
      await db.pool.query("DELETE FROM wa_session_guard WHERE session = 'admin'");
    }
    await page.click('#pause-session');
    await page.waitForSelector('#resume-session', { timeout: 10_000 });
    assert.match(await page.textContent('#session-guard') ?? '', /dijeda \(oleh operator\)/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /cicero_wa_session_paused\{session="default",kind="operator"\} 1/, 'the pause in /metrics');
    assert.match(metrics, /cicero_wa_session_risk_score\{session="default"\} 0/);
    await page.click('#resume-session');
    await page.waitForSelector('#pause-session', { timeout: 10_000 });
  });

  it('messages inserted seed-style appear on Hari ini and Pesan and move to sent without a reload', async () => {
    transport.setReady(false, 'stand-in: paused');
    const { rows } = await db.pool.query(
      "INSERT INTO wa_outbox (recipient, content, type) SELECT '08120000000' || g, 'Laporan uji ' || g, 'seed_style' FROM generate_series(1, 3) g RETURNING id",
    );
    const ids = rows.map((r) => r.id as number);
    await open(page, 'hari-ini');
    await page.waitForFunction(() => /seed_style/.test(document.getElementById('today-table')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await open(page, 'pesan');
    await page.waitForFunction((id) => document.querySelector(`button[data-cancel="${id}"]`) !== null, ids[0], { timeout: 10_000 });
    assert.equal(await statusOf(page, ids[0]!), 'pending');
    transport.setReady(true);
    await page.waitForFunction((all) => all.every((id) => {
      const row = Array.from(document.querySelectorAll("tr")).find((tr) => tr.querySelector('td[data-label="ID"]')?.textContent === String(id));
      return row?.querySelector('[data-status]')?.getAttribute('data-status') === 'sent';
    }), ids, { timeout: 15_000 });
    await open(page, 'hari-ini');
    await page.waitForFunction(() => /seed_style\s*3\s*3/.test(document.getElementById('today-table')?.textContent?.replace(/\s+/g, ' ') ?? ''), undefined, { timeout: 10_000 });
    await shoot(page, 'hari-ini');
  });

  it('a failed message is named in words on Hari ini, retried from the page and sent; a pending one is cancelled', async () => {
    // Failed as the service fails a row: its reason and its failure code.
    const failed = (await db.pool.query("INSERT INTO wa_outbox (recipient, content, type, status, last_error, failure_code) VALUES ('081200000009', 'Gagal tadi', 'manual', 'failed', 'not_on_whatsapp: test', 'not_on_whatsapp') RETURNING id")).rows[0].id as number;
    const later = (await db.pool.query("INSERT INTO wa_outbox (recipient, content, type, next_attempt_at) VALUES ('081200000010', 'Nanti saja', 'manual', now() + interval '1 day') RETURNING id")).rows[0].id as number;
    // Hari ini names the failure in words, its code beside it.
    await open(page, 'hari-ini');
    await page.waitForFunction(() => /nomor tidak terdaftar di WhatsApp\s*not_on_whatsapp/.test(document.querySelector('main#view')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await open(page, 'pesan');
    await page.waitForSelector(`button[data-retry="${failed}"]`, { timeout: 10_000 });
    await shoot(page, 'pesan');
    await page.click(`button[data-retry="${failed}"]`);
    await waitUntil(async () => (await db.pool.query('SELECT status FROM wa_outbox WHERE id = $1', [failed])).rows[0].status === 'sent', 15_000, 'the retried message sent');
    await page.click(`button[data-cancel="${later}"]`);
    await waitUntil(async () => (await db.pool.query('SELECT status FROM wa_outbox WHERE id = $1', [later])).rows[0].status === 'cancelled', 10_000, 'the pending message cancelled');
    // Its text, whole.
    await page.waitForSelector(`button[data-retry="${later}"]`, { timeout: 10_000 });
  });

  it('"Jalankan sekarang" on the daily report for a date enqueues that day\'s recaps', async () => {
    const today = formatZoned(new Date(), 'Asia/Jakarta', { zone: false }).slice(0, 10);
    await open(page, 'jadwal');
    await page.fill('input[data-date-for="daily-report"]', today);
    await page.click('button[data-run="daily-report"]');
    await page.waitForFunction(() => /Selesai: berhasil/.test(document.querySelector('[data-result-for="daily-report"]')?.textContent ?? ''), undefined, { timeout: 30_000 });
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE type = 'daily-report' AND dedup_key LIKE '%' || $1 || '%'", [today]);
    assert.ok(rows[0].n > 0, `daily recaps for ${today} enqueued`);
    await shoot(page, 'jadwal');
    await db.pool.query("INSERT INTO complaint_queue (complainant, response_template, status, failure_reason) VALUES ('081234567890', 'generic', 'failed', 'invalid_recipient: test')");
    await open(page, 'komplain');
    await page.waitForSelector('button[data-retry-complaint]');
    await shoot(page, 'komplain');
  });

  it('incoming messages and webhook deliveries appear on "Pesan masuk"', async () => {
    // A complaint is taken for an NRP the personnel table knows.
    await db.pool.query(`INSERT INTO "user" (user_id, nama, title, whatsapp) VALUES ('98010101', 'Sari', 'BRIPDA', '081234500001') ON CONFLICT (user_id) DO NOTHING`);
    transport.emitInbound({
      messageId: 'false_6281234500001@c.us_IN1', chatId: '6281234500001@c.us', isGroup: false, senderId: '6281234500001@c.us', senderPhone: '6281234500001@c.us',
      senderLid: null, senderName: 'Bripda Sari', body: 'Pesan Komplain\nNRP : 98010101\nNama : Sari\nKendala\n- Instagram belum terdata', sentAt: new Date(), media: null, isStatus: false,
    });
    await open(page, 'pesan-masuk');
    await page.waitForFunction(() => /komplain dicatat/.test(document.getElementById('inbox-table')?.textContent ?? ''), undefined, { timeout: 10_000 });
    assert.match(await page.textContent('#inbox-table') ?? '', /Bripda Sari/);
    await shoot(page, 'pesan-masuk');
  });

  it('a read-key session sees no action buttons; a forged POST without the CSRF token is refused', async () => {
    const readContext = await browser.newContext({ viewport: VIEWPORTS.desktop });
    const reader = await signIn(readContext, READ_KEY);
    await open(reader, 'pesan');
    await reader.waitForSelector('tr [data-status]');
    assert.equal(await reader.locator('button[data-retry], button[data-cancel], #retry-selected').count(), 0);
    await open(reader, 'jadwal');
    assert.equal(await reader.locator('button[data-run]').count(), 0);
    const refusedRead = await reader.evaluate(async () => (await fetch('/api/messages/1/retry', { method: 'POST', headers: { 'x-csrf-token': document.body.dataset.csrf ?? '' } })).status);
    assert.equal(refusedRead, 403);
    await readContext.close();

    const forged = await page.evaluate(async () => {
      const r = await fetch('/api/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recipient: '081234567890', text: 'palsu' }) });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(forged.status, 403);
    assert.equal(forged.body.error, 'csrf');
  });

  it('after sign-out, pages and the API refuse the old session', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'cicero_wa_signin')!;
    await page.click('#sign-out');
    await page.waitForSelector('#signin');
    const api = await fetch(`${base}/api/summary`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
    assert.equal(api.status, 401);
    const pageAgain = await fetch(`${base}/dashboard`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
    assert.match(await pageAgain.text(), /data-view="signin"/);
  });
});
