/// <reference lib="dom" />
/**
 * Pairing a second number from the dashboard, in a real browser (Debian's Chromium through
 * playwright-core) against the service on real PostgreSQL and real HTTP: "Tambah nomor" registers it,
 * the service starts its runtime at once (wa_sessions notifies), the stand-in WhatsApp of that number
 * shows a QR code as WhatsApp Web does after launch, and once scanned the number turns ready, with its
 * state and paired number kept in wa_sessions. The first number keeps sending all along.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

const API_KEY = 'second-number-full-key-7c1d2e9f';
const CHROMIUM = '/usr/bin/chromium';

/** A number's stand-in WhatsApp Web: not paired, it shows a QR code as soon as it has started. */
class UnpairedStandIn extends FakeTransport {
  constructor(readonly qrText: string, number: string) {
    super({ ready: false, number });
  }

  override async start(): Promise<void> {
    await super.start();
    this.emitPairing({ kind: 'qr', qr: this.qrText, at: new Date() });
  }
}

describe('a second number paired from the dashboard (Chromium; stand-in WhatsApp Web per number)', { skip: !existsSync(CHROMIUM) && 'no /usr/bin/chromium (apt-get install -y chromium)' }, () => {
  let db: TestDatabase;
  let app: App;
  let browser: Browser;
  let page: Page;
  const standIns = new Map<string, UnpairedStandIn>();

  before(async () => {
    db = await createTestDatabase('second_number', { migrated: true });
    // Cicero_V2's units: Polres A's group is the admin number's; Polres Z's group is no number's.
    await loadCiceroTables(db.pool);
    await db.pool.query(`INSERT INTO clients (client_id, nama, client_type, client_group) VALUES ('POLRES_Z', 'Polres Z', 'org', '120363000000000099@g.us')`);
    const off = { DAILY_REPORT_CRON: 'off', WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off', COMPLAINT_RESPONSE_CRON: 'off' };
    const config = parseConfig(
      { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', HTTP_PORT: '0', API_KEY, WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0', ...off },
      testCwd(),
    );
    const first = new FakeTransport({ number: '6281100000001' });
    first.setGroups([{ chatId: '120363000000000050@g.us', name: 'Grup lain', member: true, admin: false, adminsOnly: false }]);
    app = await startApp(config, pino({ level: 'silent' }), {
      transport: first,
      transports: (session) => {
        const standIn = new UnpairedStandIn(`2@stand-in-qr-${session.name},CCCC`, '6281100000002');
        // The admin number is in two unit groups, admin of one; the other lets only admins write.
        standIn.setGroups([
          { chatId: '120363000000000001@g.us', name: 'Polres A', member: true, admin: true, adminsOnly: false },
          { chatId: '120363000000000002@g.us', name: 'Polres B', member: true, admin: false, adminsOnly: true },
        ]);
        standIns.set(session.name, standIn);
        return standIn;
      },
      drawQr: null,
      maxAuthFailures: 1000,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    const context = await browser.newContext({ locale: 'id-ID' });
    context.on('dialog', (d) => void d.accept());
    page = await context.newPage();
    await page.goto(`${app.http!.url}/dashboard`);
    await page.fill('#key', API_KEY);
    await page.click('#signin button[type=submit]');
    await page.waitForSelector('nav.tabs');
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await db?.drop();
  });

  it('"Tambah nomor" adds it, its own QR code appears, and it turns ready; the first number is untouched', async () => {
    await page.evaluate(() => (location.hash = 'sesi'));
    await page.waitForSelector('#add-number');
    assert.match((await page.textContent('main')) ?? '', /Tambah nomor/);
    // Only the first number so far, ready.
    await page.waitForSelector('#session-number');
    assert.equal(await page.locator('#qr-admin').count(), 0);

    await page.fill('#new-number-name', 'admin');
    await page.fill('#new-number-label', 'Nomor admin');
    await page.click('#add-number button[type=submit]');
    await page.waitForFunction(() => /ditambahkan/.test(document.getElementById('new-number-result')?.textContent ?? ''), null, { timeout: 10_000 });

    // The service started the number's runtime on its own auth profile; its stand-in shows a QR code.
    await page.waitForSelector('#qr-admin', { timeout: 15_000 });
    assert.ok(standIns.has('admin'), 'a transport was built for the new number');
    await waitUntil(async () => (await db.pool.query("SELECT 1 FROM wa_sessions WHERE name = 'admin' AND state = 'awaiting_qr'")).rowCount === 1, 5000, 'awaiting_qr kept in wa_sessions');
    const registered = await db.pool.query('SELECT auth_profile, label, enabled, state FROM wa_sessions WHERE name = $1', ['admin']);
    assert.deepEqual(registered.rows[0], { auth_profile: 'admin', label: 'Nomor admin', enabled: true, state: 'awaiting_qr' });
    const png = await page.evaluate(async () => {
      const response = await fetch((document.getElementById('qr-admin') as HTMLImageElement).src);
      return { type: response.headers.get('content-type'), size: (await response.arrayBuffer()).byteLength };
    });
    assert.equal(png.type, 'image/png');
    assert.ok(png.size > 200, 'a real picture');
    // The QR code is the new number's own: its text, not the first number's.
    const qr = await page.evaluate(async () => (await (await fetch('/api/sessions/admin/qr?format=json')).json()) as { qr: string });
    assert.equal(qr.qr, '2@stand-in-qr-admin,CCCC');
    // The first number still shows ready, its number, no QR code.
    assert.match((await page.textContent('#session-number')) ?? '', /6281100000001/);
    assert.equal(await page.locator('#qr').count(), 0);

    // Scanned on the phone: the number turns ready, shown without a reload, and kept in wa_sessions.
    standIns.get('admin')!.emitPairing({ kind: 'paired', at: new Date() });
    await page.waitForSelector('#session-number-admin', { timeout: 10_000 });
    assert.match((await page.textContent('#session-number-admin')) ?? '', /6281100000002/);
    await waitUntil(async () => (await db.pool.query("SELECT 1 FROM wa_sessions WHERE name = 'admin' AND state = 'ready' AND paired_number = '6281100000002'")).rowCount === 1, 5000, 'ready and its number kept in wa_sessions');
    // Its groups, read from WhatsApp once ready, per number.
    await page.waitForFunction(() => /Grup: 2 \(admin di 1\) · 1 hanya admin/.test(document.getElementById('session-groups-admin')?.textContent ?? ''), null, { timeout: 10_000 });
    assert.match((await page.textContent('#session-groups')) ?? '', /^Grup: 1 \(admin di 0\)$/);
    // Every number listed its groups: Polres Z's group is in no list, so it is out of reach, and said so.
    await page.waitForSelector('#groups-out-of-reach', { timeout: 10_000 });
    const outOfReach = (await page.textContent('#groups-out-of-reach')) ?? '';
    assert.match(outOfReach, /Polres Z[\s\S]*120363000000000099@g\.us[\s\S]*nomor ini bukan anggota grup/);
    assert.ok(!outOfReach.includes('Polres A'), "Polres A's group is the admin number's");

    // The new number sends what is addressed to it.
    await enqueue(db.pool, [{ recipient: '081200000009', content: 'Dari nomor admin', type: 'api', session: 'admin' }]);
    await waitUntil(async () => standIns.get('admin')!.sends.length === 1, 10_000, 'the admin number sent its message');
  });

  it('disabling it from the dashboard stops its runtime; enabling starts it again', async () => {
    await page.click('#disable-number-admin');
    await waitUntil(async () => app.sessions.get('admin') === undefined, 10_000, 'the admin runtime stopped');
    await page.waitForSelector('#enable-number-admin', { timeout: 10_000 });
    await page.click('#enable-number-admin');
    await waitUntil(async () => app.sessions.get('admin') !== undefined, 10_000, 'the admin runtime started again');
  });
});
