/// <reference lib="dom" />
/**
 * What keeps the HTTP API and the dashboard safe from web pages, strangers and careless clients, over
 * real HTTP on loopback, a real PostgreSQL and (for the pages) Debian's Chromium through playwright-core:
 *
 * - without API_KEY, a page elsewhere cannot act (Origin, Sec-Fetch-Site, JSON only) and a DNS-rebinding
 *   Host is refused; the dashboard's own calls still work;
 * - the QR code and the pairing code need full access;
 * - validation errors are capped, bodies are capped, failed sign-ins count towards 429, a right key is
 *   never locked out, the limiter sees the client behind a trusted proxy (HTTP_TRUST_PROXY);
 * - asset names, /readyz for strangers, `/` → /dashboard, and the README's webhook receiver sample.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { ConfigError, parseConfig } from '../src/config/index.js';
import { signature } from '../src/webhooks/sender.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { REPO_ROOT } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

const API_KEY = 'hardening-full-key-3e8d1c5a7b';
const READ_KEY = 'hardening-read-key-9f2a6b4c0d';
const CHROMIUM = '/usr/bin/chromium';
const JOBS_OFF = {
  DAILY_REPORT_CRON: 'off', WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off',
  COMPLAINT_RESPONSE_CRON: 'off', OUTBOX_RETENTION_CRON: 'off', WA_GATEWAY_POLL_CRON: 'off',
};

interface Server {
  app: App;
  transport: FakeTransport;
  /** http://127.0.0.1:<port>, whatever address it listens on. */
  base: string;
  port: number;
  logLines: string[];
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
}

/** One request with exactly these headers (Host included), as a browser or a proxy would send it. */
function raw(server: Server, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: server.port, method, path, headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = null;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body: parsed });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

const json = { 'content-type': 'application/json' };

