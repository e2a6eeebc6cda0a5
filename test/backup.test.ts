/**
 * `cicero-wa backup` and `cicero-wa restore` on a real embedded PostgreSQL: a backup taken while the
 * server runs (as under the service) and one taken with nothing running; the data changed and destroyed
 * after it; the restore refused while the server runs, then done with it stopped; the data back exactly.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { migrate } from '../src/db/migrate.js';
import { silentLogger } from '../src/lib/logger.js';
import { runCli, tempDir } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';

/** Every row of the tables the test looks at, as one digest per table (row order fixed). */
async function contents(pool: pg.Pool): Promise<Record<string, string>> {
  const digest = async (table: string) =>
    (await pool.query(`SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY id)), '') AS d FROM ${table} t`)).rows[0].d as string;
  const tables = (await pool.query("SELECT tablename FROM pg_tables WHERE tablename IN ('wa_outbox', 'backup_probe') ORDER BY 1")).rows.map((r) => r.tablename as string);
  return Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await digest(t)])));
}

describe('cicero-wa backup and restore (embedded PostgreSQL)', () => {
  let dir: string;
  let env: Record<string, string>;
  let server: EmbeddedPostgres | null = null;
  let pool: pg.Pool | null = null;

  const open = async () => {
    server = new EmbeddedPostgres({ dataDir: path.join(dir, 'data'), port: Number(env.EMBEDDED_PG_PORT), logger: silentLogger() });
    pool = new pg.Pool({ connectionString: await server.start(), max: 2 });
    pool.on('error', () => undefined); // an idle connection ended by the server's own stop
    return pool;
  };
  const close = async () => {
    await pool?.end();
    await server?.stop();
    pool = null;
    server = null;
  };

  before(async () => {
    dir = await tempDir('cicero-wa-backup-');
    env = { DATA_DIR: path.join(dir, 'data'), EMBEDDED_PG_PORT: String(await freePort()), WA_TRANSPORT: 'log' };
  });
  after(async () => {
    await close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('backs up while the server runs; after the data is changed and a table dropped, restore brings it back exactly', async () => {
    const db = await open();
    await migrate(db, silentLogger());
    await db.query(
      `INSERT INTO wa_outbox (recipient, content, type, dedup_key, document_name, document_mime, document)
       VALUES ('6281234567890', 'Selamat pagi — laporan harian ✓', 'manual', 'k-1', NULL, NULL, NULL),
              ('120363012345678901@g.us', 'Rekap mingguan', 'weekly_report', 'k-2', 'rekap.xlsx', 'application/octet-stream', decode(repeat('00ff', 50000), 'hex'))`,
    );
    await db.query('CREATE TABLE backup_probe (id serial PRIMARY KEY, body text NOT NULL)');
    await db.query("INSERT INTO backup_probe (body) SELECT 'baris ' || g || repeat('x', g % 200) FROM generate_series(1, 20000) g");
    const atBackup = await contents(db);
    // Meanwhile the service goes on writing: one row a transaction into another table.
    await db.query('CREATE TABLE backup_writes (id serial PRIMARY KEY, body text NOT NULL)');
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await db.query("INSERT INTO backup_writes (body) VALUES ('tulis')");
        written++;
      }
    })();
    while (written < 20) await new Promise((r) => setTimeout(r, 20));
    const writtenBefore = written;

    const file = path.join(dir, 'cicero-wa.backup.tar.gz');
    const backup = await runCli(['backup', file], env);
    writing = false;
    await writer;
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /embedded database backed up \(PostgreSQL 18\./);
    assert.doesNotMatch(backup.stderr, /starting the embedded PostgreSQL/, 'the running server was used');
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600, 'the backup holds the password: owner only');

    await db.query('DELETE FROM wa_outbox WHERE dedup_key = $1', ['k-1']);
    await db.query("UPDATE wa_outbox SET content = 'diubah' WHERE dedup_key = 'k-2'");
    await db.query("INSERT INTO wa_outbox (recipient, content, type) VALUES ('6281111111111', 'setelah cadangan', 'manual')");
    await db.query('DROP TABLE backup_probe');
    assert.notDeepEqual(await contents(db), atBackup);

    const refused = await runCli(['restore', file], env);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /is running \(pid \d+\): stop the service first/);

    await close();
    const restore = await runCli(['restore', file], env);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stdout, /embedded database restored as it was at /);
    const kept = /kept in (\S+?),/.exec(restore.stdout)?.[1];
    assert.ok(kept && (await fs.stat(kept)).isDirectory(), `the replaced database is kept aside: ${restore.stdout}`);

    const restored = await open();
    assert.deepEqual(await contents(restored), atBackup, 'every row back, the dropped table too, the later row gone');
    // What was being written during the backup: a whole prefix, each row whole, its index agreeing.
    const { rows: [w] } = await restored.query("SELECT count(*)::int AS n, min(id) AS lo, max(id) AS hi, count(*) FILTER (WHERE body <> 'tulis')::int AS bad FROM backup_writes");
    assert.ok(w.n >= writtenBefore && w.n <= written, `${w.n} rows of the ${written} written, at least the ${writtenBefore} written before the backup began`);
    assert.deepEqual([w.lo, w.hi, w.bad], [1, w.n, 0], 'no gap, no torn row');
    const client = await restored.connect();
    try {
      await client.query('SET enable_seqscan = off');
      assert.equal((await client.query('SELECT count(*)::int AS n FROM backup_writes WHERE id > 0')).rows[0].n, w.n, 'the index has every row');
    } finally {
      client.release();
    }
    await close();
  });

  it('backs up with nothing running (the server started for the command), and that backup restores too', async () => {
    const db = await open();
    await db.query("INSERT INTO backup_probe (body) VALUES ('penanda dingin')");
    const atBackup = await contents(db);
    await close();

    const file = path.join(dir, 'cold.tar.gz');
    const backup = await runCli(['backup', file], env);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stderr, /starting the embedded PostgreSQL for this command/);

    await (await open()).query('TRUNCATE backup_probe');
    await close();
    const restore = await runCli(['restore', file], env);
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(await contents(await open()), atBackup);
    await close();
  });

  it('refuses a database at DATABASE_URL (pointing at its own pg_dump), a missing file and a file that is not a backup', async () => {
    const external = await runCli(['backup', path.join(dir, 'x.tar.gz')], { ...env, DATABASE_URL: 'postgres://u@127.0.0.1:1/db' });
    assert.equal(external.code, 2);
    assert.match(external.stderr, /DATABASE_URL is set: back that server up with its own tools, e\.g\. pg_dump/);

    const missing = await runCli(['restore', path.join(dir, 'nothing.tar.gz')], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nothing\.tar\.gz does not exist/);

    const notBackup = path.join(dir, 'not-a-backup.tar.gz');
    await fs.writeFile(path.join(dir, 'hello.txt'), 'halo');
    execFileSync('tar', ['-czf', notBackup, '-C', dir, 'hello.txt']);
    const wrong = await runCli(['restore', notBackup], env);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /is not a cicero-wa backup/);
    const after = await contents(await open());
    assert.ok(after.backup_probe, 'the database was left as it was');
    await close();
  });
});
