import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import cron from 'node-cron';
import { fixedClock, type Clock } from '../src/lib/clock.js';
import { CRON_JOB_NAMES, CRON_SCHEDULE_VARIABLES, parseConfig } from '../src/config/index.js';
import { jobTable, type JobDefinition, type JobHandler } from '../src/jobs.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { CronSchedule } from '../src/scheduler/schedule-math.js';
import { silentLogger } from '../src/lib/logger.js';
import { REPO_ROOT, runCli, tempDir } from './helpers/cli.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';

const TSX = import.meta.resolve('tsx');
const JAKARTA = 'Asia/Jakarta';

describe('schedule arithmetic in CRON_TIMEZONE', () => {
  it('at 2026-11-30 06:59:59 Jakarta (a Monday): daily and weekly at 07:00 that day, monthly on 1 December', () => {
    const at = new Date('2026-11-29T23:59:59Z'); // 06:59:59 in Jakarta (UTC+7)
    const next = (expression: string) => new CronSchedule(expression, JAKARTA).next(at)?.toISOString();
    assert.equal(next('0 7 * * *'), '2026-11-30T00:00:00.000Z');
    assert.equal(next('0 7 * * 1'), '2026-11-30T00:00:00.000Z');
    assert.equal(next('0 7 1 * *'), '2026-12-01T00:00:00.000Z');
    assert.equal(next('*/30 * * * *'), '2026-11-30T00:00:00.000Z');
  });

  it('gives the same answers whatever the machine zone is', () => {
    const run = (tz: string) =>
      execFileSync(process.execPath, ['--import', TSX, path.join(REPO_ROOT, 'test/helpers/next-fires.ts'), '2026-11-29T23:59:59Z'], {
        env: { ...process.env, TZ: tz },
        encoding: 'utf8',
      });
    const utc = JSON.parse(run('UTC'));
    assert.equal(utc['daily-report'], '2026-11-30T00:00:00.000Z');
    assert.equal(utc['weekly-report'], '2026-11-30T00:00:00.000Z');
    assert.equal(utc['monthly-report'], '2026-12-01T00:00:00.000Z');
    assert.deepEqual(JSON.parse(run('America/Los_Angeles')), utc);
    assert.deepEqual(JSON.parse(run('Asia/Jakarta')), utc);
  });

  it("agrees with node-cron's own next runs", () => {
    const expressions = [...Object.values(CRON_SCHEDULE_VARIABLES).map((v) => v.defaultExpression), '15 6,18 * * 1-5', '0 0 L * *', '*/7 * * * * *'];
    for (const expression of expressions) {
      const task = cron.createTask(expression, () => undefined, { timezone: JAKARTA });
      const ours: Date[] = [];
      let from = new Date();
      for (let i = 0; i < 3; i++) ours.push((from = new CronSchedule(expression, JAKARTA).next(from)!));
      const theirs = task.getNextRuns(3);
      // node-cron counts from the real now, a moment later than ours: compare what both list.
      const common = theirs.filter((t) => ours.some((o) => o.getTime() === t.getTime()));
      assert.ok(common.length >= 2, `${expression}: ${ours.map((d) => d.toISOString())} vs ${theirs.map((d) => d.toISOString())}`);
    }
  });

  it('finds the last fire at or before an instant', () => {
    const schedule = new CronSchedule('0 7 * * *', JAKARTA);
    assert.equal(schedule.previous(new Date('2026-11-30T00:20:00Z'))?.toISOString(), '2026-11-30T00:00:00.000Z');
    assert.equal(schedule.previous(new Date('2026-11-30T00:00:00Z'))?.toISOString(), '2026-11-30T00:00:00.000Z');
    assert.equal(schedule.previous(new Date('2026-11-29T23:59:59Z'))?.toISOString(), '2026-11-29T00:00:00.000Z');
  });
});

