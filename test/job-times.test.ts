/// <reference lib="dom" />
/**
 * Schedules that are data (engagement-reminder's times of day): the arithmetic, the validation at its
 * limits, a change from the command line followed by a running scheduler without a restart, catch-up,
 * the pause switch, what a run held back, the API's refusals and the dashboard's Jadwal page in Debian's
 * Chromium. Real PostgreSQL, real HTTP on loopback; a fixed clock where a run is decided.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { jobTable, type JobDefinition, type JobHandler } from '../src/jobs.js';
import { fixedClock, type Clock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { MAX_TIMES, timesProblems } from '../src/scheduler/job-times.js';
import { TimesSchedule } from '../src/scheduler/schedule-math.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

const JAKARTA = 'Asia/Jakarta';
const JOB = 'engagement-reminder';
/** 2026-12-04 in Jakarta (UTC+7): HH:MM WIB as an instant. */
const wib = (hhmm: string, day = '2026-12-04') => new Date(`${day}T${hhmm}:00+07:00`);

describe('a list of times of day in CRON_TIMEZONE', () => {
  it('fires at each time, the next day after the last, and finds the last fire at or before an instant', () => {
    const s = new TimesSchedule(['17:35', '17:05'], JAKARTA);
    assert.equal(s.next(wib('17:04'))?.toISOString(), wib('17:05').toISOString());
    assert.equal(s.next(wib('17:05'))?.toISOString(), wib('17:35').toISOString(), 'strictly after');
    assert.equal(s.next(wib('17:40'))?.toISOString(), wib('17:05', '2026-12-05').toISOString());
    assert.equal(s.previous(wib('17:35'))?.toISOString(), wib('17:35').toISOString(), 'at or before');
    assert.equal(s.previous(wib('17:34'))?.toISOString(), wib('17:05').toISOString());
    assert.equal(s.previous(wib('08:00'))?.toISOString(), wib('17:35', '2026-12-03').toISOString());
    assert.deepEqual(s.expressions(), ['5 17 * * *', '35 17 * * *']);
    assert.equal(new TimesSchedule([], JAKARTA).next(wib('08:00')), null, 'an empty list never fires');
  });

  it('takes 00:00 to 23:59, each once, at most 48; names the field and what is allowed', () => {
    assert.deepEqual(timesProblems(['00:00', '23:59'], 'body.times'), []);
    assert.deepEqual(timesProblems([], 'body.times'), [], 'empty: the job is off');
    const all = Array.from({ length: MAX_TIMES }, (_, i) => `${String(Math.floor(i / 2)).padStart(2, '0')}:${i % 2 ? '30' : '00'}`);
    assert.deepEqual(timesProblems(all, 'body.times'), []);
    assert.deepEqual(timesProblems([...all, '23:59'], 'body.times'), [{ field: 'body.times', message: `has 49 times; at most 48 are allowed` }]);
    assert.deepEqual(timesProblems(['24:00'], 'body.times').map((p) => p.field), ['body.times[0]']);
    assert.match(timesProblems(['17:05', '7:05'], 'body.times')[0]!.message, /"7:05" is invalid: expected a time of day HH:MM from 00:00 to 23:59/);
    assert.deepEqual(timesProblems(['17:05', '17:60'], 'body.times').map((p) => p.field), ['body.times[1]']);
    assert.deepEqual(timesProblems(['17:05', '17:35', '17:05'], 'body.times'), [{ field: 'body.times[2]', message: '17:05 is already in the list (at 0): each time once' }]);
    assert.equal(timesProblems('17:05', 'body.times')[0]!.field, 'body.times');
  });
});

