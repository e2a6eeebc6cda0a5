/**
 * `cicero-wa doctor`: checks what the service needs to run and prints one line per check, with a
 * remedy for each problem: `ok`, `WARN` (the service runs, but something will not work: recaps without
 * their source, an unpaired session, WhatsApp Web out of reach) or `FAIL` (it cannot run as
 * configured). Exit code 1 when any check fails.
 */
import { constants, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { maskUrlPassword, type Config } from '../config/index.js';
import { openDatabase } from '../db/database.js';
import { pendingMigrations } from '../db/migrate.js';
import type { Logger } from '../lib/logger.js';
import { print, type CommandContext } from './context.js';
import { CHROMIUM_INSTALL_HINT, chromiumVersion, findChromium } from '../whatsapp/wwebjs/chromium.js';
import dns from 'node:dns/promises';
import tls from 'node:tls';
import type { Queryable } from '../db/pool.js';
import { formatZoned } from '../lib/zoned-time.js';
import { NO_SOURCE_REMEDY, REPORT_VIEWS, reportSource } from '../features/rekap/report-views.js';
import { tasksCreatedAtIndexed } from '../features/rekap/task-delivery-recap.js';
import { readProfileRecord, profileRecordFile } from '../whatsapp/profile-record.js';
import type { CheckResult } from './doctor-check.js';
import { checkAuthStore } from './doctor-auth-store.js';
import { checkUnitGroups } from './doctor-groups.js';
import { checkNumbers } from './doctor-numbers.js';
import { checkPooler } from './doctor-pooler.js';

async function checkDatabase(config: Config, logger: Logger): Promise<CheckResult[]> {
  const where = config.database.url ? maskUrlPassword(config.database.url) : `embedded in ${path.join(config.dataDir, 'postgres')}`;
  let database;
  let version: string;
  try {
    database = await openDatabase(config, logger, { shareRunning: true });
    const { rows } = await database.pool.query<{ version: string; timeout: string }>(
      "SELECT current_setting('server_version') AS version, current_setting('statement_timeout') AS timeout",
    );
    version = `${rows[0]!.version} (${where}); statements limited to ${rows[0]!.timeout} (DATABASE_STATEMENT_TIMEOUT_MS)`;
  } catch (err) {
    await database?.close();
    return [{
      name: 'database',
      ok: false,
      detail: `cannot start or reach PostgreSQL (${where}): ${(err as Error).message}`,
      remedy: config.database.url ? 'check DATABASE_URL, that the server runs, and its pg_hba.conf' : 'check DATA_DIR permissions and EMBEDDED_PG_PORT',
    }];
  }
  try {
    const pending = await pendingMigrations(database.pool);
    return [
      { name: 'database', ok: true, detail: `PostgreSQL ${version}` },
      pending.length === 0
        ? { name: 'migrations', ok: true, detail: 'all applied' }
        : { name: 'migrations', ok: false, detail: `${pending.length} not applied: ${pending.join(', ')}`, remedy: 'run cicero-wa migrate (npm start also applies them)' },
      await checkRecaps(database.pool),
      ...(await checkTaskIndex(database.pool)),
      ...(pending.length === 0 ? await checkNumbers(database.pool, config.cron.timezone) : []),
      ...(pending.length === 0 ? await checkAuthStore(database.pool, config) : []),
      ...(await checkUnitGroups(database.pool, config.dispatch.failoverAfterMs)),
      ...(config.database.url ? [await checkPooler(database.connectionString)] : []),
    ];
  } catch (err) {
    return [{ name: 'migrations', ok: false, detail: `cannot read cicero_wa_migrations: ${(err as Error).message}`, remedy: "check the database user's privileges" }];
  } finally {
    await database.close();
  }
}

/** The recaps' source: Cicero_V2's tables, the task delivery recap's view, and views of an operator's own. */
async function checkRecaps(db: Queryable): Promise<CheckResult> {
  const name = 'recaps';
  const source = await reportSource(db);
  const own = source.operatorViews.length > 0 ? `; sent as they are from the operator's own ${source.operatorViews.join(', ')}` : '';
  if (source.missingTables.length > 0) {
    return {
      name,
      ok: true,
      warn: true,
      detail: `no recap can be made: this database has no Cicero_V2 tables (missing: ${source.missingTables.join(', ')})${own}; the ${own ? 'other ' : ''}report jobs are skipped`,
      remedy: NO_SOURCE_REMEDY,
    };
  }
  if (source.missingViews.length > 0) {
    return {
      name,
      ok: true,
      warn: true,
      detail: `report view(s) missing although the Cicero_V2 tables exist: ${source.missingViews.join(', ')}`,
      remedy: 'start the service once (it installs its views), or create them (docs/report-views.md)',
    };
  }
  return { name, ok: true, detail: `daily, weekly and monthly recaps made from Cicero_V2's tables; ${REPORT_VIEWS.taskDelivery.view} in place${own}` };
}

/** Cicero_V2's tasks read by the task delivery recap's window: an index on tasks (created_at) keeps that a range read. */
async function checkTaskIndex(db: Queryable): Promise<CheckResult[]> {
  const indexed = await tasksCreatedAtIndexed(db);
  if (indexed === null) return [];
  const name = 'tasks-index';
  return indexed
    ? [{ name, ok: true, detail: 'tasks has an index on created_at: the task delivery recap reads only its window' }]
    : [{
        name,
        ok: true,
        warn: true,
        detail: "tasks has no index whose first column is created_at: every task delivery recap reads all of Cicero_V2's task history",
        remedy: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_created_at_idx ON tasks (created_at) (docs/report-views.md)',
      }];
}

/** The WhatsApp session (the number) as the running (or last) service saw it, from its auth profile's record. */
async function checkSession(config: Config): Promise<CheckResult> {
  const name = 'session';
  if (config.wa.transport !== 'wwebjs') return { name, ok: true, detail: `not used with WA_TRANSPORT=${config.wa.transport}` };
  const record = await readProfileRecord(profileRecordFile(config.wa.authPath, config.wa.authProfile));
  const profile = `auth profile "${config.wa.authProfile}"`;
  const tz = config.cron.timezone;
  const scan = 'start the service and scan the QR code from the log or the dashboard (WhatsApp > Linked devices > Link a device), or pair with a code (WA_PAIR_PHONE)';
  if (!record) return { name, ok: true, warn: true, detail: `${profile} has never run: not paired`, remedy: scan };
  const last = `last state ${record.state}${record.reason ? ` (${record.reason})` : ''} since ${formatZoned(new Date(record.since), tz)}`;
  if (!record.pairedAt) return { name, ok: true, warn: true, detail: `${profile} is not paired; ${last}`, remedy: scan };
  const who = record.number ? ` as +${record.number}` : '';
  return { name, ok: true, detail: `${profile} paired${who} since ${formatZoned(new Date(record.pairedAt), tz)}; ${last}${record.webVersion ? `; WhatsApp Web ${record.webVersion}` : ''}` };
}

/** The page-side message-key fix as the running (or last) service found it (wwebjs/msgkey-fix.ts). */
async function checkPageFix(config: Config): Promise<CheckResult | null> {
  if (config.wa.transport !== 'wwebjs') return null;
  const name = 'page-fix';
  const record = await readProfileRecord(profileRecordFile(config.wa.authPath, config.wa.authProfile));
  const fix = record?.pageFix;
  if (!fix) return { name, ok: true, detail: 'not known yet: the service records it each time WhatsApp Web becomes ready' };
  const where = `WhatsApp Web ${fix.build ?? '(build unknown)'}${fix.at ? `, checked ${formatZoned(new Date(fix.at), config.cron.timezone)}` : ''}`;
  switch (fix.state) {
    case 'active':
      return { name, ok: true, detail: `message-key fix active on ${where} (${fix.detail})` };
    case 'not_needed':
      return { name, ok: true, detail: `message-key fix not needed on ${where} (${fix.detail})` };
    case 'off':
      return {
        name, ok: true, warn: true,
        detail: `message-key fix switched off (WA_PAGE_FIX=false) on ${where}`,
        remedy: 'on builds since July 2026 documents, chat look-ups and typing fail without it: unset WA_PAGE_FIX',
      };
    default:
      return {
        name, ok: true, warn: true,
        detail: `message-key fix ${fix.state} on ${where}: ${fix.detail}`,
        remedy: 'documents, chat look-ups and typing may fail on this build; pin a build known to work with WA_WEB_VERSION (README, "WhatsApp Web builds")',
      };
  }
}

/** Whether WhatsApp Web can be reached from this machine: name, TCP and TLS to web.whatsapp.com:443. */
async function checkReachable(config: Config): Promise<CheckResult> {
  const name = 'whatsapp-reach';
  if (config.wa.transport !== 'wwebjs') return { name, ok: true, detail: `not checked with WA_TRANSPORT=${config.wa.transport}` };
  const host = 'web.whatsapp.com';
  const started = performance.now();
  try {
    await dns.lookup(host);
  } catch (err) {
    return { name, ok: true, warn: true, detail: `${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, remedy: 'check DNS on this machine; the service queues messages until WhatsApp Web can be reached' };
  }
  const result = await new Promise<string | null>((resolve) => {
    const socket = tls.connect({ host, port: 443, servername: host, timeout: 5000 }, () => {
      socket.end();
      resolve(null);
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve('no answer within 5 s');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
  if (result) {
    return { name, ok: true, warn: true, detail: `${host}:443 cannot be reached (${result})`, remedy: 'allow outbound HTTPS to web.whatsapp.com (a proxy goes in WA_PUPPETEER_ARGS as --proxy-server=…)' };
  }
  return { name, ok: true, detail: `${host}:443 reachable (TLS in ${Math.round(performance.now() - started)} ms)` };
}

async function checkAuthPath(authPath: string): Promise<CheckResult> {
  const name = 'wa-auth-path';
  let stat;
  try {
    stat = await fs.stat(authPath);
  } catch {
    // Not created yet: the service creates it on first start, so its parent must be writable.
    const parent = path.dirname(authPath);
    try {
      await fs.access(nearestExisting(parent), constants.W_OK);
      return { name, ok: true, detail: `${authPath} does not exist yet; it will be created (mode 0700) on first start` };
    } catch {
      return { name, ok: false, detail: `${authPath} does not exist and cannot be created`, remedy: `create it (mkdir -p -m 700 ${authPath}) or set WA_AUTH_PATH` };
    }
  }
  if (!stat.isDirectory()) {
    return { name, ok: false, detail: `${authPath} is not a directory`, remedy: 'point WA_AUTH_PATH at a directory' };
  }
  try {
    await fs.access(authPath, constants.W_OK | constants.X_OK);
  } catch {
    return { name, ok: false, detail: `${authPath} is not writable by this user`, remedy: `chown it to the service user, or set WA_AUTH_PATH` };
  }
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    return {
      name,
      ok: false,
      detail: `${authPath} is readable by other users (mode ${mode.toString(8)}); it holds the WhatsApp auth profile (the login)`,
      remedy: `chmod 700 ${authPath}`,
    };
  }
  return { name, ok: true, detail: `${authPath} is writable, mode ${mode.toString(8)}` };
}

/** The closest ancestor of `dir` that exists (or dir itself). */
function nearestExisting(dir: string): string {
  let current = dir;
  while (!existsSync(current) && path.dirname(current) !== current) current = path.dirname(current);
  return current;
}

async function checkChromium(config: Config): Promise<CheckResult> {
  const name = 'chromium';
  const needed = config.wa.transport === 'wwebjs';
  const lookup = findChromium(config.wa.chromiumPath);
  if (!lookup.path) {
    return needed
      ? { name, ok: false, detail: `not found (${lookup.source})`, remedy: CHROMIUM_INSTALL_HINT }
      : { name, ok: true, detail: `not found, not needed with WA_TRANSPORT=${config.wa.transport} (for WhatsApp: ${CHROMIUM_INSTALL_HINT})` };
  }
  try {
    const version = await chromiumVersion(lookup.path);
    return { name, ok: true, detail: `${version} at ${lookup.path} (${lookup.source})` };
  } catch (err) {
    return {
      name,
      ok: !needed,
      detail: `${lookup.path} does not run: ${(err as Error).message.split('\n')[0]}`,
      remedy: 'install its libraries (Debian/Ubuntu: apt-get install -y chromium) or set WA_CHROMIUM_PATH to a working browser',
    };
  }
}

/** The WhatsApp Web build the client will load: pinned (and from where), or unpinned. */
function checkWebVersion(config: Config): CheckResult {
  const name = 'whatsapp-web';
  const { webVersion, webVersionUrl, authPath } = config.wa;
  if (!webVersion) {
    return { name, ok: true, detail: "unpinned (whatsapp-web.js's default build from the local cache, else the live page); WA_WEB_VERSION pins one" };
  }
  if (webVersionUrl) {
    return { name, ok: true, detail: `pinned to ${webVersion}, fetched from ${webVersionUrl.replace('{version}', webVersion)}` };
  }
  const cached = path.join(authPath, 'web-cache', `${webVersion}.html`);
  return existsSync(cached)
    ? { name, ok: true, detail: `pinned to ${webVersion}, from the local cache (${cached})` }
    : {
        name,
        ok: config.wa.transport !== 'wwebjs',
        detail: `pinned to ${webVersion}, but ${cached} does not exist`,
        remedy: 'set WA_WEB_VERSION_URL to a copy of that build, or unset WA_WEB_VERSION',
      };
}

export async function runDoctor(config: Config, logger: Logger): Promise<CheckResult[]> {
  const results = await checkDatabase(config, logger);
  results.push(await checkAuthPath(config.wa.authPath));
  results.push(await checkSession(config));
  const pageFix = await checkPageFix(config);
  if (pageFix) results.push(pageFix);
  results.push(await checkChromium(config));
  results.push(await checkReachable(config));
  results.push(checkWebVersion(config));
  return results;
}

export function formatCheck(result: CheckResult): string {
  const line = `${result.ok ? (result.warn ? 'WARN' : 'ok  ') : 'FAIL'} ${result.name.padEnd(14)} ${result.detail}`;
  return (result.ok && !result.warn) || !result.remedy ? line : `${line} -> ${result.remedy}`;
}

/** `cicero-wa doctor [--json]`. */
export async function commandDoctor({ config, logger, options }: CommandContext): Promise<number> {
  const results = await runDoctor(config, logger);
  if (options.json === true) {
    print([JSON.stringify(results.map((r) => ({ check: r.name, status: r.ok ? (r.warn ? 'warn' : 'ok') : 'fail', detail: r.detail, remedy: r.remedy ?? null })), null, 2)]);
  } else {
    print(results.map(formatCheck));
  }
  return results.every((r) => r.ok) ? 0 : 1;
}
