/**
 * `npm run bench`: the outbox pipeline side by side with pg-boss (10), graphile-worker (0.16) and the
 * seed's loop, on the same PostgreSQL, in one run, then the recaps at Cicero_V2's scale (bench/recap.ts).
 * then the memory of several WhatsApp sessions in one process, each with its Chromium (bench/sessions-memory.ts),
 * then what WA_AUTH_STORE=postgres costs for a real Chromium profile (bench/auth-store.ts).
 * Writes bench/results.json, bench/chart.svg and bench/recap-figures.md. `npm run bench -- outbox`,
 * `npm run bench -- recap`, `npm run bench -- sessions-memory` or `npm run bench -- auth-store` runs one of them.
 *
 * PostgreSQL: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else an embedded server started for the run.
 * Sizes: BENCH_N (100000), BENCH_RUNS (3, medians), BENCH_PICKUP_N (1000 at 20/s), BENCH_IDLE_SECONDS (60),
 * BENCH_HTTP_N (5000 requests at concurrency 16); sessions-memory: BENCH_SESSIONS (1,2,3),
 * BENCH_SESSIONS_DAY_SENDS (1500 a session), BENCH_PAGE_HEAP_MB (120, the stand-in page's heap); auth-store:
 * BENCH_AUTH_STORE_MB (0,10,50: IndexedDB megabytes).
 */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { silentLogger } from '../src/lib/logger.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { outboxListener } from '../src/outbox/channel.js';
import { enqueue, enqueueOne } from '../src/outbox/enqueue.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { ROOT, log, machine, median, mergeResults, withBenchServer } from './common.js';
import { recapBench } from './recap.js';
import { authStoreBench } from './auth-store.js';
import { sessionsMemoryBench } from './sessions-memory.js';

