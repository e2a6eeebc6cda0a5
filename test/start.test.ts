import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { EmbeddedPostgres, EmbeddedPostgresError } from '../src/db/embedded-postgres.js';
import { readMigrations } from '../src/db/migrate.js';
import { silentLogger } from '../src/lib/logger.js';
import { isAlive, logLines, processesUsing, runCli, startCli as startCliProcess, tempDir, type CliProcess } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { freePort } from './helpers/ports.js';


async function postmasterPid(dataDir: string): Promise<number> {
  const text = await fs.readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8');
  return Number(text.split('\n')[0]);
}

async function waitUntilDead(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Services started by a test are killed when it ends, whether or not it passed. */
const started: CliProcess[] = [];
afterEach(async () => {
  for (const service of started.splice(0)) {
    if (service.child.exitCode === null && service.child.signalCode === null) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
  }
});
function startCli(...args: Parameters<typeof startCliProcess>): CliProcess {
  const service = startCliProcess(...args);
  started.push(service);
  return service;
}

describe('npm start (cicero-wa start) on the embedded PostgreSQL', () => {
  it('creates ./data, migrates, is up; SIGTERM exits 0 within 10 s with no PostgreSQL left; a second start reuses the data', async () => {
    const cwd = await tempDir();
    // Defaults throughout (WhatsApp Web transport included); only the port is chosen, to run beside other tests.
    const env = { EMBEDDED_PG_PORT: String(await freePort()) };

    const first = startCli(['start'], env, cwd);
    await first.waitFor(/cicero-wa-gateway is up/, 90000);
    assert.ok(existsSync(path.join(cwd, 'data', 'postgres', 'PG_VERSION')), './data holds the database');
    const lines = logLines(first.stdout());
    assert.ok(lines.some((l) => l.msg === 'initialising embedded PostgreSQL (first start)'));
    assert.equal(lines.filter((l) => l.msg === 'migration applied').length, (await readMigrations()).length);
    const serverPid = await postmasterPid(path.join(cwd, 'data'));
    assert.ok(isAlive(serverPid));

    const stopAt = Date.now();
    first.child.kill('SIGTERM');
    const result = await first.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(Date.now() - stopAt < 10000, 'stopped within 10 s');
    assert.ok(await waitUntilDead(serverPid, 2000), 'no PostgreSQL process left behind');
    assert.deepEqual(processesUsing(path.join(cwd, 'data')), [], 'no Chromium or PostgreSQL of ours left');

    const second = startCli(['start'], env, cwd);
    await second.waitFor(/cicero-wa-gateway is up/, 90000);
    const secondLines = logLines(second.stdout());
    assert.ok(!secondLines.some((l) => l.msg === 'initialising embedded PostgreSQL (first start)'), 'data reused');
    assert.equal(secondLines.filter((l) => l.msg === 'migration applied').length, 0, 'schema already there');

    // Commands run while the service is up use its database; a second service on the same DATA_DIR is refused.
    const migrateWhileUp = await startCli(['migrate'], env, cwd).exited;
    assert.equal(migrateWhileUp.code, 0, migrateWhileUp.stderr);
    const secondService = await startCli(['start'], env, cwd).exited;
    assert.equal(secondService.code, 1);
    assert.match(secondService.stderr, /in use by another cicero-wa process/);
    const serverStillUp = await postmasterPid(path.join(cwd, 'data'));
    assert.ok(isAlive(serverStillUp), 'the running service keeps its database');

    second.child.kill('SIGINT');
    assert.equal((await second.exited).code, 0);
    assert.ok(await waitUntilDead(serverStillUp, 2000));
  });

  it('after a SIGKILL, the next start shuts down the orphaned PostgreSQL and comes up', async () => {
    const cwd = await tempDir();
    const env = { EMBEDDED_PG_PORT: String(await freePort()), WA_TRANSPORT: 'log' };
    const crashed = startCli(['start'], env, cwd);
    await crashed.waitFor(/cicero-wa-gateway is up/, 90000);
    const orphanPid = await postmasterPid(path.join(cwd, 'data'));
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    assert.ok(isAlive(orphanPid), 'PostgreSQL outlives a SIGKILLed service');

    const next = startCli(['start'], env, cwd);
    await next.waitFor(/cicero-wa-gateway is up/, 90000);
    assert.ok(logLines(next.stdout()).some((l) => /left running by a process that died/.test(String(l.msg))));
    assert.ok(!isAlive(orphanPid));
    next.child.kill('SIGTERM');
    assert.equal((await next.exited).code, 0);
  });
});

describe('npm start with DATABASE_URL', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('start_external');
  });
  after(async () => db.drop());

  it('uses that database, never logs its password, and stops on SIGTERM with exit code 0', async () => {
    const cwd = await tempDir();
    const service = startCli(['start'], { DATABASE_URL: db.url, WA_TRANSPORT: 'log', LOG_LEVEL: 'debug' }, cwd);
    await service.waitFor(/cicero-wa-gateway is up/, 60000);
    assert.ok(!existsSync(path.join(cwd, 'data', 'postgres')), 'no embedded database');
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM cicero_wa_migrations');
    assert.equal(rows[0].n, (await readMigrations()).length);
    // The dry-run transport delivers: a seed-style INSERT becomes one dry-run log line and is marked sent.
    await db.pool.query("INSERT INTO wa_outbox (recipient, content, type) VALUES ('0812 3456 7890', 'Uji kirim', 'manual')");
    const line = JSON.parse(await service.waitFor(/message \(dry run, not sent\)/, 10000));
    assert.equal(line.chatId, '6281234567890@c.us');
    assert.equal(line.level, 30);
    assert.equal(line.text, undefined, 'the message body is not in the info line');
    const body = JSON.parse(await service.waitFor(/dry-run message text/, 10000));
    assert.equal(body.level, 20, 'the body is logged at debug');
    assert.equal(body.text, 'Uji kirim');
    await waitUntil(async () => (await db.pool.query("SELECT 1 FROM wa_outbox WHERE status = 'sent'")).rowCount === 1, 5000, 'the row marked sent');
    service.child.kill('SIGTERM');
    const result = await service.exited;
    assert.equal(result.code, 0);
    const password = new URL(db.url).password;
    if (password) assert.ok(!result.stdout.includes(password), 'password not logged');
  });
});

