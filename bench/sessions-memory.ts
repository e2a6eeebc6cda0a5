/**
 * `npm run bench -- sessions-memory`: the memory of N WhatsApp sessions in one process, each with its own
 * Chromium, and whether it grows over a simulated day of sends.
 *
 * For each N (BENCH_SESSIONS, default "1,2,3") one run in this process: per session a Chromium launched
 * the way whatsapp-web.js launches it for the service (the same puppeteer, the same flags: the service's
 * base flags, WA_PUPPETEER_ARGS, whatsapp-web.js's user agent and automation flag; its own user-data dir,
 * `<temp>/session-<profile>` as LocalAuth makes it), on a stand-in page served from loopback that builds a
 * JS heap and a DOM of WhatsApp Web's weight (it is NOT WhatsApp Web: see README). Each session runs the
 * service's delivery path (SessionDelivery: dispatcher and confirmer) on the stand-in transport, whose
 * every send also runs a page.evaluate in that session's page (the message stored in the page's model and
 * drawn in its chat list and open chat), over a simulated day: BENCH_SESSIONS_DAY_SENDS (1,500) messages
 * per session, enqueued in six blocks of "4 hours" and drained as fast as the path goes (no rate limit,
 * no timer waits on the simulated hours).
 *
 * Sampled at ready and after each block: RSS and PSS (/proc/<pid>/smaps_rollup) of this Node process and
 * of each session's Chromium process tree. Per ready session = (Node + every Chromium tree) / N.
 * Everything is removed at the end: the browsers, the temp dirs, the database the run made.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import pg from 'pg';
import wwebjs from 'whatsapp-web.js';
import { EnvReader } from '../src/config/env-reader.js';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { silentLogger } from '../src/lib/logger.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { findChromium } from '../src/whatsapp/wwebjs/chromium.js';
import { BASE_CHROMIUM_FLAGS } from '../src/whatsapp/wwebjs/client.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { log, mergeResults } from './common.js';

const env = new EnvReader(process.env);
const SESSION_COUNTS = (process.env.BENCH_SESSIONS ?? '1,2,3').split(',').map((s) => Number(s.trim()));
const DAY_SENDS = env.integer('BENCH_SESSIONS_DAY_SENDS', 1500, 6, 1_000_000);
const PAGE_HEAP_MB = env.integer('BENCH_PAGE_HEAP_MB', 120, 1, 4096);
const EXTRA_FLAGS = env.chromiumFlags('WA_PUPPETEER_ARGS');
const BLOCKS = 6; // 24 simulated hours in blocks of 4
const GOAL_PSS_MB = 400;
// Growth: the total PSS from ready to hour 24 within 10 %; a renderer steps between two resident sizes
// about 110 MB apart (about a quarter of a tree) with no change in its work, so a tighter bound on the
// total would judge Chromium's allocator. The leak test proper is this process's live JS heap after a
// full collection: at most 5 MB more after the day (4,500 sends in the three-session run: more than
// about 1.1 kB kept a send fails it).
const GOAL_GROWTH = 0.1;
const GOAL_NODE_HEAP_GROWTH_MB = 5;
if (env.problems.length > 0) throw new Error(env.problems.join('\n'));
if (!SESSION_COUNTS.every((n) => Number.isInteger(n) && n >= 1 && n <= 16) || !SESSION_COUNTS.includes(1)) {
  throw new Error(`BENCH_SESSIONS=${process.env.BENCH_SESSIONS} is invalid: expected a comma-separated list of session counts from 1 to 16 that includes 1 (the baseline), e.g. 1,2,3`);
}

const logger = silentLogger();
const MB = 1024 * 1024;

// whatsapp-web.js's own puppeteer, resolved from where whatsapp-web.js resolves it.
const requireFromWwebjs = createRequire(createRequire(import.meta.url).resolve('whatsapp-web.js'));
const puppeteer = requireFromWwebjs('puppeteer') as typeof import('puppeteer').default;
type Browser = import('puppeteer').Browser;
type Page = import('puppeteer').Page;
const USER_AGENT = (wwebjs as unknown as { DefaultOptions: { userAgent: string } }).DefaultOptions.userAgent;

// ---- The stand-in page ------------------------------------------------------------------------------

/**
 * A page of WhatsApp Web's weight: a model of chats and messages filling about PAGE_HEAP_MB of JS heap,
 * the first 300 rows of the chat list and an open chat of its last 100 messages in the DOM. `window.bench.send`
 * is what each send runs: the message into the model (each chat keeps its last 200, as WhatsApp Web
 * unloads older ones), its chat moved to the top of the list, a bubble in the open chat (the last 100).
 */
