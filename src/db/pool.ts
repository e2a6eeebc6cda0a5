/**
 * The PostgreSQL connection pool and transactions. `Queryable` is what repositories accept: the pool
 * itself, or a client inside the caller's transaction.
 */
import pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { maskUrlPassword } from '../config/index.js';

export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

/** The statement timeout a pool gets when none is given (DATABASE_STATEMENT_TIMEOUT_MS's default). */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * The pool. Every connection it opens starts with `statement_timeout` (no statement runs longer) and
 * `idle_in_transaction_session_timeout` (no transaction is left open and idle longer, holding its
 * locks), both `statementTimeoutMs`, sent in the connection's start-up packet so the server applies them
 * before the first statement. A statement that needs longer sets its own (`SET LOCAL statement_timeout`,
 * as the migrations do).
 */
export function createPool(connectionString: string, max: number, logger: Logger, statementTimeoutMs: number = DEFAULT_STATEMENT_TIMEOUT_MS): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: 'cicero-wa-gateway',
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: statementTimeoutMs,
  });
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

/** A statement the server cancelled because it ran past its statement_timeout (SQLSTATE 57014). */
export function isStatementTimeout(err: unknown): boolean {
  return (err as { code?: string })?.code === '57014' && /statement timeout/i.test((err as Error)?.message ?? '');
}

/**
 * An error's message as a run records it: a statement timeout says which limit it ran into, so a job
 * that failed that way is recognised at a glance (`cicero-wa jobs`).
 */
export function describeDatabaseError(err: unknown): string {
  const message = (err as Error)?.message ?? String(err);
  return isStatementTimeout(err) ? `${message}: a statement ran longer than DATABASE_STATEMENT_TIMEOUT_MS allows, and was cancelled` : message;
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
