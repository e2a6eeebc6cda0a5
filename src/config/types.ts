/** The shape of the configuration and the values its variables allow (parsed in index.ts). */
import { CRON_JOBS, type CronJobName } from '../jobs.js';
import type { LogFormat, LogLevel } from '../lib/logger.js';
import type { CronExpression } from './env-reader.js';

/** The jobs whose schedule is a variable (the others keep theirs as data: src/scheduler/job-times.ts). */
export const CRON_JOB_NAMES: readonly CronJobName[] = CRON_JOBS.map((j) => j.name);
export type { CronJobName };

/** Each such job's schedule variable and default expression (from the job table). */
export const CRON_SCHEDULE_VARIABLES = Object.fromEntries(
  CRON_JOBS.map((j) => [j.name, { variable: j.variable, defaultExpression: j.defaultExpression }]),
) as Record<CronJobName, { variable: string; defaultExpression: string }>;

export { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../lib/logger.js';
/**
 * What one process does: `all` of the service, or (several processes sharing one database) one side of
 * it: `worker` (WhatsApp sessions), `scheduler` (shared jobs), `http` (the API and dashboard only).
 */
export const ROLES = ['all', 'worker', 'scheduler', 'http'] as const;
export type Role = (typeof ROLES)[number];
export const NODE_ENVS = ['production', 'development', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];
export const WA_TRANSPORTS = ['wwebjs', 'log', 'fake'] as const;
export const UI_LANGS = ['id', 'en'] as const;
export const WEBHOOK_EVENTS = ['message.received', 'message.sent', 'message.failed', 'message.ack', 'session.state', 'complaint.received'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type UiLang = (typeof UI_LANGS)[number];
export type WaTransportName = (typeof WA_TRANSPORTS)[number];
/** Where each auth profile's WhatsApp Web login lives: only in WA_AUTH_PATH, or also in PostgreSQL (WA_AUTH_STORE). */
export const WA_AUTH_STORES = ['local', 'postgres'] as const;
export type WaAuthStore = (typeof WA_AUTH_STORES)[number];

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
    /**
     * DATABASE_STATEMENT_TIMEOUT_MS: the longest any one statement on the pool may run, and the longest a
     * transaction may sit idle; set on every pooled connection (migrations take their own, longer one).
     */
    statementTimeoutMs: number;
  };
  outbox: {
    /** OUTBOX_RETENTION_DAYS: sent and cancelled rows older than this are deleted (OUTBOX_RETENTION_CRON). */
    retentionDays: number;
    /** WA_DIGEST_WINDOW_MINUTES: how long a digest's window lasts, from its first message (default 15). */
    digestWindowMinutes: number;
    /** WA_DIGEST_WINDOWS: a window per digest key ("cicero-log:30,other:5"), over the default. */
    digestWindows: Readonly<Record<string, number>>;
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
    /**
     * The auth profile: the whatsapp-web.js LocalAuth `clientId`, whose login and Chromium profile live
     * in `authPath/session-<authProfile>` (WA_AUTH_PROFILE; WA_SESSION_NAME is its old name).
     */
    authProfile: string;
    /**
     * WA_AUTH_STORE: `local` keeps each login only in `authPath`; `postgres` also keeps it, sealed, in
     * PostgreSQL (wa_auth_store), so another machine can take a session without a new QR scan.
     */
    authStore: WaAuthStore;
    /** WA_AUTH_STORE_KEY: the AES-256-GCM key sealing the stored logins (32 bytes); null when unset. Never logged. */
    authStoreKey: Buffer | null;
    /** WA_AUTH_STORE_SAVE_SECONDS in ms: how often a ready session's login is saved (and once more on closing). */
    authStoreSaveMs: number;
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
    /**
     * WA_PAGE_FIX: the page-side fix for today's message keys (wwebjs/msgkey-fix.ts), applied whenever
     * the page is used; off leaves WhatsApp Web's page as it is.
     */
    pageFix: boolean;
    /** WA_DRY_RUN_TAKE_BACKLOG: let a dry run (WA_TRANSPORT=log) start on a database with messages waiting. */
    dryRunTakeBacklog: boolean;
    /** The test transport's settings (WA_TRANSPORT=fake). */
    fake: { sendLogFile: string | null; sendDelayMs: number; handOverDelayMs: number; inboundFile: string | null; inboundIntervalMs: number };
  };
  rekap: {
    /** Send a recap for a period with nothing in it (REKAP_SEND_EMPTY). */
    sendEmpty: boolean;
    /** Send each unit's group its workbook after the weekly and monthly text (REKAP_ATTACH_EXCEL). */
    attachExcel: boolean;
  };
  /** The task broadcast to unit groups (TASK_BROADCAST_CRON). */
  taskBroadcast: {
    /** TASK_BROADCAST_CUTOFF in minutes after midnight (CRON_TIMEZONE): from then on a run sends nothing that day. */
    cutoffMinute: number;
  };
  complaints: {
    /** Directory of `<key>.json` files overriding or adding reply templates; null for the built-in ones. */
    templatesDir: string | null;
    /** COMPLAINTS_PER_MESSAGE: reports taken from one WhatsApp message; the rest get one answer saying so. */
    perMessage: number;
    /** COMPLAINTS_PER_SENDER_HOUR: reports taken from one sender in an hour. */
    perSenderHour: number;
  };
  /** Personal engagement reminders (src/features/reminders/). */
  reminders: {
    /** REMINDER_UNITS: the units (clients.client_id, upper case) whose personnel get them; null (`*`): every unit. */
    units: string[] | null;
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
    /**
     * HTTP_ALLOWED_HOSTS: the names this server also answers to (its DNS name, a proxy's), besides
     * localhost, 127.0.0.1, [::1] and HTTP_HOST on its port; a port when only that port is meant. A request
     * with any other Host is refused (DNS rebinding).
     */
    allowedHosts: AllowedHost[];
    /**
     * HTTP_TRUST_PROXY: whose X-Forwarded-For gives the client's address (what the wrong-key limiter
     * counts): false (nobody's: the address of the connection), how many proxies stand in front, or
     * their addresses (IPs, CIDR ranges, loopback, linklocal, uniquelocal).
     */
    trustProxy: false | number | string[];
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
    /**
     * WA_SETTLE_GRACE_MS: how long after a hand-over (and after the connection is back) a message must
     * still be missing from its chat before it is recorded as not delivered.
     */
    settleGraceMs: number;
    /** WA_RESEND_CHECKED: a hand-over checked in the chat and not found there is sent again once, automatically (false: an operator decides). */
    resendChecked: boolean;
    /** WA_DOCUMENT_MAX_BYTES: the largest document the outbox takes and the dispatcher sends. */
    documentMaxBytes: number;
    /**
     * WA_FAILOVER_AFTER_SECONDS: a session not ready (disconnected, reconnecting, starting) for this long
     * can no longer carry messages: the router sends elsewhere and failover moves its rows that may move.
     */
    failoverAfterMs: number;
  };
  /** The ban-risk governor: budgets, warm-up, care with cold contacts, typing, quiet hours, risk pauses. */
  governor: GovernorConfig;
  /** Sessions spread over processes (src/sessions/leases.ts). */
  cluster: {
    /** WA_MAX_SESSIONS: how many sessions this process runs at most (default: from its memory, see defaultMaxSessions). */
    maxSessions: number;
    /** WA_HOST_LABEL: the label a session may be pinned to (default: the host name). */
    hostLabel: string;
    /** WA_SESSION_LEASE_SECONDS: a session's lease; its holder renews it three times per lease. */
    sessionLeaseMs: number;
  };
}

