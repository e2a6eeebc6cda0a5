import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { MIGRATIONS_DIR, MigrationError, migrate, readMigrations } from '../src/db/migrate.js';
import { silentLogger } from '../src/lib/logger.js';
import { logLines, startCli, tempDir, type CliProcess } from './helpers/cli.js';
import { waitUntil } from './helpers/dispatch.js';
import { insertMessages, readSends, repeats, serviceEnv, stopAll } from './helpers/services.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const logger = silentLogger();
const SEED_SQL = `
  CREATE TABLE wa_outbox (
    id SERIAL PRIMARY KEY, recipient TEXT NOT NULL, content TEXT NOT NULL, type TEXT NOT NULL,
    status TEXT DEFAULT 'pending', created_at TIMESTAMP DEFAULT NOW(), sent_at TIMESTAMP);
  CREATE TABLE complaint_queue (
    id SERIAL PRIMARY KEY, complainant TEXT NOT NULL, response_template TEXT NOT NULL,
    status TEXT DEFAULT 'pending', created_at TIMESTAMP DEFAULT NOW(), responded_at TIMESTAMP);`;

async function columns(pool: pg.Pool, table: string): Promise<Array<Record<string, unknown>>> {
  const { rows } = await pool.query(
    `SELECT column_name, data_type, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows;
}

/** Everything about the Cicero_V2 tables that a migration could change: columns, constraints, indexes, triggers, rows. */
async function ciceroSnapshot(pool: pg.Pool): Promise<unknown> {
  const tables = ['clients', 'user', 'insta_post', 'insta_like', 'tiktok_post', 'tiktok_comment', 'tasks', 'cron_job_config'];
  const snapshot: Record<string, unknown> = {};
  for (const table of tables) {
    const rows = await pool.query(`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS digest, count(*) AS n FROM "${table}" t`);
    const meta = await pool.query(
      `SELECT (SELECT array_agg(conname || ':' || pg_get_constraintdef(oid) ORDER BY conname) FROM pg_constraint WHERE conrelid = $1::regclass) AS constraints,
              (SELECT array_agg(indexdef ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public' AND tablename = $2) AS indexes,
              (SELECT array_agg(tgname ORDER BY tgname) FROM pg_trigger WHERE tgrelid = $1::regclass) AS triggers`,
      [`public."${table}"`, table],
    );
    snapshot[table] = { columns: await columns(pool, table), rows: rows.rows[0], meta: meta.rows[0] };
  }
  return snapshot;
}

describe('migrations', () => {
  it('apply on an empty database, once', async () => {
    const db = await createTestDatabase('migrate_empty');
    try {
      const all = await readMigrations();
      assert.deepEqual(await migrate(db.pool, logger), all.map((m) => m.name));
      assert.deepEqual(await migrate(db.pool, logger), [], 'a second run applies nothing');
      const { rows } = await db.pool.query('SELECT name FROM cicero_wa_migrations ORDER BY name');
      assert.deepEqual(rows.map((r) => r.name), all.map((m) => m.name));
      const outboxColumns = (await columns(db.pool, 'wa_outbox')).map((c) => c.column_name);
      for (const column of ['id', 'recipient', 'content', 'type', 'status', 'created_at', 'sent_at', 'dedup_key', 'attempts',
        'next_attempt_at', 'lease_until', 'locked_by', 'last_error', 'wa_message_id', 'ack', 'delivered_at', 'read_at', 'updated_at']) {
        assert.ok(outboxColumns.includes(column), `wa_outbox.${column}`);
      }
      const complaintColumns = (await columns(db.pool, 'complaint_queue')).map((c) => c.column_name);
      for (const column of ['id', 'complainant', 'response_template', 'status', 'created_at', 'responded_at', 'outbox_id', 'failure_reason']) {
        assert.ok(complaintColumns.includes(column), `complaint_queue.${column}`);
      }
    } finally {
      await db.drop();
    }
  });

  it("keep the seed's tables and rows, which stay deliverable; a seed-style INSERT works afterwards", async () => {
    const db = await createTestDatabase('migrate_seed');
    try {
      await db.pool.query(SEED_SQL);
      await db.pool.query(`
        INSERT INTO wa_outbox (recipient, content, type) VALUES ('081234567890', 'Rekap lama', 'daily_report');
        INSERT INTO wa_outbox (recipient, content, type, status, sent_at) VALUES ('6281200000000@c.us', 'Sudah terkirim', 'daily_report', 'sent', '2026-11-01 07:00:05');
        INSERT INTO complaint_queue (complainant, response_template) VALUES ('081300000001', 'instagram_not_recorded');`);
      const outboxBefore = (await db.pool.query('SELECT id, recipient, content, type, status, created_at, sent_at FROM wa_outbox ORDER BY id')).rows;
      const complaintsBefore = (await db.pool.query('SELECT * FROM complaint_queue ORDER BY id')).rows;
      const seedColumnsBefore = await columns(db.pool, 'wa_outbox');

      await migrate(db.pool, logger);

      const outboxAfter = (await db.pool.query('SELECT id, recipient, content, type, status, created_at, sent_at FROM wa_outbox ORDER BY id')).rows;
      assert.deepEqual(outboxAfter, outboxBefore, 'outbox rows intact');
      const complaintsAfter = (await db.pool.query('SELECT id, complainant, response_template, status, created_at, responded_at FROM complaint_queue ORDER BY id')).rows;
      assert.deepEqual(complaintsAfter, complaintsBefore, 'complaint rows intact');
      const seedColumnsAfter = (await columns(db.pool, 'wa_outbox')).slice(0, seedColumnsBefore.length);
      assert.deepEqual(seedColumnsAfter, seedColumnsBefore, "the seed's columns keep their types and defaults");

      // The old pending row is due now, like any new one.
      const due = await db.pool.query("SELECT id FROM wa_outbox WHERE status = 'pending' AND next_attempt_at <= now() AND attempts = 0");
      assert.equal(due.rowCount, 1);

      const { rows } = await db.pool.query(
        "INSERT INTO wa_outbox (recipient, content, type) VALUES ('081234567891', 'Baru', 'weekly_report') RETURNING status, attempts, dedup_key, next_attempt_at <= now() AS due",
      );
      assert.deepEqual(rows[0], { status: 'pending', attempts: 0, dedup_key: null, due: true });
      const complaint = await db.pool.query(
        "INSERT INTO complaint_queue (complainant, response_template) VALUES ('081300000002', 'generic') RETURNING status, outbox_id",
      );
      assert.deepEqual(complaint.rows[0], { status: 'pending', outbox_id: null });
    } finally {
      await db.drop();
    }
  });

  it("leave Cicero_V2's tables untouched", async () => {
    const db = await createTestDatabase('migrate_cicero');
    try {
      await loadCiceroTables(db.pool);
      const before = await ciceroSnapshot(db.pool);
      await migrate(db.pool, logger);
      assert.deepEqual(await ciceroSnapshot(db.pool), before);
    } finally {
      await db.drop();
    }
  });

  it('refuse to run when an applied migration file was changed', async () => {
    const db = await createTestDatabase('migrate_changed');
    const dir = await tempDir('cicero-wa-migrations-');
    try {
      await fs.cp(MIGRATIONS_DIR, dir, { recursive: true });
      await migrate(db.pool, logger, dir);
      await fs.appendFile(path.join(dir, '001_seed_tables.sql'), '\n-- edited\n');
      await assert.rejects(migrate(db.pool, logger, dir), (err: unknown) => {
        assert.ok(err instanceof MigrationError);
        assert.match(err.message, /001_seed_tables\.sql was changed after it was applied/);
        return true;
      });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
      await db.drop();
    }
  });

  it('upgrade a database migrated by the previous release (before sessions): its pending seed-style rows go out on the default session', async () => {
    const db = await createTestDatabase('migrate_previous_release');
    const previous = await tempDir('cicero-wa-previous-');
    const work = await tempDir();
    const sendLog = path.join(work, 'sends.jsonl');
    let service: CliProcess | null = null;
    try {
      // The previous release: every migration before 009_outbox_sessions.sql.
      const before = (await readMigrations()).filter((m) => m.name < '009_');
      for (const m of before) await fs.writeFile(path.join(previous, m.name), m.sql);
      await migrate(db.pool, logger, previous);
      assert.equal((await columns(db.pool, 'wa_outbox')).some((c) => c.column_name === 'session'), false, 'the previous release has no session column');
      await insertMessages(db.pool, 5, 'from the previous release ');

      service = startCli(['start'], serviceEnv(db.url, sendLog), work);
      await service.waitFor(/cicero-wa-gateway is up/);
      await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status = 'sent'")).rows[0].n === 5, 30_000, 'the five rows sent');
      const { rows } = await db.pool.query("SELECT DISTINCT session FROM wa_outbox");
      assert.deepEqual(rows, [{ session: 'default' }]);
      const sends = readSends(sendLog);
      assert.equal(sends.length, 5);
      assert.equal(repeats(sends), 0);
      const applied = await db.pool.query("SELECT name FROM cicero_wa_migrations WHERE name >= '009_' ORDER BY name");
      assert.ok(applied.rows.some((r) => r.name === '009_outbox_sessions.sql'), 'the service applied the session migration');
    } finally {
      if (service) await stopAll([service]);
      await fs.rm(previous, { recursive: true, force: true });
      await db.drop();
    }
  });

  it('are additive only: no DROP (but of a view or function, which hold no data, and of a NOT NULL), TRUNCATE, DELETE, RENAME or column type change', async () => {
    for (const migration of await readMigrations()) {
      const code = migration.sql.replace(/--.*$/gm, '');
      // Function bodies run later, not at migration time; outside them nothing may destroy anything.
      const outside = code.replace(/\$\$[\s\S]*?\$\$/g, '');
      // (`ON DELETE`, and `AFTER DELETE`/`OR DELETE`/`AFTER TRUNCATE` naming a trigger's events, destroy nothing.)
      // A view or function the service made may be replaced or removed: they hold no data (014 removes the
      // recap views 005 installed, and only those).
      // `DROP NOT NULL` loosens a constraint and keeps every value (025: a row may be written without a session, to be routed).
      assert.doesNotMatch(outside, /\bDROP\s+(?!VIEW\b|FUNCTION\b|NOT\s+NULL\b)|(?<!AFTER )\bTRUNCATE\b|(?<!(ON|AFTER|OR) )\bDELETE\b|\bRENAME\b|ALTER\s+COLUMN\s+\w+\s+(SET\s+DATA\s+)?TYPE/i, migration.name);
      // Inside them, only the service's own hand-over records may be removed (following their outbox rows).
      for (const [, body] of code.matchAll(/\$\$([\s\S]*?)\$\$/g)) {
        assert.doesNotMatch(body!, /\bDROP\s+(?!VIEW\b|FUNCTION\b)|\bRENAME\b|ALTER\s+COLUMN/i, migration.name);
        for (const [, target] of body!.matchAll(/\b(?:DELETE\s+FROM|TRUNCATE)\s+(\w+)/gi)) {
          assert.equal(target, 'wa_outbox_sends', `${migration.name} removes rows only from wa_outbox_sends`);
        }
      }
    }
  });
});

describe('cicero-wa migrate', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('migrate_concurrent');
  });
  after(async () => db.drop());

  it('two processes started at the same moment on one empty database both exit 0; the schema is applied once', async () => {
    const cwd = await tempDir('cicero-wa-');
    const env = { DATABASE_URL: db.url, LOG_LEVEL: 'info', LOG_FORMAT: 'json' };
    const [a, b] = await Promise.all([startCli(['migrate'], env, cwd).exited, startCli(['migrate'], env, cwd).exited]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const all = await readMigrations();
    // A command logs to stderr (stdout is for results).
    const appliedLines = [...logLines(a.stderr), ...logLines(b.stderr)].filter((l) => l.msg === 'migration applied');
    assert.deepEqual(appliedLines.map((l) => l.migration).sort(), all.map((m) => m.name), 'each migration applied by exactly one process');
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM cicero_wa_migrations');
    assert.equal(rows[0].n, all.length);
  });
});
