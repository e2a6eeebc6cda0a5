/**
 * The one composition root: builds every part of the service from the Config, and starts and stops
 * them in order. `cicero-wa start` runs what its role asks for; short commands (`run`, `jobs`) are made
 * by the same function, with nothing started.
 *
 * Built: database (embedded or DATABASE_URL) → migrations → report views → the outbox maintenance
 * once → the intake of incoming messages → the WhatsApp transport and the drawing of its QR codes → the
 * session's delivery (dispatcher and confirmer) and its listener → the complaint responder and its
 * listener → the webhook sender (when WEBHOOK_URL is set) → the scheduler with every job → the HTTP API
 * (unless HTTP_PORT=off). Started in that order; stopped in the reverse one, then the database.
 *
 * Roles: `all` (the default); `worker` sends and answers complaints at once, and polls its own outbox,
 * but runs no shared job; `scheduler` runs the shared jobs and no transport (its poll wakes the workers).
 */
import type { Config } from '../config/index.js';
import { openDatabase, type Database } from '../db/database.js';
import { ChannelListener } from '../db/listener.js';
import { migrate } from '../db/migrate.js';
import { OutboxMaintenance } from '../delivery/outbox-maintenance.js';
import { affinityHooks } from '../delivery/chat-affinity.js';
import { SessionDelivery } from '../delivery/session-delivery.js';
import { COMPLAINT_CHANNEL, COMPLAINT_RETENTION_RULE } from '../features/complaints/complaint-queue.js';
import { loadTemplates } from '../features/complaints/reply.js';
import { COMPLAINT_REPLY_TYPE, complaintResponder, type ComplaintResponder } from '../features/complaints/responder.js';
import { installReportViews, rekapHandlers } from '../features/rekap/index.js';
import { taskBroadcastJob } from '../features/reminders/task-broadcast.js';
import { reminderHandlers } from '../features/reminders/index.js';
import { NO_SOURCE_REMEDY, reportSource } from '../features/rekap/report-views.js';
import { jobHandlers, jobTable } from '../jobs.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { outboxListener } from '../outbox/channel.js';
import { OutcomeHooks } from '../outbox/outcomes.js';
import { outboxRetentionJob } from '../outbox/retention.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { jobTimesNow } from '../scheduler/job-times.js';
import { createMetrics } from '../http/metrics.js';
import { HttpServer } from '../http/server.js';
import { Intake } from '../inbound/intake.js';
import type { Backoff } from '../lib/backoff.js';
import { dataHome, instanceId } from '../lib/instance-id.js';
import { WebhookEvents } from '../webhooks/events.js';
import { WebhookSender } from '../webhooks/sender.js';
import type { Transport } from '../whatsapp/transport.js';
import { maintenanceAtStart, pollHandler, refuseDryRunBacklog, wireWebhookEvents } from './wiring.js';
import { ensureConfiguredSession, type SessionRecord } from '../sessions/registry.js';
import { NO_SESSIONS } from '../http/deps.js';
import { SessionRuntimes } from './session-runtimes.js';
import { configuredSession, sessionTransports } from './session-transports.js';
import { Governor } from '../governor/governor.js';
import { component, listenerComponent, runsIn, type Component, type ComponentStatus, type Role } from './components.js';

export interface App {
  config: Config;
  database: Database;
  /** The WhatsApp sessions this process runs, one runtime each (none in a role without WhatsApp). */
  sessions: SessionRuntimes;
  /** The service's own session's transport (`default`, or the first session run here); null in a role without one. */
  transport: Transport | null;
  /** That session's dispatcher and confirmer. */
  delivery: SessionDelivery | null;
  responder: ComplaintResponder;
  /** That session's incoming messages. */
  intake: Intake | null;
  scheduler: Scheduler;
  /** The HTTP server, when this process runs one (HTTP_PORT not off). */
  http: HttpServer | null;
  components: Component[];
  /** Starts every component, in order. */
  start(): Promise<void>;
  /** Stops them in the reverse order, then closes the database. */
  stop(): Promise<void>;
  /** Ends Chromium and the embedded PostgreSQL at once, for an exit that cannot wait for stop(). */
  kill(): void;
  status(): Array<{ name: string } & ComponentStatus>;
}

