import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from './helpers/ports.js';
import { logLines, runCli, startCli, tempDir } from './helpers/cli.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

describe('demo', () => {
  let empty: TestDatabase;
  let real: TestDatabase;
  before(async () => {
    [empty, real] = await Promise.all([createTestDatabase('demo_empty'), createTestDatabase('demo_real')]);
    await loadCiceroTables(real.pool);
  });
  after(async () => Promise.all([empty.drop(), real.drop()]));

  it('demo seed creates a Cicero_V2-shaped dataset once, and refuses a database with real units', async () => {
    const first = await runCli(['demo', 'seed'], { DATABASE_URL: empty.url, LOG_LEVEL: 'warn' });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /demo data created: 3 units, 60 personnel, \d+ posts, \d+ tasks today/);
    const { rows } = await empty.pool.query(`SELECT
        (SELECT count(*)::int FROM clients) AS units,
        (SELECT count(*)::int FROM "user") AS personnel,
        (SELECT count(DISTINCT created_at::date)::int FROM insta_post) AS days,
        (SELECT count(*)::int FROM insta_like WHERE jsonb_array_length(likes) > 0) AS liked,
        (SELECT count(*)::int FROM tiktok_comment) AS commented,
        (SELECT count(*)::int FROM tasks WHERE created_at::date = (now() AT TIME ZONE 'Asia/Jakarta')::date) AS tasks_today`);
    assert.equal(rows[0].units, 3);
    assert.equal(rows[0].personnel, 60);
    assert.ok(rows[0].days >= 40, `posts on ${rows[0].days} days`);
    assert.ok(rows[0].liked > 100 && rows[0].commented > 30);
    assert.ok(rows[0].tasks_today > 0);
    const again = await runCli(['demo', 'seed'], { DATABASE_URL: empty.url, LOG_LEVEL: 'warn' });
    assert.match(again.stdout, /demo data already there/);

    const refused = await runCli(['demo', 'seed'], { DATABASE_URL: real.url, LOG_LEVEL: 'warn' });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already has 1 real unit\(s\) in clients/);
  });

  /** The demo's summary: how many made, sent and waiting, and the lines under it. */
  function summaryOf(stdout: string): { made: number; sent: number; waiting: number; lines: string[] } {
    const lines = stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('Demo: '));
    assert.ok(at >= 0, `a summary: ${stdout.slice(-2000)}`);
    const [, made, sent, waiting] = /^Demo: (\d+) message\(s\) made from the demo data this run: (\d+) sent, (\d+) waiting\.$/.exec(lines[at]!) ?? [];
    assert.ok(made, lines[at]);
    return { made: Number(made), sent: Number(sent), waiting: Number(waiting), lines: lines.slice(at + 1).filter((l) => l.startsWith('  ')) };
  }
  /** How many messages a summary line lists ("3 daily-report, 6 weekly-report"). */
  const listed = (line: string) => [...line.split(': ').pop()!.matchAll(/(\d+) [a-z-]+/g)].reduce((sum, m) => sum + Number(m[1]), 0);

  it('npm run demo runs again and again, at any hour: each run shows what it sent, and what waits, why and until when; its events reach no webhook receiver', async (t) => {
    const cwd = await tempDir();
    // Quiet hours from an hour ago to two hours from now (WIB), whatever the time the test runs.
    const hourWib = (offset: number) => `${String((new Date().getUTCHours() + 7 + offset + 24) % 24).padStart(2, '0')}:00`;
    // A webhook receiver set in the environment (as .env would): the demo's made-up events never reach it.
    let hooks = 0;
    const receiver = http.createServer((_req, res) => {
      hooks++;
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    const webhook = { WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, WEBHOOK_SECRET: 'demo-webhook-secret-0123' };
    const env = { EMBEDDED_PG_PORT: String(await freePort()), LOG_FORMAT: 'json', WA_GOVERNOR: 'true', WA_BUDGET_PER_MINUTE: '100', ...webhook };
    // The hours read once: a run that passes the top of an hour still expects the window it was given.
    const quietEnd = hourWib(2);
    const first = await runCli(['demo'], { ...env, WA_QUIET_HOURS: `${hourWib(-1)}-${quietEnd}` }, cwd);
    assert.equal(hooks, 0, 'the demo sent its events to the webhook receiver');
    assert.equal(first.code, 0, first.stderr.slice(-2000));
    t.diagnostic(first.stdout.split('\n').filter((l) => !l.startsWith('{')).join('\n'));
    const one = summaryOf(first.stdout);
    assert.ok(one.sent >= 15 && one.waiting === 3 && one.made === one.sent + one.waiting, JSON.stringify(one));
    assert.equal(logLines(first.stdout).filter((l) => /\(dry run, not sent\)$/.test(String(l.msg))).length, one.sent, 'each one sent is shown');
    assert.match(first.stderr, /──── to 120363000000000101@g\.us ────\nMohon ijin Komandan,\n\n\*Rekap Harian Engagement\*\n\*Polres Sleman\*/);
    assert.match(one.lines[0]!, /^ {2}sent \(shown above, to the log, not to WhatsApp\): .*daily-report/);
    assert.equal(listed(one.lines[0]!), one.sent);
    assert.match(one.lines[1]!, new RegExp(`^ {2}waiting until \\d{4}-\\d\\d-\\d\\d ${quietEnd}:00 WIB, quiet hours \\(WA_QUIET_HOURS\\) for personal chats: 3 task-delivery-recap$`));
    assert.match(first.stdout, /^Stopping \(waiting messages are not sent\); run "npm run demo -- --keep-running" to keep the service up and open its dashboard\.$/m);

    // Again, in the same place: it starts afresh; now a day's budget (the warm-up's first day) holds the rest.
    const second = await runCli(['demo'], { ...env, WA_QUIET_HOURS: 'off', WA_WARMUP_SCHEDULE: '10,20' }, cwd);
    assert.equal(second.code, 0, second.stderr.slice(-2000));
    t.diagnostic(second.stdout.split('\n').filter((l) => !l.startsWith('{')).join('\n'));
    const two = summaryOf(second.stdout);
    assert.deepEqual([two.made, two.sent, two.waiting], [one.made, 10, one.made - 10]);
    assert.match(two.lines[1]!, /^ {2}waiting until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d WIB, 10 messages in .*\(the warm-up's day 1 \(WA_WARMUP_SCHEDULE\)\) reached: /);
    assert.equal(two.lines.slice(1).reduce((sum, l) => sum + listed(l), 0), two.waiting, 'every waiting message is accounted for');
  });

  it('the demo runs beside npm start: its own PostgreSQL and HTTP ports, each naming its dashboard', async () => {
    const cwd = await tempDir();
    const [pgPort, httpPort] = [await freePort(), await freePort()];
    const env = { EMBEDDED_PG_PORT: String(pgPort), HTTP_PORT: String(httpPort), LOG_FORMAT: 'json', WA_TRANSPORT: 'log' };
    const service = startCli(['start'], env, cwd);
    try {
      const up = JSON.parse(await service.waitFor(/cicero-wa-gateway is up/, 90_000)) as Record<string, unknown>;
      assert.equal(up.dashboard, `http://127.0.0.1:${httpPort}/dashboard`);
      const demo = await runCli(['demo'], env, cwd);
      assert.equal(demo.code, 0, demo.stderr.slice(-2000));
      const lines = logLines(demo.stdout);
      const demoPg = lines.find((l) => l.msg === 'embedded PostgreSQL is ready')!.port;
      const demoUp = lines.find((l) => l.msg === 'cicero-wa-gateway is up')!;
      assert.notEqual(demoPg, pgPort);
      assert.match(String(demoUp.dashboard), /^http:\/\/127\.0\.0\.1:\d+\/dashboard$/);
      assert.notEqual(demoUp.dashboard, up.dashboard);
      assert.ok(summaryOf(demo.stdout).sent > 0);
    } finally {
      service.child.kill('SIGTERM');
    }
    assert.equal((await service.exited).code, 0, 'the service was not disturbed');
  });

  it('Ctrl-C stops the demo cleanly (exit 0), while it waits for its recaps and once it keeps running', async () => {
    const cwd = await tempDir();
    const env = { EMBEDDED_PG_PORT: String(await freePort()), LOG_FORMAT: 'json' };
    // While the recaps go out, one a second: the wait for them ends with the stop.
    const early = startCli(['demo', '--keep-running'], env, cwd);
    await early.waitFor(/"job":"task-delivery-recap".*demo: job run/, 90_000);
    early.child.kill('SIGINT');
    const stoppedEarly = await early.exited;
    assert.equal(stoppedEarly.code, 0, stoppedEarly.stderr.slice(-2000));
    assert.doesNotMatch(stoppedEarly.stderr, /Cannot use a pool|at .*\.js:\d+/);
    assert.match(stoppedEarly.stdout, /cicero-wa-gateway stopped/);

    // Kept running after the summary, which names the dashboard.
    const kept = startCli(['demo', '--keep-running'], env, cwd);
    const line = await kept.waitFor(/^The service keeps running/, 90_000);
    assert.match(line, /dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard\. Stop it with Ctrl-C\.$/);
    kept.child.kill('SIGINT');
    const stoppedKept = await kept.exited;
    assert.equal(stoppedKept.code, 0, stoppedKept.stderr.slice(-2000));
    assert.doesNotMatch(stoppedKept.stderr, /Cannot use a pool|at .*\.js:\d+/);
  });
});