describe('engagement-reminder on a real PostgreSQL', () => {
  let db: TestDatabase;
  const schedulers: Scheduler[] = [];
  before(async () => {
    db = await createTestDatabase('job_times', { migrated: true });
  });
  after(async () => {
    for (const s of schedulers) await s.stop();
    await db.drop();
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE cron_job_runs, cicero_wa_job_times');
    await db.pool.query('DROP TABLE IF EXISTS cron_job_config');
  });

  /** The job as the service defines it, with a handler of the test's. */
  function reminderJob(handler: JobHandler): JobDefinition {
    const job = jobTable(parseConfig({}), {}).find((j) => j.name === JOB)!;
    return { ...job, handler };
  }
  function scheduler(jobs: JobDefinition[], clock: Clock, listen = false): Scheduler {
    const s = new Scheduler({ pool: db.pool, jobs, timezone: JAKARTA, historyDays: 90, logger: silentLogger(), clock, skipGraceMs: 10, ...(listen ? { connectionString: db.url } : {}) });
    schedulers.push(s);
    return s;
  }
  const runs = async () => (await db.pool.query('SELECT slot, trigger, status, enqueued, held_back, detail FROM cron_job_runs ORDER BY started_at')).rows;

  it('is in the job table: 17:05 and 17:35 by default, shared, caught up, no variable', () => {
    const job = jobTable(parseConfig({}), {}).find((j) => j.name === JOB)!;
    assert.deepEqual({ times: job.defaultTimes, shared: job.shared, variable: job.variable, expression: job.expression, catchUpHours: job.catchUpHours }, {
      times: ['17:05', '17:35'],
      shared: true,
      variable: null,
      expression: null,
      catchUpHours: 12,
    });
  });

  it('18:05 added from the command line reaches a running scheduler without a restart, and its slot runs once', async () => {
    const slots: string[] = [];
    const job = reminderJob(async ({ slot }) => {
      slots.push(slot.toISOString());
      return { enqueued: 1 };
    });
    const clock = fixedClock(wib('17:40'));
    const running = scheduler([job], clock, true);
    const second = scheduler([job], clock, true); // another instance on the same database
    await Promise.all([running.start(), second.start()]);
    assert.deepEqual(slots, [wib('17:35').toISOString()], 'at start, the 17:35 missed five minutes before is caught up, once');
    slots.length = 0;
    assert.equal(running.nextFires().get(JOB)?.toISOString(), wib('17:05', '2026-12-05').toISOString(), 'before: tomorrow 17:05');

    const added = await runCli(['jobs', 'times', JOB, 'add', '18:05'], { DATABASE_URL: db.url });
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^engagement-reminder: 17:05, 17:35, 18:05 WIB \(set \d{4}-\d{2}-\d{2} [\d:]+ WIB by cli\); next /m);

    for (const s of [running, second]) {
      await waitUntil(() => s.nextFires().get(JOB)?.getTime() === wib('18:05').getTime(), 10_000, 'each scheduler follows the new time');
      assert.deepEqual(s.timesOf(JOB), ['17:05', '17:35', '18:05']);
    }

    // The 18:05 fire, in both instances at once: one run, one ledger row.
    const outcomes = await Promise.all([running.runSlot(job, wib('18:05'), 'schedule'), second.runSlot(job, wib('18:05'), 'schedule')]);
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['succeeded', 'taken']);
    assert.deepEqual(slots, [wib('18:05').toISOString()]);
    assert.equal((await runs()).filter((r) => r.slot.getTime() === wib('18:05').getTime()).length, 1);

    // Removed again, then every time removed: the job is off.
    assert.equal((await runCli(['jobs', 'times', JOB, 'remove', '18:05'], { DATABASE_URL: db.url })).code, 0);
    await waitUntil(() => running.nextFires().get(JOB)?.getTime() === wib('17:05', '2026-12-05').getTime(), 10_000, 'back to tomorrow 17:05');
    const off = await runCli(['jobs', 'times', JOB, 'set', 'off'], { DATABASE_URL: db.url });
    assert.match(off.stdout, /^engagement-reminder: no times: the job is off/m);
    await waitUntil(() => running.nextFires().get(JOB) === null, 10_000, 'off');
    const reset = await runCli(['jobs', 'times', JOB, 'reset'], { DATABASE_URL: db.url });
    assert.match(reset.stdout, /^engagement-reminder: 17:05, 17:35 WIB \(default times\)/m);
    await waitUntil(() => running.timesOf(JOB)?.join(',') === '17:05,17:35', 10_000, 'defaults again');
  });

  it('refuses a bad time from the command line with exit code 2, naming it and what is allowed', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['jobs', 'times', JOB, 'add', '25:00'], /time "25:00" is invalid: expected a time of day HH:MM from 00:00 to 23:59/],
      [['jobs', 'times', JOB, 'add', '17:05'], /time 17:05 is already in the list \(17:05, 17:35\)/],
      [['jobs', 'times', JOB, 'remove', '18:05'], /time 18:05 is not in the list/],
      [['jobs', 'times', JOB, 'set', '17:05,17:05'], /times\[1\] 17:05 is already in the list/],
      [['jobs', 'times', 'daily-report'], /its schedule is a node-cron expression in its variable/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, { DATABASE_URL: db.url });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM cicero_wa_job_times')).rows[0].n, 0, 'nothing written');
    // A list written by hand that the table's checks let through but is not valid (a time twice): the defaults are used.
    await db.pool.query(`INSERT INTO cicero_wa_job_times (job, times, updated_by) VALUES ($1, '{18:05,18:05}', 'psql')`, [JOB]);
    assert.match((await runCli(['jobs', 'times', JOB], { DATABASE_URL: db.url })).stdout, /^engagement-reminder: 17:05, 17:35 WIB \(default times\)/m);
  });

  it('catches up a time missed by a restart a few minutes before, once; only the latest; never the day before', async () => {
    const slots: string[] = [];
    const job = reminderJob(async ({ slot, trigger }) => {
      slots.push(`${slot.toISOString()} ${trigger}`);
    });
    await scheduler([job], fixedClock(wib('17:12'))).catchUp();
    assert.deepEqual(slots, [`${wib('17:05').toISOString()} catch-up`]);
    await scheduler([job], fixedClock(wib('17:20'))).catchUp();
    assert.equal(slots.length, 1, 'not again at the next restart');
    // Down over both times: only 17:35 runs (17:05 is superseded).
    await db.pool.query('TRUNCATE cron_job_runs');
    slots.length = 0;
    await scheduler([job], fixedClock(wib('17:50'))).catchUp();
    assert.deepEqual(slots, [`${wib('17:35').toISOString()} catch-up`]);
    // The next morning, yesterday's 17:35 is not run.
    await db.pool.query('TRUNCATE cron_job_runs');
    slots.length = 0;
    await scheduler([job], fixedClock(wib('08:00', '2026-12-05'))).catchUp();
    assert.deepEqual(slots, []);
  });

  it('is paused by cron_job_config like every job; what a run held back is recorded and listed', async () => {
    await db.pool.query(`CREATE TABLE cron_job_config (job_key TEXT PRIMARY KEY, is_active BOOLEAN DEFAULT true)`);
    await db.pool.query(`INSERT INTO cron_job_config (job_key, is_active) VALUES ($1, false)`, [JOB]);
    let calls = 0;
    const job = reminderJob(async () => {
      calls++;
      return { enqueued: 40, heldBack: 80, detail: '80 wait for the governor' };
    });
    const s = scheduler([job], fixedClock(wib('17:05')));
    const paused = await s.runSlot(job, wib('17:05'), 'schedule');
    assert.equal(paused.status, 'skipped');
    assert.equal(calls, 0);
    const listed = await runCli(['jobs'], { DATABASE_URL: db.url });
    assert.match(listed.stdout, /^engagement-reminder\s+times 17:05,17:35 WIB \(jobs times\)\s+\d{4}-\d{2}-\d{2} 17:[03]5:00 PAUSED\s/m);

    await db.pool.query(`UPDATE cron_job_config SET is_active = true WHERE job_key = $1`, [JOB]);
    const ran = await s.runSlot(job, wib('17:35'), 'schedule');
    assert.deepEqual(ran, { status: 'succeeded', enqueued: 40, heldBack: 80, detail: '80 wait for the governor' });
    const last = (await runs()).at(-1);
    assert.deepEqual([last.enqueued, last.held_back], [40, 80]);
    const again = await runCli(['jobs'], { DATABASE_URL: db.url });
    assert.match(again.stdout, /^engagement-reminder\s.*schedule\s+succeeded, 40 enqueued, 80 held back\s+80 wait for the governor$/m);
    const json = JSON.parse((await runCli(['jobs', '--json'], { DATABASE_URL: db.url })).stdout) as Array<Record<string, any>>;
    const listing = json.find((j) => j.name === JOB)!;
    assert.deepEqual(listing.times, { times: ['17:05', '17:35'], defaults: ['17:05', '17:35'], source: 'default' });
    assert.equal(listing.lastRun.heldBack, 80);
  });
});

