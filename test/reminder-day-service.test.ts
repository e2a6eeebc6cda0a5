/**
 * The reminder day through the service as it runs (the composition root, its scheduler and its job
 * table, a real PostgreSQL with Cicero_V2-shaped data, a clock the test moves): 17:05 and 17:35 from the
 * default times, a restart between the runs that repeats nothing, and a third time, 18:05, added from
 * the command line while the service runs, which the running scheduler takes without a restart and
 * which reaches the 55 still not done. What each run enqueued and held back is in the run ledger and in
 * `cicero-wa jobs`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import type { Clock } from '../src/lib/clock.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { runCli, tempDir } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { lastId, links, missingOf, outboxSince, personOf, seedDay, setEngagement, wib } from './helpers/reminder-day.js';
import fs from 'node:fs/promises';

const JOB = 'engagement-reminder';

describe('the reminder day through the running service', () => {
  let db: TestDatabase;
  let dataDir: string;
  let now = wib('17:04');
  const clock: Clock = { now: () => new Date(now.getTime()) };
  const apps: App[] = [];

  before(async () => {
    db = await createTestDatabase('reminder_day_service', { migrated: true });
    await loadCiceroTables(db.pool);
    await db.pool.query(`DELETE FROM insta_like; DELETE FROM tiktok_comment; DELETE FROM tasks; DELETE FROM insta_post; DELETE FROM tiktok_post; DELETE FROM "user"; DELETE FROM clients`);
    await seedDay(db);
    dataDir = await tempDir('cicero-wa-reminder-day-');
  });
  after(async () => {
    for (const app of apps) await app.stop();
    await db.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  /** The scheduler role of the service (no WhatsApp here): the jobs as the job table and the schedule define them. */
  async function start(): Promise<App> {
    const config = parseConfig({ DATABASE_URL: db.url, SERVICE_ROLE: 'scheduler', HTTP_PORT: '0', WA_GOVERNOR: 'off', CRON_TIMEZONE: 'Asia/Jakarta' }, dataDir);
    const app = await startApp(config, pino({ level: 'silent' }), { clock, drawQr: null });
    apps.push(app);
    return app;
  }
  const reminderJob = (app: App) => app.scheduler.job(JOB)!;
  const ledger = async () =>
    (await db.pool.query(`SELECT to_char(slot AT TIME ZONE 'Asia/Jakarta', 'HH24:MI') AS slot, status, enqueued, held_back FROM cron_job_runs WHERE job = $1 ORDER BY slot`, [JOB])).rows;

  it('17:05 and 17:35 by default, a restart between them, then 18:05 added from the command line reaches the 55', async () => {
    let app = await start();
    assert.equal(app.scheduler.nextFires().get(JOB)?.toISOString(), wib('17:05').toISOString(), 'the default times, in WIB');

    now = wib('17:05');
    assert.equal((await app.scheduler.runSlot(reminderJob(app), wib('17:05'), 'schedule')).status, 'succeeded');
    const at1705 = await outboxSince(db, 0);
    assert.equal(at1705.filter((r) => r.type === 'engagement-thanks').length, 40);
    assert.equal(at1705.filter((r) => r.type === 'engagement-reminder').length, 80);
    for (const r of at1705.filter((x) => x.type === 'engagement-reminder')) assert.deepEqual(links(r.content), missingOf(personOf(r.recipient)));
    assert.ok(at1705.every((r) => r.content.startsWith('Selamat Sore, Bapak/Ibu ')));
    await db.pool.query("UPDATE wa_outbox SET status = 'sent', sent_at = $1", [wib('17:06')]);

    // A restart between the runs: the new service catches up nothing already run.
    await app.stop();
    apps.length = 0;
    now = wib('17:20');
    app = await start();
    assert.equal(await lastId(db), 120, 'the restart repeats nothing');

    await setEngagement(db, (i) => i < 65);
    now = wib('17:35');
    await app.scheduler.runSlot(reminderJob(app), wib('17:35'), 'schedule');
    const at1735 = await outboxSince(db, 120);
    assert.equal(at1735.filter((r) => r.type === 'engagement-reminder').length, 55);
    assert.equal(at1735.filter((r) => r.type === 'engagement-thanks').length, 25);
    await db.pool.query("UPDATE wa_outbox SET status = 'sent', sent_at = $1 WHERE status = 'pending'", [wib('17:36')]);

    // 18:05 from the command line, while the service runs: no restart.
    now = wib('17:40');
    const added = await runCli(['jobs', 'times', JOB, 'add', '18:05'], { DATABASE_URL: db.url, CRON_TIMEZONE: 'Asia/Jakarta' });
    assert.equal(added.code, 0, added.stderr);
    await waitUntil(() => app.scheduler.nextFires().get(JOB)?.getTime() === wib('18:05').getTime(), 10_000, 'the running scheduler follows the new time');

    now = wib('18:05');
    await app.scheduler.runSlot(reminderJob(app), wib('18:05'), 'schedule');
    const at1805 = await outboxSince(db, 200);
    assert.equal(at1805.length, 55);
    assert.ok(at1805.every((r) => r.type === 'engagement-reminder' && r.content.startsWith('Selamat Malam, ')));
    for (const r of at1805) assert.deepEqual(links(r.content), missingOf(personOf(r.recipient)));
    const { rows: twice } = await db.pool.query("SELECT recipient FROM wa_outbox WHERE type = 'engagement-thanks' GROUP BY 1 HAVING count(*) > 1");
    assert.deepEqual(twice, [], 'nobody gets a second thank-you');

    assert.deepEqual(await ledger(), [
      { slot: '17:05', status: 'succeeded', enqueued: 120, held_back: 0 },
      { slot: '17:35', status: 'succeeded', enqueued: 80, held_back: 0 },
      { slot: '18:05', status: 'succeeded', enqueued: 55, held_back: 0 },
    ]);
    const jobs = await runCli(['jobs'], { DATABASE_URL: db.url, CRON_TIMEZONE: 'Asia/Jakarta' });
    assert.match(jobs.stdout, /engagement-reminder.*17:05,17:35,18:05 WIB/);
  });
});