const N = Number(process.env.BENCH_N ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PICKUP_N = Number(process.env.BENCH_PICKUP_N ?? 1000);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const HTTP_N = Number(process.env.BENCH_HTTP_N ?? 5000);
const HTTP_CONCURRENCY = 16;
const SEED_N = Math.min(N, 20_000); // the seed's loop is slow; its rate is measured on fewer rows
const logger = silentLogger();
const noopLog = () => () => () => undefined;

let adminUrl: string;
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function freshDatabase(label: string): Promise<string> {
  const name = `bench_${label}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  await admin.end();
}

async function ourDatabase(label: string): Promise<{ url: string; pool: pg.Pool }> {
  const url = await freshDatabase(label);
  const pool = createPool(url, 8, logger);
  await migrate(pool, logger);
  return { url, pool };
}

const message = (i: number) => ({ recipient: `0812${String(i).padStart(8, '0')}`, content: `Rekap harian nomor ${i}: personil sudah 12, kurang 3, belum 1.`, type: 'bench' });

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

// ---- 1. Enqueue -----------------------------------------------------------------------------------

async function enqueueOurs(): Promise<number> {
  const { url, pool } = await ourDatabase('enq');
  const seconds = await timed(async () => {
    for (let i = 0; i < N; i += 1000) await enqueue(pool, Array.from({ length: Math.min(1000, N - i) }, (_, k) => message(i + k)));
  });
  await pool.end();
  await dropDatabase(url);
  return seconds;
}

async function startBoss(url: string): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false, migrate: true });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('bench');
  return boss;
}

async function enqueuePgBoss(): Promise<number> {
  const url = await freshDatabase('boss_enq');
  const boss = await startBoss(url);
  const seconds = await timed(async () => {
    for (let i = 0; i < N; i += 1000) {
      await boss.insert(Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({ name: 'bench', data: message(i + k) })));
    }
  });
  await boss.stop({ graceful: false, wait: true });
  await dropDatabase(url);
  return seconds;
}

async function enqueueGraphile(): Promise<number> {
  const url = await freshDatabase('gw_enq');
  const utils = await makeWorkerUtils({ connectionString: url, logger: new (await import('graphile-worker')).Logger(noopLog) });
  await utils.migrate();
  // graphile-worker 0.16's batch insert is the SQL function add_jobs (its JS addJobs came later).
  const seconds = await timed(async () => {
    for (let i = 0; i < N; i += 1000) {
      const payloads = Array.from({ length: Math.min(1000, N - i) }, (_, k) => JSON.stringify(message(i + k)));
      await utils.withPgClient((client) =>
        client.query(
          `SELECT graphile_worker.add_jobs(ARRAY(SELECT ROW('noop', p::json, NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec FROM unnest($1::text[]) p))`,
          [payloads],
        ),
      );
    }
  });
  await utils.release();
  await dropDatabase(url);
  return seconds;
}

// ---- 2. Drain, 4. statements, 5. memory ----------------------------------------------------------

interface DrainResult {
  seconds: number;
  sent: number;
  statements: number;
  peakRssMb: number;
}

async function drainOurs(dispatchers: number): Promise<DrainResult> {
  const { url, pool } = await ourDatabase(`drain${dispatchers}`);
  for (let i = 0; i < N; i += 5000) await enqueue(pool, Array.from({ length: Math.min(5000, N - i) }, (_, k) => message(i + k)));
  await pool.query('VACUUM ANALYZE wa_outbox');
  await pool.end();
  const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/drain-child.ts'), url, String(dispatchers)], { cwd: ROOT, encoding: 'utf8' });
  await dropDatabase(url);
  if (child.status !== 0) throw new Error(`drain child failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as DrainResult;
}

async function drainPgBoss(): Promise<number> {
  const url = await freshDatabase('boss_drain');
  const boss = await startBoss(url);
  for (let i = 0; i < N; i += 5000) await boss.insert(Array.from({ length: Math.min(5000, N - i) }, (_, k) => ({ name: 'bench', data: message(i + k) })));
  let done = 0;
  const seconds = await timed(async () => {
    while (done < N) {
      const jobs = await boss.fetch('bench', { batchSize: 100 });
      if (jobs.length === 0) continue;
      await boss.complete('bench', jobs.map((j) => j.id));
      done += jobs.length;
    }
  });
  await boss.stop({ graceful: false, wait: true });
  await dropDatabase(url);
  return seconds;
}

async function drainGraphile(): Promise<number> {
  const url = await freshDatabase('gw_drain');
  const { Logger } = await import('graphile-worker');
  const utils = await makeWorkerUtils({ connectionString: url, logger: new Logger(noopLog) });
  await utils.migrate();
  for (let i = 0; i < N; i += 5000) {
    const payloads = Array.from({ length: Math.min(5000, N - i) }, (_, k) => JSON.stringify(message(i + k)));
    await utils.withPgClient((c) => c.query(`SELECT graphile_worker.add_jobs(ARRAY(SELECT ROW('noop', p::json, NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec FROM unnest($1::text[]) p))`, [payloads]));
  }
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => (finish = r));
  const started = performance.now();
  const runner = await runGraphile({
    connectionString: url,
    concurrency: 4,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: new Logger(noopLog),
    taskList: {
      noop: async () => {
        if (++done >= N) finish();
      },
    },
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  await utils.release();
  await dropDatabase(url);
  return seconds;
}

/** The seed's loop: select 50 pending, send, update each row by itself. Returns seconds and statements for SEED_N rows. */
async function drainSeedLoop(): Promise<{ seconds: number; statements: number }> {
  const { url, pool } = await ourDatabase('seed');
  for (let i = 0; i < SEED_N; i += 5000) await enqueue(pool, Array.from({ length: Math.min(5000, SEED_N - i) }, (_, k) => message(i + k)));
  let statements = 0;
  const seconds = await timed(async () => {
    for (;;) {
      statements++;
      const { rows } = await pool.query("SELECT * FROM wa_outbox WHERE status = 'pending' LIMIT 50");
      if (rows.length === 0) break;
      for (const row of rows) {
        statements++;
        await pool.query("UPDATE wa_outbox SET status = 'sent', sent_at = NOW() WHERE id = $1", [row.id]);
      }
    }
  });
  await pool.end();
  await dropDatabase(url);
  return { seconds, statements };
}

// ---- 3. Pickup latency, 4. idle queries ---------------------------------------------------------

async function pickupOurs(): Promise<{ latencies: number[]; idleQueriesPerMinute: number }> {
  const { url, pool } = await ourDatabase('pickup');
  const dispatcherPool = createPool(url, 4, logger);
  let queries = 0;
  const query = dispatcherPool.query.bind(dispatcherPool) as (...args: unknown[]) => Promise<unknown>;
  (dispatcherPool as unknown as { query: typeof query }).query = (...args: unknown[]) => {
    queries++;
    return query(...args);
  };
  const sentAt = new Map<string, number>();
  const transport = new FakeTransport();
  const send = transport.sendText.bind(transport);
  transport.sendText = (chatId, text, hooks) => {
    sentAt.set(text, performance.now());
    return send(chatId, text, hooks);
  };
  await transport.start();
  const dispatcher = new SessionDelivery({
    pool: dispatcherPool, transport, logger, defaultCountryCode: '62',
    dispatch: { sendIntervalMs: 0, sendJitterMs: 0, maxPerMinute: 1_000_000, maxAttempts: 3, retryBaseMs: 1000, retryMaxMs: 1000, batchSize: 10, leaseMs: 60_000, sendTimeoutMs: 60_000, confirmTimeoutMs: 600_000, settleGraceMs: 120_000, resendChecked: true, documentMaxBytes: 16 * 1024 * 1024, failoverAfterMs: 300_000 },
  });
  const listener = outboxListener({ connectionString: url, logger, onNotify: () => dispatcher.trigger('notify'), onReconnect: () => undefined });
  await listener.start();
  dispatcher.start();
  await dispatcher.idle();

  // Idle: nothing to send, no poll sweep (WA_GATEWAY_POLL_CRON is the sweep): count what the dispatcher asks.
  queries = 0;
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const idleQueriesPerMinute = queries / (IDLE_SECONDS / 60);

  const committedAt = new Map<string, number>();
  for (let i = 0; i < PICKUP_N; i++) {
    const text = `pickup ${i}`;
    const planned = performance.now() + 50;
    await pool.query("INSERT INTO wa_outbox (recipient, content, type) VALUES ('081234567890', $1, 'bench')", [text]);
    committedAt.set(text, performance.now());
    const wait = planned - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  while (sentAt.size < PICKUP_N) await new Promise((r) => setTimeout(r, 20));
  await dispatcher.stop();
  await listener.stop();
  await dispatcherPool.end();
  await pool.end();
  await dropDatabase(url);
  return { latencies: [...committedAt].map(([text, at]) => sentAt.get(text)! - at), idleQueriesPerMinute };
}

async function pickupGraphile(): Promise<number[]> {
  const url = await freshDatabase('gw_pickup');
  const { Logger } = await import('graphile-worker');
  const utils = await makeWorkerUtils({ connectionString: url, logger: new Logger(noopLog) });
  await utils.migrate();
  const startedAt = new Map<number, number>();
  const runner = await runGraphile({
    connectionString: url, concurrency: 1, noHandleSignals: true, pollInterval: 2000, logger: new Logger(noopLog),
    taskList: { noop: async (payload) => void startedAt.set((payload as { i: number }).i, performance.now()) },
  });
  const committedAt = new Map<number, number>();
  for (let i = 0; i < PICKUP_N; i++) {
    const planned = performance.now() + 50;
    await utils.addJob('noop', { i });
    committedAt.set(i, performance.now());
    const wait = planned - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  while (startedAt.size < PICKUP_N) await new Promise((r) => setTimeout(r, 20));
  await runner.stop();
  await utils.release();
  await dropDatabase(url);
  return [...committedAt].map(([i, at]) => startedAt.get(i)! - at);
}

// ---- 4. HTTP enqueue ------------------------------------------------------------------------------

interface EnqueueLatencies {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs `one(i)` for i < HTTP_N with HTTP_CONCURRENCY at a time; each call's latency and the overall rate. */
async function concurrently(one: (i: number) => Promise<void>): Promise<EnqueueLatencies> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: HTTP_CONCURRENCY }, async () => {
      while (next < HTTP_N) {
        const i = next++;
        const t = performance.now();
        await one(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: HTTP_N / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

/** The baseline: one message per call, straight into the outbox service, 16 at a time. */
async function enqueueDirectOneByOne(): Promise<EnqueueLatencies> {
  const url = await freshDatabase('enq_direct');
  const pool = createPool(url, HTTP_CONCURRENCY, logger);
  await migrate(pool, logger);
  const result = await concurrently(async (i) => void (await enqueueOne(pool, message(i))));
  await pool.end();
  await dropDatabase(url);
  return result;
}

async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** POST /api/messages to the service (`cicero-wa start` in its own process, no WhatsApp), 16 at a time. */
async function enqueueOverHttp(): Promise<EnqueueLatencies> {
  const url = await freshDatabase('enq_http');
  const port = await freeTcpPort();
  const key = randomBytes(24).toString('hex');
  const service = spawn(process.execPath, [path.join(ROOT, 'dist/main.js'), 'start'], {
    env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), DATABASE_URL: url, SERVICE_ROLE: 'scheduler', HTTP_PORT: String(port), API_KEY: key, LOG_LEVEL: 'warn', DB_POOL_MAX: String(HTTP_CONCURRENCY) },
    stdio: 'ignore',
  });
  try {
    for (let tries = 0; ; tries++) {
      const up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (up) break;
      if (tries > 600) throw new Error('the service did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    return await concurrently(async (i) => {
      const m = message(i);
      const response = await fetch(`http://127.0.0.1:${port}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ recipient: m.recipient, text: m.content, type: m.type }),
      });
      if (response.status !== 201) throw new Error(`POST /api/messages answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
    });
  } finally {
    service.kill('SIGTERM');
    await new Promise((r) => service.once('exit', r));
    await dropDatabase(url);
  }
}

// ---- Report ----------------------------------------------------------------------------------------

function chart(rows: Array<{ label: string; value: number; unit: string }>, title: string): string {
  const width = 760;
  const barHeight = 26;
  const max = Math.max(...rows.map((r) => r.value));
  const bars = rows
    .map((r, i) => {
      const y = 40 + i * (barHeight + 10);
      const w = Math.max(2, (r.value / max) * 430);
      return `<text x="10" y="${y + 18}" font-size="13">${r.label}</text>
<rect x="250" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${i === 0 || r.label.startsWith('cicero') ? '#2b7a4b' : '#8a8f98'}"/>
<text x="${(255 + w).toFixed(1)}" y="${y + 18}" font-size="12">${r.value.toLocaleString('en-US', { maximumFractionDigits: 0 })} ${r.unit}</text>`;
    })
    .join('\n');
  const height = 50 + rows.length * (barHeight + 10);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="24" font-size="15" font-weight="bold">${title}</text>
${bars}
</svg>`;
}

async function outboxBench(url: string): Promise<void> {
  adminUrl = url;
  log(`N = ${N}, runs = ${RUNS}, pickup = ${PICKUP_N} at 20/s, idle window = ${IDLE_SECONDS} s, HTTP ${HTTP_N} requests at concurrency ${HTTP_CONCURRENCY}`);
  const enqueueRuns = { ours: [] as number[], pgBoss: [] as number[], graphile: [] as number[] };
  const drainRuns = { ours1: [] as DrainResult[], ours4: [] as DrainResult[], pgBoss: [] as number[], graphile: [] as number[] };
  const seedRuns: Array<{ seconds: number; statements: number }> = [];
  for (let run = 1; run <= RUNS; run++) {
    enqueueRuns.ours.push(await enqueueOurs());
    enqueueRuns.pgBoss.push(await enqueuePgBoss());
    enqueueRuns.graphile.push(await enqueueGraphile());
    drainRuns.ours1.push(await drainOurs(1));
    drainRuns.ours4.push(await drainOurs(4));
    drainRuns.pgBoss.push(await drainPgBoss());
    drainRuns.graphile.push(await drainGraphile());
    seedRuns.push(await drainSeedLoop());
    log(`run ${run}: enqueue ours ${enqueueRuns.ours.at(-1)!.toFixed(2)} s, drain ours ${drainRuns.ours1.at(-1)!.seconds.toFixed(2)} s`);
  }
  const rate = (seconds: number, n = N) => n / seconds;
  const ours1 = median(drainRuns.ours1.map((r) => rate(r.seconds)));
  const ours4 = median(drainRuns.ours4.map((r) => rate(r.seconds)));
  const seedRate = median(seedRuns.map((r) => rate(r.seconds, SEED_N)));
  const httpRuns: EnqueueLatencies[] = [];
  const directRuns: EnqueueLatencies[] = [];
  for (let run = 1; run <= RUNS; run++) {
    directRuns.push(await enqueueDirectOneByOne());
    httpRuns.push(await enqueueOverHttp());
    log(`run ${run}: one-by-one enqueue direct ${directRuns.at(-1)!.perSecond.toFixed(0)}/s, over HTTP ${httpRuns.at(-1)!.perSecond.toFixed(0)}/s`);
  }
  const medianOf = (runs: EnqueueLatencies[]) => ({ perSecond: median(runs.map((r) => r.perSecond)), p50Ms: median(runs.map((r) => r.p50Ms)), p99Ms: median(runs.map((r) => r.p99Ms)) });
  const pickup = await pickupOurs();
  const graphilePickup = await pickupGraphile();

  const results = {
    machine: machine(),
    sizes: { N, runs: RUNS, seedLoopN: SEED_N, pickupN: PICKUP_N, idleSeconds: IDLE_SECONDS },
    enqueuePerSecond: {
      ours: rate(median(enqueueRuns.ours)),
      pgBossInsert: rate(median(enqueueRuns.pgBoss)),
      graphileWorkerAddJobs: rate(median(enqueueRuns.graphile)),
    },
    drainPerSecond: {
      ours1Dispatcher: ours1,
      ours4Dispatchers: ours4,
      pgBossFetchComplete: rate(median(drainRuns.pgBoss)),
      graphileWorkerNoop: rate(median(drainRuns.graphile)),
      seedLoop: seedRate,
    },
    pickupMs: {
      ours: { p50: percentile(pickup.latencies, 50), p99: percentile(pickup.latencies, 99), max: Math.max(...pickup.latencies) },
      graphileWorker: { p50: percentile(graphilePickup, 50), p99: percentile(graphilePickup, 99), max: Math.max(...graphilePickup) },
      seedLoopPoll2Min: { p50: 60_000, p99: 118_800, max: 120_000, note: 'computed: a 2-minute poll picks a row up after 0-120 s, uniformly' },
    },
    statements: {
      oursPerMessage: median(drainRuns.ours1.map((r) => r.statements / r.sent)),
      seedLoopPerMessage: median(seedRuns.map((r) => r.statements / SEED_N)),
      oursIdleQueriesPerMinute: pickup.idleQueriesPerMinute,
      seedLoopIdleQueriesPerMinute: 0.5,
    },
    dispatcherPeakRssMb: median(drainRuns.ours1.map((r) => r.peakRssMb)),
    singleMessageEnqueue: {
      concurrency: HTTP_CONCURRENCY,
      requests: HTTP_N,
      direct: medianOf(directRuns),
      http: medianOf(httpRuns),
    },
  };
  const ratios = {
    enqueueVsGraphileWorker: results.enqueuePerSecond.ours / results.enqueuePerSecond.graphileWorkerAddJobs,
    enqueueVsPgBoss: results.enqueuePerSecond.ours / results.enqueuePerSecond.pgBossInsert,
    drainVsPgBoss: ours1 / results.drainPerSecond.pgBossFetchComplete,
    drainVsGraphileWorker: ours1 / results.drainPerSecond.graphileWorkerNoop,
    drainVsSeedLoop: ours1 / seedRate,
    httpEnqueueVsDirect: results.singleMessageEnqueue.http.perSecond / results.singleMessageEnqueue.direct.perSecond,
  };
  await mergeResults({ ...results, ratios });
  await fs.writeFile(
    path.join(ROOT, 'bench/chart.svg'),
    chart(
      [
        { label: 'cicero-wa, 1 dispatcher', value: ours1, unit: 'msg/s' },
        { label: 'cicero-wa, 4 dispatchers', value: ours4, unit: 'msg/s' },
        { label: 'pg-boss 10 fetch+complete', value: results.drainPerSecond.pgBossFetchComplete, unit: 'msg/s' },
        { label: 'graphile-worker 0.16', value: results.drainPerSecond.graphileWorkerNoop, unit: 'msg/s' },
        { label: "the seed's loop", value: seedRate, unit: 'msg/s' },
      ],
      `Draining a ${N.toLocaleString('en-US')}-message backlog (medians of ${RUNS} runs, no rate limit)`,
    ),
  );
  log(JSON.stringify({ ...results, ratios }, null, 2));
}

const which = process.argv[2] ?? 'all';
if (!['all', 'outbox', 'recap', 'sessions-memory', 'auth-store'].includes(which)) throw new Error(`npm run bench -- [outbox|recap|sessions-memory|auth-store]: unknown benchmark ${which}`);

// Dropping a measured database terminates what a stopped peer's pool may still hold open; that
// connection's error (57P01) is expected and harmless here.
process.on('uncaughtException', (err: Error & { code?: string }) => {
  if (err.code === '57P01') return;
  throw err;
});

await withBenchServer(async (url) => {
  if (which === 'all' || which === 'outbox') await outboxBench(url);
  if (which === 'all' || which === 'recap') await recapBench(url);
  if (which === 'all' || which === 'sessions-memory') await sessionsMemoryBench(url);
  if (which === 'all' || which === 'auth-store') await authStoreBench(url);
});