export interface GovernorConfig {
  /** WA_GOVERNOR: off lets every message through (budgets, warm-up, quiet hours and pauses unused). */
  enabled: boolean;
  /** WA_BUDGET_PER_MINUTE, WA_BUDGET_PER_HOUR, WA_BUDGET_PER_DAY: messages per session in any sliding window. */
  perMinute: number;
  perHour: number;
  perDay: number;
  /** WA_WARMUP_SCHEDULE: the daily budget of day 0, 1, … after pairing; null (WA_WARMUP=off): none. */
  warmup: number[] | null;
  /** WA_WARMUP_IDLE_DAYS: a session silent this long starts its warm-up again. */
  warmupIdleDays: number;
  /** WA_COLD_GAP_SECONDS: the random gap before a message to a personal chat that has not written. */
  coldGapMs: [number, number];
  /** WA_COLD_PER_DAY: messages to such chats in any 24 hours. */
  coldPerDay: number;
  /** WA_WARM_CONTACT_DAYS: a chat that wrote within this many days is not cold. */
  warmContactDays: number;
  /** WA_SAME_TEXT_PER_HOUR: the same text to this many personal chats in any hour, no more. */
  sameTextPerHour: number;
  /** WA_QUIET_HOURS in CRON_TIMEZONE: personal chats wait; null: none. */
  quietHours: { startMinute: number; endMinute: number } | null;
  /** WA_QUIET_HOURS_GROUPS: quiet hours hold for groups too. */
  quietHoursGroups: boolean;
  /** WA_QUIET_REPLY_WINDOW_HOURS: a personal chat that wrote within this long is answered in quiet hours too (0: never). */
  replyWindowMs: number;
  /** WA_TYPING_MAX_MS: "typing…" before a personal message, growing with its length up to this; 0: none. */
  typingMaxMs: number;
  /** WA_RISK_COOLING_MINUTES: a pause at a high risk score lasts this long. */
  riskCoolingMs: number;
}

/** A name (lower case; an IPv6 address without brackets) and the port it is meant with, or null for any. */
export interface AllowedHost {
  name: string;
  port: number | null;
}

/**
 * WA_DOCUMENT_MAX_BYTES's default and ceiling: whatsapp-web.js hands a file to the WhatsApp Web page as
 * base64 text (a third larger, held in the browser's memory as a string), so the limit stays well under
 * WhatsApp's own 2 GB.
 */
export const DEFAULT_DOCUMENT_MAX_BYTES = 16 * 1024 * 1024;
export const DOCUMENT_MAX_BYTES_CEILING = 64 * 1024 * 1024;



/**
 * A digest key (wa_outbox.digest_key, the API's digestKey): 1 to 100 letters, digits, ".", "_", ":" or
 * "-". The database's composer reads the same pattern (outbox/digests.ts).
 */
export const DIGEST_KEY = /^[A-Za-z0-9._:-]{1,100}$/;
/** The longest digest window, in minutes (a day). */
export const DIGEST_WINDOW_MAX_MINUTES = 1440;
