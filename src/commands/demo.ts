/**
 * `cicero-wa demo seed`: the demo dataset in an empty database. `cicero-wa demo`: the service on its own
 * embedded database (DATA_DIR/demo, made anew on every run, so it runs any number of times on any day)
 * with that data and the dry-run transport; every recap is made once and goes to the terminal, as the
 * ban-risk governor lets it; a summary says what was sent and what waits, why and until when; then the
 * service stops (unless --keep-running).
 *
 * It runs beside `cicero-wa start`: its PostgreSQL and HTTP API take the ports after EMBEDDED_PG_PORT
 * and HTTP_PORT (or any free ones when those are taken).
 */
import path from 'node:path';
import { startApp, type App } from '../app/app.js';
import { runUntilStopped } from '../app/lifecycle.js';
import type { Config } from '../config/index.js';
import { migrate } from '../db/migrate.js';
import { seedDemo } from '../features/rekap/demo/seed.js';
import { installReportViews } from '../features/rekap/index.js';
import { systemClock } from '../lib/clock.js';
import { freePortNear } from '../lib/ports.js';
import { sleep } from '../lib/sleep.js';
import { formatZoned } from '../lib/zoned-time.js';
import { countsByStatusAndType, waitingRows, type WaitingRow } from '../outbox/listing.js';
import { LogTransport } from '../whatsapp/log-transport.js';
import { print, withDatabase, type CommandContext } from './context.js';
import { UsageError } from './usage.js';

/** The recap jobs the demo runs, in this order. */
const DEMO_JOBS = ['daily-report', 'weekly-report', 'monthly-report', 'task-delivery-recap'] as const;
/** A hold shorter than this (a minute's budget) is waited out before the summary; a longer one is reported. */
const WAIT_OUT_MS = 120_000;
/** The summary comes at the latest this long after the recaps were made. */
const SETTLE_LIMIT_MS = 300_000;

export async function commandDemoSeed(context: CommandContext): Promise<number> {
  return withDatabase(context, async (pool) => {
    await migrate(pool, context.logger);
    const result = await seedDemo(pool, systemClock, context.config.cron.timezone);
    await installReportViews(pool);
    print([
      result.created
        ? `demo data created: ${result.units} units, ${result.personnel} personnel, ${result.posts} posts, ${result.tasks} tasks today`
        : 'demo data already there; nothing changed',
    ]);
    return 0;
  });
}

/** The demo's own configuration: its data directory, the dry run, no webhooks, and ports beside the service's. */
async function demoConfig(config: Config): Promise<Config> {
  const httpPort = config.http.port === null || config.http.port === 0 ? config.http.port : await freePortNear(config.http.port + 1, config.http.host);
  return {
    ...config,
    dataDir: path.join(config.dataDir, 'demo'),
    database: { ...config.database, url: null, embeddedPort: await freePortNear(config.database.embeddedPort + 1) },
    http: { ...config.http, port: httpPort },
    wa: { ...config.wa, transport: 'log' },
    // The demo's events are made up: they never go to the service's webhook receivers (WEBHOOK_URL).
    webhooks: { ...config.webhooks, urls: [] },
    dispatch: { ...config.dispatch, sendIntervalMs: 1000, sendJitterMs: 0 },
    role: 'all',
  };
}

export async function commandDemo(context: CommandContext): Promise<number> {
  const { config, logger } = context;
  if (context.args[0] === 'seed') return commandDemoSeed(context);
  if (context.args[0] !== undefined) throw new UsageError(`unknown demo action "${context.args[0]}": expected "cicero-wa demo" or "cicero-wa demo seed"`);
  const keepRunning = context.options['keep-running'] === true;
  const demo = await demoConfig(config);
  const transport = new LogTransport(logger, (text) => process.stderr.write(text));
  const build = () =>
    startApp(demo, logger, {
      transport,
      // Every run from the same beginning: today's demo data, an empty outbox, a new session's budgets.
      freshDatabase: true,
      prepare: async (database) => {
        const result = await seedDemo(database.pool, systemClock, config.cron.timezone);
        if (result.created) logger.info(result, 'demo data created');
      },
    });
  return runUntilStopped(build, logger, {
    afterStart: async (app, stopping) => {
      for (const job of DEMO_JOBS) {
        const outcome = await app.scheduler.runNow(job, null);
        logger.info({ job, outcome }, 'demo: job run');
      }
      await settle(app, stopping);
      if (stopping.aborted) return;
      print(await summary(app, demo, keepRunning));
      return keepRunning ? undefined : 'stop';
    },
  });
}

/** Why a message waits, and until when (null: until an operator resumes the session). */
interface Wait {
  reason: string;
  until: Date | null;
}

/**
 * Why each message not sent yet waits: the governor's word on it (quiet hours, a gap between messages
 * to people who have not written), on the message it follows (a workbook after its text), or on the
 * whole session (a budget, a pause); null for a message that is due and on its way.
 */
