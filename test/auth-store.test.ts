/**
 * WA_AUTH_STORE=postgres, on a real PostgreSQL and a real Chromium (no network: a stand-in page on
 * loopback plays WhatsApp Web's part of keeping the login in localStorage and IndexedDB):
 *
 * - a login made on one worker's data directory is saved when that worker hands the session over, and a
 *   second worker on a fresh data directory restores it: its client comes up ready with no QR code;
 * - the stored copy is sealed: no plaintext in the bytea; a changed byte, another key, or a copy moved to
 *   another profile is refused with an error (naming WA_AUTH_STORE_KEY for a key), and neither the
 *   stored copy nor the local profile is removed; the transport stays failed without starting Chromium;
 * - a process that lost the session cannot overwrite the copy saved by the one that took it;
 * - the configuration: WA_AUTH_STORE, WA_AUTH_STORE_KEY (required with postgres, 32 bytes, never shown).
 *
 * Every temporary directory and every Chromium is gone at the end.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'puppeteer';
import { checkAuthStore } from '../src/commands/doctor-auth-store.js';
import { ConfigError, fullConfig, parseConfig } from '../src/config/index.js';
import { ensureConfiguredSession } from '../src/sessions/registry.js';
import { silentLogger } from '../src/lib/logger.js';
import { AuthStoreKeyError, ProfileStore } from '../src/whatsapp/wwebjs/auth-store.js';
import { gunzip, unseal } from '../src/whatsapp/wwebjs/profile-archive.js';
import type { TransportStatus } from '../src/whatsapp/transport.js';
import { BASE_CHROMIUM_FLAGS, WhatsAppWebTransport, type WwebClientLike, type WwebClientSettings } from '../src/whatsapp/wwebjs/transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { tempDir as testTempDir, testCwd } from './helpers/temp-dirs.js';

// whatsapp-web.js's own puppeteer, resolved from where whatsapp-web.js resolves it (as the service launches Chromium).
const requireFromWwebjs = createRequire(createRequire(import.meta.url).resolve('whatsapp-web.js'));
const puppeteer = requireFromWwebjs('puppeteer') as typeof import('puppeteer').default;

const CHROMIUM = '/usr/bin/chromium';
const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 9);
const PROFILE = 'polres-moving';

/** The stand-in for WhatsApp Web's login keeping: pair() writes it to localStorage and IndexedDB; pairing() reads both. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>stand-in</title><script>
function db() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('wawc', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('user');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}
async function idb(mode, work) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction('user', mode);
    const request = work(tx.objectStore('user'));
    tx.oncomplete = () => { d.close(); resolve(request.result); };
    tx.onerror = () => reject(tx.error);
  });
}
window.pair = async (marker) => {
  localStorage.setItem('paired', marker);
  await idb('readwrite', (s) => s.put({ marker, keys: 'x'.repeat(20000) }, 'paired'));
};
window.pairing = async () => ({ local: localStorage.getItem('paired'), idb: (await idb('readonly', (s) => s.get('paired')))?.marker ?? null });
</script>`;

let server: http.Server;
let pageUrl = '';
let db: TestDatabase;
const temps: string[] = [];
const browsers = new Set<Browser>();
/** Every worker's transport, closed at the end whatever a test left running. */
const transports = new Set<WhatsAppWebTransport>();

async function tempDir(label: string): Promise<string> {
  const dir = await testTempDir(`cicero-wa-authstore-${label}-`);
  temps.push(dir);
  return dir;
}

async function launch(userDataDir: string): Promise<{ browser: Browser; page: Page }> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    userDataDir,
    headless: true,
    pipe: true,
    args: [...BASE_CHROMIUM_FLAGS],
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  browsers.add(browser);
  const page = await browser.newPage();
  await page.goto(pageUrl);
  return { browser, page };
}

async function closeBrowser(browser: Browser): Promise<void> {
  try {
    await browser.close();
  } finally {
    browser.process()?.kill('SIGKILL');
    browsers.delete(browser);
  }
}

/**
 * A whatsapp-web.js client as far as the login goes, on a real Chromium launched on LocalAuth's
 * directory (`authPath/session-<authProfile>`): ready at once when the page finds the login, else a QR
 * code until `scan()`.
 */
