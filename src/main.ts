#!/usr/bin/env node
/**
 * The `cicero-wa` command.
 *
 * Exit codes: 0 success; 1 a runtime failure (or a failed doctor check); 2 bad configuration or usage.
 */
import { parseArgs } from 'node:util';
import type pg from 'pg';
import path from 'node:path';
import { startApp, type App, type AppOverrides } from './app/app.js';
import { formatCheck, runDoctor } from './commands/doctor.js';
import { parseOutboxCommand, runOutboxCommand, type OutboxCommand } from './commands/outbox.js';
import { parseComplaintsCommand, runComplaintsCommand, type ComplaintsCommand } from './commands/complaints.js';
import { formatJobs, formatOutcome, jobListings, parseRunCommand, type RunCommand } from './commands/jobs.js';
import { UsageError } from './commands/usage.js';
import { systemClock } from './lib/clock.js';
import { Scheduler, jobTable } from './scheduler/job-table.js';
import { TemplateError, loadTemplates } from './features/complaints/reply.js';
import { complaintResponder } from './features/complaints/responder.js';
import { DemoSeedError, seedDemo } from './features/rekap/demo/seed.js';
import { ReportViewError, installReportViews, rekapHandlers } from './features/rekap/index.js';
import { DryRunBacklogError, LogTransport } from './whatsapp/log-transport.js';
import { backlogSize } from './outbox/admin.js';
import { OUTBOX_CHANNEL } from './db/listener.js';
import { ConfigError, describeConfig, fullConfig, loadConfig, type Config } from './config/index.js';
import { DatabaseUnreachableError, openDatabase } from './db/database.js';
import { EmbeddedPostgresError } from './db/embedded-postgres.js';
import { MigrationError, migrate } from './db/migrate.js';
import { OutboxValidationError } from './outbox/enqueue.js';
import { ProfileInUseError } from './whatsapp/wwebjs/profile-lock.js';
import { createLogger, type Logger } from './lib/logger.js';

const USAGE = `Usage: cicero-wa <command>

Commands:
  start      run the service until SIGTERM or SIGINT
  migrate    apply pending database migrations and exit
  doctor [--json]
             check the database, the recaps' source, the WhatsApp session and its directory,
             Chromium, WhatsApp Web from this machine, and the WhatsApp Web build
  run <job> [--date YYYY-MM-DD]
             run one job once (jobs: daily-report, weekly-report, monthly-report,
             task-delivery-recap, complaint-response, wa-gateway-poll); --date picks
             the report period (the day, or a day in the week or month to report)
  jobs [--json]
             each job's schedule, next fire, pause state and last run
  demo seed  create a small Cicero_V2-shaped dataset (3 units, 60 personnel, 40 days) in an
             empty database
  demo [--keep-running]
             run the service on an embedded database (DATA_DIR/demo) with the demo data and
             WA_TRANSPORT=log, send every recap once (see them in the terminal) and stop
  complaints list [--status S] [--limit N] [--json]
             the newest complaints (S: pending, queued, responded, failed, other)
  complaints retry <id...>
             failed complaints answered again
  outbox list [--status S] [--unconfirmed] [--since T] [--until T] [--type X]
              [--recipient R] [--limit N] [--json]
             the newest outbox rows (S: pending, sending, sent, failed, cancelled, other;
             N default 50); --unconfirmed: sent rows WhatsApp has not confirmed; T: YYYY-MM-DD
             or "YYYY-MM-DD HH:MM" in CRON_TIMEZONE; R: part of the recipient
  outbox show <id> [--json]
             one row whole: its text, receipts and every hand-over to WhatsApp
  outbox retry <id...> | outbox retry --dry-run
             failed or cancelled rows back to pending, attempts reset; --dry-run: every row a
             dry run (WA_TRANSPORT=log) only logged
  outbox cancel <id...>
             pending or failed rows cancelled: never sent
  outbox resend <id...>
             unconfirmed rows sent again (their delivery was never confirmed)
  help       show this help (also --help)

Configuration comes from the environment and from .env in the working directory;
see .env.example for every variable.`;

/** How long a stop may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 9000;
/** The same stop signal again within this time is the same request (not "exit now"). */
const REPEATED_SIGNAL_MS = 1000;

