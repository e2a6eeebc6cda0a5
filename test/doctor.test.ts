import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, tempDir } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { freePort } from './helpers/ports.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { migrate } from '../src/db/migrate.js';
import { silentLogger } from '../src/lib/logger.js';
import { fakeChromium, line } from './helpers/doctor.js';

describe('cicero-wa doctor', () => {
  let migrated: TestDatabase;
  let empty: TestDatabase;
  before(async () => {
    [migrated, empty] = await Promise.all([createTestDatabase('doctor_ok', { migrated: true }), createTestDatabase('doctor_empty')]);
  });
  after(async () => Promise.all([migrated.drop(), empty.drop()]));

  it('passes with one ok line per check when everything is in place', async () => {
    const dir = await tempDir();
    const authPath = path.join(dir, 'wa-auth');
    await fs.mkdir(authPath, { mode: 0o700 });
    const result = await runCli(['doctor'], { DATABASE_URL: migrated.url, WA_AUTH_PATH: authPath, WA_CHROMIUM_PATH: await fakeChromium(dir) }, dir);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(line(result.stdout, 'database'), /^ok\s+database\s+PostgreSQL \d+/);
    assert.match(line(result.stdout, 'migrations'), /^ok\s+migrations\s+all applied/);
    assert.match(line(result.stdout, 'wa-auth-path'), /^ok\s+wa-auth-path .* mode 700/);
    assert.match(line(result.stdout, 'chromium'), /^ok\s+chromium\s+Chromium 156\.0\.1234\.5 .* at .*chromium/);
    assert.match(line(result.stdout, 'whatsapp-web'), /^ok\s+whatsapp-web\s+unpinned/);
    assert.ok(!result.stdout.includes(new URL(migrated.url).password || '\u0000'), 'no password printed');
  });

  it("shows the statement timeout, and warns when Cicero_V2's tasks has no index on created_at", async () => {
    const dir = await tempDir();
    const authPath = path.join(dir, 'wa-auth');
    await fs.mkdir(authPath, { mode: 0o700 });
    const cicero = await createTestDatabase('doctor_tasks');
    try {
      await loadCiceroTables(cicero.pool);
      await migrate(cicero.pool, silentLogger());
      const env = { DATABASE_URL: cicero.url, WA_AUTH_PATH: authPath, WA_CHROMIUM_PATH: await fakeChromium(dir), DATABASE_STATEMENT_TIMEOUT_MS: '5000' };
      const without = await runCli(['doctor'], env, dir);
      assert.equal(without.code, 0, without.stdout + without.stderr);
      assert.match(line(without.stdout, 'database'), /statements limited to 5s \(DATABASE_STATEMENT_TIMEOUT_MS\)/);
      assert.match(line(without.stdout, 'tasks-index'), /^WARN tasks-index\s+tasks has no index whose first column is created_at.* -> CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_created_at_idx ON tasks \(created_at\)/);
      await cicero.pool.query('CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_created_at_idx ON tasks (created_at)');
      const indexed = await runCli(['doctor'], env, dir);
      assert.match(line(indexed.stdout, 'tasks-index'), /^ok\s+tasks-index\s+tasks has an index on created_at/);
    } finally {
      await cicero.drop();
    }
  });

  it('shows the WhatsApp Web pin: from a URL, from the local cache, or missing from it', async () => {
    const dir = await tempDir();
    const authPath = path.join(dir, 'wa-auth');
    await fs.mkdir(path.join(authPath, 'web-cache'), { recursive: true, mode: 0o700 });
    const base = { DATABASE_URL: migrated.url, WA_AUTH_PATH: authPath, WA_CHROMIUM_PATH: await fakeChromium(dir), WA_WEB_VERSION: '2.3000.1017054665' };
    const url = 'https://raw.githubusercontent.com/wppconnect-team/wa-version/0123abc/html/{version}.html';
    const remote = await runCli(['doctor'], { ...base, WA_WEB_VERSION_URL: url }, dir);
    assert.match(line(remote.stdout, 'whatsapp-web'), /^ok\s+whatsapp-web\s+pinned to 2\.3000\.1017054665, fetched from https:\/\/raw\.githubusercontent\.com\/wppconnect-team\/wa-version\/0123abc\/html\/2\.3000\.1017054665\.html/);
    const missing = await runCli(['doctor'], base, dir);
    assert.equal(missing.code, 1);
    assert.match(line(missing.stdout, 'whatsapp-web'), /^FAIL whatsapp-web\s+pinned to 2\.3000\.1017054665, but .* does not exist -> set WA_WEB_VERSION_URL/);
    await fs.writeFile(path.join(authPath, 'web-cache', '2.3000.1017054665.html'), '<html></html>');
    const cached = await runCli(['doctor'], base, dir);
    assert.equal(cached.code, 0, cached.stdout);
    assert.match(line(cached.stdout, 'whatsapp-web'), /^ok\s+whatsapp-web\s+pinned to 2\.3000\.1017054665, from the local cache/);
  });

  it('fails with a remedy for each problem and exit code 1', async () => {
    const dir = await tempDir();
    const authPath = path.join(dir, 'wa-auth');
    await fs.mkdir(authPath, { mode: 0o755 });
    await fs.chmod(authPath, 0o755);
    const result = await runCli(
      ['doctor'],
      { DATABASE_URL: empty.url, WA_AUTH_PATH: authPath, WA_CHROMIUM_PATH: path.join(dir, 'no-such-browser'), WA_TRANSPORT: 'wwebjs' },
      dir,
    );
    assert.equal(result.code, 1);
    assert.match(line(result.stdout, 'migrations'), /^FAIL migrations .*not applied: 001_seed_tables\.sql.* -> run cicero-wa migrate/);
    assert.match(line(result.stdout, 'wa-auth-path'), /^FAIL wa-auth-path .*readable by other users \(mode 755\).* -> chmod 700 /);
    assert.match(line(result.stdout, 'chromium'), /^FAIL chromium\s+not found \(configured path .*no-such-browser is not an executable file\) -> install it \(Debian\/Ubuntu: apt-get install -y chromium\)/);
  });

  it('reports an unreachable database with a remedy', async () => {
    const dir = await tempDir();
    const port = await freePort();
    const result = await runCli(['doctor'], { DATABASE_URL: `postgres://cicero:topsecret@127.0.0.1:${port}/cicero`, WA_TRANSPORT: 'log' }, dir);
    assert.equal(result.code, 1);
    assert.match(line(result.stdout, 'database'), /^FAIL database\s+cannot start or reach PostgreSQL \(postgres:\/\/cicero:\*\*\*@127\.0\.0\.1.*ECONNREFUSED.* -> check DATABASE_URL/);
    assert.ok(!result.stdout.includes('topsecret'));
    assert.match(line(result.stdout, 'wa-auth-path'), /^ok\s+wa-auth-path .*will be created/);
    // With the dry-run transport a missing browser is not a failure, but the line says how to get one.
    if (!line(result.stdout, 'chromium').includes('Chromium ')) {
      assert.match(line(result.stdout, 'chromium'), /^ok\s+chromium\s+not found, not needed with WA_TRANSPORT=log .*apt-get install -y chromium/);
    }
  });
});
