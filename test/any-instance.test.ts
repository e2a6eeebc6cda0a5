/**
 * Any instance answers: a `worker` runs the number `default` (a stand-in transport), and two `http`
 * instances (SERVICE_ROLE=http: no session, no job) on the same database show and control it. Real HTTP
 * on loopback, real PostgreSQL; only WhatsApp is a stand-in.
 */
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import pino from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

const API_KEY = 'kunci-penuh-0123456789abcdef';
const CHROMIUM = '/usr/bin/chromium';
const JOBS_OFF = {
  DAILY_REPORT_CRON: 'off', WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off',
  COMPLAINT_RESPONSE_CRON: 'off', OUTBOX_RETENTION_CRON: 'off', WA_GATEWAY_POLL_CRON: 'off',
};

describe('any instance answers for every number (a worker and two http instances, one database)', () => {
  let db: TestDatabase;
  const apps: App[] = [];
  let transport: FakeTransport;
  let first: string;
  let second: string;

  const start = async (role: string, options: { transport?: FakeTransport } = {}): Promise<string> => {
    const config = parseConfig({ DATABASE_URL: db.url, SERVICE_ROLE: role, WA_TRANSPORT: 'fake', HTTP_PORT: '0', API_KEY, WA_GOVERNOR: 'on', WA_QUIET_HOURS: 'off', ...JOBS_OFF }, testCwd());
    const app = await startApp(config, pino({ level: 'silent' }), { drawQr: null, ...(options.transport ? { transport: options.transport } : {}) });
    apps.push(app);
    return app.http!.url!;
  };
  const call = async (base: string, method: string, path: string, headers: Record<string, string> = { 'x-api-key': API_KEY }, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  };

  before(async () => {
    db = await createTestDatabase('any_instance', { migrated: true });
    transport = new FakeTransport({ ready: false });
    await start('worker', { transport });
    first = await start('http');
    second = await start('http');
  });
  after(async () => {
    for (const app of apps.reverse()) await app.stop();
    await db.drop();
  });

  it('an http instance runs no session and no job', () => {
    const [, http] = apps;
    assert.equal(http!.sessions.list().length, 0);
    assert.ok(!http!.components.some((c) => c.name === 'scheduler' || c.name === 'dispatcher'), http!.components.map((c) => c.name).join(', '));
  });

  it("the QR code of a session the worker runs is shown by another instance, and its state with who runs it", async () => {
    transport.emitPairing({ kind: 'qr', qr: '2@qr-dari-worker,AAAA', at: new Date() });
    await waitUntil(async () => (await call(first, 'GET', '/api/sessions/default/qr')).status === 200, 5000, 'the QR code on the http instance');
    const qr = await call(first, 'GET', '/api/sessions/default/qr');
    assert.equal(qr.body.qr, '2@qr-dari-worker,AAAA');
    const listed = (await call(second, 'GET', '/api/sessions')).body.sessions.find((s: { name: string }) => s.name === 'default');
    assert.equal(listed.running, true);
    assert.equal(listed.here, false);
    assert.equal(listed.state, 'awaiting_qr');
    assert.equal(listed.pairing.qr, true);
    assert.match(listed.runBy.instance, new RegExp(`:${process.pid}:`));
    // A newer code replaces it everywhere.
    transport.emitPairing({ kind: 'qr', qr: '2@qr-baru,BBBB', at: new Date() });
    await waitUntil(async () => (await call(second, 'GET', '/api/sessions/default/qr')).body?.qr === '2@qr-baru,BBBB', 5000, 'the new QR code');
  });

  it("another instance's dashboard shows the number, who runs it, and its QR code to scan (Chromium)", { skip: !existsSync(CHROMIUM) && 'no /usr/bin/chromium' }, async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    try {
      const page = await (await browser.newContext({ locale: 'id-ID' })).newPage();
      await page.goto(`${second}/dashboard`);
      await page.fill('#key', API_KEY);
      await page.click('#signin button[type=submit]');
      await page.waitForSelector('nav.tabs');
      await page.evaluate(() => (location.hash = 'sesi'));
      await page.waitForSelector('#qr', { timeout: 10_000 });
      assert.match((await page.textContent('#session-run-by')) ?? '', new RegExp(`^Dijalankan oleh: .+\\(.+:${process.pid}:.+\\)$`));
      await page.waitForFunction(() => (document.getElementById('qr') as HTMLImageElement).naturalWidth > 100, null, { timeout: 10_000 });
    } finally {
      await browser.close();
    }
  });

  it('a pairing code asked of another instance is made by the worker that runs the number', async () => {
    const asked = await call(second, 'POST', '/api/sessions/default/pairing-code', { 'x-api-key': API_KEY }, { phone: '6281234567890' });
    assert.equal(asked.status, 200, JSON.stringify(asked.body));
    assert.equal(asked.body.code, 'FAKE7890');
    assert.equal(transport.pairing()?.code, 'FAKE7890', "the worker's WhatsApp issued it");
    // Refused on the worker, the refusal reaches the caller with its code.
    transport.emitPairing({ kind: 'paired', at: new Date() });
    await waitUntil(async () => (await call(first, 'GET', '/api/sessions')).body.sessions[0].state === 'ready', 5000, 'ready everywhere');
    const refused = await call(first, 'POST', '/api/sessions/default/pairing-code', { 'x-api-key': API_KEY }, { phone: '6281234567890' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error, 'not_waiting_for_pairing');
  });

  it('a logout asked of another instance is carried out by the worker, once', async () => {
    const before = transport.logouts;
    const out = await call(first, 'POST', '/api/sessions/default/logout', { 'x-api-key': API_KEY }, {});
    assert.equal(out.status, 202, JSON.stringify(out.body));
    assert.equal(transport.logouts, before + 1);
    const { rows } = await db.pool.query(`SELECT command, taken_by, done_at FROM wa_session_commands ORDER BY id`);
    assert.deepEqual(rows.map((r) => r.command), ['pairing_code', 'pairing_code', 'logout']);
    assert.ok(rows.every((r) => r.taken_by && r.done_at), 'each taken and answered');
  });

  it('a command nobody takes within 20 s is never carried out', async () => {
    await db.pool.query(`INSERT INTO wa_session_commands (session, command, requested_by, requested_at) VALUES ('default', 'logout', 'test', now() - interval '21 seconds')`);
    const before = transport.logouts;
    await db.pool.query(`SELECT pg_notify('wa_session_commands', 'default')`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(transport.logouts, before);
  });

  it('a dashboard sign-in made on one http instance is valid on the other', async () => {
    const signIn = await call(first, 'POST', '/dashboard/login', {}, { key: API_KEY });
    assert.equal(signIn.status, 204);
    const cookie = String(signIn.headers.get('set-cookie')).split(';')[0]!;
    const elsewhere = await call(second, 'GET', '/api/sessions', { cookie });
    assert.equal(elsewhere.status, 200, 'signed in on the other instance');
    assert.equal((await call(second, 'GET', '/api/sessions', {})).status, 401, 'without the cookie: not signed in');
  });

  it('pausing from another instance holds the number back on the worker', async () => {
    const paused = await call(second, 'POST', '/api/sessions/default/pause', { 'x-api-key': API_KEY }, { reason: 'uji' });
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal(paused.body.session.governor.paused, true);
    assert.equal((await call(first, 'POST', '/api/sessions/default/resume', { 'x-api-key': API_KEY }, {})).status, 200);
  });
});