export interface AppOptions {
  /** What this process runs; `command`: nothing long-running (short commands such as `run`). */
  role?: Role | 'command';
  /** Wrong API keys one address may send within a minute before it gets 429 (tests raise it). */
  maxAuthFailures?: number;
  /** The webhook sender's backoff after a failed attempt (tests shorten it). */
  webhookRetry?: Backoff;
  /** Use this transport for the session `default` instead of the one WA_TRANSPORT names (tests, benchmarks, the demo). */
  transport?: Transport;
  /** The transport of any other session (tests: stand-in numbers); default: the one WA_TRANSPORT names, on the session's auth profile. */
  transports?: (session: SessionRecord) => Transport;
  clock?: Clock;
  /** Runs after the migrations, before the report views are installed (the demo's data). */
  prepare?: (database: Database) => Promise<void>;
  /** Where QR codes are drawn as terminal pictures (default stderr; null: not drawn). */
  drawQr?: ((text: string) => void) | null;
  /** A command is told when it has to start the embedded server itself. */
  onEmbeddedStart?: (dataDir: string) => void;
  /** The embedded database made anew before the migrations (the demo). */
  freshDatabase?: boolean;
}

/** Builds the service from the configuration; nothing runs until `start()`. */
export async function composeApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  const role = options.role ?? config.role;
  const sends = role === 'all' || role === 'worker';
  // The service waits for a database that is still starting (DATABASE_WAIT_MS; then exits 1, saying so);
  // a short command shares a running service's embedded server.
  const database = await openDatabase(
    config,
    logger,
    role === 'command' ? { shareRunning: true, ...(options.onEmbeddedStart ? { onEmbeddedStart: options.onEmbeddedStart } : {}) } : { waitMs: config.database.waitMs, fresh: options.freshDatabase ?? false },
  );
  try {
    const pool = database.pool;
    await prepareDatabase(database, logger, options);
    const clock = options.clock ?? systemClock;
    const responder = complaintResponder(
      { pool, templates: await loadTemplates(config.complaints.templatesDir), timeZone: config.cron.timezone, defaultCountryCode: config.wa.defaultCountryCode },
      clock,
      logger.child({ component: 'complaints' }),
    );
    const governor = new Governor({ pool, config: config.governor, timeZone: config.cron.timezone, clock, logger: logger.child({ component: 'governor' }) });
    // One registry of outcome hooks for the process: every session's delivery and the maintenance run them.
    const hooks = new OutcomeHooks();
    // Who each person talks to, fed by delivered receipts (the intake feeds what people write): the routing reads it.
    affinityHooks(hooks, config.wa.defaultCountryCode);
    hooks.onOutcome([COMPLAINT_REPLY_TYPE], responder.outcomeHook);
    const webhooks = new WebhookEvents(config.webhooks);
    wireWebhookEvents(webhooks, hooks);
    // The service's own configuration is the session `default`; each enabled session runs in the process holding its lease.
    if (role !== 'command') await ensureConfiguredSession(pool, configuredSession(config));
    const deliveryLogger = logger.child({ component: 'delivery' });
    // Reads the sessions' held rows through a function: the runtimes are built next.
    let heldHere: () => number[] = () => [];
    const maintenance = new OutboxMaintenance({
      pool, logger: deliveryLogger, dispatch: config.dispatch, hooks, governor, heldHere: () => heldHere(), defaultCountryCode: config.wa.defaultCountryCode,
      digests: { windowMinutes: config.outbox.digestWindowMinutes, windows: config.outbox.digestWindows, timeZone: config.cron.timezone }, clock,
    });
    const owner = instanceId();
    const sessions = new SessionRuntimes({
      deps: { pool, config, logger, governor, hooks, webhooks, owner, drawQr: options.drawQr === undefined ? (text: string) => process.stderr.write(text) : options.drawQr },
      transportFor: sessionTransports(config, logger, options, pool),
      connectionString: database.connectionString,
      cluster: config.cluster,
      home: sends ? await dataHome(config.dataDir) : '',
      recoverRows: (session) => maintenance.recoverTakenSession(session, owner),
    });
    heldHere = () => sessions.heldRows();
    if (sends) {
      // The sessions whose leases this process wins (up to WA_MAX_SESSIONS); the others run elsewhere.
      await sessions.load();
      if (sessions.list().some((r) => r.transport.dryRun)) await refuseDryRunBacklog(pool, config, logger);
    }
    const primary = sessions.primary();

    const handlers = jobHandlers({
      rekap: rekapHandlers({ pool, timeZone: config.cron.timezone, sendEmpty: config.rekap.sendEmpty, attachExcel: config.rekap.attachExcel, documentMaxBytes: config.dispatch.documentMaxBytes }),
      complaints: { respond: responder.handler },
      broadcasts: { task: taskBroadcastJob({ pool, timeZone: config.cron.timezone, cutoffMinute: config.taskBroadcast.cutoffMinute }) },
      delivery: { poll: pollHandler(sends ? sessions : null, pool) },
      // The day's reminder times as the schedule holds them now (cicero-wa jobs times engagement-reminder).
      reminders: reminderHandlers({ pool, timeZone: config.cron.timezone, units: config.reminders.units, defaultCountryCode: config.wa.defaultCountryCode, governor, governorConfig: config.governor, times: () => jobTimesNow(pool, 'engagement-reminder', logger) }),
      outbox: { retention: outboxRetentionJob({ pool, days: config.outbox.retentionDays, keep: [COMPLAINT_RETENTION_RULE] }), maintenance: maintenance.job() },
    });
    const scheduler = new Scheduler({
      pool,
      jobs: jobTable(config, handlers).filter((job) => runsIn(role, job.shared)),
      timezone: config.cron.timezone,
      historyDays: config.cron.historyDays,
      logger: logger.child({ component: 'scheduler' }),
      clock,
      // Follows changed job times (cicero-wa jobs times, the API, the dashboard) without a restart.
      connectionString: database.connectionString,
    });

    const components: Component[] = [];
    // What a stopped holder left is put back before anything sends.
    if (role !== 'command') components.push(maintenanceAtStart(maintenance, logger));
    if (sends) {
      // Every session's intake listens before WhatsApp starts: nothing it reports is missed.
      components.push(
        component('inbound', () => sessions.startIntakes(), () => sessions.stopIntakes()),
        component('whatsapp', () => sessions.startTransports(), () => sessions.stopTransports(), () => sessions.describe()),
        listenerComponent('outbox listener', outboxListener({ connectionString: database.connectionString, logger, onNotify: (payload) => sessions.notified(payload), onReconnect: () => sessions.trigger('listener reconnected') })),
        component('dispatcher', () => sessions.startDeliveries(), () => sessions.stopDeliveries()),
        // A session added, removed, enabled or disabled while the service runs starts or stops at once.
        listenerComponent('session watcher', sessions.watcher()),
        // What another instance's API asks of a number this process holds (a pairing code, a logout).
        listenerComponent('session commands', sessions.commandWatcher()),
        component(
          'complaint responder',
          () => responder.trigger(), // complaints that arrived while the service was down
          () => responder.idle(),
        ),
        listenerComponent(
          'complaint listener',
          new ChannelListener({ connectionString: database.connectionString, channel: COMPLAINT_CHANNEL, logger, onNotify: () => responder.trigger(), onReconnect: () => responder.trigger() }),
        ),
      );
    }
    if (role !== 'command' && config.webhooks.urls.length > 0 && config.webhooks.secret) {
      const sender = new WebhookSender({
        pool,
        connectionString: database.connectionString,
        secret: config.webhooks.secret,
        timeoutMs: config.webhooks.timeoutMs,
        instanceId: instanceId(),
        logger: logger.child({ component: 'webhooks' }),
        ...(options.webhookRetry ? { retry: options.webhookRetry } : {}),
      });
      components.push(component('webhook sender', () => sender.start(), () => sender.stop()));
    }
    if (role !== 'command' && role !== 'http') components.push(component('scheduler', () => scheduler.start(), () => scheduler.stop()));
    // The HTTP API last: it answers about every other part, and is the first to stop.
    const running = sends ? sessions : NO_SESSIONS;
    const metrics = role !== 'command' && config.http.port !== null ? createMetrics({ pool, sessions: running, governor }) : null;
    const http = metrics
      ? new HttpServer({ config, pool, logger: logger.child({ component: 'http' }), sessions: running, governor, scheduler, metrics, clock, ...(options.maxAuthFailures ? { maxAuthFailures: options.maxAuthFailures } : {}) })
      : null;
    if (http && metrics) components.push(component('http', () => http.start(), async () => {
      await http.stop();
      metrics.close();
    }, () => http.url ?? undefined));

    let stopping: Promise<void> | null = null;
    const started: Component[] = [];
    const stopStarted = async () => {
      for (const part of started.splice(0).reverse()) {
        await part.stop().catch((err: Error) => logger.error({ component: part.name, err: err.message }, 'error while stopping'));
      }
      await database.close();
    };
    return {
      config,
      database,
      sessions,
      transport: primary?.transport ?? null,
      delivery: primary?.delivery ?? null,
      responder,
      intake: primary?.intake ?? null,
      scheduler,
      http,
      components,
      async start() {
        try {
          for (const part of components) {
            await part.start();
            started.push(part);
          }
        } catch (err) {
          await stopStarted();
          throw err;
        }
        if (role !== 'command') {
          logger.info(
            { role, database: database.embedded ? 'embedded' : 'DATABASE_URL', timezone: config.cron.timezone, sessions: sessions.list().map((r) => `${r.name} (${r.transport.name})`), instance: scheduler.instanceId, dashboard: http?.dashboardUrl ?? undefined },
            'cicero-wa-gateway is up',
          );
        }
      },
      stop() {
        stopping ??= (async () => {
          if (role !== 'command') logger.info('cicero-wa-gateway is stopping');
          await stopStarted();
          if (role !== 'command') logger.info('cicero-wa-gateway stopped');
        })();
        return stopping;
      },
      kill() {
        sessions.kill();
        database.kill();
      },
      status() {
        return components.map((c) => ({ name: c.name, ...c.status() }));
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}

/** Builds and starts the service (what `cicero-wa start` runs). */
export async function startApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  const app = await composeApp(config, logger, options);
  await app.start();
  return app;
}

/** Migrations, then the demo's data if asked, then the report views; says in one sentence if recaps cannot be made. */
async function prepareDatabase(database: Database, logger: Logger, options: AppOptions): Promise<void> {
  const applied = await migrate(database.pool, logger);
  logger.info({ migrationsApplied: applied.length }, 'database schema is up to date');
  await options.prepare?.(database);
  const views = await installReportViews(database.pool);
  if (views.length > 0) logger.info({ views }, 'report views installed on the Cicero_V2 tables');
  if (options.role === 'command') return;
  const source = await reportSource(database.pool);
  if (source.missingTables.length > 0 && source.operatorViews.length === 0) {
    logger.warn(`Recaps cannot be made here: this database has no Cicero_V2 tables; ${NO_SOURCE_REMEDY}. The report jobs are skipped until then.`);
  } else if (source.missingTables.length === 0 && source.missingViews.length > 0) {
    logger.warn(`Report view(s) ${source.missingViews.join(', ')} do not exist although the Cicero_V2 tables do: create them (docs/report-views.md) or restart the service to install its own.`);
  }
  if (source.operatorViews.length > 0) logger.info({ views: source.operatorViews }, "recaps from the operator's own views, sent as they are");
}

