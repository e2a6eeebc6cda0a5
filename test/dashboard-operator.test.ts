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
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { seedDemo } from '../src/features/rekap/demo/seed.js';
import { systemClock } from '../src/lib/clock.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const CHROMIUM = '/usr/bin/chromium';
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const PAGES = ['hari-ini', 'sesi', 'pesan', 'pesan-masuk', 'jadwal', 'komplain'];
const OFF = { DAILY_REPORT_CRON: 'off', WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off', COMPLAINT_RESPONSE_CRON: 'off' };

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

  before(async () => {
    db = await createTestDatabase('dashboard_operator', { migrated: true });
    const config = parseConfig(
      { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', HTTP_PORT: '0', WA_TYPING_MAX_MS: '0', WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0', ...OFF },
      '/tmp',
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
});
