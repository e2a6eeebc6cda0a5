/**
 * Opens the service's database: the server at DATABASE_URL, or the embedded PostgreSQL under DATA_DIR
 * when DATABASE_URL is unset. `close()` ends the pool and, for the embedded server, stops it.
 */
import pg from 'pg';
import { maskUrlPassword, type Config } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import { EmbeddedPostgres } from './embedded-postgres.js';
import { createPool } from './pool.js';
import { OperatorError } from '../lib/errors.js';

export interface Database {
  pool: pg.Pool;
  /** For dedicated connections (LISTEN). Contains the password: never log it. */
  connectionString: string;
  embedded: boolean;
  close(): Promise<void>;
  /** Stops the embedded server at once (for an exit that cannot wait); nothing for an external one. */
  kill(): void;
}

export interface OpenOptions {
  /** Use the embedded server of a running service instead of refusing (commands, not the service). */
  shareRunning?: boolean;
  /**
   * How long to keep trying a DATABASE_URL server that does not answer (the service waits for a
   * database that is starting too; a short command tries once).
   */
  waitMs?: number;
  /** Told when the embedded server has to be started (no running service to share it with). */
  onEmbeddedStart?: (dataDir: string) => void;
  /** The embedded server's database made anew (the demo); refused with DATABASE_URL. */
  fresh?: boolean;
}

/** DATABASE_URL does not answer: one line for the operator, naming the variable and the address. */
export class DatabaseUnreachableError extends OperatorError {
  constructor(address: string, reason: string, waitedMs: number) {
    super(
      `cannot reach the database at DATABASE_URL=${address}: ${reason}` +
        (waitedMs > 0 ? ` (tried for ${Math.round(waitedMs / 1000)} s)` : '') +
        '; check that PostgreSQL runs there and that DATABASE_URL (host, port, user, password, database) is right',
    );
  }
}

/**
 * The server answered and refused for good: the database or the role named in DATABASE_URL does not
 * exist, or the password is wrong. Waiting does not help; the operator reads what to do at once.
 */
export class DatabaseRefusedError extends OperatorError {}

/** SQLSTATEs that no amount of waiting changes, with what the operator does about each. */
function refusal(err: unknown, url: string): string | null {
  const code = (err as { code?: string }).code;
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // a libpq key=value string: the names are not picked out
  }
  const database = parsed ? decodeURIComponent(parsed.pathname.slice(1)) || '(the user name)' : 'named in it';
  const role = parsed ? decodeURIComponent(parsed.username) || '(the system user)' : 'named in it';
  const shown = `DATABASE_URL=${maskUrlPassword(url)}`;
  if (code === '3D000') {
    return `the database ${JSON.stringify(database)} does not exist on that server (${shown}): create it (createdb -h ${parsed?.hostname ?? 'HOST'} -p ${parsed?.port || '5432'} -U ${role} ${database}), or correct the database name at the end of DATABASE_URL`;
  }
  if (code === '28000' || code === '28P01') {
    return `the server refuses the role ${JSON.stringify(role)} (${shown}): ${(err as Error).message}; check the user and password in DATABASE_URL, or create the role (createuser ${role}) and allow it in pg_hba.conf`;
  }
  return null;
}

const CONNECT_ATTEMPT_MS = 5000;

/** Waits until the server at `url` answers a query; throws DatabaseUnreachableError after `waitMs`. */
async function reachable(url: string, waitMs: number, logger: Logger): Promise<void> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_ATTEMPT_MS, statement_timeout: CONNECT_ATTEMPT_MS });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      const refused = refusal(err, url);
      if (refused) throw new DatabaseRefusedError(refused);
      const reason = (err as Error).message.split('\n')[0] || String(err);
      const waited = Date.now() - started;
      if (waited + 2000 > waitMs) throw new DatabaseUnreachableError(maskUrlPassword(url), reason, waited);
      logger.warn({ database: maskUrlPassword(url), err: reason, attempt }, 'database not reachable yet; retrying in 2 s');
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

export async function openDatabase(config: Config, logger: Logger, options: OpenOptions = {}): Promise<Database> {
  let embedded: EmbeddedPostgres | null = null;
  let connectionString = config.database.url;
  if (connectionString === null) {
    embedded = new EmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.database.embeddedPort,
      logger,
      shareRunning: options.shareRunning ?? false,
      // A command's own server for the moment: any port will do when a service holds EMBEDDED_PG_PORT.
      anyPortIfTaken: options.shareRunning ?? false,
      freshDatabase: options.fresh ?? false,
      ...(options.onEmbeddedStart ? { onStarting: options.onEmbeddedStart } : {}),
    });
    connectionString = await embedded.start();
  } else {
    if (options.fresh) throw new OperatorError('a fresh database is made only on the embedded PostgreSQL (DATABASE_URL is set)');
    logger.info({ database: maskUrlPassword(connectionString) }, 'using PostgreSQL at DATABASE_URL');
    await reachable(connectionString, options.waitMs ?? 0, logger);
  }
  const pool = createPool(connectionString, config.database.poolMax, logger, config.database.statementTimeoutMs);
  let closed = false;
  return {
    pool,
    connectionString,
    embedded: embedded !== null,
    kill() {
      embedded?.kill();
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end().catch((err: Error) => logger.warn({ err: err.message }, 'closing the database pool failed'));
      await embedded?.stop();
    },
  };
}
