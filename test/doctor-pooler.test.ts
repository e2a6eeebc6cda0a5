import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runCli, tempDir } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { freePort } from './helpers/ports.js';
import { checkPooler } from '../src/commands/doctor-pooler.js';
import { fakeChromium, line } from './helpers/doctor.js';

const PGBOUNCER = '/usr/sbin/pgbouncer';
const skip = existsSync(PGBOUNCER) ? false : `${PGBOUNCER} is not installed (apt-get install pgbouncer)`;

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'pgbouncer', database: 'pgbouncer', connectionTimeoutMillis: 500 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      if (Date.now() - started > timeoutMs) throw new Error(`PgBouncer did not answer on port ${port}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('cicero-wa doctor: connection poolers (a real PgBouncer)', { skip }, () => {
  let db: TestDatabase;
  let dir: string;
  let bouncer: ChildProcess | undefined;
  let bouncerLog = '';
  let port: number;
  let env: Record<string, string>;

  /** DATABASE_URL through the PgBouncer alias that pools in `mode`. */
  function through(mode: 'transaction' | 'statement' | 'session'): string {
    const url = new URL(db.url);
    url.host = `127.0.0.1:${port}`;
    url.pathname = `/${mode}_db`;
    return url.toString();
  }

  before(async () => {
    db = await createTestDatabase('doctor_pooler', { migrated: true });
    dir = await tempDir();
    port = await freePort();
    const server = new URL(db.url);
    const user = decodeURIComponent(server.username) || 'postgres';
    // The server's password where it needs one (the embedded PostgreSQL of `npm test` does): PgBouncer logs in with it.
    const password = decodeURIComponent(server.password);
    const target = `host=${server.hostname} port=${server.port || '5432'} dbname=${db.name} user=${user}${password ? ` password=${password}` : ''}`;
    await fs.writeFile(
      path.join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        ...(['transaction', 'statement', 'session'] as const).map((mode) => `${mode}_db = ${target} pool_mode=${mode}`),
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = any',
        `auth_file = ${path.join(dir, 'userlist.txt')}`,
        'admin_users = pgbouncer',
        'pool_mode = transaction',
        // the service's pool sends these in its start-up packet; PgBouncer refuses unknown ones
        'ignore_startup_parameters = statement_timeout,idle_in_transaction_session_timeout',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    await fs.writeFile(path.join(dir, 'userlist.txt'), `"${user}" ""\n"pgbouncer" ""\n`, { mode: 0o644 });
    // PgBouncer will not run as root
    const args = [...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), path.join(dir, 'pgbouncer.ini')];
    bouncer = spawn(PGBOUNCER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    bouncer.stdout!.on('data', (d: Buffer) => (bouncerLog += d.toString()));
    bouncer.stderr!.on('data', (d: Buffer) => (bouncerLog += d.toString()));
    try {
      await waitForPort(port, 10_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${bouncerLog}`);
    }
    const authPath = path.join(dir, 'wa-auth');
    await fs.mkdir(authPath, { mode: 0o700 });
    env = { WA_AUTH_PATH: authPath, WA_CHROMIUM_PATH: await fakeChromium(dir), WA_TRANSPORT: 'log' };
  });

  after(async () => {
    if (bouncer && bouncer.exitCode === null) {
      const exited = new Promise((r) => bouncer!.once('exit', r));
      bouncer.kill('SIGTERM');
      await exited;
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it('warns on a transaction-mode pooler: no NOTIFY heard, statements in two server sessions, and says what to do', async () => {
    const started = Date.now();
    const result = await runCli(['doctor'], { ...env, DATABASE_URL: through('transaction') }, dir);
    const pooler = line(result.stdout, 'pooler');
    assert.match(pooler, /^WARN pooler\s+DATABASE_URL looks like a pooler in transaction or statement mode: /);
    assert.match(pooler, /one connection's statements ran in two server sessions \(pid \d+, then \d+\)/);
    assert.match(pooler, /LISTEN cicero_wa_pooler_probe heard no NOTIFY within 1\.2 s/);
    assert.match(pooler, / -> point DATABASE_URL at PostgreSQL itself .*or set pool_mode = session for this database in PgBouncer$/);
    assert.match(line(result.stdout, 'database'), /^ok\s+database/, 'the rest of doctor ran through the pooler');
    assert.ok(Date.now() - started < 30_000);
  });

  it('warns on a statement-mode pooler, which refuses a transaction', async () => {
    const result = await runCli(['doctor'], { ...env, DATABASE_URL: through('statement') }, dir);
    const pooler = line(result.stdout, 'pooler');
    assert.match(pooler, /^WARN pooler\s+.*a transaction is refused \(.*\): statement pooling/);
    assert.match(pooler, /heard no NOTIFY/);
  });

  it('passes a session-mode pooler, and PostgreSQL itself', async () => {
    for (const url of [through('session'), db.url]) {
      const result = await runCli(['doctor'], { ...env, DATABASE_URL: url }, dir);
      assert.match(line(result.stdout, 'pooler'), /^ok\s+pooler\s+direct sessions: LISTEN\/NOTIFY delivered, one server session per connection$/, url);
    }
  });
});

describe("doctor's pooler check against a stand-in server that accepts and never answers", () => {
  it('gives up within 3 s with a WARN saying it cannot tell, and the remedy', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const started = Date.now();
      const result = await checkPooler(`postgres://postgres@127.0.0.1:${port}/silent`);
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      assert.equal(result.ok, true);
      assert.equal(result.warn, true);
      assert.match(result.detail, /^cannot tell whether DATABASE_URL leads to a pooler in transaction mode: the LISTEN\/NOTIFY probe failed \(/);
      assert.match(result.remedy!, /pool_mode = session/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