function waits(rows: WaitingRow[], hold: Wait | null, now: number): Map<number, Wait | null> {
  const result = new Map<number, Wait | null>();
  const own = (row: WaitingRow): Wait | null =>
    row.status === 'pending' && row.deferredReason !== null && (row.deferredUntil === null || row.deferredUntil.getTime() > now)
      ? { reason: row.deferredReason, until: row.deferredUntil }
      : null;
  for (const row of rows) result.set(row.id, own(row));
  for (const row of rows) {
    const leader = row.followsId === null ? null : result.get(row.followsId);
    if (!result.get(row.id) && leader) result.set(row.id, leader); // it goes right after that one
  }
  if (hold) for (const row of rows) if (!result.get(row.id) && row.status === 'pending') result.set(row.id, hold);
  return result;
}

/**
 * Waits until every recap is sent or held back for longer than a short while (a minute's budget is
 * waited out; quiet hours until the morning are not), or a stop is requested.
 */
async function settle(app: App, stopping: AbortSignal): Promise<void> {
  const limit = Date.now() + SETTLE_LIMIT_MS;
  while (!stopping.aborted && Date.now() < limit) {
    const now = Date.now();
    const hold = app.delivery?.dispatcher.sessionHold() ?? null;
    if (hold && (hold.until === null || hold.until.getTime() > now + WAIT_OUT_MS)) return;
    const held = waits(await waitingRows(app.database.pool), null, now);
    if ([...held.values()].every((wait) => wait !== null && (wait.until === null || wait.until.getTime() > now + WAIT_OUT_MS))) return;
    await sleep(200, stopping).catch(() => undefined);
  }
}

/** What the demo made, what went out (to the log) and what waits, why and until when. */
async function summary(app: App, demo: Config, keepRunning: boolean): Promise<string[]> {
  const pool = app.database.pool;
  const timeZone = demo.cron.timezone;
  const counts = await countsByStatusAndType(pool);
  const list = (status: string) =>
    counts
      .filter((c) => c.status === status)
      .map((c) => `${c.count} ${c.type}`)
      .join(', ');
  const total = (status: string) => counts.filter((c) => c.status === status).reduce((sum, c) => sum + c.count, 0);
  const made = counts.reduce((sum, c) => sum + c.count, 0);

  const rows = await waitingRows(pool);
  const held = waits(rows, app.delivery?.dispatcher.sessionHold() ?? null, Date.now());
  const byWait = new Map<string, { wait: Wait | null; types: Map<string, number> }>();
  for (const row of rows) {
    const wait = held.get(row.id) ?? null;
    const key = wait ? `${wait.until?.getTime() ?? 'resume'}|${wait.reason}` : 'due';
    const entry = byWait.get(key) ?? { wait, types: new Map<string, number>() };
    entry.types.set(row.type, (entry.types.get(row.type) ?? 0) + 1);
    byWait.set(key, entry);
  }
  const waitingLines = [...byWait.values()].map(({ wait, types }) => {
    const what = [...types].map(([type, n]) => `${n} ${type}`).join(', ');
    if (!wait) return `  not sent yet, due now: ${what}`;
    const until = wait.until ? `until ${formatZoned(wait.until, timeZone)}` : 'until an operator resumes the session (cicero-wa sessions resume)';
    return `  waiting ${until}, ${wait.reason}: ${what}`;
  });

  const failed = total('failed') + total('cancelled');
  const dataDir = path.relative(process.cwd(), demo.dataDir).startsWith('..') ? demo.dataDir : path.relative(process.cwd(), demo.dataDir) || '.';
  const dashboard = app.http?.dashboardUrl;
  return [
    '',
    `Demo: ${made} message(s) made from the demo data this run: ${total('sent')} sent, ${rows.length} waiting${failed ? `, ${failed} failed or cancelled` : ''}.`,
    ...(total('sent') ? [`  sent (shown above, to the log, not to WhatsApp): ${list('sent')}`] : []),
    ...waitingLines,
    ...(failed ? [`  failed or cancelled: ${[list('failed'), list('cancelled')].filter(Boolean).join(', ')} (cicero-wa outbox list --status failed says why)`] : []),
    `Each run starts afresh. This run's messages: DATA_DIR=${dataDir} npx cicero-wa outbox list (the database is in ${path.join(demo.dataDir, 'postgres')}).`,
    keepRunning
      ? `The service keeps running (--keep-running)${rows.length ? '; waiting messages go out when their time comes' : ''}${dashboard ? `; dashboard: ${dashboard}` : ''}. Stop it with Ctrl-C.`
      : `Stopping${rows.length ? ' (waiting messages are not sent)' : ''}; run "npm run demo -- --keep-running" to keep the service up${dashboard ? ' and open its dashboard' : ''}.`,
  ];
}
