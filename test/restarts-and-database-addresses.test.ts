/**
 * The service's own processes and settings tried as an attacker would: SIGKILL while Chromium runs, a
 * stale postmaster.pid naming another server, a kill during the first initdb, database addresses with
 * passwords in every form, empty and unreachable DATABASE_URLs, and every command on a pool of one.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import { EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { silentLogger } from '../src/lib/logger.js';
import { findChromium } from '../src/whatsapp/wwebjs/chromium.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { REPO_ROOT, isAlive, runCli, startCli, tempDir, type CliProcess } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { freePort } from './helpers/ports.js';
import { stopAll } from './helpers/services.js';

const chromium = findChromium(null).path;

function chromiumUsing(dir: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', `user-data-dir=${dir}`], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const started: CliProcess[] = [];
afterEach(async () => {
  for (const service of started.splice(0)) {
    if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
    await service.exited;
  }
});

describe('restarts after crashes', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('ops_restart', { migrated: true });
  });
  after(async () => db.drop());

  it('a service killed with SIGKILL while its Chromium runs: that Chromium ends with it (launched over a pipe), and the service starts again', { skip: chromium ? false : 'Chromium is not installed' }, async (t) => {
    const dir = await tempDir();
    const authPath = path.join(dir, 'wa-auth');
    const profileDir = path.join(authPath, 'session-cicero-wa');
    const env = { DATABASE_URL: db.url, WA_TRANSPORT: 'wwebjs', WA_AUTH_PATH: authPath, WA_RECONNECT_BASE_MS: '200', WA_RECONNECT_MAX_MS: '400', LOG_LEVEL: 'info' };
    const first = startCli(['start'], env, dir);
    started.push(first);
    // WhatsApp Web is unreachable here, so each launch lives briefly: kill the service while one does.
    const locked = () => lstatSync(path.join(profileDir, 'SingletonLock'), { throwIfNoEntry: false }) !== undefined; // a link to "host-pid"
    await waitUntil(() => chromiumUsing(profileDir).length > 0 && locked(), 90_000, 'a Chromium on the session');
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = chromiumUsing(profileDir).length;
    // Its Chromium talks to it over a pipe: the pipe closed, Chromium ends by itself (no orphan stays linked to the number).
    const endedMs = await waitUntil(() => chromiumUsing(profileDir).length === 0, 10_000, "the killed service's Chromium ending by itself");
    t.diagnostic(`Chromium processes at the kill: ${atKill}; all ended by themselves within ${Math.round(endedMs)} ms`);
    const second = startCli(['start'], env, dir);
    started.push(second);
    await second.waitFor(/cicero-wa-gateway is up/, 60_000);
    assert.ok(!/in use by another Chromium/.test(second.stdout() + second.stderr()));
    second.child.kill('SIGTERM');
    const result = await second.exited;
    assert.equal(result.code, 0, result.stderr);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(chromiumUsing(profileDir), [], 'no Chromium of ours left');
  });

  it('a stale postmaster.pid naming another PostgreSQL leaves that server running', async () => {
    const mine = await tempDir();
    const theirs = await tempDir();
    const other = new EmbeddedPostgres({ dataDir: theirs, port: await freePort(), logger: silentLogger() });
    const otherUrl = await other.start();
    const ours = new EmbeddedPostgres({ dataDir: mine, port: await freePort(), logger: silentLogger() });
    try {
      await ours.start();
      await ours.stop();
      // A crash left our pid file behind, and the pid now belongs to the other server; its owner is dead.
      const pidFile = path.join(mine, 'postgres', 'postmaster.pid');
      const lines = (await fs.readFile(path.join(theirs, 'postgres', 'postmaster.pid'), 'utf8')).split('\n');
      await fs.writeFile(pidFile, [lines[0], path.join(mine, 'postgres'), ...lines.slice(2)].join('\n'));
      await fs.writeFile(path.join(mine, 'postgres.owner'), '999999\n');
      const again = new EmbeddedPostgres({ dataDir: mine, port: await freePort(), logger: silentLogger() });
      await again.start();
      await again.stop();
      assert.ok(isAlive(other.pid!), 'the other server was not signalled');
      const client = new pg.Client({ connectionString: otherUrl });
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
    } finally {
      await ours.stop();
      await other.stop();
    }
  });

  it('a kill during the first initdb: the next start redoes it, and no password file is left', async () => {
    const dataDir = await tempDir();
    const port = await freePort();
    const script = `import { EmbeddedPostgres } from ${JSON.stringify(path.join(REPO_ROOT, 'src/db/embedded-postgres.ts'))};
      import { silentLogger } from ${JSON.stringify(path.join(REPO_ROOT, 'src/lib/logger.ts'))};
      await new EmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port}, logger: silentLogger() }).start();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, detached: true, stdio: 'ignore' });
    const staging = path.join(dataDir, 'postgres.init', 'data');
    await waitUntil(() => existsSync(path.join(staging, 'PG_VERSION')), 60_000, 'initdb under way');
    process.kill(-child.pid!, 'SIGKILL'); // the service and its initdb
    await new Promise((r) => setTimeout(r, 300));
    const server = new EmbeddedPostgres({ dataDir, port, logger: silentLogger() });
    try {
      const url = await server.start();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
    } finally {
      await server.stop();
    }
    const files = execFileSync('find', [dataDir, '-maxdepth', '2'], { encoding: 'utf8' });
    assert.ok(!existsSync(path.join(dataDir, 'postgres.init')), 'the half-made directory is gone');
    assert.doesNotMatch(files, /pwfile|pgpass/, 'no password file left');
  });
});

describe('database addresses and configuration', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('ops_config', { migrated: true });
  });
  after(async () => db.drop());

  it('no password appears in any output, whatever the address form', async () => {
    const secret = 'Secr3tPassw0rd';
    const closed = await freePort();
    const dbUrl = new URL(db.url);
    const forms = [
      ['doctor', `postgres://cicero:${secret}@127.0.0.1:${closed}/cicero`],
      ['doctor', `postgres://cicero@127.0.0.1:${closed}/cicero?password=${secret}&sslmode=disable`],
      ['migrate', `postgres://cicero@127.0.0.1:${closed}/cicero?password=${secret}`],
      ['start', `host=127.0.0.1 port=${closed} password=${secret} dbname=cicero`],
      ['start', `host=127.0.0.1 password='${secret} x' dbname=cicero`],
      ['doctor', `postgres://${dbUrl.username}@${dbUrl.host}${dbUrl.pathname}?password=${secret}`],
    ];
    for (const [command, address] of forms) {
      const result = await runCli([command!], { DATABASE_URL: address!, WA_TRANSPORT: 'log', DATABASE_WAIT_MS: '0' });
      assert.ok(!(result.stdout + result.stderr).includes(secret), `${command} with ${address}: ${result.stdout}${result.stderr}`);
    }
    // A running service, its password in the query string: the test server's own password where it has
    // one (the embedded server), any word where it trusts local connections.
    const password = decodeURIComponent(dbUrl.password) || secret;
    const up = startCli(['start'], { DATABASE_URL: `postgres://${dbUrl.username}@${dbUrl.host}${dbUrl.pathname}?password=${encodeURIComponent(password)}`, WA_TRANSPORT: 'log', LOG_LEVEL: 'debug' }, await tempDir());
    started.push(up);
    await up.waitFor(/cicero-wa-gateway is up/, 60_000);
    up.child.kill('SIGTERM');
    const result = await up.exited;
    assert.ok(!(result.stdout + result.stderr).includes(password), 'the running service logs no password at debug level');
    assert.match(result.stdout, /password=\*\*\*/);
  });

  it('an empty DATABASE_URL is refused (exit 2) instead of starting an embedded server', async () => {
    const result = await runCli(['start'], { DATABASE_URL: '' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^cicero-wa: config: DATABASE_URL="" is invalid: it is empty; unset it for the default \(an embedded PostgreSQL under DATA_DIR\)/m);
    assert.equal(result.stdout, '');
  });

  it('an unreachable database is one line naming DATABASE_URL: commands try once, start retries for DATABASE_WAIT_MS', async () => {
    const url = `postgres://cicero:pw@127.0.0.1:${await freePort()}/cicero`;
    const migrate = await runCli(['migrate'], { DATABASE_URL: url });
    assert.equal(migrate.code, 1);
    const lines = migrate.stderr.trim().split('\n');
    assert.equal(lines.length, 1, migrate.stderr);
    assert.match(lines[0]!, /^cicero-wa: cannot reach the database at DATABASE_URL=postgres:\/\/cicero:\*\*\*@127\.0\.0\.1:\d+\/cicero: .*ECONNREFUSED.*; check that PostgreSQL runs/);
    const startedAt = Date.now();
    const start = await runCli(['start'], { DATABASE_URL: url, DATABASE_WAIT_MS: '3000', WA_TRANSPORT: 'log' });
    assert.equal(start.code, 1);
    assert.ok(Date.now() - startedAt >= 2500, 'start kept trying');
    assert.match(start.stderr.trim(), /^cicero-wa: cannot reach the database at DATABASE_URL=.*\(tried for \d+ s\)/);
    assert.ok(start.stdout.includes('database not reachable yet; retrying in 2 s'));
  });

  it('every command works with a pool of one connection', async (t) => {
    const cicero = await createTestDatabase('ops_pool_one');
    try {
      await loadCiceroTables(cicero.pool);
      const env = { DATABASE_URL: cicero.url, DB_POOL_MAX: '1', WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', LOG_LEVEL: 'warn' };
      const migrated = await runCli(['migrate'], env);
      assert.equal(migrated.code, 0, migrated.stderr);
      await cicero.pool.query("INSERT INTO complaint_queue (complainant, response_template, status, failure_reason) VALUES ('081200000001', 'generic', 'failed', 'test')");
      const [row] = await enqueue(cicero.pool, [{ recipient: '081200000002', content: 'Halo', type: 'test' }]);
      await cicero.pool.query("UPDATE wa_outbox SET status = 'failed' WHERE id = $1", [row!.id]);
      const commands = [
        ['doctor'],
        ['jobs'],
        ['jobs', 'times', 'engagement-reminder', 'add', '18:05'],
        ['run', 'daily-report', '--date', '2026-11-24'],
        ['run', 'complaint-response'],
        ['run', 'task-delivery-recap'],
        ['run', 'wa-gateway-poll'],
        ['outbox', 'list'],
        ['outbox', 'retry', String(row!.id)],
        ['outbox', 'cancel', String(row!.id)],
        ['outbox', 'resend', String(row!.id)],
        ['complaints', 'list'],
        ['complaints', 'retry', '1'],
      ];
      const timings: string[] = [];
      for (const args of commands) {
        const startedAt = Date.now();
        const result = await Promise.race([
          runCli(args, env),
          new Promise<null>((resolve) => setTimeout(() => resolve(null), 30_000)),
        ]);
        assert.ok(result, `${args.join(' ')} finished within 30 s`);
        assert.ok(result.code === 0 || (args.includes('resend') && result.code === 1) || (args[0] === 'doctor' && result.code === 1), `${args.join(' ')}: ${result.stderr}`);
        assert.doesNotMatch(result.stderr, /timeout|Error:/i, args.join(' '));
        timings.push(`${args.join(' ')} ${Date.now() - startedAt} ms`);
      }
      t.diagnostic(timings.join('; '));
      const service = startCli(['start'], { ...env, LOG_LEVEL: 'info', WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0' }, await tempDir());
      started.push(service);
      await service.waitFor(/cicero-wa-gateway is up/, 60_000);
      await enqueue(cicero.pool, Array.from({ length: 20 }, (_, i) => ({ recipient: `08130000000${i}`, content: `Satu koneksi ${i}`, type: 'test' })));
      await waitUntil(async () => (await cicero.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status = 'sent'")).rows[0].n >= 20, 30_000, 'the service sending on one connection');
      await stopAll([service]);
    } finally {
      await cicero.drop();
    }
  });
});
