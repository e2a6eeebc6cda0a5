/**
 * An upgrade from the single-number gateway (the schema up to migration 023, one WhatsApp login in
 * WA_AUTH_PATH/session-<WA_AUTH_PROFILE>) to several numbers: the configured number becomes the session
 * `default` on the same auth profile, so it keeps its pairing (nothing in the auth directory is touched);
 * what was waiting before the upgrade is delivered from it as before; and a seed-style INSERT naming no
 * session (Cicero_V2's own code) is routed to it and delivered. Real PostgreSQL; a stand-in WhatsApp.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { MIGRATIONS_DIR, migrate } from '../src/db/migrate.js';
import { silentLogger } from '../src/lib/logger.js';
import { listSessions } from '../src/sessions/registry.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { tempDir } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';

describe('upgrade from one number to several (schema of migration 023, an existing login)', () => {
  let db: TestDatabase;
  let app: App;
  let authPath: string;
  const transport = new FakeTransport({ number: '6281100000001' });

  before(async () => {
    db = await createTestDatabase('upgrade_numbers');
    // The schema as the single-number gateway left it.
    const dir = await tempDir();
    const files = (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    const upTo = files.indexOf('023_group_members.sql');
    assert.ok(upTo > 0);
    for (const file of files.slice(0, upTo + 1)) await fs.copyFile(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
    await migrate(db.pool, silentLogger(), dir);
    // A message waiting when the old service stopped, written as the old code wrote it (session default).
    await db.pool.query(`INSERT INTO wa_outbox (recipient, content, type) VALUES ('081200000001', 'Menunggu sejak sebelum pembaruan', 'api')`);
    // The login of the one number, as whatsapp-web.js's LocalAuth keeps it.
    authPath = path.join(dir, 'wa-auth');
    await fs.mkdir(path.join(authPath, 'session-polda-jatim', 'Default'), { recursive: true, mode: 0o700 });
    await fs.writeFile(path.join(authPath, 'session-polda-jatim', 'Default', 'Cookies'), 'login');

    const off = { DAILY_REPORT_CRON: 'off', WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off', COMPLAINT_RESPONSE_CRON: 'off' };
    const config = parseConfig(
      { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_AUTH_PATH: authPath, WA_AUTH_PROFILE: 'polda-jatim', WA_GOVERNOR: 'off', HTTP_PORT: 'off', WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0', ...off },
      dir,
    );
    app = await startApp(config, silentLogger(), { transport, drawQr: null });
  });
  after(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('the configured number is the session default on its old auth profile; the login is untouched', async () => {
    const sessions = await listSessions(db.pool);
    assert.deepEqual(sessions.map((s) => [s.name, s.authProfile, s.enabled]), [['default', 'polda-jatim', true]]);
    assert.equal(await fs.readFile(path.join(authPath, 'session-polda-jatim', 'Default', 'Cookies'), 'utf8'), 'login');
    assert.deepEqual(await fs.readdir(authPath), ['session-polda-jatim'], 'no new login directory');
    assert.deepEqual(app.sessions.list().map((r) => r.name), ['default']);
  });

  it('what waited before the upgrade is delivered from it, as before', async () => {
    await waitUntil(async () => (await db.pool.query("SELECT 1 FROM wa_outbox WHERE content = 'Menunggu sejak sebelum pembaruan' AND status = 'sent' AND session = 'default'")).rowCount === 1, 10_000, 'sent');
    assert.ok(transport.sends.some((s) => s.text === 'Menunggu sejak sebelum pembaruan'));
  });

  it("a seed-style INSERT without a session is routed to the one number and delivered", async () => {
    await db.pool.query(`INSERT INTO wa_outbox (recipient, content, type) VALUES ('081200000002', 'Dari Cicero_V2', 'daily-report')`);
    await waitUntil(async () => (await db.pool.query("SELECT 1 FROM wa_outbox WHERE content = 'Dari Cicero_V2' AND status = 'sent'")).rowCount === 1, 10_000, 'sent');
    const { rows } = await db.pool.query<{ session: string; route_reason: string }>("SELECT session, route_reason FROM wa_outbox WHERE content = 'Dari Cicero_V2'");
    assert.equal(rows[0]!.session, 'default');
    assert.equal(rows[0]!.route_reason, 'home', 'the one number is the home number of every type');
    assert.equal(transport.sends.filter((s) => s.text === 'Dari Cicero_V2').length, 1);
  });
});
