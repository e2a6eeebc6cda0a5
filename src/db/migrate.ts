/**
 * Schema migrations: the plain SQL files in ./migrations, applied in name order, each in its own
 * transaction and recorded in `cicero_wa_migrations`. A session-level advisory lock serialises
 * instances that start together: the second waits, then finds nothing left to apply.
 *
 * Migrations are additive only (see test/migrations.test.ts, which enforces it): they never drop or
 * retype anything the seed or Cicero_V2 defined.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { OperatorError } from '../lib/errors.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const MIGRATIONS_TABLE = 'cicero_wa_migrations';
/** Arbitrary constant shared by every instance: "cicero-wa migrations". */
const ADVISORY_LOCK_KEY = 4_206_813_221;
/**
 * The migration session's statement timeout, in place of the pool's DATABASE_STATEMENT_TIMEOUT_MS (30 s
 * by default): a migration may build an index on a large table, and a second instance waits on the
 * advisory lock for as long as the first one migrates. An hour lets both finish and still ends a
 * migration stuck behind a lock someone forgot, with an error naming the migration.
 */
export const MIGRATION_STATEMENT_TIMEOUT_MS = 3_600_000;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends OperatorError {
  constructor(message: string) {
    super(message);
  }
}

export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (name) => {
      const sql = await fs.readFile(path.join(dir, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

async function appliedMigrations(client: pg.ClientBase): Promise<Map<string, string>> {
  const { rows } = await client.query<{ name: string; checksum: string }>(`SELECT name, checksum FROM ${MIGRATIONS_TABLE}`);
  return new Map(rows.map((r) => [r.name, r.checksum]));
}

/** Names of migrations not yet applied (for `doctor`); all of them when cicero_wa_migrations does not exist. */
export async function pendingMigrations(pool: pg.Pool): Promise<string[]> {
  const all = await readMigrations();
  const { rows } = await pool.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [MIGRATIONS_TABLE]);
  if (!rows[0]?.exists) return all.map((m) => m.name);
  const client = await pool.connect();
  try {
    const applied = await appliedMigrations(client);
    return all.filter((m) => !applied.has(m.name)).map((m) => m.name);
  } finally {
    client.release();
  }
}

/** Applies every pending migration. Returns the names applied by this call. */
export async function migrate(pool: pg.Pool, logger: Logger, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const client = await pool.connect();
  const appliedNow: string[] = [];
  try {
    await client.query(`SET statement_timeout = ${MIGRATION_STATEMENT_TIMEOUT_MS}`);
    await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
         name TEXT PRIMARY KEY,
         checksum TEXT NOT NULL,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
       )`,
    );
    const applied = await appliedMigrations(client);
    for (const migration of migrations) {
      const recorded = applied.get(migration.name);
      if (recorded !== undefined) {
        if (recorded !== migration.checksum) {
          throw new MigrationError(
            `migration ${migration.name} was changed after it was applied to this database; ` +
              'restore the original file and put the change in a new migration',
          );
        }
        continue;
      }
      try {
        await client.query('BEGIN');
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2)`, [migration.name, migration.checksum]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new MigrationError(`migration ${migration.name} failed: ${(err as Error).message}`);
      }
      appliedNow.push(migration.name);
      logger.info({ migration: migration.name }, 'migration applied');
    }
    return appliedNow;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]).catch(() => undefined);
    // Back to the pool's own timeout (the connection's start-up value); a connection that cannot be reset is closed.
    const reset = await client.query('RESET statement_timeout').then(() => null, (err: Error) => err);
    client.release(reset ?? undefined);
  }
}