/**
 * Stops the service when the process that started it disappears (npm killed, a wrapper script gone):
 * the service would otherwise live on, with its PostgreSQL and Chromium, without anyone to stop it.
 * A service started by init (parent pid 1, systemd or a container's entry point) is not watched.
 */
function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, 1000);
  timer.unref();
}

async function commandStart(
  config: Config,
  logger: Logger,
  overrides: AppOverrides & { afterStart?: (app: App) => Promise<'stop' | void> } = {},
): Promise<number> {
  let app: App | null = null;
  let stopRequested: NodeJS.Signals | null = null;
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve;
  });

  // The deadline runs from the moment stopping begins (after start-up, if a signal came during it);
  // when it passes, Chromium and the embedded PostgreSQL are ended before the process exits.
  let stopping = false;
  const stopApp = (running: App) => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown took too long; ending Chromium and PostgreSQL and exiting');
      running.kill();
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    void running.stop().then(() => resolveStopped(0), () => resolveStopped(1));
  };
  let firstSignalAt = 0;
  let stoppingItself = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      // Ctrl-C reaches both npm and the service, and npm passes it on: the same request, twice.
      // A signal while the service stops by itself (the demo) is that same stop, too.
      if (stoppingItself || (signal === stopRequested && Date.now() - firstSignalAt < REPEATED_SIGNAL_MS)) return;
      logger.warn({ signal }, 'second stop signal: exiting now');
      app?.kill();
      process.exit(1);
    }
    stopRequested = signal;
    firstSignalAt = Date.now();
    logger.info({ signal }, 'stop requested');
    // Start-up still under way: the stop happens once it has finished (see below).
    if (app) stopApp(app);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  watchParent(() => {
    if (stopRequested) return;
    logger.warn('the process that started the service is gone; stopping');
    stop('SIGTERM');
  });

  logger.info(describeConfig(config), 'starting cicero-wa-gateway');
  logger.debug({ config: fullConfig(config) }, 'configuration');
  app = await startApp(config, logger, overrides);
  if (!stopRequested && (await overrides.afterStart?.(app)) === 'stop' && !stopRequested) {
    stoppingItself = true;
    stopRequested = 'SIGTERM';
  }
  if (stopRequested) stopApp(app);
  return stopped;
}

/**
 * Opens the database for a short command (sharing a running service's embedded server, else starting
 * it for the command, which it says, since that takes a few seconds), runs `work`, closes.
 */
async function withDatabase(config: Config, logger: Logger, work: (pool: pg.Pool) => Promise<number>): Promise<number> {
  const database = await openDatabase(config, logger, {
    shareRunning: true,
    onEmbeddedStart: (dir) => process.stderr.write(`cicero-wa: no service is running on ${dir}: starting the embedded PostgreSQL for this command (a few seconds)\n`),
  });
  try {
    return await work(database.pool);
  } finally {
    await database.close();
  }
}

function print(lines: string[]): void {
  for (const line of lines) process.stdout.write(`${line}\n`);
}

async function commandMigrate(config: Config, logger: Logger): Promise<number> {
  return withDatabase(config, logger, async (pool) => {
    const applied = await migrate(pool, logger);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'no pending migrations');
    return 0;
  });
}

async function commandComplaints(config: Config, logger: Logger, command: ComplaintsCommand): Promise<number> {
  return withDatabase(config, logger, async (pool) => {
    const { lines, code } = await runComplaintsCommand(pool, command, config.cron.timezone);
    print(lines);
    return code;
  });
}

async function commandOutbox(config: Config, logger: Logger, command: OutboxCommand): Promise<number> {
  return withDatabase(config, logger, async (pool) => {
    const { lines, code } = await runOutboxCommand(pool, command, config.cron.timezone);
    print(lines);
    return code;
  });
}