describe('scheduler on a real PostgreSQL', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('scheduler', { migrated: true });
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query('TRUNCATE cron_job_runs');
    await db.pool.query('DROP TABLE IF EXISTS cron_job_config');
  });

  function reportJob(handler: JobHandler, expression = '0 7 * * *'): JobDefinition {
    return { name: 'daily-report', variable: 'DAILY_REPORT_CRON', defaultExpression: '0 7 * * *', expression, catchUpHours: 12, shared: true, handler };
  }

  function scheduler(jobs: JobDefinition[], clock: Clock = fixedClock(new Date())): Scheduler {
    return new Scheduler({ pool: db.pool, jobs, timezone: JAKARTA, historyDays: 90, logger: silentLogger(), clock, skipGraceMs: 10 });
  }

  const runs = async () => (await db.pool.query('SELECT job, slot, trigger, status, enqueued, detail, error FROM cron_job_runs ORDER BY started_at')).rows;

  it('catches up a report slot missed during an outage across 07:00, once, and not again at the next restart', async () => {
    const slots: string[] = [];
    const handler: JobHandler = async ({ slot, trigger }) => {
      slots.push(`${slot.toISOString()} ${trigger}`);
      return { enqueued: 3 };
    };
    // Down since 06:00, back at 07:20 Jakarta.
    await scheduler([reportJob(handler)], fixedClock('2026-11-30T00:20:00Z')).catchUp();
    assert.deepEqual(slots, ['2026-11-30T00:00:00.000Z catch-up']);
    // Restarted at 07:40: that slot is done.
    await scheduler([reportJob(handler)], fixedClock('2026-11-30T00:40:00Z')).catchUp();
    assert.equal(slots.length, 1);
    const [run] = await runs();
    assert.equal(run.status, 'succeeded');
    assert.equal(run.trigger, 'catch-up');
    assert.equal(run.enqueued, 3);
  });

  it('does not catch up a slot older than the window, and retries a failed one inside it', async () => {
    let calls = 0;
    const handler: JobHandler = async () => {
      calls++;
      if (calls === 1) throw new Error('view missing');
      return { enqueued: 1 };
    };
    await scheduler([reportJob(handler)], fixedClock('2026-11-30T13:01:00Z')).catchUp(); // 20:01: 13 h after 07:00
    assert.equal(calls, 0);
    await scheduler([reportJob(handler)], fixedClock('2026-11-30T00:05:00Z')).catchUp();
    assert.equal(calls, 1);
    assert.equal((await runs())[0].status, 'failed');
    assert.equal((await runs())[0].error, 'view missing');
    await scheduler([reportJob(handler)], fixedClock('2026-11-30T00:10:00Z')).catchUp();
    assert.equal(calls, 2, 'a failed slot inside the window is run again');
    assert.equal((await runs())[0].status, 'succeeded');
  });

  it('records a failed run and runs the next slots; skips and records a fire during a run', async () => {
    let calls = 0;
    const job = reportJob(async () => {
      calls++;
      if (calls === 1) throw new Error('first run breaks');
      if (calls === 2) await new Promise((r) => setTimeout(r, 2500));
      return { enqueued: 0 };
    }, '* * * * * *');
    const s = scheduler([job]);
    await s.start();
    try {
      await waitUntil(async () => (await runs()).some((r) => r.status === 'skipped'), 10_000, 'a skipped slot');
      await waitUntil(async () => (await runs()).filter((r) => r.status === 'succeeded').length >= 2, 10_000, 'two succeeded slots');
    } finally {
      await s.stop();
    }
    const all = await runs();
    assert.equal(all[0].status, 'failed');
    assert.equal(all[0].error, 'first run breaks');
    assert.ok(all.some((r) => r.status === 'skipped' && /still in progress/.test(r.detail)));
    assert.equal(new Set(all.map((r) => r.slot.toISOString())).size, all.length, 'one row per slot');
  });

  it('pauses with cron_job_config.is_active = false and resumes with true, without a restart', async () => {
    await db.pool.query(`CREATE TABLE cron_job_config (job_key TEXT PRIMARY KEY, display_name TEXT, is_active BOOLEAN DEFAULT true,
                           created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now())`);
    await db.pool.query("INSERT INTO cron_job_config (job_key, is_active) VALUES ('daily-report', false)");
    let calls = 0;
    const s = scheduler([reportJob(async () => {
      calls++;
    }, '* * * * * *')]);
    await s.start();
    try {
      await waitUntil(async () => (await runs()).filter((r) => r.status === 'skipped').length >= 2, 10_000, 'paused fires');
      assert.equal(calls, 0);
      assert.match((await runs())[0].detail, /paused: cron_job_config.is_active = false/);
      await db.pool.query("UPDATE cron_job_config SET is_active = true WHERE job_key = 'daily-report'");
      await waitUntil(() => calls >= 2, 10_000, 'resumed runs');
    } finally {
      await s.stop();
    }
  });

  it('two manual runs started in the same millisecond both run and are both recorded', async () => {
    let calls = 0;
    const clock = fixedClock('2026-11-30T03:00:00Z');
    const job = reportJob(async () => {
      calls++;
    });
    const [a, b] = await Promise.all([scheduler([job], clock).runNow('daily-report', null), scheduler([job], clock).runNow('daily-report', null)]);
    assert.deepEqual([a.status, b.status], ['succeeded', 'succeeded']);
    assert.equal(calls, 2);
    assert.equal((await runs()).filter((r) => r.trigger === 'manual').length, 2);
  });

  it('runs a job when cron_job_config cannot be read, with a warning', async () => {
    await db.pool.query('CREATE TABLE cron_job_config (job_key TEXT PRIMARY KEY)'); // no is_active column
    let calls = 0;
    const outcome = await scheduler([reportJob(async () => {
      calls++;
    })]).runNow('daily-report', null);
    assert.equal(outcome.status, 'succeeded');
    assert.equal(calls, 1);
  });

  it('three scheduler processes, a job every 2 s for 20 s: every slot in the ledger once, none missing, the handler once per slot', async (t) => {
    const dir = await tempDir();
    const log = path.join(dir, 'runs.log');
    const env = { ...process.env, TEST_SCHEDULER_DB: db.url, TEST_SCHEDULER_LOG: log, TEST_SCHEDULER_SECONDS: '20' };
    const processes = [0, 1, 2].map(() =>
      spawn(process.execPath, ['--import', TSX, path.join(REPO_ROOT, 'test/helpers/scheduler-process.ts')], { env, stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    const started = Date.now();
    await Promise.all(processes.map((p) => new Promise((resolve) => p.on('exit', resolve))));
    const handled = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
    const ledger = (await db.pool.query("SELECT slot FROM cron_job_runs WHERE job = 'complaint-response' ORDER BY slot")).rows.map((r) => r.slot.getTime());

    const slotsHandled = handled.map(([slot]) => new Date(slot!).getTime());
    assert.equal(new Set(slotsHandled).size, slotsHandled.length, 'the handler ran once per slot');
    assert.deepEqual([...slotsHandled].sort((a, b) => a - b), ledger, 'every handled slot is in the ledger, once');
    for (let i = 1; i < ledger.length; i++) assert.equal(ledger[i]! - ledger[i - 1]!, 2000, 'no slot missing between the first and the last');
    assert.ok(ledger.length >= 8, `${ledger.length} slots in ${Math.round((Date.now() - started) / 1000)} s`);
    const perProcess = [...new Set(handled.map(([, pid]) => pid))].map((pid) => handled.filter(([, p]) => p === pid).length);
    t.diagnostic(`${ledger.length} slots; runs per process: ${perProcess.join(', ')}`);
  });

  it('the job table has the jobs with their variables, defaults and off switch (and those whose times are data)', () => {
    const jobs = jobTable(parseConfig({ TASK_DELIVERY_RECAP_CRON: 'off', CRON_CATCHUP_HOURS: '6' }), {});
    assert.deepEqual(jobs.filter((j) => j.variable !== null).map((j) => j.name), [...CRON_JOB_NAMES]);
    assert.deepEqual(jobs.filter((j) => j.variable === null).map((j) => [j.name, j.defaultTimes]), [['engagement-reminder', ['17:05', '17:35']]]);
    assert.equal(jobs.find((j) => j.name === 'task-delivery-recap')!.expression, null);
    assert.equal(jobs.find((j) => j.name === 'daily-report')!.catchUpHours, 6);
    assert.equal(jobs.find((j) => j.name === 'complaint-response')!.catchUpHours, 0);
    assert.equal(jobs.find((j) => j.name === 'wa-gateway-poll')!.shared, false);
  });
});

describe('cicero-wa run and cicero-wa jobs', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('scheduler_cli');
    await loadCiceroTables(db.pool);
  });
  after(async () => db.drop());

  it('run records a manual run; jobs lists each job with its next fire and last run', async () => {
    const env = { DATABASE_URL: db.url };
    const run = await runCli(['run', 'weekly-report', '--date', '2026-11-24'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^weekly-report: succeeded, 2 message\(s\) enqueued \(week_start 2026-11-23: 1 unit\(s\), 1 recap\(s\) with workbook, 2 new\)/m);
    const jobs = await runCli(['jobs'], env);
    assert.equal(jobs.code, 0, jobs.stderr);
    assert.match(jobs.stdout.split('\n')[0]!, /^JOB\s+SCHEDULE\s+NEXT \(WIB\)\s+LAST RUN \(WIB\)\s+OUTCOME\s+DETAIL$/);
    for (const name of CRON_JOB_NAMES) assert.match(jobs.stdout, new RegExp(`^${name}\\s+[A-Z_]+=\\S.*\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}`, 'm'));
    assert.match(jobs.stdout, /^weekly-report\s+WEEKLY_REPORT_CRON=0 7 \* \* 1\s+\d{4}-\d{2}-\d{2} [\d:]+\s+\d{4}-\d{2}-\d{2} [\d:]+ manual\s+succeeded, 2 enqueued/m);
  });

  it('a run that fails exits 1 and jobs shows its error', async () => {
    // An operator's view without the summary column.
    await db.pool.query('CREATE VIEW monthly_report_view AS SELECT client_group AS recipient, current_date AS month_start FROM clients');
    try {
      const run = await runCli(['run', 'monthly-report'], { DATABASE_URL: db.url, LOG_LEVEL: 'silent' });
      assert.equal(run.code, 1);
      assert.match(run.stdout, /monthly-report: failed: report view monthly_report_view has no column summary/);
      const jobs = await runCli(['jobs'], { DATABASE_URL: db.url });
      assert.match(jobs.stdout, /^monthly-report\s.*\smanual\s+failed\s+report view monthly_report_view has no column summary/m);
    } finally {
      await db.pool.query('DROP VIEW monthly_report_view');
    }
  });

  it('refuses a bad job, date or expression with exit code 2 naming it', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['run', 'hourly-report'], {}, /unknown job "hourly-report"/],
      [['run', 'daily-report', '--date', '24-11-2026'], {}, /--date "24-11-2026" is invalid/],
      [['run', 'complaint-response', '--date', '2026-11-24'], {}, /--date applies to daily-report, weekly-report, monthly-report/],
      [['jobs'], { DAILY_REPORT_CRON: '0 7 * * * * *' }, /DAILY_REPORT_CRON=.*expected 5 or 6 fields but got 7/],
      [['jobs'], { WEEKLY_REPORT_CRON: '0 7 * * 9' }, /WEEKLY_REPORT_CRON=.*9 is a invalid expression for week day/],
      [['jobs'], { MONTHLY_REPORT_CRON: 'first of the month' }, /MONTHLY_REPORT_CRON=.*expected 5 or 6 fields/],
      [['start'], { TASK_DELIVERY_RECAP_CRON: '' }, /TASK_DELIVERY_RECAP_CRON="" is invalid: it is empty; unset it for the default \(\*\/30 \* \* \* \*; "off" switches the job off\)/],
    ];
    for (const [args, env, message] of cases) {
      const result = await runCli(args, { DATABASE_URL: db.url, ...env });
      assert.equal(result.code, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});
