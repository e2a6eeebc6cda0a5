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
import { LOG_FORMATS, LOG_LEVELS } from '../lib/logger.js';
import { EnvReader, type CronExpression, type Env } from './env-reader.js';
import { CRON_JOB_NAMES, CRON_SCHEDULE_VARIABLES, DEFAULT_DOCUMENT_MAX_BYTES, DIGEST_KEY, DIGEST_WINDOW_MAX_MINUTES, DOCUMENT_MAX_BYTES_CEILING, NODE_ENVS, ROLES, UI_LANGS, WA_AUTH_STORES, WA_TRANSPORTS, WEBHOOK_EVENTS, type Config, type CronJobName } from './types.js';
import { maskUrlPassword } from './secrets.js';
import { HOST_LABEL, defaultHostLabel, defaultMaxSessions, memoryLimitBytes } from './capacity.js';

export { defaultMaxSessions } from './capacity.js';

export { maskUrlPassword } from './secrets.js';
export type { CronExpression, Env } from './env-reader.js';
export { splitHostPort } from './env-reader.js';

export * from './types.js';

export class ConfigError extends OperatorError {
  override readonly exitCode = 2;

  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

function optionalPath(value: string | null, cwd: string): string | null {
  return value === null ? null : path.resolve(cwd, value);
}

/** `*`, or unit ids (letters, digits, `_`, `-`, `.`) separated by commas. */
const UNIT_LIST = /^\s*(\*|[A-Za-z0-9_.-]+(\s*,\s*[A-Za-z0-9_.-]+)*)\s*$/;

/** REMINDER_UNITS as a list (upper case, as Cicero_V2 compares them), or null for every unit. */
function unitsOrAll(value: string): string[] | null {
  if (value.trim() === '*') return null;
  return [...new Set(value.split(',').map((u) => u.trim().toUpperCase()))];
}

/** Parses and validates an environment. Throws ConfigError listing every problem. */
export function parseConfig(env: Env, cwd: string = process.cwd()): Config {
  const read = new EnvReader(env);

  const dataDir = path.resolve(cwd, read.string('DATA_DIR', './data'));
  const authStore = read.oneOf('WA_AUTH_STORE', 'local', WA_AUTH_STORES);
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
      statementTimeoutMs: read.integer('DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 1000, 3_600_000),
    },
    outbox: {
      retentionDays: read.integer('OUTBOX_RETENTION_DAYS', 90, 1, 3650),
      digestWindowMinutes: read.integer('WA_DIGEST_WINDOW_MINUTES', 15, 1, DIGEST_WINDOW_MAX_MINUTES),
      digestWindows: read.keyedIntegers('WA_DIGEST_WINDOWS', DIGEST_KEY, 'a digest key (1 to 100 of A-Z a-z 0-9 . _ : -)', 1, DIGEST_WINDOW_MAX_MINUTES),
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
      authProfile: read.renamed('WA_AUTH_PROFILE', 'WA_SESSION_NAME', (variable) =>
        read.string(variable, 'cicero-wa', {
          re: /^[A-Za-z0-9_-]{1,64}$/,
          allowed: 'expected 1 to 64 letters, digits, "_" or "-" (whatsapp-web.js LocalAuth clientId)',
        }),
      ),
      authStore,
      authStoreKey: read.aesKey('WA_AUTH_STORE_KEY', authStore === 'postgres' ? 'with WA_AUTH_STORE=postgres' : null),
      authStoreSaveMs: read.integer('WA_AUTH_STORE_SAVE_SECONDS', 300, 60, 86_400) * 1000,
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
      pageFix: read.boolean('WA_PAGE_FIX', true),
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
      attachExcel: read.boolean('REKAP_ATTACH_EXCEL', true),
    },
    taskBroadcast: {
      cutoffMinute: read.timeOfDay('TASK_BROADCAST_CUTOFF', '17:15'),
    },
    complaints: {
      templatesDir: optionalPath(read.optionalString('COMPLAINT_TEMPLATES_DIR', 'the built-in templates'), cwd),
      perMessage: read.integer('COMPLAINTS_PER_MESSAGE', 3, 1, 50),
      perSenderHour: read.integer('COMPLAINTS_PER_SENDER_HOUR', 5, 1, 1000),
    },
    reminders: {
      units: unitsOrAll(read.string('REMINDER_UNITS', 'DITBINMAS,BIDHUMAS', { re: UNIT_LIST, allowed: 'expected * (every unit) or unit ids (clients.client_id) separated by commas, e.g. DITBINMAS,BIDHUMAS' })),
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
      allowedHosts: read.hostList('HTTP_ALLOWED_HOSTS', 'no other names: localhost, 127.0.0.1, [::1] and HTTP_HOST'),
      trustProxy: read.proxyTrust('HTTP_TRUST_PROXY'),
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
      settleGraceMs: read.integer('WA_SETTLE_GRACE_MS', 120_000, 0, 86_400_000),
      resendChecked: read.boolean('WA_RESEND_CHECKED', true),
      documentMaxBytes: read.integer('WA_DOCUMENT_MAX_BYTES', DEFAULT_DOCUMENT_MAX_BYTES, 1, DOCUMENT_MAX_BYTES_CEILING),
      failoverAfterMs: read.integer('WA_FAILOVER_AFTER_SECONDS', 300, 1, 86_400) * 1000,
    },
    cluster: {
      maxSessions: read.integer('WA_MAX_SESSIONS', defaultMaxSessions(memoryLimitBytes()), 1, 500),
      hostLabel: read.string('WA_HOST_LABEL', defaultHostLabel(), { re: HOST_LABEL, allowed: 'expected 1 to 64 letters, digits, ".", "_" or "-" (the label sessions are pinned to)' }),
      sessionLeaseMs: read.integer('WA_SESSION_LEASE_SECONDS', 30, 5, 600) * 1000,
    },
    governor: {
      enabled: read.boolean('WA_GOVERNOR', true),
      perMinute: read.integer('WA_BUDGET_PER_MINUTE', 8, 1, 1000),
      perHour: read.integer('WA_BUDGET_PER_HOUR', 120, 1, 60_000),
      perDay: read.integer('WA_BUDGET_PER_DAY', 1000, 1, 1_000_000),
      warmup: read.boolean('WA_WARMUP', true) ? read.risingIntegers('WA_WARMUP_SCHEDULE', [20, 50, 120, 300, 600], 1, 1_000_000) : null,
      warmupIdleDays: read.integer('WA_WARMUP_IDLE_DAYS', 14, 1, 3650),
      coldGapMs: read.integerRange('WA_COLD_GAP_SECONDS', [30, 60], 0, 3600).map((s) => s * 1000) as [number, number],
      coldPerDay: read.integer('WA_COLD_PER_DAY', 50, 1, 1_000_000),
      warmContactDays: read.integer('WA_WARM_CONTACT_DAYS', 30, 1, 3650),
      sameTextPerHour: read.integer('WA_SAME_TEXT_PER_HOUR', 20, 1, 1_000_000),
      quietHours: read.dailyWindowOrOff('WA_QUIET_HOURS', '21:00-06:00'),
      quietHoursGroups: read.boolean('WA_QUIET_HOURS_GROUPS', false),
      replyWindowMs: read.integer('WA_QUIET_REPLY_WINDOW_HOURS', 4, 0, 168) * 3_600_000,
      typingMaxMs: read.integer('WA_TYPING_MAX_MS', 6000, 0, 60_000),
      riskCoolingMs: read.integer('WA_RISK_COOLING_MINUTES', 60, 1, 10_080) * 60_000,
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
    wa: { ...config.wa, authStoreKey: config.wa.authStoreKey ? '(set)' : null },
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
    authProfile: config.wa.authProfile,
    timezone: config.cron.timezone,
    jobs: `${enabled} of ${Object.keys(config.cron.schedules).length} scheduled`,
  };
}