const PAGE = (heapMb: number) => `<!doctype html><html><head><meta charset="utf-8"><title>stand-in</title>
<style>body{font:14px sans-serif;display:flex}#list{width:30%;height:100vh;overflow:auto}#pane{flex:1}.row{display:flex;padding:6px}.b{margin:4px;padding:6px;border-radius:6px;background:#dcf8c6}</style>
</head><body><div id="list"></div><div id="pane"></div><script>
const word = (i) => 'pesan ' + i.toString(36) + ' personil satker wilayah tugas laporan rekap harian '.repeat(2);
const chats = new Map();
const list = document.getElementById('list');
const pane = document.getElementById('pane');
let bytes = 0, n = 0, chatCount = 0;
const target = ${heapMb} * 1024 * 1024;
while (bytes < target) {
  const id = '62812' + String(chatCount).padStart(8, '0') + '@c.us';
  const messages = [];
  for (let k = 0; k < 60; k++, n++) {
    const body = word(n) + n;
    messages.push({ id: { fromMe: k % 2 === 0, remote: id, id: 'ID' + n.toString(16).padStart(20, '0'), _serialized: 'true_' + id + '_' + n }, body, t: 1700000000 + n, ack: 3, type: 'chat', reactions: [], mentioned: [] });
    bytes += body.length + 260; // one-byte strings; about what V8 keeps per message object
  }
  const row = document.createElement('div');
  row.className = 'row';
  row.innerHTML = '<img width="40" height="40" alt=""><div><div class="name"><span>Kontak ' + chatCount + '</span></div><div class="last"><span>' + messages[59].body.slice(0, 40) + '</span></div></div><div class="meta"><span>07.00</span></div>';
  if (chatCount < 300) list.appendChild(row); // WhatsApp Web draws only part of its chat list
  chats.set(id, { id, name: 'Kontak ' + chatCount, messages, row });
  chatCount++;
}
const open = chats.values().next().value;
for (const m of open.messages) { const b = document.createElement('div'); b.className = 'b'; b.textContent = m.body; pane.appendChild(b); }
window.bench = {
  chats: chatCount,
  messages: n,
  send(chatId, text, at) {
    let chat = chats.get(chatId);
    if (!chat) {
      const row = document.createElement('div'); row.className = 'row'; row.innerHTML = '<img width="40" height="40" alt=""><div><div class="name"><span></span></div><div class="last"><span></span></div></div><div class="meta"><span></span></div>';
      chat = { id: chatId, name: chatId, messages: [], row };
      chats.set(chatId, chat);
    }
    n++;
    const m = { id: { fromMe: true, remote: chatId, id: 'ID' + n.toString(16).padStart(20, '0'), _serialized: 'true_' + chatId + '_' + n }, body: text, t: at, ack: 1, type: 'chat', reactions: [], mentioned: [] };
    chat.messages.push(m);
    if (chat.messages.length > 200) chat.messages.splice(0, chat.messages.length - 200);
    chat.row.querySelector('.last span').textContent = text.slice(0, 40);
    chat.row.querySelector('.meta span').textContent = new Date(at * 1000).toISOString().slice(11, 16);
    list.prepend(chat.row);
    while (list.childElementCount > 300) list.lastElementChild.remove();
    const b = document.createElement('div'); b.className = 'b'; b.textContent = text; pane.appendChild(b);
    while (pane.childElementCount > 100) pane.firstElementChild.remove();
    return JSON.stringify(m.id);
  },
};
document.title = 'ready';
</script></body></html>`;

