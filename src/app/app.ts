/**
 * The composition root: builds every part of the service from the Config and starts and stops them
 * in order.
 *
 * Start: database (embedded or DATABASE_URL) → migrations → transport → outbox listener → dispatcher →
 * scheduler (catch-up, then the schedules). Stop: the reverse: scheduler (running jobs get a moment),
 * dispatcher (finishes the send in flight, hands the other claimed rows back), listener, transport,
 * database.
 */
import type { Config } from '../config/index.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { Scheduler, jobTable } from '../scheduler/job-table.js';
import { openDatabase, type Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import type { Logger } from '../lib/logger.js';
import { COMPLAINT_CHANNEL } from '../features/complaints/complaint-queue.js';
import { loadTemplates } from '../features/complaints/reply.js';
import { COMPLAINT_REPLY_TYPE, complaintResponder } from '../features/complaints/responder.js';
import { installReportViews, rekapHandlers } from '../features/rekap/index.js';
import { NO_SOURCE_REMEDY, reportSource } from '../features/rekap/report-views.js';
import { backlogSize } from '../outbox/admin.js';
import { DryRunBacklogError } from '../whatsapp/log-transport.js';
import { watchTransport } from '../whatsapp/state-log.js';
import { Dispatcher } from '../delivery/dispatcher.js';
import { OutboxListener } from '../db/listener.js';
import { createTransport, type Transport } from '../whatsapp/index.js';

export interface App {
  database: Database;
  transport: Transport;
  dispatcher: Dispatcher;
  scheduler: Scheduler;
  stop(): Promise<void>;
  /** Ends Chromium and the embedded PostgreSQL at once, for an exit that cannot wait for stop(). */
  kill(): void;
}

export interface AppOverrides {
  /** Use this transport instead of the one WA_TRANSPORT names (tests, benchmarks). */
  transport?: Transport;
  clock?: Clock;
  /** Runs after the migrations, before the report views are installed and anything is scheduled (the demo's data). */
  prepare?: (database: Database) => Promise<void>;
}

export async function startApp(config: Config, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  // The service waits for a database that is still starting (DATABASE_WAIT_MS; then exits 1, saying so).
  const database = await openDatabase(config, logger, { waitMs: config.database.waitMs });
  const cleanups: Array<() => Promise<void>> = [() => database.close()];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((err: Error) => logger.error({ err: err.message }, 'error while stopping'));
    }
  };

  try {
    const applied = await migrate(database.pool, logger);
    logger.info({ migrationsApplied: applied.length }, 'database schema is up to date');
    await overrides.prepare?.(database);
    const views = await installReportViews(database.pool);
    if (views.length > 0) logger.info({ views }, 'report views installed on the Cicero_V2 tables');
    const source = await reportSource(database.pool);
    if (source.missingViews.length > 0) {
      logger.warn(
        source.missingTables.length > 0
          ? `Recaps cannot be made here: this database has no Cicero_V2 tables, so the report views do not exist; ${NO_SOURCE_REMEDY}. The report jobs are skipped until then.`
          : `Report view(s) ${source.missingViews.join(', ')} do not exist although the Cicero_V2 tables do: create them (docs/report-views.md) or restart the service to install its own.`,
      );
    }

    const transport = overrides.transport ?? createTransport(config, logger);
    if (transport.dryRun) {
      // A dry run marks what it logs as sent: it must not eat messages waiting for WhatsApp.
      const backlog = await backlogSize(database.pool);
      if (backlog > 0 && !config.wa.dryRunTakeBacklog) throw new DryRunBacklogError(backlog);
      if (backlog > 0) logger.warn({ rows: backlog }, 'dry run over a backlog (WA_DRY_RUN_TAKE_BACKLOG=true): these messages are logged, not sent; cicero-wa outbox retry --dry-run puts them back');
    }
    watchTransport(transport, logger);
    await transport.start();
    cleanups.push(() => transport.close());

    const clock = overrides.clock ?? systemClock;
    const responder = complaintResponder(
      {
        pool: database.pool,
        templates: await loadTemplates(config.complaints.templatesDir),
        timeZone: config.cron.timezone,
        defaultCountryCode: config.wa.defaultCountryCode,
      },
      clock,
      logger.child({ component: 'complaints' }),
    );

    const dispatcher = new Dispatcher({
      pool: database.pool,
      transport,
      logger: logger.child({ component: 'wa-gateway' }),
      dispatch: config.dispatch,
      defaultCountryCode: config.wa.defaultCountryCode,
    });
    const listener = new OutboxListener({
      connectionString: database.connectionString,
      logger,
      onNotify: () => dispatcher.trigger('notify'),
      onReconnect: () => dispatcher.trigger('listener reconnected'),
    });
    await listener.start();
    cleanups.push(() => listener.stop());
    dispatcher.onOutcome([COMPLAINT_REPLY_TYPE], responder.outcomeHook);
    dispatcher.start();
    cleanups.push(() => dispatcher.stop());

    const complaintListener = new OutboxListener({
      connectionString: database.connectionString,
      channel: COMPLAINT_CHANNEL,
      logger,
      onNotify: () => responder.trigger(),
      onReconnect: () => responder.trigger(),
    });
    await complaintListener.start();
    responder.trigger(); // complaints that arrived while the service was down
    cleanups.push(async () => {
      await complaintListener.stop();
      await responder.idle();
    });

    const scheduler = new Scheduler({
      pool: database.pool,
      jobs: jobTable(config, {
        ...rekapHandlers({ pool: database.pool, timeZone: config.cron.timezone, sendEmpty: config.rekap.sendEmpty }),
        'complaint-response': responder.handler,
        'wa-gateway-poll': async () => {
          dispatcher.trigger('poll');
        },
      }),
      timezone: config.cron.timezone,
      historyDays: config.cron.historyDays,
      logger: logger.child({ component: 'cron' }),
      clock,
    });
    await scheduler.start();
    cleanups.push(() => scheduler.stop());

    logger.info(
      { database: database.embedded ? 'embedded' : 'DATABASE_URL', timezone: config.cron.timezone, transport: transport.name, instance: dispatcher.instanceId },
      'cicero-wa-gateway is up',
    );

    let stopping: Promise<void> | null = null;
    return {
      database,
      transport,
      dispatcher,
      scheduler,
      kill() {
        transport.kill?.();
        database.kill();
      },
      stop() {
        stopping ??= (async () => {
          logger.info('cicero-wa-gateway is stopping');
          await stopAll();
          logger.info('cicero-wa-gateway stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
