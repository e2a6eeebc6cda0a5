/**
 * The first hour and the daily round as a newcomer and an operator meet them: `npm start` stopped the
 * ways wrappers stop it, a database without Cicero_V2's tables, command output fit for pipes, a dry run
 * that loses nothing, and a first screen a person can read.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../src/lib/clock.js';
import { jobTable } from '../src/jobs.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { createLogger, silentLogger } from '../src/lib/logger.js';
import { watchTransport } from '../src/whatsapp/state-log.js';
import type { TransportStatus } from '../src/whatsapp/transport.js';
import { rekapHandlers } from '../src/features/rekap/index.js';
import { parseConfig } from '../src/config/index.js';
import { REPO_ROOT, processesUsing, runCli, startCli, tempDir } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { freePort } from './helpers/ports.js';
import { insertMessages, readSends, serviceEnv, stopAll } from './helpers/services.js';

/** `npm start` as a wrapper runs it: npm, its shell, the service; output collected. */
function npmStart(env: Record<string, string>, detached: boolean): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', HTTP_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('npm start, stopped as wrappers stop it (pure defaults, embedded PostgreSQL)', () => {
  before(() => {
    // npm start runs the built service: build it if the sources are newer.
    const built = spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
    assert.equal(built.status, 0);
  });

  for (const how of ['SIGTERM to npm', 'SIGINT to the process group'] as const) {
    it(`${how}: the service stops cleanly and leaves no process behind`, async (t) => {
      const dataDir = await tempDir();
      const npm = npmStart({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) }, how === 'SIGINT to the process group');
      try {
        await waitUntil(() => npm.output().includes('cicero-wa-gateway is up'), 90_000, 'the service up');
        await waitUntil(() => processesUsing(dataDir).some((p) => /postgres/.test(p)), 10_000, 'its PostgreSQL');
        const stopAt = Date.now();
        if (how === 'SIGTERM to npm') npm.child.kill('SIGTERM');
        else process.kill(-npm.child.pid!, 'SIGINT');
        const code = await npm.exited;
        t.diagnostic(`npm exited with ${code} after ${Date.now() - stopAt} ms`);
        assert.equal(code, 0, npm.output().slice(-2000));
        await waitUntil(() => processesUsing(dataDir).length === 0, 5000, 'nothing left running');
        assert.ok(npm.output().includes('cicero-wa-gateway stopped'));
        assert.ok(!npm.output().includes('second stop signal'), 'one Ctrl-C is one request, though npm passes it on too');
      } finally {
        for (const line of processesUsing(dataDir)) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
      }
    });
  }

  it('the service stops when the process that started it disappears', async () => {
    const dataDir = await tempDir();
    const npm = npmStart({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), WA_TRANSPORT: 'log' }, false);
    try {
      await waitUntil(() => npm.output().includes('cicero-wa-gateway is up'), 90_000, 'the service up');
      npm.child.kill('SIGKILL'); // npm gone without a word; its shell exec'd the service, which is now an orphan
      await waitUntil(() => processesUsing(dataDir).length === 0, 15_000, 'the orphaned service to stop');
    } finally {
      for (const line of processesUsing(dataDir)) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
    }
  });
});

