#!/usr/bin/env node
/**
 * The `cicero-wa` command.
 *
 * Exit codes: 0 success; 1 a runtime failure (or a failed doctor check); 2 bad configuration or usage.
 */
import { parseArgs } from 'node:util';
import type pg from 'pg';
import path from 'node:path';
import { startApp, type App, type AppOverrides } from './app.js';
import { formatCheck, runDoctor } from './cli/doctor.js';
import { parseOutboxCommand, runOutboxCommand, type OutboxCommand } from './cli/outbox.js';
import { parseComplaintsCommand, runComplaintsCommand, type ComplaintsCommand } from './cli/complaints.js';
import { formatOutcome, listJobs, parseRunCommand, type RunCommand } from './cli/jobs.js';
import { UsageError } from './cli/usage.js';
import { systemClock } from './clock.js';
import { Scheduler, jobTable } from './cron/index.js';
import { TemplateError, loadTemplates } from './modules/complaints/reply.js';
import { complaintResponder } from './modules/complaints/responder.js';
import { DemoSeedError, seedDemo } from './modules/rekap/demo/seed.js';
import { ReportViewError, installReportViews, rekapHandlers } from './modules/rekap/index.js';
import { LogTransport } from './services/transports/log-transport.js';
import { OUTBOX_CHANNEL } from './modules/wa-gateway/outbox-listener.js';
import { ConfigError, describeConfig, loadConfig, type Config } from './config.js';
import { DatabaseUnreachableError, openDatabase } from './db/database.js';
import { EmbeddedPostgresError } from './db/embedded-postgres.js';
import { MigrationError, migrate } from './db/migrate.js';
import { OutboxValidationError } from './services/outbox.js';
import { ProfileInUseError } from './services/chromium-profile-lock.js';
import { createLogger, type Logger } from './logger.js';

const USAGE = `Usage: cicero-wa <command>

Commands:
  start      run the service until SIGTERM or SIGINT
  migrate    apply pending database migrations and exit
  doctor     check the database, the WhatsApp session directory and Chromium
  run <job> [--date YYYY-MM-DD]
             run one job once (jobs: daily-report, weekly-report, monthly-report,
             task-delivery-recap, complaint-response, wa-gateway-poll); --date picks
             the report period (the day, or a day in the week or month to report)
  jobs       each job's schedule, next fire, pause state and last run
  demo seed  create a small Cicero_V2-shaped dataset (3 units, 60 personnel, 40 days) in an
             empty database
  demo       run the service on an embedded database (DATA_DIR/demo) with the demo data and
             WA_TRANSPORT=log, and send every recap once: see them in the terminal
  complaints list [--status S] [--limit N]
             the newest complaints (S: pending, queued, responded, failed)
  complaints retry <id...>
             failed complaints answered again
  outbox list [--status S] [--unconfirmed] [--limit N]
             the newest outbox rows (S: pending, sending, sent, failed, cancelled; N default 50);
             --unconfirmed: sent rows WhatsApp has not confirmed (awaiting or unconfirmed)
  outbox retry <id...>
             failed or cancelled rows back to pending, attempts reset
  outbox cancel <id...>
             pending or failed rows cancelled: never sent
  outbox resend <id...>
             unconfirmed rows sent again (their delivery was never confirmed)
  help       show this help

Configuration comes from the environment and from .env in the working directory;
see .env.example for every variable.`;

/** How long a stop may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 9000;

async function commandStart(config: Config, logger: Logger, overrides: AppOverrides & { afterStart?: (app: App) => Promise<void> } = {}): Promise<number> {
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
  const stop = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      logger.warn({ signal }, 'second stop signal: exiting now');
      app?.kill();
      process.exit(1);
    }
    stopRequested = signal;
    logger.info({ signal }, 'stop requested');
    // Start-up still under way: the stop happens once it has finished (see below).
    if (app) stopApp(app);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  logger.info({ config: describeConfig(config) }, 'starting cicero-wa-gateway');
  app = await startApp(config, logger, overrides);
  if (!stopRequested) await overrides.afterStart?.(app);
  if (stopRequested) stopApp(app);
  return stopped;
}

/** Opens the database for a short command (sharing a running service's embedded server), runs `work`, closes. */
async function withDatabase(config: Config, logger: Logger, work: (pool: pg.Pool) => Promise<number>): Promise<number> {
  const database = await openDatabase(config, logger, { shareRunning: true });
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
    const { lines, code } = await runComplaintsCommand(pool, command);
    print(lines);
    return code;
  });
}

async function commandOutbox(config: Config, logger: Logger, command: OutboxCommand): Promise<number> {
  return withDatabase(config, logger, async (pool) => {
    const { lines, code } = await runOutboxCommand(pool, command);
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

async function commandJobs(config: Config, logger: Logger): Promise<number> {
  return withDatabase(config, logger, async (pool) => {
    const scheduler = await commandScheduler(config, logger, pool);
    print(await listJobs(pool, scheduler.jobs, config, systemClock, logger));
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
async function commandDemo(config: Config, logger: Logger): Promise<number> {
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
      for (const job of ['daily-report', 'weekly-report', 'monthly-report', 'task-delivery-recap'] as const) {
        const outcome = await app.scheduler.runNow(job, null);
        logger.info({ job, outcome }, 'demo: job run');
      }
    },
  });
}

async function commandDoctor(config: Config, logger: Logger): Promise<number> {
  const results = await runDoctor(config, logger);
  for (const result of results) process.stdout.write(`${formatCheck(result)}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { status: { type: 'string' }, limit: { type: 'string' }, unconfirmed: { type: 'boolean' }, date: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
  // Arguments are checked before anything is started.
  const outboxCommand = command === 'outbox' ? parseOutboxCommand(positionals.slice(1), values) : null;
  const complaintsCommand = command === 'complaints' ? parseComplaintsCommand(positionals.slice(1), values) : null;
  const runCommand = command === 'run' ? parseRunCommand(positionals.slice(1), values) : null;
  if (command !== 'outbox' && command !== 'complaints' && (values.status !== undefined || values.limit !== undefined || values.unconfirmed !== undefined)) {
    throw new UsageError(`--status, --limit and --unconfirmed belong to "outbox list" and "complaints list"`);
  }
  if (command !== 'run' && values.date !== undefined) throw new UsageError('--date belongs to "run"');

  const config = loadConfig();
  // Commands that print a report keep the service log quiet at the default level.
  const reporting = ['doctor', 'outbox', 'complaints', 'jobs'].includes(command);
  const logger = createLogger(reporting && config.logLevel === 'info' ? 'warn' : config.logLevel);
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
      return commandJobs(config, logger);
    case 'demo':
      return positionals[1] === 'seed' ? commandDemoSeed(config, logger) : commandDemo(config, logger);
    default:
      return commandDoctor(config, logger);
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
      process.stderr.write(`cicero-wa: ${(err as Error).message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    // Operational errors carry a message written for the operator; anything else gets its stack.
    const known =
      err instanceof TemplateError ||
      err instanceof DemoSeedError ||
      err instanceof ReportViewError ||
      err instanceof EmbeddedPostgresError || err instanceof MigrationError || err instanceof OutboxValidationError || err instanceof ProfileInUseError ||
      err instanceof DatabaseUnreachableError;
    process.stderr.write(`cicero-wa: ${known ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`);
    process.exit(1);
  },
);