describe('the times through the API and the dashboard', () => {
  const API_KEY = 'job-times-full-key-0000000000';
  const READ_KEY = 'job-times-read-key-0000000000';
  let db: TestDatabase;
  let app: App;
  let open: App;
  let browser: Browser | undefined;
  before(async () => {
    db = await createTestDatabase('job_times_http', { migrated: true });
    const base = { DATABASE_URL: db.url, SERVICE_ROLE: 'http', HTTP_PORT: '0' };
    app = await startApp(parseConfig({ ...base, API_KEY, API_READ_KEY: READ_KEY }, testCwd()), pino({ level: 'silent' }), { drawQr: null, maxAuthFailures: 1000 });
    // On this machine only, without keys: the dashboard opens with full access.
    open = await startApp(parseConfig(base, testCwd()), pino({ level: 'silent' }), { drawQr: null });
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await open?.stop();
    await db?.drop();
  });

  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const response = await fetch(`${app.http!.url}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('GET gives the times with the zone; PUT refuses bad values with 400 naming the field, and a read key with 403', async () => {
    const got = await call('GET', `/api/jobs/${JOB}/times`, READ_KEY);
    assert.equal(got.status, 200);
    assert.deepEqual([got.body.times, got.body.source, got.body.zone, got.body.timeZone, got.body.off], [['17:05', '17:35'], 'default', 'WIB', JAKARTA, false]);

    const bad = await call('PUT', `/api/jobs/${JOB}/times`, API_KEY, { times: ['17:05', '25:00'] });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^body\.times\[1\] "25:00" is invalid: expected a time of day HH:MM from 00:00 to 23:59/);
    const twice = await call('PUT', `/api/jobs/${JOB}/times`, API_KEY, { times: ['18:05', '18:05'] });
    assert.equal(twice.status, 400);
    assert.match(twice.body.message, /^body\.times\[1\] 18:05 is already in the list/);
    const many = await call('PUT', `/api/jobs/${JOB}/times`, API_KEY, { times: Array.from({ length: 49 }, (_, i) => `${String(i % 24).padStart(2, '0')}:${String(Math.floor(i / 24)).padStart(2, '0')}`) });
    assert.equal(many.status, 400);
    assert.match(many.body.message, /^body\.times has 49 times; at most 48 are allowed/);
    const notList = await call('PUT', `/api/jobs/${JOB}/times`, API_KEY, { times: '17:05' });
    assert.equal(notList.status, 400);
    assert.match(notList.body.message, /^body\.times must be a list of times/);
    const cronJob = await call('PUT', '/api/jobs/daily-report/times', API_KEY, { times: ['07:00'] });
    assert.equal(cronJob.status, 400);
    assert.match(cronJob.body.message, /^params\.name daily-report has a node-cron schedule set by its variable/);
    assert.equal((await call('PUT', `/api/jobs/${JOB}/times`, READ_KEY, { times: ['18:05'] })).status, 403);
    assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM cicero_wa_job_times')).rows[0].n, 0, 'nothing written');

    const put = await call('PUT', `/api/jobs/${JOB}/times`, API_KEY, { times: ['18:05', '17:05'] });
    assert.equal(put.status, 200);
    assert.deepEqual([put.body.times, put.body.source, put.body.updatedBy], [['17:05', '18:05'], 'set', 'api']);
    const jobs = await call('GET', '/api/jobs', READ_KEY);
    assert.deepEqual(jobs.body.jobs.find((j: { name: string }) => j.name === JOB).times, { times: ['17:05', '18:05'], defaults: ['17:05', '17:35'], source: 'set' });
    const empty = await call('PUT', `/api/jobs/${JOB}/times`, API_KEY, { times: [] });
    assert.deepEqual([empty.status, empty.body.off, empty.body.next], [200, true, null]);
  });

  it('the Jadwal page shows the times in WIB with Diantrekan and Ditahan, and changes them', async () => {
    await db.pool.query('TRUNCATE cicero_wa_job_times');
    await db.pool.query(
      `INSERT INTO cron_job_runs (job, slot, trigger, instance, status, finished_at, enqueued, held_back, detail)
       VALUES ($1, $2, 'schedule', 'test', 'succeeded', now(), 40, 80, '80 wait for the governor')`,
      [JOB, wib('17:05')],
    );
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${open.http!.url}/dashboard#jadwal`);
    await page.waitForFunction(() => document.body.dataset.loaded === 'jadwal');
    assert.equal(await page.textContent(`[data-times="${JOB}"]`), '17:05, 17:35 WIB (bawaan)');
    const row = page.locator(`tr:has([data-times="${JOB}"])`);
    assert.equal(await row.locator('td[data-label="Diantrekan"]').textContent(), '40');
    assert.equal(await row.locator('td[data-label="Ditahan"]').textContent(), '80');
    assert.match((await row.locator('td[data-label="Hasil"]').textContent()) ?? '', /berhasil 80 wait for the governor/);

    await page.fill(`input[data-times-for="${JOB}"]`, '17:05, 17:35, 18:05');
    await page.click(`button[data-times-save="${JOB}"]`);
    await page.waitForFunction(() => /Jam disimpan/.test(document.getElementById('times-notice')?.textContent ?? ''));
    assert.equal(await page.textContent('#times-notice'), 'Jam disimpan (Pengingat engagement): 17:05, 17:35, 18:05 WIB');
    await page.waitForFunction((job) => document.querySelector(`[data-times="${job}"]`)?.textContent === '17:05, 17:35, 18:05 WIB (diubah)', JOB);
    const row2 = (await db.pool.query('SELECT times, updated_by FROM cicero_wa_job_times WHERE job = $1', [JOB])).rows[0];
    assert.deepEqual([row2.times, row2.updated_by], [['17:05', '17:35', '18:05'], 'dashboard']);

    await page.fill(`input[data-times-for="${JOB}"]`, '17:05, 24:00');
    await page.click(`button[data-times-save="${JOB}"]`);
    await page.waitForFunction(() => document.getElementById('times-notice')?.classList.contains('error') === true);
    assert.match((await page.textContent('#times-notice')) ?? '', /body\.times\[1\] "24:00" is invalid/);
    assert.deepEqual((await db.pool.query('SELECT times FROM cicero_wa_job_times WHERE job = $1', [JOB])).rows[0].times, ['17:05', '17:35', '18:05'], 'unchanged');
    assert.deepEqual(errors, []);

    // Signed in with the read key: the times, no field to change them.
    const reader = await browser.newPage();
    await reader.goto(`${app.http!.url}/dashboard`);
    await reader.fill('#key', READ_KEY);
    await reader.click('#signin button[type=submit]');
    await reader.waitForSelector('nav.tabs');
    await reader.evaluate(() => (location.hash = 'jadwal'));
    await reader.waitForFunction(() => document.body.dataset.loaded === 'jadwal');
    assert.equal(await reader.textContent(`[data-times="${JOB}"]`), '17:05, 17:35, 18:05 WIB (diubah)');
    assert.equal(await reader.locator('input[data-times-for], button[data-times-save]').count(), 0);
  });
});