describe('a database without Cicero_V2 tables', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('first_hour_empty', { migrated: true });
  });
  after(async () => db.drop());

  it('doctor names the missing source and the remedy; start-up says it in one sentence', async () => {
    const result = await runCli(['doctor'], { DATABASE_URL: db.url, WA_TRANSPORT: 'log' });
    const recaps = result.stdout.split('\n').find((l) => /^\w+\s+recaps /.test(l));
    assert.match(recaps ?? result.stdout, /^WARN recaps\s+no recap can be made: this database has no Cicero_V2 tables \(missing: clients, user, [^)]*\); the report jobs are skipped -> point DATABASE_URL at the Cicero_V2 database .*, or run "npm run demo"/);
    assert.match(result.stdout, /^WARN session|^ok\s+session/m);
    const start = startCli(['start'], { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', LOG_FORMAT: 'json' }, await tempDir());
    try {
      await start.waitFor(/cicero-wa-gateway is up/);
      assert.match(start.stdout(), /Recaps cannot be made here: this database has no Cicero_V2 tables; point DATABASE_URL/);
    } finally {
      await stopAll([start]);
    }
  });

  it('the 07:00 daily report is recorded as skipped with the reason, not failed (fixed clock)', async () => {
    const config = parseConfig({ WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off' }, '/srv');
    const clock = fixedClock(new Date('2026-11-25T00:00:00Z')); // 07:00 WIB
    const scheduler = new Scheduler({
      pool: db.pool,
      jobs: jobTable(config, rekapHandlers({ pool: db.pool, timeZone: 'Asia/Jakarta', sendEmpty: false, attachExcel: false })),
      timezone: 'Asia/Jakarta',
      historyDays: 90,
      logger: silentLogger(),
      clock,
    });
    const daily = scheduler.jobs.find((j) => j.name === 'daily-report')!;
    const outcome = await scheduler.runSlot(daily, clock.now(), 'schedule');
    assert.equal(outcome.status, 'skipped');
    const { rows } = await db.pool.query("SELECT status, detail, error FROM cron_job_runs WHERE job = 'daily-report'");
    assert.equal(rows[0].status, 'skipped');
    assert.match(rows[0].detail, /no recap can be made: this database has no Cicero_V2 tables \(missing: clients, "user", .*\); point DATABASE_URL at the Cicero_V2 database/);
    assert.equal(rows[0].error, null);
  });
});

describe('command output fit for pipes', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('first_hour_cli', { migrated: true });
    await insertMessages(db.pool, 3);
    await db.pool.query("INSERT INTO complaint_queue (complainant, response_template) VALUES ('081200000001', 'generic')");
  });
  after(async () => db.drop());

  it('outbox list, outbox show, jobs and complaints list with --json: JSON on stdout only, even with logs at debug', async () => {
    for (const args of [['outbox', 'list', '--json'], ['outbox', 'show', '1', '--json'], ['jobs', '--json'], ['complaints', 'list', '--json']]) {
      const result = await runCli(args, { DATABASE_URL: db.url, LOG_LEVEL: 'debug', LOG_FORMAT: 'json' });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      const parsed = JSON.parse(result.stdout) as unknown;
      assert.ok(parsed && typeof parsed === 'object', args.join(' '));
      assert.ok(result.stderr.includes('"level":30'), `${args.join(' ')}: the log went to stderr`);
    }
    const list = JSON.parse((await runCli(['outbox', 'list', '--json'], { DATABASE_URL: db.url })).stdout) as Array<{ createdAt: string; content: string }>;
    assert.match(list[0]!.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+07:00$/, 'times in CRON_TIMEZONE with their offset');
    assert.equal(list[0]!.content, 'msg-3', 'the whole text');
  });

  it('tables have a header and times in CRON_TIMEZONE with the zone named; filters narrow the list; a usage error is one line', async () => {
    const list = await runCli(['outbox', 'list'], { DATABASE_URL: db.url });
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    assert.match(header!, /^\s*ID\s+STATUS\s+TYPE\s+RECIPIENT\s+TRIES\s+CREATED \(WIB\)\s+SENT \/ DUE \(WIB\)\s+CONFIRMED\s+RECEIPT\s+READ \(WIB\)\s+TEXT/);
    assert.equal(rows.length, 3);
    const filtered = await runCli(['outbox', 'list', '--recipient', '00000002', '--since', '2000-01-01', '--until', '2999-12-31', '--type', 'test'], { DATABASE_URL: db.url });
    assert.equal(filtered.stdout.trimEnd().split('\n').length, 2, filtered.stdout);
    const show = await runCli(['outbox', 'show', '2'], { DATABASE_URL: db.url });
    assert.match(show.stdout, /Text \(5 characters\):\n {2}msg-2\n/);
    assert.match(show.stdout, /History: never handed to WhatsApp/);
    // A hold shown while it lasts, not once it has ended.
    await db.pool.query("UPDATE wa_outbox SET deferred_until = now() + interval '1 hour', deferred_reason = 'quiet hours (WA_QUIET_HOURS)' WHERE id = 2");
    assert.match((await runCli(['outbox', 'show', '2'], { DATABASE_URL: db.url })).stdout, /held back {5}until .* WIB: quiet hours \(WA_QUIET_HOURS\)/);
    await db.pool.query("UPDATE wa_outbox SET deferred_until = now() - interval '1 minute' WHERE id = 2");
    assert.doesNotMatch((await runCli(['outbox', 'show', '2'], { DATABASE_URL: db.url })).stdout, /held back/);
    const jobs = await runCli(['jobs'], { DATABASE_URL: db.url });
    assert.match(jobs.stdout.split('\n')[0]!, /^JOB\s+SCHEDULE\s+NEXT \(WIB\)\s+LAST RUN \(WIB\)/);
    const bad = await runCli(['outbox', 'list', '--since', 'yesterday'], { DATABASE_URL: db.url });
    assert.equal(bad.code, 2);
    assert.deepEqual(bad.stderr.trim().split('\n'), [
      'cicero-wa: --since "yesterday" is invalid: expected YYYY-MM-DD, "YYYY-MM-DD HH:MM" (in Asia/Jakarta) or an ISO 8601 time with its offset',
      'Run "cicero-wa --help" for the commands and their options.',
    ]);
    const run = await runCli(['run', 'complaint-response'], { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off' });
    assert.deepEqual(run.stdout.trim().split('\n').length, 1, `run prints one line: ${run.stdout}`);
    assert.match(run.stdout, /^complaint-response: succeeded, 1 message\(s\) enqueued/);
  });
});