/** The scheduler as a command uses it: the service's handlers, except that the outbox poll wakes the running services. */
async function commandScheduler(config: Config, logger: Logger, pool: pg.Pool): Promise<Scheduler> {
  const responder = complaintResponder(
    { pool, templates: await loadTemplates(config.complaints.templatesDir), timeZone: config.cron.timezone, defaultCountryCode: config.wa.defaultCountryCode },
    systemClock,
    logger,
  );
  return new Scheduler({
    pool,
    jobs: jobTable(config, {
      ...rekapHandlers({ pool, timeZone: config.cron.timezone, sendEmpty: config.rekap.sendEmpty }),
      'complaint-response': responder.handler,
      'wa-gateway-poll': async () => {
        await pool.query(`NOTIFY ${OUTBOX_CHANNEL}`);
        return { detail: 'running services were asked to sweep the outbox' };
      },
    }),
    timezone: config.cron.timezone,
    historyDays: config.cron.historyDays,
    logger,
    clock: systemClock,
  });
}

async function commandRun(config: Config, logger: Logger, command: RunCommand): Promise<number> {
  return withDatabase(config, logger, async (pool) => {
    await migrate(pool, logger);
    await installReportViews(pool);
    const outcome = await (await commandScheduler(config, logger, pool)).runNow(command.job, command.date);
    print([formatOutcome(command.job, outcome)]);
    return outcome.status === 'failed' ? 1 : 0;
  });
}

async function commandJobs(config: Config, logger: Logger, asJson: boolean): Promise<number> {
  return withDatabase(config, logger, async (pool) => {
    const scheduler = await commandScheduler(config, logger, pool);
    print(formatJobs(await jobListings(pool, scheduler.jobs, config, systemClock, logger), config.cron.timezone, asJson));
    return 0;
  });
}

async function commandDemoSeed(config: Config, logger: Logger): Promise<number> {
  return withDatabase(config, logger, async (pool) => {
    await migrate(pool, logger);
    const result = await seedDemo(pool, systemClock, config.cron.timezone);
    await installReportViews(pool);
    print([
      result.created
        ? `demo data created: ${result.units} units, ${result.personnel} personnel, ${result.posts} posts, ${result.tasks} tasks today`
        : 'demo data already there; nothing changed',
    ]);
    return 0;
  });
}

/** The service on its own embedded database with the demo data, messages shown instead of sent. */
async function commandDemo(config: Config, logger: Logger, keepRunning: boolean): Promise<number> {
  const demoConfig: Config = {
    ...config,
    dataDir: path.join(config.dataDir, 'demo'),
    database: { ...config.database, url: null },
    wa: { ...config.wa, transport: 'log' },
    dispatch: { ...config.dispatch, sendIntervalMs: 1000, sendJitterMs: 0 },
  };
  const transport = new LogTransport(logger, (text) => process.stderr.write(text));
  return commandStart(demoConfig, logger, {
    transport,
    prepare: async (database) => {
      const result = await seedDemo(database.pool, systemClock, config.cron.timezone);
      if (result.created) logger.info(result, 'demo data created');
    },
    afterStart: async (app) => {
      let enqueued = 0;
      for (const job of ['daily-report', 'weekly-report', 'monthly-report', 'task-delivery-recap'] as const) {
        const outcome = await app.scheduler.runNow(job, null);
        if (outcome.status === 'succeeded') enqueued += outcome.enqueued;
        logger.info({ job, outcome }, 'demo: job run');
      }
      // Every recap goes out (to the log) before the summary.
      const pool = app.database.pool;
      for (let waited = 0; (await backlogSize(pool)) > 0 && waited < 120_000; waited += 200) await new Promise((r) => setTimeout(r, 200));
      const { rows } = await pool.query<{ type: string; n: number }>(
        `SELECT type, count(*)::int AS n FROM wa_outbox WHERE status = 'sent' GROUP BY type ORDER BY type`,
      );
      print([
        '',
        `Demo: ${enqueued} new recap(s) this run; in all ${rows.map((r) => `${r.n} ${r.type}`).join(', ') || 'none'} shown above (to the log, not to WhatsApp).`,
        `The demo database is in ${path.join(demoConfig.dataDir, 'postgres')}: cicero-wa outbox list (with DATA_DIR=${demoConfig.dataDir}) shows every message.`,
        keepRunning ? 'The service keeps running (--keep-running): stop it with Ctrl-C.' : 'Stopping; run "npm run demo -- --keep-running" to keep the service up.',
      ]);
      return keepRunning ? undefined : 'stop';
    },
  });
}