describe('npm start with a DATABASE_URL naming what the server does not have', () => {
  /** The test server's address with another database or role (and a password, which must not be shown). */
  function variant(base: string, change: (url: URL) => void): string {
    const url = new URL(base);
    if (!url.password) url.password = 'kata-sandi-uji';
    change(url);
    return url.toString();
  }
  const base = process.env.TEST_DATABASE_URL!;

  it('a database that does not exist: exit 1 at once, saying so, with createdb and DATABASE_URL without its password', async () => {
    const url = variant(base, (u) => (u.pathname = '/cicero_tidak_ada_25'));
    const result = await runCli(['start'], { DATABASE_URL: url, WA_TRANSPORT: 'log', LOG_FORMAT: 'json' });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(!logLines(result.stdout).some((l) => /not reachable yet/.test(String(l.msg))), 'not retried');
    assert.match(result.stderr, /^cicero-wa: the database "cicero_tidak_ada_25" does not exist on that server \(DATABASE_URL=postgres:\/\/[^:]+:\*\*\*@[^)]+\/cicero_tidak_ada_25\): create it \(createdb -h \S+ -p \d+ -U \S+ cicero_tidak_ada_25\)/m);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(new URL(url).password), 'the password is not shown');
  });

  it('a role that does not exist: exit 1 at once, naming the role and where to correct it', async () => {
    const url = variant(base, (u) => (u.username = 'peran_tidak_ada_25'));
    const result = await runCli(['start'], { DATABASE_URL: url, WA_TRANSPORT: 'log', LOG_FORMAT: 'json' });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(!logLines(result.stdout).some((l) => /not reachable yet/.test(String(l.msg))), 'not retried');
    assert.match(result.stderr, /^cicero-wa: the server refuses the role "peran_tidak_ada_25" \(DATABASE_URL=postgres:\/\/peran_tidak_ada_25:\*\*\*@.*check the user and password in DATABASE_URL/m);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(new URL(url).password), 'the password is not shown');
  });
});

describe('embedded PostgreSQL', () => {
  it('names EMBEDDED_PG_PORT when its port is taken', async () => {
    const dataDir = await tempDir();
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const server = new EmbeddedPostgres({ dataDir, port, logger: silentLogger() });
      await assert.rejects(server.start(), (err: unknown) => {
        assert.ok(err instanceof EmbeddedPostgresError);
        assert.match(err.message, /EMBEDDED_PG_PORT/);
        return true;
      });
    } finally {
      blocker.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a data directory whose server belongs to another live service process', async () => {
    const dataDir = await tempDir();
    const port = await freePort();
    const owner = new EmbeddedPostgres({ dataDir, port, logger: silentLogger() });
    await owner.start();
    // Pretend a different, live process owns it (our parent process is alive and is not us).
    await fs.writeFile(path.join(dataDir, 'postgres.owner'), `${process.ppid}\n`);
    try {
      const intruder = new EmbeddedPostgres({ dataDir, port, logger: silentLogger() });
      await assert.rejects(intruder.start(), /in use by another cicero-wa process/);
      assert.ok(owner.pid !== undefined && isAlive(owner.pid), "the owner's server keeps running");
    } finally {
      await owner.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