describe('HTTP hardening (real HTTP on loopback, real PostgreSQL, Chromium for the pages)', () => {
  let db: TestDatabase;
  let keyless: Server;
  let keyed: Server;
  let limited: Server;
  let publicListener: Server;
  let browser: Browser | null = null;
  const started: App[] = [];

  const ownDatabases: TestDatabase[] = [];
  // Each gateway on its own database: on a shared one only one process may hold the session `default`.
  const start = async (env: Record<string, string>, options: { ready?: boolean; maxAuthFailures?: number; ownDatabase?: boolean } = {}): Promise<Server> => {
    const database = options.ownDatabase ? await createTestDatabase('http_hardening_own', { migrated: true }) : db;
    if (options.ownDatabase) ownDatabases.push(database);
    const config = parseConfig({ DATABASE_URL: database.url, WA_TRANSPORT: 'fake', HTTP_PORT: '0', WA_QUIET_HOURS: 'off', WA_TYPING_MAX_MS: '0', ...JOBS_OFF, ...env }, testCwd());
    const logLines: string[] = [];
    const transport = new FakeTransport({ ready: options.ready ?? false });
    const app = await startApp(config, pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }), {
      transport,
      drawQr: null,
      ...(options.maxAuthFailures ? { maxAuthFailures: options.maxAuthFailures } : {}),
    });
    started.push(app);
    const port = Number(new URL(app.http!.url!).port);
    return { app, transport, base: `http://127.0.0.1:${port}`, port, logLines };
  };

  before(async () => {
    db = await createTestDatabase('http_hardening', { migrated: true });
    keyless = await start({});
    keyed = await start({ API_KEY, API_READ_KEY: READ_KEY, HTTP_ALLOWED_HOSTS: 'wa.polres.example,10.9.8.7:8443', WA_GOVERNOR: 'off' }, { maxAuthFailures: 1000, ownDatabase: true });
    limited = await start({ API_KEY, API_READ_KEY: READ_KEY, HTTP_TRUST_PROXY: 'loopback', WA_GOVERNOR: 'off' }, { ownDatabase: true });
    publicListener = await start({ API_KEY, API_READ_KEY: READ_KEY, HTTP_HOST: '0.0.0.0', WA_GOVERNOR: 'off' }, { maxAuthFailures: 1000, ownDatabase: true });
    if (existsSync(CHROMIUM)) {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      });
    }
  });
  after(async () => {
    await browser?.close();
    for (const app of started.reverse()) await app.stop();
    for (const own of ownDatabases) await own.drop();
    await db.drop();
  });

  const pendingMessage = async (text: string): Promise<number> =>
    (await db.pool.query("INSERT INTO wa_outbox (recipient, content, type, next_attempt_at) VALUES ('081200000077', $1, 'manual', now() + interval '1 day') RETURNING id", [text])).rows[0].id as number;
  const statusOf = async (id: number): Promise<string> => (await db.pool.query('SELECT status FROM wa_outbox WHERE id = $1', [id])).rows[0].status as string;
  const paused = async (server: Server): Promise<boolean> => (await (await fetch(`${server.base}/api/sessions`)).json()).sessions[0].governor.paused as boolean;

  describe('without API_KEY (loopback only)', () => {
    it('a page on another origin cannot pause the session or cancel a message (Chromium, no-cors fetch)', async (t) => {
      if (!browser) return t.skip('no /usr/bin/chromium');
      const id = await pendingMessage('Jangan dibatalkan oleh halaman lain');
      // The other origin: a page served from another port of this machine.
      const attacker = http.createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title><p>hello</p>'));
      await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
      const ctx = await browser.newContext();
      try {
        const page = await ctx.newPage();
        await page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
        await page.evaluate(async ({ gateway, id }) => {
          const attempts: Array<[string, RequestInit]> = [
            ['/api/sessions/default/pause', { method: 'POST', mode: 'no-cors' }],
            [`/api/messages/${id}/cancel`, { method: 'POST', mode: 'no-cors' }],
            [`/api/messages/${id}/cancel`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' }],
          ];
          for (const [path, init] of attempts) await fetch(gateway + path, init).catch(() => undefined);
        }, { gateway: keyless.base, id });
      } finally {
        await ctx.close();
        attacker.close();
      }
      assert.equal(await statusOf(id), 'pending', 'the message was not cancelled');
      assert.equal(await paused(keyless), false, 'the session was not paused');
    });

    it("the dashboard's own buttons still work: pause, resume, cancel (Chromium)", async (t) => {
      if (!browser) return t.skip('no /usr/bin/chromium');
      const id = await pendingMessage('Dibatalkan dari dasbor');
      if (await paused(keyless)) await raw(keyless, 'POST', '/api/sessions/default/resume', json, '{}');
      const ctx = await browser.newContext({ locale: 'id-ID' });
      ctx.on('dialog', (d) => void d.accept());
      try {
        const page = await ctx.newPage();
        const open = async (tab: string) => {
          await page.evaluate((name) => (location.hash = name), tab);
          await page.waitForFunction((name) => document.body.dataset.loaded === name, tab);
        };
        await page.goto(`${keyless.base}/dashboard`);
        await page.waitForSelector('nav.tabs');
        await open('sesi');
        await page.click('#pause-session', { timeout: 10_000 });
        await page.waitForSelector('#resume-session', { timeout: 10_000 });
        assert.equal(await paused(keyless), true);
        await page.click('#resume-session');
        await page.waitForSelector('#pause-session', { timeout: 10_000 });
        assert.equal(await paused(keyless), false);
        await open('pesan');
        await page.click(`button[data-cancel="${id}"]`, { timeout: 10_000 });
        await waitUntil(async () => (await statusOf(id)) === 'cancelled', 10_000, 'the message cancelled from the page');
      } finally {
        await ctx.close();
      }
    });

    it('a change from another origin is refused (Origin, Sec-Fetch-Site); the same origin is not', async () => {
      const pause = (headers: Record<string, string>) => raw(keyless, 'POST', '/api/sessions/default/pause', { ...json, ...headers }, '{}');
      const fromElsewhere = await pause({ origin: 'http://evil.example' });
      assert.equal(fromElsewhere.status, 403, fromElsewhere.text);
      assert.equal(fromElsewhere.body.error, 'cross_origin');
      assert.match(fromElsewhere.body.message, /evil\.example/);
      assert.equal((await pause({ origin: 'null' })).status, 403);
      assert.equal((await pause({ 'sec-fetch-site': 'cross-site' })).status, 403);
      assert.equal((await pause({ 'sec-fetch-site': 'same-site', origin: `http://127.0.0.1:${keyless.port}` })).status, 403, 'another port of this machine is another origin');
      assert.equal(await paused(keyless), false);
      const same = await pause({ origin: `http://127.0.0.1:${keyless.port}`, 'sec-fetch-site': 'same-origin' });
      assert.equal(same.status, 200, same.text);
      assert.equal((await raw(keyless, 'POST', '/api/sessions/default/resume', json)).status, 200, 'a client that sends no Origin (curl, Cicero_V2) is not a page');
      const withKey = await raw(keyed, 'POST', '/api/messages/999999/cancel', { ...json, 'x-api-key': API_KEY, origin: 'http://evil.example' });
      assert.equal(withKey.status, 403, 'refused with a key too');
    });

    it("a Host that is not this server's (DNS rebinding) is refused; loopback names on the bound port and HTTP_ALLOWED_HOSTS are answered", async () => {
      const rebound = await raw(keyless, 'GET', '/api/sessions', { host: `rebind.attacker.example:${keyless.port}` });
      assert.equal(rebound.status, 403, rebound.text);
      assert.equal(rebound.body.error, 'unknown_host');
      assert.match(rebound.body.message, /HTTP_ALLOWED_HOSTS/);
      assert.equal((await raw(keyless, 'GET', '/readyz', { host: 'rebind.attacker.example' })).status, 403);
      assert.equal((await raw(keyless, 'GET', '/api/sessions', { host: `127.0.0.1:${keyless.port + 1}` })).status, 403, 'another port');
      for (const host of [`127.0.0.1:${keyless.port}`, `localhost:${keyless.port}`, `LOCALHOST:${keyless.port}`, `[::1]:${keyless.port}`]) {
        assert.equal((await raw(keyless, 'GET', '/api/sessions', { host })).status, 200, host);
      }
      const key = { 'x-api-key': API_KEY };
      for (const host of ['wa.polres.example', 'WA.polres.example:443', '10.9.8.7:8443', `localhost:${keyed.port}`]) {
        assert.equal((await raw(keyed, 'GET', '/api/sessions', { ...key, host })).status, 200, host);
      }
      for (const host of ['10.9.8.7', '10.9.8.7:8080', 'polres.example', 'evil.wa.polres.example']) {
        assert.equal((await raw(keyed, 'GET', '/api/sessions', { ...key, host })).status, 403, host);
      }
    });

    it('every change needs Content-Type: application/json (415 otherwise); a JSON change without a body is fine', async () => {
      const id = await pendingMessage('Tetap menunggu');
      const none = await raw(keyless, 'POST', `/api/messages/${id}/cancel`);
      assert.equal(none.status, 415, none.text);
      assert.equal(none.body.error, 'unsupported_media_type');
      assert.match(none.body.message, /application\/json/);
      assert.equal((await raw(keyless, 'POST', `/api/messages/${id}/cancel`, { 'content-type': 'text/plain' }, '{}')).status, 415);
      assert.equal((await raw(keyless, 'POST', `/api/messages/${id}/cancel`, { 'content-type': 'application/x-www-form-urlencoded' }, 'a=1')).status, 415);
      assert.equal((await raw(keyless, 'POST', '/dashboard/logout')).status, 415);
      assert.equal(await statusOf(id), 'pending');
      assert.equal((await raw(keyless, 'POST', `/api/messages/${id}/cancel`, { 'content-type': 'application/json; charset=utf-8' })).status, 200, 'no body');
      assert.equal((await raw(keyed, 'POST', '/api/messages/999999/retry', { ...json, 'x-api-key': API_KEY }, '{}')).status, 404, 'with a body');
      assert.equal((await raw(keyed, 'POST', '/api/messages/999999/retry', { 'x-api-key': API_KEY })).status, 415, 'with a key too');
    });

    it('GET / redirects to /dashboard', async () => {
      const root = await raw(keyless, 'GET', '/');
      assert.equal(root.status, 302);
      assert.equal(root.headers.location, '/dashboard');
      assert.equal((await raw(keyed, 'GET', '/')).headers.location, '/dashboard', 'with keys too, before any sign-in');
    });

    it('asset names that are properties of every object (constructor, __proto__, toString) are 404, with nothing logged as an error', async () => {
      for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
        const response = await raw(keyless, 'GET', `/dashboard/assets/${name}`);
        assert.equal(response.status, 404, `${name}: ${response.text}`);
      }
      assert.equal((await raw(keyless, 'GET', '/dashboard/assets/app.js')).status, 200);
      const errors = keyless.logLines.map((l) => JSON.parse(l)).filter((l) => l.level >= 50);
      assert.deepEqual(errors, []);
    });
  });

  describe('the QR code and the pairing code need full access', () => {
    const signIn = async (key: string): Promise<string> => {
      const response = await raw(keyed, 'POST', '/dashboard/login', json, JSON.stringify({ key }));
      assert.equal(response.status, 204, response.text);
      return String(response.headers['set-cookie']).split(';')[0]!;
    };

    it('a read key, or a read-only sign-in, gets 403 saying why; the full key and a full sign-in get them', async () => {
      keyed.transport.emitPairing({ kind: 'qr', qr: '2@hardening-qr,CCCC', at: new Date() });
      const read = await raw(keyed, 'GET', '/api/sessions/default/qr', { 'x-api-key': READ_KEY });
      assert.equal(read.status, 403, read.text);
      assert.match(read.body.message, /API_KEY/);
      assert.match(read.body.message, /QR/);
      assert.ok(!read.text.includes('hardening-qr'));
      assert.equal((await raw(keyed, 'GET', '/api/sessions/default/qr?format=png', { 'x-api-key': READ_KEY })).status, 403);
      assert.equal((await raw(keyed, 'GET', '/api/sessions/default/qr', { cookie: await signIn(READ_KEY) })).status, 403, 'a read-only sign-in');
      const full = await raw(keyed, 'GET', '/api/sessions/default/qr', { 'x-api-key': API_KEY });
      assert.equal(full.status, 200);
      assert.equal(full.body.qr, '2@hardening-qr,CCCC');
      assert.equal((await raw(keyed, 'GET', '/api/sessions/default/qr', { cookie: await signIn(API_KEY) })).body.qr, '2@hardening-qr,CCCC', 'a full sign-in');

      keyed.transport.emitPairing({ kind: 'code', code: 'K7Q2M9XD', at: new Date() });
      for (const path of ['/api/sessions', '/api/summary', '/api/sessions/default/qr']) {
        const seen = await raw(keyed, 'GET', path, { 'x-api-key': READ_KEY });
        assert.ok(!seen.text.includes('K7Q2M9XD'), `${path} shows the read key no pairing code: ${seen.text}`);
      }
      const listed = await raw(keyed, 'GET', '/api/sessions', { 'x-api-key': READ_KEY });
      assert.equal(listed.body.sessions[0].state, 'awaiting_qr', 'the state is still shown');
      assert.equal((await raw(keyed, 'GET', '/api/sessions', { 'x-api-key': API_KEY })).body.sessions[0].pairing.code, 'K7Q2M9XD');
    });

    it('a read-only dashboard session is not shown the QR: it says a full-access key is needed (Chromium)', async (t) => {
      if (!browser) return t.skip('no /usr/bin/chromium');
      keyed.transport.emitPairing({ kind: 'qr', qr: '2@hardening-qr,DDDD', at: new Date() });
      const look = async (key: string) => {
        const ctx = await browser!.newContext({ locale: 'id-ID' });
        const page = await ctx.newPage();
        await page.goto(`${keyed.base}/dashboard`);
        await page.fill('#key', key);
        await page.click('#signin button[type=submit]');
        await page.waitForSelector('nav.tabs');
        await page.evaluate(() => (location.hash = 'sesi'));
        await page.waitForFunction(() => document.body.dataset.loaded === 'sesi');
        return { ctx, page };
      };
      const reader = await look(READ_KEY);
      try {
        await reader.page.waitForSelector('#qr-needs-full', { timeout: 10_000 });
        assert.equal(await reader.page.locator('#qr').count(), 0, 'no QR picture');
        assert.match(await reader.page.textContent('#qr-needs-full') ?? '', /kunci akses penuh \(API_KEY\)/);
        await reader.page.click('#lang');
        await reader.page.waitForFunction(() => /full-access key \(API_KEY\)/.test(document.getElementById('qr-needs-full')?.textContent ?? ''), undefined, { timeout: 10_000 });
      } finally {
        await reader.ctx.close();
      }
      const full = await look(API_KEY);
      try {
        await full.page.waitForSelector('#qr', { timeout: 10_000 });
        assert.equal(await full.page.locator('#qr-needs-full').count(), 0);
      } finally {
        await full.ctx.close();
      }
    });
  });

  describe('limits (HTTP_TRUST_PROXY=loopback: each test is one client, by X-Forwarded-For)', () => {
    const from = (address: string, headers: Record<string, string> = {}) => ({ 'x-forwarded-for': address, ...headers });
    const login = (address: string, body: string) => raw(limited, 'POST', '/dashboard/login', from(address, json), body);

    it('validation errors are capped at 20 fields, saying how many more; the sign-in body is capped; refused sign-ins count towards 429', async () => {
      const client = '198.51.100.10';
      const unknown = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, 'x']));
      const many = await login(client, JSON.stringify(unknown));
      assert.equal(many.status, 400, many.text);
      assert.equal(many.body.fields.length, 20);
      assert.equal(many.body.moreFields, 11, '30 unknown fields and the missing key');
      assert.match(many.body.message, /and 11 more/);

      const big = JSON.stringify(Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`field${i}`, 'x'.repeat(10)])));
      assert.ok(big.length > 1_000_000);
      const huge = await login(client, big);
      assert.equal(huge.status, 413, huge.text.slice(0, 300));
      assert.ok(huge.text.length < 1000, `a short answer (${huge.text.length} bytes)`);

      for (let i = 0; i < 8; i++) assert.equal((await login(client, '{"nope": 1}')).status, 400);
      const wrong = await login(client, JSON.stringify({ key: 'wrong-key-000000000000' }));
      assert.equal(wrong.status, 429, `ten refused sign-ins, then a wrong key: ${wrong.text}`);
      assert.equal((await login(client, '{"nope": 1}')).status, 429, 'a blocked address gets 429, not the errors');
      assert.equal((await login(client, JSON.stringify({ key: API_KEY }))).status, 204, 'the right key still signs in');
    });

    it('the sign-in cookie is Secure when a trusted proxy says the browser came over HTTPS, and only then', async () => {
      const cookie = async (server: Server, headers: Record<string, string>) =>
        String((await raw(server, 'POST', '/dashboard/login', { ...json, ...headers }, JSON.stringify({ key: API_KEY }))).headers['set-cookie']);
      assert.match(await cookie(limited, from('198.51.100.30', { 'x-forwarded-proto': 'https' })), /; HttpOnly; SameSite=Strict; .*; Secure$/);
      assert.doesNotMatch(await cookie(limited, from('198.51.100.31')), /Secure/, 'plain HTTP: the cookie could not come back if it were Secure');
      assert.doesNotMatch(await cookie(keyed, { 'x-forwarded-proto': 'https' }), /Secure/, 'no trusted proxy: X-Forwarded-Proto is not believed');
    });

    it('the right key is never locked out: after ten wrong keys from one address a wrong key gets 429 and the right ones still work', async () => {
      const client = '198.51.100.20';
      const get = (key: string) => raw(limited, 'GET', '/api/messages', from(client, { 'x-api-key': key }));
      for (let i = 0; i < 10; i++) assert.equal((await get(`guess-${i}-000000000000`)).status, 401);
      const blocked = await get('guess-10-000000000000');
      assert.equal(blocked.status, 429);
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      assert.equal((await get(API_KEY)).status, 200, 'API_KEY');
      assert.equal((await get(READ_KEY)).status, 200, 'API_READ_KEY');
      assert.equal((await raw(limited, 'GET', '/api/messages', from(client))).status, 429, 'no key: still blocked');
      assert.equal((await get('guess-11-000000000000')).status, 429, 'a wrong one still gets 429');
    });

    it('HTTP_TRUST_PROXY: behind a trusted proxy each client (X-Forwarded-For) is counted apart', async () => {
      for (let i = 0; i < 11; i++) await raw(limited, 'GET', '/api/messages', from('198.51.100.30', { 'x-api-key': `guess-${i}-000000000000` }));
      assert.equal((await raw(limited, 'GET', '/api/messages', from('198.51.100.30', { 'x-api-key': 'guess-x-000000000000' }))).status, 429);
      assert.equal((await raw(limited, 'GET', '/api/messages', from('198.51.100.31', { 'x-api-key': 'guess-y-000000000000' }))).status, 401, 'another client behind the proxy');
    });

    it('HTTP_ALLOWED_HOSTS and HTTP_TRUST_PROXY are validated, each problem naming its variable and what is allowed; neither without API_KEY', () => {
      // With API_KEY unless asked for without (keyless).
      const problems = (env: Record<string, string>, keyless = false): string[] => {
        try {
          parseConfig(keyless ? env : { API_KEY: 'k'.repeat(32), ...env }, '/srv/cicero');
        } catch (err) {
          assert.ok(err instanceof ConfigError);
          return err.problems;
        }
        return [];
      };
      const hosts = problems({ HTTP_ALLOWED_HOSTS: 'wa.polres.example, bad host!' });
      assert.equal(hosts.length, 1, JSON.stringify(hosts));
      assert.match(hosts[0]!, /^HTTP_ALLOWED_HOSTS=.*is invalid: "bad host!" is not a host name.*separated by commas/);
      assert.match(problems({ HTTP_ALLOWED_HOSTS: 'wa.polres.example:99999' })[0] ?? '', /HTTP_ALLOWED_HOSTS.*port/);
      assert.match(problems({ HTTP_ALLOWED_HOSTS: '' })[0] ?? '', /HTTP_ALLOWED_HOSTS="" is invalid: it is empty/);
      const trust = problems({ HTTP_TRUST_PROXY: 'yes please' });
      assert.equal(trust.length, 1, JSON.stringify(trust));
      assert.match(trust[0]!, /^HTTP_TRUST_PROXY="yes please" is invalid: .*off.*number of proxies.*addresses/);
      assert.match(problems({ HTTP_TRUST_PROXY: '10.0.0.0/33' })[0] ?? '', /HTTP_TRUST_PROXY/);
      assert.match(problems({ HTTP_TRUST_PROXY: 'true' })[0] ?? '', /HTTP_TRUST_PROXY="true" is invalid/);

      const defaults = parseConfig({}, '/srv/cicero');
      assert.equal(defaults.http.trustProxy, false);
      assert.deepEqual(defaults.http.allowedHosts, []);
      const key = { API_KEY: 'k'.repeat(32) };
      const set = parseConfig({ ...key, HTTP_TRUST_PROXY: '10.0.0.1, 192.168.0.0/16,loopback', HTTP_ALLOWED_HOSTS: 'WA.Polres.example,10.9.8.7:8443,[fd00::2]:8080' }, '/srv/cicero');
      assert.deepEqual(set.http.trustProxy, ['10.0.0.1', '192.168.0.0/16', 'loopback']);
      assert.deepEqual(set.http.allowedHosts, [{ name: 'wa.polres.example', port: null }, { name: '10.9.8.7', port: 8443 }, { name: 'fd00::2', port: 8080 }]);
      assert.equal(parseConfig({ ...key, HTTP_TRUST_PROXY: '2' }, '/srv/cicero').http.trustProxy, 2);
      assert.equal(parseConfig({ HTTP_TRUST_PROXY: 'off' }, '/srv/cicero').http.trustProxy, false);

      // Without API_KEY the API answers this machine only: a proxy or another name would open it to all.
      assert.deepEqual(problems({ HTTP_TRUST_PROXY: 'loopback' }, true), [
        'HTTP_TRUST_PROXY is refused without API_KEY: without a key the API answers this machine only, and a reverse proxy or another name would open it to every machine that reaches them; set API_KEY (at least 16 characters)',
      ]);
      assert.match(problems({ HTTP_ALLOWED_HOSTS: 'wa.polres.example' }, true)[0] ?? '', /^HTTP_ALLOWED_HOSTS is refused without API_KEY/);
      assert.match(problems({ HTTP_ALLOWED_HOSTS: 'wa.polres.example', HTTP_TRUST_PROXY: '1' }, true)[0] ?? '', /^HTTP_TRUST_PROXY and HTTP_ALLOWED_HOSTS are refused without API_KEY/);
      assert.deepEqual(problems({ HTTP_ALLOWED_HOSTS: 'wa.polres.example', HTTP_PORT: 'off' }, true), [], 'no HTTP, nothing to open');
      assert.deepEqual(problems({ HTTP_ALLOWED_HOSTS: 'wa.polres.example', HTTP_TRUST_PROXY: 'loopback' }), [], 'with API_KEY both are fine');
    });
  });

  it('/readyz on a public listener: strangers get only the status; a read key (or a loopback listener) gets the checks', async () => {
    const stranger = await raw(publicListener, 'GET', '/readyz');
    assert.equal(stranger.status, 503, 'the stand-in WhatsApp is not ready');
    assert.deepEqual(stranger.body, { status: 'not_ready' });
    assert.deepEqual((await raw(publicListener, 'GET', '/readyz', { 'x-api-key': 'wrong-key-000000000000' })).body, { status: 'not_ready' });
    const reader = await raw(publicListener, 'GET', '/readyz', { 'x-api-key': READ_KEY });
    assert.equal(reader.status, 503);
    assert.ok(reader.body.checks.some((c: { name: string }) => c.name === 'database'), reader.text);
    assert.ok(reader.body.checks.some((c: { name: string; ok: boolean }) => c.name === 'whatsapp' && !c.ok));
    const local = await raw(keyless, 'GET', '/readyz');
    assert.ok(Array.isArray(local.body.checks), 'on loopback, as before');
  });

  it("the README's webhook receiver sample answers 401, not an error, to a signature of the right length in characters but not in bytes", async () => {
    const secret = 'readme-sample-secret-0123456789';
    const readme = await fs.readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('Verifying a delivery'));
    const sample = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(sample, "the README's receiver sample");

    // Express's part, as the sample uses it: app.post(path, express.raw(…), handler), req.get, req.body as
    // bytes, res.sendStatus; an error thrown by a handler becomes 500, as in Express.
    type Handler = (req: unknown, res: unknown, next: () => void) => void;
    const routes = new Map<string, Handler[]>();
    const app = { post: (route: string, ...handlers: Handler[]) => void routes.set(route, handlers) };
    const express = { raw: () => ((_req: unknown, _res: unknown, next: () => void) => next()) as Handler };
    new Function('require', 'app', 'express', 'process', sample)(createRequire(import.meta.url), app, express, { env: { WEBHOOK_SECRET: secret } });
    assert.ok(routes.has('/api/wa-events'));
    const receiver = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const req = { body: Buffer.concat(chunks), get: (name: string) => request.headers[name.toLowerCase()] as string | undefined };
        const res = { sendStatus: (code: number) => void response.writeHead(code).end() };
        try {
          const handlers = routes.get(request.url ?? '') ?? [];
          const run = (i: number): void => void handlers[i]?.(req, res, () => run(i + 1));
          run(0);
        } catch {
          response.writeHead(500).end();
        }
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    const post = (headers: Record<string, string>, body: string) =>
      new Promise<number>((resolve, reject) => {
        const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/wa-events', headers: { 'content-type': 'application/json', ...headers } }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on('error', reject);
        // As bytes: with a string body Node would write the headers as UTF-8 along with it; alone they go as Latin-1.
        request.end(Buffer.from(body));
      });
    try {
      const body = JSON.stringify({ id: 'evt-1', event: 'message.sent', at: new Date().toISOString(), data: {} });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const good = signature(secret, timestamp, body);
      assert.equal(await post({ 'x-cicero-timestamp': timestamp, 'x-cicero-signature': good }, body), 204, 'a real signature');
      // "é" is one character but two bytes: as long as a real signature in characters, longer in bytes.
      const multibyte = `sha256=\u00e9${good.slice('sha256='.length + 1)}`;
      assert.equal(multibyte.length, good.length);
      assert.notEqual(Buffer.byteLength(multibyte), Buffer.byteLength(good));
      assert.equal(await post({ 'x-cicero-timestamp': timestamp, 'x-cicero-signature': multibyte }, body), 401);
      assert.equal(await post({ 'x-cicero-timestamp': timestamp, 'x-cicero-signature': `sha256=${'0'.repeat(64)}` }, body), 401, 'a wrong signature');
    } finally {
      receiver.close();
    }
  });
});
