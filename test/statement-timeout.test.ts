/**
 * Every pooled connection carries DATABASE_STATEMENT_TIMEOUT_MS (statement_timeout and
 * idle_in_transaction_session_timeout); a job that runs into it fails that run with a message naming the
 * variable, and the service carries on; migrations take their own, longer limit, for the statements and
 * for the wait on another instance's migration.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { after, before, describe, it } from 'node:test';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import type { JobDefinition } from '../src/jobs.js';
import { fixedClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { tempDir } from './helpers/temp-dirs.js';

describe('statement timeout', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  before(async () => {
    db = await createTestDatabase('statement_timeout', { migrated: true });
    pool = createPool(db.url, 2, silentLogger(), 1000);
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it('is set on every connection of the pool, for statements and idle transactions', async () => {
    const clients = await Promise.all([pool.connect(), pool.connect()]);
    try {
      for (const client of clients) {
        const { rows } = await client.query("SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i");
        assert.deepEqual(rows[0], { s: '1s', i: '1s' });
      }
    } finally {
      clients.forEach((c) => c.release());
    }
  });

  it('fails a job that runs into it with a message naming the variable; the next run and the pool carry on', async () => {
    let slow = true;
    const job: JobDefinition = {
      name: 'outbox-retention', variable: 'OUTBOX_RETENTION_CRON', defaultExpression: '30 3 * * *', expression: '30 3 * * *', catchUpHours: 0, shared: true,
      handler: async () => {
        await pool.query(`SELECT pg_sleep(${slow ? 3 : 0})`);
        return { detail: 'done' };
      },
    };
    const scheduler = new Scheduler({ pool, jobs: [job], timezone: 'Asia/Jakarta', historyDays: 90, logger: silentLogger(), clock: fixedClock('2026-11-25T00:00:00Z') });
    const started = Date.now();
    const failed = await scheduler.runNow('outbox-retention', null);
    assert.ok(Date.now() - started < 2500, 'cancelled at the limit, not after the statement');
    assert.equal(failed.status, 'failed');
    assert.match((failed as { error: string }).error, /canceling statement due to statement timeout: a statement ran longer than DATABASE_STATEMENT_TIMEOUT_MS allows, and was cancelled/);
    const recorded = (await pool.query("SELECT status, error FROM cron_job_runs WHERE job = 'outbox-retention'")).rows;
    assert.equal(recorded[0].status, 'failed');
    assert.match(recorded[0].error, /DATABASE_STATEMENT_TIMEOUT_MS/);
    slow = false;
    await pool.query("DELETE FROM cron_job_runs WHERE job = 'outbox-retention'");
    assert.equal((await scheduler.runNow('outbox-retention', null)).status, 'succeeded');
  });

  it('ends a transaction left idle; the pool replaces the connection', async () => {
    const client = await pool.connect();
    try {
      const ended = new Promise<Error>((resolve) => client.once('error', resolve));
      await client.query('BEGIN');
      const gaveUp = new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000).unref());
      const error = await Promise.race([ended, gaveUp]);
      assert.ok(error, 'the server ended the idle transaction (within 10 s; its limit is 1 s)');
      assert.match(error.message, /idle-in-transaction timeout/, 'the server ended it after a second');
      await assert.rejects(client.query('SELECT 1'));
    } finally {
      client.release(true); // ended, or left idle: never back into the pool
    }
    assert.equal((await pool.query('SELECT 1 AS ok')).rows[0].ok, 1);
  });

  it('migrations take their own limit: a slow migration and a wait on the lock both outlast the pool\'s second', async () => {
    const dir = await tempDir('cwa-migrations-');
    await fs.writeFile(path.join(dir, '001_slow.sql'), 'SELECT pg_sleep(1.5);\nCREATE TABLE slow_migration_done (id INT);\n');
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      // Another instance is migrating: the lock is held for 1.5 s.
      await other.query('SELECT pg_advisory_lock(4206813221)');
      const release = new Promise((r) => setTimeout(r, 1500)).then(() => other.query('SELECT pg_advisory_unlock(4206813221)'));
      const applied = await migrate(pool, silentLogger(), dir);
      await release;
      assert.deepEqual(applied, ['001_slow.sql']);
      // The connection went back to the pool with the pool's limit.
      const clients = await Promise.all([pool.connect(), pool.connect()]);
      try {
        for (const client of clients) assert.equal((await client.query("SELECT current_setting('statement_timeout') AS s")).rows[0].s, '1s');
      } finally {
        clients.forEach((c) => c.release());
      }
    } finally {
      await other.end();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