describe('a dry run never makes a real message undeliverable', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('first_hour_dry_run', { migrated: true });
  });
  after(async () => db.drop());

  it('refuses a backlog unless told; what it logged goes back with one command and is delivered', async () => {
    await insertMessages(db.pool, 5, 'dari-cicero-'); // written seed-style by Cicero_V2
    const dir = await tempDir();
    const refused = await runCli(['start'], { DATABASE_URL: db.url, WA_TRANSPORT: 'log' }, dir);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^cicero-wa: WA_TRANSPORT=log is a dry run: it would mark the 5 message\(s\) waiting in wa_outbox as sent without sending them/m);
    assert.equal((await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status = 'pending'")).rows[0].n, 5);

    const dry = startCli(['start'], { DATABASE_URL: db.url, WA_TRANSPORT: 'log', WA_DRY_RUN_TAKE_BACKLOG: 'true', WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0' }, dir);
    try {
      await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE confirmation = 'dry_run'")).rows[0].n === 5, 30_000, 'the dry run');
    } finally {
      await stopAll([dry]);
    }
    const restored = await runCli(['outbox', 'retry', '--dry-run'], { DATABASE_URL: db.url });
    assert.equal(restored.stdout.trim(), '5 row(s) a dry run had marked are pending again');

    const sendLog = path.join(dir, 'sends.jsonl');
    const real = startCli(['start'], serviceEnv(db.url, sendLog), dir);
    try {
      await waitUntil(() => readSends(sendLog).length === 5, 30_000, 'the real sends');
    } finally {
      await stopAll([real]);
    }
    assert.deepEqual(readSends(sendLog).map((s) => s.text).sort(), [1, 2, 3, 4, 5].map((i) => `dari-cicero-${i}`));
    assert.equal((await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status = 'sent' AND confirmation = 'confirmed'")).rows[0].n, 5);
  });
});

describe('a first screen a person can read', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('first_hour_pretty', { migrated: true });
  });
  after(async () => db.drop());

  it('on a terminal (a pseudo-terminal here): short readable lines in CRON_TIMEZONE, no configuration dump', async (t) => {
    const dir = await tempDir();
    const env = { DATABASE_URL: db.url, WA_TRANSPORT: 'log', PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HTTP_PORT: '0' };
    const command = `${process.execPath} --import ${import.meta.resolve('tsx')} ${path.join(REPO_ROOT, 'src/main.ts')} start`;
    // `script` gives the service a pseudo-terminal; the service stops itself after 6 s (timeout).
    const result = spawnSync('script', ['-qfec', `timeout -s INT 6 ${command}`, '/dev/null'], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    const screen = result.stdout.replace(/\x1b\[[0-9;]*m/g, '').split(/\r?\n/).filter(Boolean);
    t.diagnostic(`first screen:\n${screen.slice(0, 8).join('\n')}`);
    assert.match(screen[0]!, /^\d\d:\d\d:\d\d WIB INFO: starting cicero-wa-gateway {2}database=postgres:\/\/.* {2}transport=log {2}authProfile=cicero-wa {2}timezone=Asia\/Jakarta/);
    assert.ok(screen[0]!.length < 300, 'the start line is short');
    assert.ok(!screen.some((l) => /sendIntervalMs|retryBaseMs|schedules=|dispatch=/.test(l)), 'no line is a configuration dump');
    assert.ok(screen.some((l) => /INFO: cicero-wa-gateway is up/.test(l)));
    assert.ok(!screen.some((l) => l.startsWith('{')), 'no JSON on a terminal');
    assert.ok(result.stdout.includes('\x1b['), 'coloured');
  });
});

describe('while WhatsApp Web cannot be reached', () => {
  it('a line per retry while they are close together, then one every few minutes, each with the attempt and the next try as a time', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    let listener: (status: TransportStatus) => void = () => undefined;
    watchTransport({ name: 'wwebjs', onStateChange: (l) => ((listener = l), () => undefined) }, logger, 'Asia/Jakarta');
    // The client's retries as whatsapp-web.js reports them, with the backoff growing to its 5-minute cap.
    const delays = [4378, 9000, 18_000, 36_000, 72_000, 144_000, 288_000, 300_000, 300_000];
    let at = Date.parse('2026-11-26T21:24:17Z'); // 04:24:17 WIB
    delays.forEach((delay, i) => {
      listener({ state: 'reconnecting', reason: `initialisation failed: net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/ (attempt ${i + 1}; next try in ${delay} ms)`, retry: { attempt: i + 1, delayMs: delay }, since: new Date(at) });
      listener({ state: 'starting', reason: 'launching /usr/bin/chromium', since: new Date(at + delay) });
      at += delay + 2000;
    });
    const said = lines.filter((l) => (l.level as number) >= 30).map((l) => String(l.msg));
    assert.equal(said[0], 'WhatsApp Web cannot be reached from this machine: the name web.whatsapp.com does not resolve: check DNS on this machine. Messages wait in the outbox and go out once it is back. It tries again at 04:24:21 WIB (in 4 s).');
    assert.deepEqual(said.slice(1), [
      'WhatsApp Web still cannot be reached (2 attempts since 04:24:17 WIB): the name web.whatsapp.com does not resolve: check DNS on this machine. Next try at 04:24:32 WIB (in 9 s).',
      'WhatsApp Web still cannot be reached (3 attempts since 04:24:17 WIB): the name web.whatsapp.com does not resolve: check DNS on this machine. Next try at 04:24:52 WIB (in 18 s).',
      'WhatsApp Web still cannot be reached (4 attempts since 04:24:17 WIB): the name web.whatsapp.com does not resolve: check DNS on this machine. Next try at 04:25:30 WIB (in 36 s).',
      // Minutes apart now: attempts 5 to 7 fall within five minutes of the last line.
      'WhatsApp Web still cannot be reached (8 attempts since 04:24:17 WIB): the name web.whatsapp.com does not resolve: check DNS on this machine. Next try at 04:39:02 WIB (in 5 min).',
      'WhatsApp Web still cannot be reached (9 attempts since 04:24:17 WIB): the name web.whatsapp.com does not resolve: check DNS on this machine. Next try at 04:44:04 WIB (in 5 min).',
    ]);
    assert.equal(lines.filter((l) => l.state === 'reconnecting' && l.level === 20).length, 3, 'the others at debug');
  });
});