async function commandDoctor(config: Config, logger: Logger, asJson: boolean): Promise<number> {
  const results = await runDoctor(config, logger);
  if (asJson) print([JSON.stringify(results.map((r) => ({ check: r.name, status: r.ok ? (r.warn ? 'warn' : 'ok') : 'fail', detail: r.detail, remedy: r.remedy ?? null })), null, 2)]);
  else for (const result of results) print([formatCheck(result)]);
  return results.every((r) => r.ok) ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      status: { type: 'string' },
      limit: { type: 'string' },
      unconfirmed: { type: 'boolean' },
      since: { type: 'string' },
      until: { type: 'string' },
      type: { type: 'string' },
      recipient: { type: 'string' },
      json: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'keep-running': { type: 'boolean' },
      date: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? 'help';
  if (command === 'help' || values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!['start', 'migrate', 'doctor', 'outbox', 'complaints', 'run', 'jobs', 'demo'].includes(command)) throw new UsageError(`unknown command "${command}"`);
  if (command === 'demo' && positionals[1] !== undefined && positionals[1] !== 'seed') {
    throw new UsageError(`unknown demo action "${positionals[1]}": expected "cicero-wa demo" or "cicero-wa demo seed"`);
  }
  // Options that belong to other commands are refused before anything is read or started.
  const owners: Record<string, string[]> = {
    unconfirmed: ['outbox'], since: ['outbox'], until: ['outbox'], type: ['outbox'], recipient: ['outbox'], 'dry-run': ['outbox'],
    status: ['outbox', 'complaints'], limit: ['outbox', 'complaints'], json: ['outbox', 'complaints', 'jobs', 'doctor'], date: ['run'], 'keep-running': ['demo'],
  };
  for (const [option, commands] of Object.entries(owners)) {
    if ((values as Record<string, unknown>)[option] !== undefined && !commands.includes(command)) {
      throw new UsageError(`--${option} belongs to ${commands.map((c) => `"${c}"`).join(' and ')}`);
    }
  }
  const complaintsCommand = command === 'complaints' ? parseComplaintsCommand(positionals.slice(1), values) : null;
  const runCommand = command === 'run' ? parseRunCommand(positionals.slice(1), values) : null;
  if (command === 'jobs' && positionals.length > 1) throw new UsageError(`jobs takes no arguments (got ${positionals.slice(1).join(' ')})`);

  const config = loadConfig();
  const outboxCommand = command === 'outbox' ? parseOutboxCommand(positionals.slice(1), values, config.cron.timezone) : null;
  // The service logs to stdout; a command keeps stdout for its result (and is quiet at the default level).
  const service = command === 'start' || (command === 'demo' && positionals[1] !== 'seed');
  const logger = createLogger({
    level: !service && !config.logLevelSet ? 'warn' : config.logLevel,
    format: config.logFormat,
    destination: service ? 'stdout' : 'stderr',
    timeZone: config.cron.timezone,
  });
  switch (command) {
    case 'start':
      return commandStart(config, logger);
    case 'migrate':
      return commandMigrate(config, logger);
    case 'outbox':
      return commandOutbox(config, logger, outboxCommand!);
    case 'complaints':
      return commandComplaints(config, logger, complaintsCommand!);
    case 'run':
      return commandRun(config, logger, runCommand!);
    case 'jobs':
      return commandJobs(config, logger, values.json === true);
    case 'demo':
      return positionals[1] === 'seed' ? commandDemoSeed(config, logger) : commandDemo(config, logger, values['keep-running'] === true);
    default:
      return commandDoctor(config, logger, values.json === true);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) process.stderr.write(`cicero-wa: config: ${problem}\n`);
      process.exit(2);
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`cicero-wa: ${(err as Error).message}\nRun "cicero-wa --help" for the commands and their options.\n`);
      process.exit(2);
    }
    // Operational errors carry a message written for the operator; anything else gets its stack.
    const known =
      err instanceof TemplateError ||
      err instanceof DemoSeedError ||
      err instanceof ReportViewError ||
      err instanceof EmbeddedPostgresError || err instanceof MigrationError || err instanceof OutboxValidationError || err instanceof ProfileInUseError ||
      err instanceof DatabaseUnreachableError || err instanceof DryRunBacklogError;
    process.stderr.write(`cicero-wa: ${known ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`);
    process.exit(1);
  },
);
