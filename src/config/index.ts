/**
 * The service's configuration: every environment variable, parsed and validated once into a typed
 * Config. Nothing else in the service reads process.env.
 *
 * Every variable has a default, so the service starts with no .env at all. A bad value is reported as
 * one line naming the variable, its value (passwords masked) and what is allowed; all problems are
 * collected and reported together.
 */
import path from 'node:path';
import dotenv from 'dotenv';
import { combinationProblems } from './combinations.js';
import { OperatorError } from '../lib/errors.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../lib/logger.js';
import { EnvReader, type CronExpression, type Env } from './env-reader.js';
import { maskUrlPassword } from './secrets.js';

export { maskUrlPassword } from './secrets.js';
export type { CronExpression, Env } from './env-reader.js';
import { JOBS, JOB_NAMES, type JobName } from '../jobs.js';

export const CRON_JOB_NAMES = JOB_NAMES;
export type CronJobName = JobName;

/** Each job's schedule variable and default expression (from the job table). */
export const CRON_SCHEDULE_VARIABLES = Object.fromEntries(
  JOBS.map((j) => [j.name, { variable: j.variable, defaultExpression: j.defaultExpression }]),
) as Record<JobName, { variable: string; defaultExpression: string }>;

export { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../lib/logger.js';
/** What one process does: `all` of the service, or (several processes sharing one database) one side of it. */
export const ROLES = ['all', 'worker', 'scheduler'] as const;
export type Role = (typeof ROLES)[number];
export const NODE_ENVS = ['production', 'development', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];
export const WA_TRANSPORTS = ['wwebjs', 'log', 'fake'] as const;
export const UI_LANGS = ['id', 'en'] as const;
export const WEBHOOK_EVENTS = ['message.received', 'message.sent', 'message.failed', 'message.ack', 'session.state', 'complaint.received'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type UiLang = (typeof UI_LANGS)[number];
export type WaTransportName = (typeof WA_TRANSPORTS)[number];

export interface Config {
  nodeEnv: NodeEnv;
  /** SERVICE_ROLE: what `start` runs: all of the service, or one side of it (several processes on one database). */
  role: Role;
  logLevel: LogLevel;
  /** Whether LOG_LEVEL was set (commands are quiet below warn unless it was). */
  logLevelSet: boolean;
  /** LOG_FORMAT: `auto` (readable lines on a terminal, JSON otherwise), `json` or `pretty`. */
  logFormat: LogFormat;
  /** Absolute path of the service's own data (embedded PostgreSQL, WhatsApp session by default). */
  dataDir: string;
  database: {
    /** External PostgreSQL; null means the embedded one under dataDir. */
    url: string | null;
    poolMax: number;
    embeddedPort: number;
    /** How long `start` keeps trying a DATABASE_URL server that does not answer before it exits. */
    waitMs: number;
  };
  cron: {
    timezone: string;
    schedules: Record<CronJobName, CronExpression>;
    /** A report slot missed while the service was down runs at start-up if it is at most this old. */
    catchUpHours: number;
    /** Run history older than this is deleted. */
    historyDays: number;
  };
  wa: {
    transport: WaTransportName;
    authPath: string;
    sessionName: string;
    puppeteerArgs: string[];
    /** WA_CHROMIUM_PATH, else PUPPETEER_EXECUTABLE_PATH, else null (search the usual install paths). */
    chromiumPath: string | null;
    /** Country code put in place of a leading 0 in phone numbers (62: 0812… → 62812…). */
    defaultCountryCode: string;
    /** Pair by phone number (digits with country code) instead of scanning a QR code; null for QR. */
    pairPhone: string | null;
    /** How long to wait for WhatsApp Web to become ready (not counting time spent waiting for a QR scan). */
    readyTimeoutMs: number;
    /** Restart backoff of the WhatsApp client after a failure: first delay and cap. */
    reconnectBaseMs: number;
    reconnectMaxMs: number;
    /** How long whatsapp-web.js waits for the WhatsApp Web page to load before giving up (authTimeoutMs). */
    authTimeoutMs: number;
    /** WA_WEB_VERSION: the WhatsApp Web build to run (e.g. 2.3000.1017054665); null runs the library's default, from the local cache. */
    webVersion: string | null;
    /** WA_WEB_VERSION_URL: where that build's page is fetched from, `{version}` standing for the build; null for the local cache. */
    webVersionUrl: string | null;
    /** WA_DRY_RUN_TAKE_BACKLOG: let a dry run (WA_TRANSPORT=log) start on a database with messages waiting. */
    dryRunTakeBacklog: boolean;
    /** The test transport's settings (WA_TRANSPORT=fake). */
    fake: { sendLogFile: string | null; sendDelayMs: number; handOverDelayMs: number; inboundFile: string | null; inboundIntervalMs: number };
  };
  rekap: {
    /** Send a recap for a period with nothing in it (REKAP_SEND_EMPTY). */
    sendEmpty: boolean;
  };
  complaints: {
    /** Directory of `<key>.json` files overriding or adding reply templates; null for the built-in ones. */
    templatesDir: string | null;
  };
  /** What the service does with messages people send to the number. */
  inbound: {
    /** INBOUND_OPT_IN_COMMANDS: answer notifwa#on / notifwa#off (the one write into Cicero_V2's "user"). */
    optInCommands: boolean;
  };
  /** Signed webhooks for events (none when no URL is set). */
  webhooks: {
    urls: string[];
    secret: string | null;
    events: WebhookEvent[];
    /** How long a delivery is retried before it is dead-lettered. */
    retryForMs: number;
    /** How long one delivery waits for the receiver. */
    timeoutMs: number;
  };
  /** The HTTP API, dashboard, health and metrics. */
  http: {
    /** HTTP_PORT; null when `off`. */
    port: number | null;
    host: string;
    /** API_KEY: full access; null: the API is open to this machine only (HTTP_HOST must be loopback). */
    apiKey: string | null;
    /** API_READ_KEY: read-only access (GET); null: none. */
    readKey: string | null;
    /** HTTP_READY_STALL_MS: a backlog that has not moved for this long makes /readyz not ready. */
    readyStallMs: number;
    /** UI_LANG: the dashboard's language by default (each person can switch). */
    uiLang: UiLang;
  };
  /** How the dispatcher sends: pacing, retries, claims. */
  dispatch: {
    sendIntervalMs: number;
    sendJitterMs: number;
    maxPerMinute: number;
    maxAttempts: number;
    retryBaseMs: number;
    retryMaxMs: number;
    batchSize: number;
    leaseMs: number;
    sendTimeoutMs: number;
    /** How long a send with an unknown outcome waits for WhatsApp to confirm it before it is flagged unconfirmed. */
    confirmTimeoutMs: number;
  };
}


export class ConfigError extends OperatorError {
  override readonly exitCode = 2;

  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

function optionalPath(value: string | null, cwd: string): string | null {
  return value === null ? null : path.resolve(cwd, value);
}

/** Parses and validates an environment. Throws ConfigError listing every problem. */
export function parseConfig(env: Env, cwd: string = process.cwd()): Config {
  const read = new EnvReader(env);

  const dataDir = path.resolve(cwd, read.string('DATA_DIR', './data'));
  const schedules = {} as Record<CronJobName, CronExpression>;
  for (const name of CRON_JOB_NAMES) {
    const { variable, defaultExpression } = CRON_SCHEDULE_VARIABLES[name];
    schedules[name] = read.cronSchedule(variable, defaultExpression);
  }

  const config: Config = {
    nodeEnv: read.oneOf('NODE_ENV', 'production', NODE_ENVS),
    role: read.oneOf('SERVICE_ROLE', 'all', ROLES),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    logLevelSet: env.LOG_LEVEL !== undefined && env.LOG_LEVEL.trim() !== '',
    logFormat: read.oneOf('LOG_FORMAT', 'auto', LOG_FORMATS),
    dataDir,
    database: {
      url: read.postgresUrl('DATABASE_URL'),
      poolMax: read.integer('DB_POOL_MAX', 10, 1, 1000),
      embeddedPort: read.integer('EMBEDDED_PG_PORT', 54329, 1, 65535),
      waitMs: read.integer('DATABASE_WAIT_MS', 60_000, 0, 3_600_000),
    },
    cron: {
      timezone: read.timezone('CRON_TIMEZONE', 'Asia/Jakarta'),
      schedules,
      catchUpHours: read.integer('CRON_CATCHUP_HOURS', 12, 0, 24 * 31),
      historyDays: read.integer('CRON_HISTORY_DAYS', 90, 1, 3650),
    },
    wa: {
      transport: read.oneOf('WA_TRANSPORT', 'wwebjs', WA_TRANSPORTS),
      authPath: path.resolve(cwd, read.string('WA_AUTH_PATH', path.join(dataDir, 'wa-auth'))),
      sessionName: read.string('WA_SESSION_NAME', 'cicero-wa', {
        re: /^[A-Za-z0-9_-]{1,64}$/,
        allowed: 'expected 1 to 64 letters, digits, "_" or "-" (whatsapp-web.js LocalAuth clientId)',
      }),
      puppeteerArgs: read.chromiumFlags('WA_PUPPETEER_ARGS'),
      chromiumPath:
        read.optionalString('WA_CHROMIUM_PATH', 'PUPPETEER_EXECUTABLE_PATH, else the usual install paths') ??
        read.optionalString('PUPPETEER_EXECUTABLE_PATH', 'the usual install paths'),
      defaultCountryCode: read.string('WA_DEFAULT_COUNTRY_CODE', '62', { re: /^[1-9]\d{0,2}$/, allowed: 'expected a country calling code of 1 to 3 digits, e.g. 62' }),
      pairPhone: read.optionalDigits('WA_PAIR_PHONE', 8, 15, 'pairing by QR code'),
      readyTimeoutMs: read.integer('WA_READY_TIMEOUT_MS', 120_000, 1000, 3_600_000),
      reconnectBaseMs: read.integer('WA_RECONNECT_BASE_MS', 5000, 10, 3_600_000),
      reconnectMaxMs: read.integer('WA_RECONNECT_MAX_MS', 300_000, 10, 86_400_000),
      authTimeoutMs: read.integer('WA_AUTH_TIMEOUT_MS', 60_000, 1000, 600_000),
      webVersion: read.optionalPattern('WA_WEB_VERSION', /^\d+\.\d+\.\d+(-[a-z]+)?$/, 'expected a WhatsApp Web build such as 2.3000.1017054665', 'unpinned'),
      webVersionUrl: read.versionUrl('WA_WEB_VERSION_URL'),
      dryRunTakeBacklog: read.boolean('WA_DRY_RUN_TAKE_BACKLOG', false),
      fake: {
        sendLogFile: read.optionalString('WA_FAKE_SEND_LOG', 'no send log'),
        sendDelayMs: read.integer('WA_FAKE_SEND_DELAY_MS', 0, 0, 600_000),
        handOverDelayMs: read.integer('WA_FAKE_HANDOVER_DELAY_MS', 0, 0, 600_000),
        inboundFile: read.optionalString('WA_FAKE_INBOUND_FILE', 'no incoming messages'),
        inboundIntervalMs: read.integer('WA_FAKE_INBOUND_INTERVAL_MS', 10, 0, 60_000),
      },
    },
    rekap: {
      sendEmpty: read.boolean('REKAP_SEND_EMPTY', false),
    },
    complaints: {
      templatesDir: optionalPath(read.optionalString('COMPLAINT_TEMPLATES_DIR', 'the built-in templates'), cwd),
    },
    inbound: {
      optInCommands: read.boolean('INBOUND_OPT_IN_COMMANDS', true),
    },
    webhooks: {
      urls: read.urlList('WEBHOOK_URL'),
      secret: read.optionalSecret('WEBHOOK_SECRET', 16, 'unsigned: set it whenever WEBHOOK_URL is set'),
      events: read.subset('WEBHOOK_EVENTS', WEBHOOK_EVENTS),
      retryForMs: read.integer('WEBHOOK_RETRY_FOR_MS', 86_400_000, 1000, 30 * 86_400_000),
      timeoutMs: read.integer('WEBHOOK_TIMEOUT_MS', 10_000, 100, 300_000),
    },
    http: {
      port: read.portOrOff('HTTP_PORT', 8080),
      host: read.string('HTTP_HOST', '127.0.0.1', { re: /^[A-Za-z0-9.:\-\[\]]{1,255}$/, allowed: 'expected an address or host name to listen on, e.g. 127.0.0.1 or 0.0.0.0' }),
      apiKey: read.optionalSecret('API_KEY', 16, 'no key: the API is open to this machine only'),
      readKey: read.optionalSecret('API_READ_KEY', 16, 'no read-only key'),
      readyStallMs: read.integer('HTTP_READY_STALL_MS', 120_000, 1000, 86_400_000),
      uiLang: read.oneOf('UI_LANG', 'id', UI_LANGS),
    },
    dispatch: {
      sendIntervalMs: read.integer('WA_SEND_INTERVAL_MS', 3000, 0, 3_600_000),
      sendJitterMs: read.integer('WA_SEND_JITTER_MS', 1000, 0, 3_600_000),
      maxPerMinute: read.integer('WA_SEND_MAX_PER_MINUTE', 20, 1, 100_000),
      maxAttempts: read.integer('WA_MAX_ATTEMPTS', 6, 1, 100),
      retryBaseMs: read.integer('WA_RETRY_BASE_MS', 30_000, 1, 86_400_000),
      retryMaxMs: read.integer('WA_RETRY_MAX_MS', 1_800_000, 1, 604_800_000),
      batchSize: read.integer('WA_DISPATCH_BATCH_SIZE', 10, 1, 1000),
      leaseMs: read.integer('WA_LEASE_MS', 300_000, 1000, 86_400_000),
      sendTimeoutMs: read.integer('WA_SEND_TIMEOUT_MS', 60_000, 100, 3_600_000),
      confirmTimeoutMs: read.integer('WA_CONFIRM_TIMEOUT_MS', 600_000, 1000, 86_400_000),
    },
  };
  read.problems.push(...combinationProblems(config));

  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}

/** Reads `.env` from the working directory when present (real environment variables win), then parses. */
export function loadConfig(cwd: string = process.cwd()): Config {
  dotenv.config({ path: path.join(cwd, '.env'), quiet: true });
  return parseConfig(process.env, cwd);
}

/** The whole configuration as safe to log (the database password masked), for the debug level. */
export function fullConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    database: { ...config.database, url: config.database.url ? maskUrlPassword(config.database.url) : 'embedded' },
    http: { ...config.http, apiKey: config.http.apiKey ? '(set)' : null, readKey: config.http.readKey ? '(set)' : null },
    webhooks: { ...config.webhooks, urls: config.webhooks.urls.map(maskUrlPassword), secret: config.webhooks.secret ? '(set)' : null },
  };
}

/** What a person starting the service wants to see first: where the data is, how it sends, when. */
export function describeConfig(config: Config): Record<string, unknown> {
  const enabled = Object.entries(config.cron.schedules).filter(([, e]) => e !== null).length;
  return {
    database: config.database.url ? maskUrlPassword(config.database.url) : `embedded in ${path.join(config.dataDir, 'postgres')}`,
    transport: config.wa.transport,
    whatsappSession: config.wa.sessionName,
    timezone: config.cron.timezone,
    jobs: `${enabled} of ${Object.keys(config.cron.schedules).length} scheduled`,
  };
}