async function servePage(): Promise<{ url: string; close: () => Promise<void> }> {
  const html = PAGE(PAGE_HEAP_MB);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

// ---- Memory of a process tree -----------------------------------------------------------------------

interface Memory {
  rssMb: number;
  pssMb: number;
}

/** RSS and PSS of one process (kB lines of /proc/<pid>/smaps_rollup); zero when it is gone. */
function processMemory(pid: number): Memory {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { rssMb: kb('Rss') / 1024, pssMb: kb('Pss') / 1024 };
  } catch {
    return { rssMb: 0, pssMb: 0 };
  }
}

/** The pid and every descendant of it (from each process's parent in /proc/<pid>/stat). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/**
 * Chromium processes on the machine outside `ours` (other runs of the browser). They map the same
 * executable, and PSS divides its shared pages among every process that maps them, so they lower our trees' PSS.
 */
function otherChromiums(executable: string, ours: Set<number>): number {
  let count = 0;
  let target = executable;
  try {
    target = execFileSync('readlink', ['-f', executable], { encoding: 'utf8' }).trim();
  } catch {
    // keep the path as given
  }
  const real = path.dirname(target);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || ours.has(Number(entry))) continue;
    try {
      if (path.dirname(readlinkSync(`/proc/${entry}/exe`)) === real) count++;
    } catch {
      // not ours to read, or gone
    }
  }
  return count;
}

function treeMemory(root: number): Memory & { processes: number } {
  const pids = processTree(root);
  const each = pids.map(processMemory);
  return { rssMb: each.reduce((s, m) => s + m.rssMb, 0), pssMb: each.reduce((s, m) => s + m.pssMb, 0), processes: pids.length };
}

// ---- One run of N sessions -------------------------------------------------------------------------

interface Session {
  name: string;
  browser: Browser;
  page: Page;
  pid: number;
  transport: FakeTransport;
  delivery: SessionDelivery;
  sent: number;
}