class ChromiumLoginClient extends EventEmitter implements WwebClientLike {
  pupBrowser: Browser | null = null;
  page: Page | null = null;
  found: { local: string | null; idb: string | null } | null = null;

  constructor(private readonly settings: WwebClientSettings) {
    super();
  }

  async initialize(): Promise<void> {
    const { browser, page } = await launch(path.join(this.settings.authPath, `session-${this.settings.authProfile}`));
    this.pupBrowser = browser;
    this.page = page;
    this.found = (await page.evaluate('pairing()')) as { local: string | null; idb: string | null };
    if (this.found.local && this.found.idb) {
      this.emit('authenticated');
      this.emit('ready');
    } else this.emit('qr', 'stand-in-qr-code');
  }

  async scan(marker: string): Promise<void> {
    await this.page!.evaluate((m) => (window as unknown as { pair(m: string): Promise<void> }).pair(m), marker);
    this.emit('authenticated');
    this.emit('ready');
  }

  async destroy(): Promise<void> {
    if (this.pupBrowser) await closeBrowser(this.pupBrowser);
  }

  async getNumberId(): Promise<null> {
    return null;
  }

  async sendMessage(): Promise<undefined> {
    return undefined;
  }
}

interface Worker {
  transport: WhatsAppWebTransport;
  clients: ChromiumLoginClient[];
  states: TransportStatus[];
  qrCodes: number;
  authPath: string;
}

function worker(authPath: string, host: string, key: Buffer = KEY, options: { profile?: string; saveMs?: number } = {}): Worker {
  const clients: ChromiumLoginClient[] = [];
  const transport = new WhatsAppWebTransport({
    authPath,
    authProfile: options.profile ?? PROFILE,
    chromiumPath: CHROMIUM,
    puppeteerArgs: [],
    pairPhone: null,
    readyTimeoutMs: 60_000,
    reconnectBaseMs: 200,
    reconnectMaxMs: 1000,
    pageFix: false,
    authStore: new ProfileStore({ pool: db.pool, key, authPath, authProfile: options.profile ?? PROFILE, savedBy: host }),
    authStoreSaveMs: options.saveMs ?? 3_600_000,
    logger: silentLogger(),
    random: () => 1,
    clientFactory: (settings) => {
      const client = new ChromiumLoginClient(settings);
      clients.push(client);
      return client;
    },
  });
  transports.add(transport);
  const w: Worker = { transport, clients, states: [], qrCodes: 0, authPath };
  transport.onStateChange((s) => w.states.push(s));
  transport.onPairing((e) => {
    if (e.kind === 'qr') w.qrCodes++;
  });
  return w;
}

