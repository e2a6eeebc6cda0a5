/**
 * Opens the service's database: the server at DATABASE_URL, or the embedded PostgreSQL under DATA_DIR
 * when DATABASE_URL is unset. `close()` ends the pool and, for the embedded server, stops it.
 */
import type pg from 'pg';
import { maskUrlPassword, type Config } from '../config.js';
import type { Logger } from '../logger.js';
import { EmbeddedPostgres } from './embedded-postgres.js';
import { createPool } from './pool.js';

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
}

export async function openDatabase(config: Config, logger: Logger, options: OpenOptions = {}): Promise<Database> {
  let embedded: EmbeddedPostgres | null = null;
  let connectionString = config.database.url;
  if (connectionString === null) {
    embedded = new EmbeddedPostgres({ dataDir: config.dataDir, port: config.database.embeddedPort, logger, shareRunning: options.shareRunning ?? false });
    connectionString = await embedded.start();
  } else {
    logger.info({ database: maskUrlPassword(connectionString) }, 'using PostgreSQL at DATABASE_URL');
  }
  const pool = createPool(connectionString, config.database.poolMax, logger);
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