interface Sample {
  hour: number;
  node: Memory;
  chromium: Array<Memory & { processes: number }>;
  perSession: Memory;
  total: Memory;
  /** Chromium processes running on the machine that are not this run's. */
  otherChromiums: number;
  /** This process's live JS heap after the collection. */
  nodeHeapUsedMb: number;
  /** Total PSS again after every browser was told of critical memory pressure (caches and free pages given back). */
  purgedTotalPssMb: number;
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

async function launch(executablePath: string, userDataDir: string): Promise<{ browser: Browser; page: Page }> {
  // As whatsapp-web.js's Client.initialize launches it with the options the service gives (client.ts).
  const browser = await puppeteer.launch({
    headless: true,
    defaultViewport: null,
    executablePath,
    args: [...BASE_CHROMIUM_FLAGS, ...EXTRA_FLAGS, `--user-agent=${USER_AGENT}`, '--disable-blink-features=AutomationControlled'],
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    userDataDir,
  });
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  await page.setUserAgent(USER_AGENT);
  return { browser, page };
}

const dispatch = {
  sendIntervalMs: 0, sendJitterMs: 0, maxPerMinute: 10_000_000, maxAttempts: 3, retryBaseMs: 1000, retryMaxMs: 1000, batchSize: 10,
  leaseMs: 300_000, sendTimeoutMs: 60_000, confirmTimeoutMs: 600_000, settleGraceMs: 120_000, resendChecked: true, documentMaxBytes: 16 * 1024 * 1024, failoverAfterMs: 300_000,
};

/**
 * Before a sample, a full garbage collection in this process and in every session's page, so a sample
 * measures what is kept rather than where each collector happens to be; growth then means a leak.
 */
const nodeGc = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

async function settle(pages: Page[]): Promise<void> {
  for (const page of pages) {
    const cdp = await page.createCDPSession();
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.detach();
  }
  nodeGc();
  await new Promise((r) => setTimeout(r, 300));
}

/**
 * Tells each session's browser and page of critical memory pressure, as the system would under low
 * memory: Chromium drops its caches and gives free pages back. A sample after it shows what is held,
 * not what the allocators happen to keep, so it is the one growth is judged on.
 */
async function purge(sessions: Array<{ browser: Browser; page: Page }>): Promise<void> {
  for (const s of sessions) {
    for (const cdp of [await s.browser.target().createCDPSession(), await s.page.createCDPSession()]) {
      await cdp.send('Memory.simulatePressureNotification', { level: 'critical' }).catch(() => undefined);
      await cdp.detach();
    }
  }
  await new Promise((r) => setTimeout(r, 300));
}

async function runSessions(count: number, chromium: string, pageUrl: string, pool: pg.Pool, tempRoot: string): Promise<Sample[]> {
  const sessions: Session[] = [];
  const samples: Sample[] = [];
  const started = performance.now();
  let evalMs = 0;
  const sample = async (hour: number) => {
    const node = processMemory(process.pid);
    const trees = sessions.map((s) => treeMemory(s.pid));
    const total = { rssMb: node.rssMb + trees.reduce((a, t) => a + t.rssMb, 0), pssMb: node.pssMb + trees.reduce((a, t) => a + t.pssMb, 0) };
    const nodeHeapUsedMb = process.memoryUsage().heapUsed / MB;
    const others = otherChromiums(chromium, new Set(sessions.flatMap((s) => processTree(s.pid))));
    await purge(sessions);
    const purgedTotalPssMb = processMemory(process.pid).pssMb + sessions.reduce((a, s) => a + treeMemory(s.pid).pssMb, 0);
    samples.push({ hour, node, chromium: trees, total, perSession: { rssMb: total.rssMb / count, pssMb: total.pssMb / count }, nodeHeapUsedMb, purgedTotalPssMb, otherChromiums: others });
    log(`  ${((performance.now() - started) / 1000).toFixed(1)} s: ${count} session(s), hour ${String(hour).padStart(2)}: PSS per session ${total.pssMb.toFixed(0)} / ${count} = ${(total.pssMb / count).toFixed(0)} MB (node ${node.pssMb.toFixed(0)}, chromium ${trees.map((t) => `${t.pssMb.toFixed(0)} in ${t.processes}`).join(', ')}), RSS total ${total.rssMb.toFixed(0)} MB; node heap ${nodeHeapUsedMb.toFixed(0)} MB; purged PSS total ${purgedTotalPssMb.toFixed(0)} MB; page.evaluate so far ${evalMs.toFixed(0)} ms; other Chromium processes on the machine ${others}`);
  };
  try {
    for (let i = 1; i <= count; i++) {
      const name = `bench-${count}-${i}`;
      const { browser, page } = await launch(chromium, path.join(tempRoot, `session-${name}`));
      const pid = browser.process()?.pid;
      if (!pid) throw new Error('Chromium started without a process id');
      const transport = new FakeTransport();
      const sendText = transport.sendText.bind(transport);
      const session: Session = { name, browser, page, pid, transport, delivery: undefined as unknown as SessionDelivery, sent: 0 };
      transport.sendText = async (chatId, text, hooks) => {
        const t0 = performance.now();
        await page.evaluate((c, t, at) => (window as unknown as { bench: { send(c: string, t: string, at: number): string } }).bench.send(c, t, at), chatId, text, Math.floor(Date.now() / 1000));
        evalMs += performance.now() - t0;
        const result = await sendText(chatId, text, hooks);
        session.sent++;
        return result;
      };
      sessions.push(session);
      await page.goto(pageUrl, { waitUntil: 'load', timeout: 120_000 });
      await page.waitForFunction(() => document.title === 'ready', { timeout: 120_000 });
      await transport.start();
      session.delivery = new SessionDelivery({ pool, transport, logger, dispatch, defaultCountryCode: '62', session: name });
      session.delivery.start();
    }
    await Promise.all(sessions.map((s) => s.delivery.idle()));
    await settle(sessions.map((s) => s.page));
    await sample(0);
    const perBlock = Math.floor(DAY_SENDS / BLOCKS);
    for (let block = 1; block <= BLOCKS; block++) {
      for (const s of sessions) {
        const first = (block - 1) * perBlock;
        await enqueue(pool, Array.from({ length: perBlock }, (_, k) => ({
          recipient: `0812${String((first + k) % 400).padStart(8, '0')}`,
          content: `Pengingat tugas ${first + k}: mohon like dan komentar pada 3 konten hari ini. Balas notifwa#off untuk berhenti.`,
          type: 'bench',
          session: s.name,
        })));
        s.delivery.trigger('notify');
      }
      const target = block * perBlock;
      const deadline = performance.now() + 300_000;
      while (sessions.some((s) => s.sent < target)) {
        if (performance.now() > deadline) throw new Error(`block ${block}: sends stalled at ${sessions.map((s) => s.sent).join(', ')} of ${target} a session`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await Promise.all(sessions.map((s) => s.delivery.idle()));
      for (const s of sessions) s.transport.sends.splice(0); // the stand-in's own record of sends, not the service's memory
      await settle(sessions.map((s) => s.page));
      await sample(block * 4);
    }
  } finally {
    for (const s of sessions) {
      await s.delivery?.stop().catch(() => undefined);
      await s.transport.close().catch(() => undefined);
      await s.browser.close().catch(() => undefined);
      try {
        process.kill(-s.pid, 'SIGKILL'); // anything of its process group still there
      } catch {
        // gone
      }
    }
    await pool.query("DELETE FROM wa_outbox WHERE session LIKE 'bench-%'");
  }
  return samples;
}

// ---- The benchmark ----------------------------------------------------------------------------------

export async function sessionsMemoryBench(adminUrl: string): Promise<void> {
  const chromium = findChromium(process.env.WA_CHROMIUM_PATH ?? process.env.PUPPETEER_EXECUTABLE_PATH ?? null);
  if (!chromium.path) throw new Error(`Chromium not found (${chromium.source})`);
  const version = execFileSync(chromium.path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  log(`sessions-memory: ${SESSION_COUNTS.join(', ')} sessions, ${DAY_SENDS} sends a simulated day per session, stand-in page of ${PAGE_HEAP_MB} MB heap, ${version}`);

  const dbName = `bench_mem_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const pool = createPool(url.toString(), 8, logger);
  const tempRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'cicero-wa-sessions-memory-'));
  const server = await servePage();
  const runs: Record<string, Sample[]> = {};
  let pageHeapMb = 0;
  let blankTree = { rssMb: 0, pssMb: 0, processes: 0 };
  let pageTree = blankTree;
  try {
    await migrate(pool, logger);
    // The stand-in page's real heap, measured once in a browser of its own.
    {
      const { browser, page } = await launch(chromium.path, path.join(tempRoot, 'session-probe'));
      try {
        const pid = browser.process()!.pid!;
        await settle([page]);
        blankTree = treeMemory(pid);
        await page.goto(server.url, { waitUntil: 'load' });
        await page.waitForFunction(() => document.title === 'ready');
        const cdp = await page.createCDPSession();
        await cdp.send('HeapProfiler.collectGarbage');
        const usage = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
        pageHeapMb = usage.usedSize / MB;
        pageTree = treeMemory(pid);
        const shape = await page.evaluate(() => ({ nodes: document.getElementsByTagName('*').length, chats: (window as unknown as { bench: { chats: number; messages: number } }).bench.chats, messages: (window as unknown as { bench: { messages: number } }).bench.messages }));
        log(`stand-in page: ${pageHeapMb.toFixed(0)} MB JS heap in use, ${shape.nodes} DOM elements, ${shape.chats} chats, ${shape.messages} messages; one Chromium tree alone: PSS ${blankTree.pssMb.toFixed(0)} MB on about:blank, ${pageTree.pssMb.toFixed(0)} MB on the stand-in page; other Chromium processes on the machine ${otherChromiums(chromium.path!, new Set(processTree(pid)))}`);
      } finally {
        await browser.close().catch(() => undefined);
      }
    }
    for (const count of SESSION_COUNTS) runs[String(count)] = await runSessions(count, chromium.path, server.url, pool, tempRoot);
  } finally {
    await server.close();
    await pool.end();
    await fs.rm(tempRoot, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }

  const summary = Object.fromEntries(
    Object.entries(runs).map(([count, samples]) => {
      const first = samples[0]!;
      const last = samples.at(-1)!;
      const peak = Math.max(...samples.map((s) => s.perSession.pssMb));
      return [count, {
        readyPssPerSessionMb: round(first.perSession.pssMb),
        readyRssPerSessionMb: round(first.perSession.rssMb),
        lastPssPerSessionMb: round(last.perSession.pssMb),
        peakPssPerSessionMb: round(peak),
        nodePssMb: { ready: round(first.node.pssMb), last: round(last.node.pssMb) },
        chromiumPssMb: { ready: first.chromium.map((c) => round(c.pssMb)), last: last.chromium.map((c) => round(c.pssMb)) },
        chromiumProcessesPerSession: first.chromium.map((c) => c.processes),
        growth: round((last.total.pssMb - first.total.pssMb) / first.total.pssMb, 4),
        purgedGrowth: round((last.purgedTotalPssMb - first.purgedTotalPssMb) / first.purgedTotalPssMb, 4),
        purgedGrowthMb: round(last.purgedTotalPssMb - first.purgedTotalPssMb),
        nodeHeapUsedMb: { ready: round(first.nodeHeapUsedMb), last: round(last.nodeHeapUsedMb) },
        growthMb: round(last.total.pssMb - first.total.pssMb),
        totalPssVsOneSession: round(first.total.pssMb / runs['1']![0]!.total.pssMb, 2),
        samples: samples.map((s) => ({ hour: s.hour, pssPerSessionMb: round(s.perSession.pssMb), rssPerSessionMb: round(s.perSession.rssMb), otherChromiums: s.otherChromiums, nodePssMb: round(s.node.pssMb), nodeHeapUsedMb: round(s.nodeHeapUsedMb), purgedPssPerSessionMb: round(s.purgedTotalPssMb / Number(count)), chromiumPssMb: s.chromium.map((c) => round(c.pssMb)) })),
      }];
    }),
  );
  const worstGrowth = Math.max(...Object.values(summary).map((s) => s.purgedGrowth));
  const worstNodeHeapGrowth = Math.max(...Object.values(summary).map((s) => s.nodeHeapUsedMb.last - s.nodeHeapUsedMb.ready));
  const results = {
    sessionsMemory: {
      chromium: version,
      standInPage: { heapTargetMb: PAGE_HEAP_MB, heapUsedMb: round(pageHeapMb) },
      oneChromiumAloneMb: { blankPagePss: round(blankTree.pssMb), blankPageRss: round(blankTree.rssMb), standInPagePss: round(pageTree.pssMb), standInPageRss: round(pageTree.rssMb) },
      sendsPerSessionPerDay: DAY_SENDS,
      runs: summary,
      goal: { pssPerSessionMb: GOAL_PSS_MB, growthAfterPurge: GOAL_GROWTH, nodeHeapGrowthMb: GOAL_NODE_HEAP_GROWTH_MB },
      met: {
        pssPerSession: Object.fromEntries(Object.entries(summary).map(([count, s]) => [count, s.peakPssPerSessionMb <= GOAL_PSS_MB])),
        growth: worstGrowth <= GOAL_GROWTH,
        nodeHeapGrowth: worstNodeHeapGrowth <= GOAL_NODE_HEAP_GROWTH_MB,
      },
    },
  };
  await mergeResults(results);
  log(JSON.stringify(results, null, 2));
  // Nothing of the run may be left running.
  const left = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(tempRoot));
  if (left.length > 0) throw new Error(`Chromium left running after the bench:\n${left.join('\n')}`);
}