async function waitFor<T>(what: string, check: () => T | null | undefined | false, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function storedRow(): Promise<{ data: Buffer; sha256: string; saved_by: string; key_id: string } | undefined> {
  const { rows } = await db.pool.query('SELECT data, sha256, saved_by, key_id FROM wa_auth_store WHERE auth_profile = $1', [PROFILE]);
  return rows[0];
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

before(async () => {
  db = await createTestDatabase('authstore', { migrated: true });
  server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(async () => {
  for (const transport of transports) await transport.close().catch(() => undefined);
  for (const browser of [...browsers]) await closeBrowser(browser).catch(() => undefined);
  await new Promise((resolve) => server.close(resolve));
  await db.drop();
  for (const dir of temps) await fs.rm(dir, { recursive: true, force: true });
  for (const dir of temps) assert.equal(await exists(dir), false, `${dir} is left behind`);
});

describe('WA_AUTH_STORE=postgres: the login moves between machines', () => {
  let markerA = '';

  it('a login made by one worker is restored by another on a fresh data directory: ready with no QR code', async () => {
    // Worker A, on its own data directory: nothing stored yet, so the stand-in page asks for a QR code.
    const a = worker(path.join(await tempDir('a'), 'wa-auth'), 'host-a');
    await a.transport.start();
    await waitFor('worker A to ask for a QR code', () => a.qrCodes > 0);
    assert.equal(a.transport.status().state, 'awaiting_qr');
    markerA = `paired-on-host-a-${Date.now()}`;
    await a.clients[0]!.scan(markerA);
    await waitFor('worker A to be ready', () => a.transport.status().state === 'ready');
    assert.equal(await storedRow(), undefined, 'nothing is saved before the first save is due');

    // A hands the session over (its shutdown): Chromium closes, then the whole profile is saved.
    await a.transport.close();
    assert.equal(browsers.size, 0, 'worker A left no Chromium');
    const row = await storedRow();
    assert.ok(row, 'the login is in wa_auth_store');
    assert.equal(row.saved_by, 'host-a');

    // Worker B, another machine's fresh data directory, takes the session.
    const bAuth = path.join(await tempDir('b'), 'wa-auth');
    assert.equal(await exists(path.join(bAuth, `session-${PROFILE}`)), false);
    const b = worker(bAuth, 'host-b');
    await b.transport.start();
    await waitFor('worker B to be ready', () => b.transport.status().state === 'ready');
    assert.equal(b.qrCodes, 0, 'no QR code on worker B');
    assert.deepEqual(b.clients[0]!.found, { local: markerA, idb: markerA }, 'the page on worker B finds the login in localStorage and IndexedDB');
    assert.ok(
      b.states.some((s) => /restoring the WhatsApp login from PostgreSQL/.test(s.reason ?? '')),
      'worker B said it was restoring',
    );
    // While B runs, the login changes (WhatsApp Web's keys move on); B's save on closing keeps it.
    const markerB = `${markerA}-then-host-b`;
    await b.clients[0]!.page!.evaluate((m) => (window as unknown as { pair(m: string): Promise<void> }).pair(m), markerB);
    await b.transport.close();
    assert.equal(browsers.size, 0, 'worker B left no Chromium');
    const handedBack = (await storedRow())!;
    assert.equal(handedBack.saved_by, 'host-b');
    assert.notEqual(handedBack.sha256, row.sha256);

    // The session comes back to A, whose data directory still has its own, older profile: the stored
    // copy replaces it, and A is ready with no QR code, on B's login.
    const again = worker(a.authPath, 'host-a');
    await again.transport.start();
    await waitFor('worker A to be ready again', () => again.transport.status().state === 'ready');
    assert.equal(again.qrCodes, 0, 'no QR code on worker A the second time');
    assert.deepEqual(again.clients[0]!.found, { local: markerB, idb: markerB }, "A's older profile was replaced by B's copy");
    await again.transport.close();
    assert.equal(browsers.size, 0, 'worker A left no Chromium');
  });

  it('a periodic save, taken while Chromium runs, is a copy another worker can restore (what a crash leaves)', async () => {
    // Chromium writes localStorage to disk about 5 s after the page changes it (IndexedDB at once): a save
    // 4 s after the login was made had IndexedDB without localStorage, 6 s and later had both. The first
    // save comes 8 s after ready here (60 s in the service).
    const profile = 'polres-periodic';
    const a = worker(path.join(await tempDir('periodic-a'), 'wa-auth'), 'host-a', KEY, { profile, saveMs: 8000 });
    await a.transport.start();
    await waitFor('a QR code', () => a.qrCodes > 0);
    const marker = `periodic-${Date.now()}`;
    await a.clients[0]!.scan(marker);
    const saved = async () => (await db.pool.query('SELECT saved_by FROM wa_auth_store WHERE auth_profile = $1', [profile])).rows[0];
    const deadline = Date.now() + 20_000;
    while (!(await saved()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(await saved(), 'saved while ready');
    // A is killed (no save on closing): its Chromium dies with it.
    a.transport.kill();
    await waitFor('the browser to be gone', () => a.clients[0]!.pupBrowser!.process()?.exitCode !== null || a.clients[0]!.pupBrowser!.process()?.signalCode !== null);
    browsers.delete(a.clients[0]!.pupBrowser!);

    const b = worker(path.join(await tempDir('periodic-b'), 'wa-auth'), 'host-b', KEY, { profile });
    try {
      await b.transport.start();
      await waitFor('worker B to be ready', () => b.transport.status().state === 'ready').catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify({ states: b.states.map((x) => `${x.state} ${x.reason}`), found: b.clients.map((c) => c.found) })}`);
      });
      assert.equal(b.qrCodes, 0);
      assert.deepEqual(b.clients[0]!.found, { local: marker, idb: marker });
    } finally {
      await b.transport.close();
    }
    await db.pool.query('DELETE FROM wa_auth_store WHERE auth_profile = $1', [profile]);
  });

  it('a login that ended (an operator logs out) is removed from PostgreSQL with the local profile; a new QR code follows', async () => {
    const before = (await storedRow())!;
    const authPath = path.join(await tempDir('logout'), 'wa-auth');
    const e = worker(authPath, 'host-e');
    await e.transport.start();
    await waitFor('worker E to be ready', () => e.transport.status().state === 'ready');
    assert.equal(e.qrCodes, 0);
    await e.transport.logout();
    await waitFor('a new QR code after the logout', () => e.qrCodes > 0);
    assert.equal(await storedRow(), undefined, 'the stored copy is gone');
    await e.transport.close();
    assert.equal(browsers.size, 0);
    assert.equal(await storedRow(), undefined, 'an unpaired profile is not saved on closing');
    // The copy put back for the tests that follow.
    await db.pool.query(
      `INSERT INTO wa_auth_store (auth_profile, data, sha256, size, plain_size, files, key_id, saved_by, held_by) VALUES ($1, $2, $3, 0, 0, 0, $4, $5, '')`,
      [PROFILE, before.data, before.sha256, before.key_id, before.saved_by],
    );
  });

  it('the stored copy holds no plaintext: the sealed bytes do not contain what the opened copy contains', async () => {
    const row = (await storedRow())!;
    const archive = await gunzip(unseal(row.data, KEY, PROFILE));
    // Local Storage keeps the value as Latin-1 or UTF-16: the archive has it in one of the two.
    const inArchive = archive.includes(Buffer.from(markerA, 'latin1')) || archive.includes(Buffer.from(markerA, 'utf16le'));
    assert.ok(inArchive, 'the opened copy holds the login marker');
    for (const encoding of ['latin1', 'utf16le'] as const) assert.equal(row.data.includes(Buffer.from(markerA, encoding)), false, `no ${encoding} marker in the bytea`);
    assert.equal(row.data.includes(Buffer.from('IndexedDB')), false, 'no file names in the bytea');
  });

  it('another key is refused by name, and nothing is removed; the transport stays failed without Chromium', async () => {
    const before = (await storedRow())!;
    const authPath = path.join(await tempDir('wrong-key'), 'wa-auth');
    // A local profile this worker had: it must survive the refusal.
    const profileDir = path.join(authPath, `session-${PROFILE}`);
    await fs.mkdir(path.join(profileDir, 'Default', 'Local Storage'), { recursive: true });
    await fs.writeFile(path.join(profileDir, 'Default', 'Local Storage', 'kept'), 'local');

    const store = new ProfileStore({ pool: db.pool, key: OTHER_KEY, authPath, authProfile: PROFILE, savedBy: 'host-c' });
    await assert.rejects(store.restore(), (err: Error) => err instanceof AuthStoreKeyError && /WA_AUTH_STORE_KEY/.test(err.message) && !err.message.includes(OTHER_KEY.toString('hex')));

    const c = worker(authPath, 'host-c', OTHER_KEY);
    await c.transport.start();
    const failed = await waitFor('worker C to fail', () => c.states.find((s) => s.state === 'failed'));
    assert.match(failed.reason ?? '', /WA_AUTH_STORE_KEY/);
    assert.equal(c.clients.length, 0, 'no Chromium was started');
    await c.transport.close();
    assert.equal(await fs.readFile(path.join(profileDir, 'Default', 'Local Storage', 'kept'), 'utf8'), 'local', 'the local profile is untouched');
    const afterRow = (await storedRow())!;
    assert.equal(afterRow.sha256, before.sha256, 'the stored copy is untouched');
    assert.ok(afterRow.data.equals(before.data));
  });

  it('a changed byte is detected; a copy moved to another auth profile is refused', async () => {
    const original = (await storedRow())!;
    const authPath = path.join(await tempDir('tamper'), 'wa-auth');
    const store = new ProfileStore({ pool: db.pool, key: KEY, authPath, authProfile: PROFILE, savedBy: 'host-d' });
    try {
      // A byte of the ciphertext flipped, the sha256 column updated to match: the seal still refuses it.
      const changed = Buffer.from(original.data);
      changed[changed.length - 10]! ^= 0x01;
      const { createHash } = await import('node:crypto');
      await db.pool.query('UPDATE wa_auth_store SET data = $2, sha256 = $3 WHERE auth_profile = $1', [PROFILE, changed, createHash('sha256').update(changed).digest('hex')]);
      await assert.rejects(store.restore(), (err: Error) => err instanceof AuthStoreKeyError && /WA_AUTH_STORE_KEY/.test(err.message) && /changed/.test(err.message));
      // Changed without its sha256: refused before it is opened.
      await db.pool.query('UPDATE wa_auth_store SET data = $2, sha256 = $3 WHERE auth_profile = $1', [PROFILE, changed, original.sha256]);
      await assert.rejects(store.restore(), (err: Error) => err instanceof AuthStoreKeyError && /does not match its sha256/.test(err.message));
      assert.equal(await exists(path.join(authPath, `session-${PROFILE}`)), false, 'nothing was unpacked');
      // The right bytes under another profile's name: the profile is sealed in.
      await db.pool.query(
        `INSERT INTO wa_auth_store (auth_profile, data, sha256, size, plain_size, files, key_id, saved_by, held_by)
         SELECT 'another-profile', $1, $2, size, plain_size, files, key_id, saved_by, held_by FROM wa_auth_store WHERE auth_profile = $3`,
        [original.data, original.sha256, PROFILE],
      );
      const moved = new ProfileStore({ pool: db.pool, key: KEY, authPath, authProfile: 'another-profile', savedBy: 'host-d' });
      await assert.rejects(moved.restore(), AuthStoreKeyError);
    } finally {
      await db.pool.query('UPDATE wa_auth_store SET data = $2, sha256 = $3 WHERE auth_profile = $1', [PROFILE, original.data, original.sha256]);
      await db.pool.query(`DELETE FROM wa_auth_store WHERE auth_profile = 'another-profile'`);
    }
  });

  it('a process that lost the session cannot overwrite or remove the copy of the one that took it', async () => {
    const staleAuth = path.join(await tempDir('stale'), 'wa-auth');
    const stale = new ProfileStore({ pool: db.pool, key: KEY, authPath: staleAuth, authProfile: PROFILE, savedBy: 'host-stale' });
    assert.equal((await stale.restore()).kind, 'restored');
    // The same data directory's next tenure finds the copy it already has: nothing is unpacked.
    assert.equal((await new ProfileStore({ pool: db.pool, key: KEY, authPath: staleAuth, authProfile: PROFILE, savedBy: 'host-stale' }).restore()).kind, 'current');
    assert.equal((await stale.restore()).kind, 'current');
    // The session is taken by another process before the stale one noticed.
    const taker = new ProfileStore({ pool: db.pool, key: KEY, authPath: path.join(await tempDir('taker'), 'wa-auth'), authProfile: PROFILE, savedBy: 'host-taker' });
    assert.equal((await taker.restore()).kind, 'restored');
    // The stale one saves (a periodic save, or its save on closing) after the taker restored: refused, so
    // the taker's later saves are not refused in turn.
    await fs.writeFile(path.join(stale.profileDir, 'Default', 'Local Storage', 'older'), 'stale');
    assert.equal((await stale.save()).kind, 'superseded');
    assert.equal((await taker.save()).kind, 'unchanged', 'nothing changed since the restore: no save');
    await fs.writeFile(path.join(taker.profileDir, 'Default', 'Local Storage', 'newer'), 'taker');
    assert.equal((await taker.save()).kind, 'saved');
    assert.equal((await stale.save()).kind, 'superseded');
    assert.equal((await storedRow())!.saved_by, 'host-taker');
    // The login ended on the stale one: the taker's copy is not its to remove.
    assert.equal(await stale.forget(), false);
    assert.ok(await storedRow());
    assert.equal(await taker.forget(), true);
    assert.equal(await storedRow(), undefined);
  });
});

describe('cicero-wa doctor: the auth-store check', () => {
  it('names a number stored under another key as a failure, and one not stored yet as a warning', async () => {
    await ensureConfiguredSession(db.pool, { name: 'default', authProfile: 'doctor-profile', pairing: 'qr', pairPhone: null });
    const config = (key: Buffer) => parseConfig({ WA_AUTH_STORE: 'postgres', WA_AUTH_STORE_KEY: key.toString('hex') }, testCwd());
    assert.deepEqual(await checkAuthStore(db.pool, parseConfig({}, testCwd())), [], 'no check with WA_AUTH_STORE=local');
    const [missing] = await checkAuthStore(db.pool, config(KEY));
    assert.equal(missing!.warn, true);
    assert.match(missing!.detail, /default: not stored yet/);

    const authPath = path.join(await tempDir('doctor'), 'wa-auth');
    await fs.mkdir(path.join(authPath, 'session-doctor-profile', 'Default', 'IndexedDB'), { recursive: true });
    await fs.writeFile(path.join(authPath, 'session-doctor-profile', 'Default', 'IndexedDB', 'x'), 'login');
    assert.equal((await new ProfileStore({ pool: db.pool, key: KEY, authPath, authProfile: 'doctor-profile', savedBy: 'host-doctor' }).save()).kind, 'saved');
    const [ok] = await checkAuthStore(db.pool, config(KEY));
    assert.equal(ok!.ok && !ok!.warn, true, ok!.detail);
    assert.match(ok!.detail, /default: 1 kB saved by host-doctor/);
    const [wrong] = await checkAuthStore(db.pool, config(OTHER_KEY));
    assert.equal(wrong!.ok, false);
    assert.match(wrong!.remedy ?? '', /default cannot be restored with this WA_AUTH_STORE_KEY/);
    assert.equal(JSON.stringify(wrong).includes(OTHER_KEY.toString('hex')), false, 'the key is never shown');
  });
});

describe('WA_AUTH_STORE and WA_AUTH_STORE_KEY in the configuration', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      parseConfig(env, testCwd());
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };
  const hex = 'ab'.repeat(32);

  it('local by default, with no key needed', () => {
    const config = parseConfig({}, testCwd());
    assert.equal(config.wa.authStore, 'local');
    assert.equal(config.wa.authStoreKey, null);
    assert.equal(config.wa.authStoreSaveMs, 300_000);
  });

  it('postgres needs a key of 32 bytes, given as hex or base64; a bad one is named and never shown', () => {
    assert.match(problems({ WA_AUTH_STORE: 'postgres' }).join('\n'), /WA_AUTH_STORE_KEY is required with WA_AUTH_STORE=postgres/);
    for (const bad of ['short', 'ab'.repeat(31), 'zz'.repeat(32), Buffer.alloc(16, 1).toString('base64'), `${hex} `.repeat(2)]) {
      const found = problems({ WA_AUTH_STORE: 'postgres', WA_AUTH_STORE_KEY: bad });
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0]!, /^WA_AUTH_STORE_KEY is invalid \(value not shown\)/);
      assert.equal(found[0]!.includes(bad.trim()), false);
    }
    assert.match(problems({ WA_AUTH_STORE: 'postgres', WA_AUTH_STORE_KEY: '' }).join('\n'), /WA_AUTH_STORE_KEY="" is invalid: it is empty/);
    assert.match(problems({ WA_AUTH_STORE: 'mongo' }).join('\n'), /WA_AUTH_STORE="mongo" is invalid: expected one of local, postgres/);
    assert.match(problems({ WA_AUTH_STORE_SAVE_SECONDS: '30' }).join('\n'), /WA_AUTH_STORE_SAVE_SECONDS="30" is invalid: expected a whole number from 60 to 86400/);

    const random = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256));
    for (const good of [hex, random.toString('base64'), random.toString('base64url'), random.toString('base64').replace(/=$/, '')]) {
      const config = parseConfig({ WA_AUTH_STORE: 'postgres', WA_AUTH_STORE_KEY: good }, testCwd());
      assert.equal(config.wa.authStoreKey!.length, 32, good);
    }
    assert.ok(parseConfig({ WA_AUTH_STORE: 'postgres', WA_AUTH_STORE_KEY: random.toString('base64') }, testCwd()).wa.authStoreKey!.equals(random));
  });

  it('the key is masked in the configuration as logged', () => {
    const config = parseConfig({ WA_AUTH_STORE: 'postgres', WA_AUTH_STORE_KEY: hex }, testCwd());
    const shown = JSON.stringify(fullConfig(config));
    assert.equal(shown.includes(hex), false);
    assert.match(shown, /"authStoreKey":"\(set\)"/);
  });
});
