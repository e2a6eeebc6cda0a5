/**
 * `npm run bench -- auth-store`: what WA_AUTH_STORE=postgres costs for a real Chromium profile. For each
 * size in BENCH_AUTH_STORE_MB (0,10,50: megabytes a stand-in page on loopback writes into IndexedDB,
 * as WhatsApp Web fills it with its keys, chats and messages; 0: the page loaded, its login alone):
 *
 * - the profile on disk (all of it, and the part kept: Default/IndexedDB and Default/Local Storage);
 * - the stored copy's size (packed, gzip, sealed) in wa_auth_store;
 * - the time to save it (pack, compress, seal, write the row) and to restore it on a fresh data
 *   directory (read the row, check, open, unpack), medians of BENCH_RUNS (3);
 * - that Chromium on the restored directory finds the login (else the run fails).
 *
 * Chromium is launched as whatsapp-web.js launches it for the service (its own puppeteer, the service's
 * flags). The page's data is a mix like WhatsApp Web's: message text that compresses, and random keys
 * and media references that do not. Writes `authStore` into bench/results.json.
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { silentLogger } from '../src/lib/logger.js';
import { findChromium } from '../src/whatsapp/wwebjs/chromium.js';
import { BASE_CHROMIUM_FLAGS } from '../src/whatsapp/wwebjs/client.js';
import { ProfileStore } from '../src/whatsapp/wwebjs/auth-store.js';
import { log, machine, median, mergeResults } from './common.js';

const SIZES_MB = (process.env.BENCH_AUTH_STORE_MB ?? '0,10,50').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MB = 1024 * 1024;
const PROFILE = 'bench-auth';

// whatsapp-web.js's own puppeteer, resolved from where whatsapp-web.js resolves it.
const requireFromWwebjs = createRequire(createRequire(import.meta.url).resolve('whatsapp-web.js'));
const puppeteer = requireFromWwebjs('puppeteer') as typeof import('puppeteer').default;

/** The page: `fill(mb)` writes about `mb` megabytes of WhatsApp-like records into IndexedDB, and the login marker. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>stand-in</title><script>
const WORDS = 'laporan tugas personil sudah belum kurang polres polsek rekap harian like komentar instagram tiktok mohon segera ditindaklanjuti terima kasih'.split(' ');
function text(n) { let s = ''; while (s.length < n) s += WORDS[Math.floor(Math.random() * WORDS.length)] + ' '; return s; }
function key(n) { const b = new Uint8Array(n); crypto.getRandomValues(b); return btoa(String.fromCharCode(...b)); }
function open() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open('model-storage', 1);
    r.onupgradeneeded = () => { r.result.createObjectStore('message'); r.result.createObjectStore('user'); };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
function done(tx) { return new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); }); }
window.fill = async (mb, marker) => {
  const db = await open();
  let written = 0, id = 0;
  while (written < mb * 1048576) {
    const tx = db.transaction('message', 'readwrite');
    for (let i = 0; i < 200; i++) {
      const record = { id: 'true_6281234' + id + '@c.us_3EB0' + key(9), body: text(180), t: Date.now(), ack: 3, mediaKey: key(32), encFilehash: key(32) };
      written += JSON.stringify(record).length;
      tx.objectStore('message').put(record, id++);
    }
    await done(tx);
  }
  const tx = db.transaction('user', 'readwrite');
  tx.objectStore('user').put({ marker, noiseKey: key(64), signedIdentityKey: key(64) }, 'me');
  await done(tx);
  localStorage.setItem('last-wid-md', marker);
  db.close();
  return written;
};
window.marker = async () => {
  const db = await open();
  const tx = db.transaction('user', 'readonly');
  const r = tx.objectStore('user').get('me');
  await done(tx);
  db.close();
  return { idb: r.result ? r.result.marker : null, local: localStorage.getItem('last-wid-md') };
};
</script>`;

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) total += await dirBytes(full);
    else if (e.isFile()) total += (await fs.stat(full)).size;
  }
  return total;
}

async function withBrowser<T>(executablePath: string, userDataDir: string, url: string, work: (page: import('puppeteer').Page) => Promise<T>): Promise<T> {
  const browser = await puppeteer.launch({ executablePath, userDataDir, headless: true, pipe: true, args: [...BASE_CHROMIUM_FLAGS], handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    return await work(page);
  } finally {
    await browser.close().catch(() => undefined);
    browser.process()?.kill('SIGKILL');
  }
}

const round = (n: number, places = 1) => Math.round(n * 10 ** places) / 10 ** places;

export async function authStoreBench(adminUrl: string): Promise<void> {
  const chromium = findChromium(process.env.WA_CHROMIUM_PATH ?? process.env.PUPPETEER_EXECUTABLE_PATH ?? null);
  if (!chromium.path) throw new Error(`Chromium not found (${chromium.source})`);
  log(`auth-store: IndexedDB of ${SIZES_MB.join(', ')} MB written by a stand-in page, ${RUNS} runs each (medians)`);
  const dbName = `bench_auth_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const pool = createPool(url.toString(), 4, silentLogger());
  const tempRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'cicero-wa-bench-auth-'));
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const key = randomBytes(32);
  const rows: Array<Record<string, number>> = [];
  try {
    await migrate(pool, silentLogger());
    for (const mb of SIZES_MB) {
      const saves: number[] = [];
      const restores: number[] = [];
      let sample: Record<string, number> = {};
      for (let run = 0; run < RUNS; run++) {
        await pool.query('TRUNCATE wa_auth_store');
        const source = path.join(tempRoot, `source-${mb}-${run}`);
        const target = path.join(tempRoot, `target-${mb}-${run}`);
        const marker = `paired-${randomBytes(6).toString('hex')}`;
        const written = await withBrowser(chromium.path, path.join(source, `session-${PROFILE}`), pageUrl, (page) => page.evaluate((m, s) => (window as unknown as { fill(mb: number, m: string): Promise<number> }).fill(s, m), marker, mb));
        const saver = new ProfileStore({ pool, key, authPath: source, authProfile: PROFILE, savedBy: 'bench-a' });
        const saved = await saver.save();
        if (saved.kind !== 'saved') throw new Error(`save: ${saved.kind}`);
        const restorer = new ProfileStore({ pool, key, authPath: target, authProfile: PROFILE, savedBy: 'bench-b' });
        const restored = await restorer.restore();
        if (restored.kind !== 'restored') throw new Error(`restore: ${restored.kind}`);
        const found = await withBrowser(chromium.path, path.join(target, `session-${PROFILE}`), pageUrl, (page) => page.evaluate(() => (window as unknown as { marker(): Promise<{ idb: string | null; local: string | null }> }).marker()));
        if (found.idb !== marker || found.local !== marker) throw new Error(`the restored profile lost the login: ${JSON.stringify(found)}`);
        saves.push(saved.ms);
        restores.push(restored.ms);
        sample = {
          pageWrittenMb: round(written / MB),
          profileKb: Math.round((await dirBytes(path.join(source, `session-${PROFILE}`))) / 1024),
          keptKb: Math.round(saved.plainSize / 1024),
          storedKb: Math.round(saved.size / 1024),
          files: saved.files,
        };
        await fs.rm(source, { recursive: true, force: true });
        await fs.rm(target, { recursive: true, force: true });
      }
      const row = { indexedDbMb: mb, ...sample, saveMs: median(saves), restoreMs: median(restores) };
      rows.push(row);
      log(`  ${JSON.stringify(row)}`);
    }
    await mergeResults({ authStore: { machine: machine(), chromium: chromium.path, runs: RUNS, rows } });
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    await fs.rm(tempRoot, { recursive: true, force: true });
  }
}
