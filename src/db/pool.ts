/**
 * The PostgreSQL connection pool and transactions. `Queryable` is what repositories accept: the pool
 * itself, or a client inside the caller's transaction.
 */
import pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { maskUrlPassword } from '../config/index.js';

export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

export function createPool(connectionString: string, max: number, logger: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, application_name: 'cicero-wa-gateway' });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', (err) => {
    logger.warn({ err: err.message, database: maskUrlPassword(connectionString) }, 'idle database connection lost');
  });
  return pool;
}

/** Runs `work` inside BEGIN/COMMIT on one client; rolls back and rethrows on error. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Runs `work` in a transaction: the caller's, when given a client that is in one, else a new one on the
 * pool. So an operation can join a larger transaction (and a pool of one connection never waits on itself).
 */
export async function inTransaction<T>(db: pg.Pool | pg.PoolClient, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return db instanceof pg.Pool ? withTransaction(db, work) : work(db);
}

/** Errors worth waiting out: the database is unreachable, or a deadlock/serialisation conflict. */
export function isRetryableDatabaseError(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return (
    /^(08|57P0|53300|40P01|40001)/.test(code) ||
    /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH)$/.test(code) ||
    /Connection terminated|connection.*(closed|lost)/i.test((err as Error)?.message ?? '')
  );
}
