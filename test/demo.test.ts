import assert from 'node:assert/strict';
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

  it('npm run demo: recaps go out (to the log) within a minute, on the embedded database, without a phone', async (t) => {
    const cwd = await tempDir();
    const started = Date.now();
    const demo = startCli(['demo'], { EMBEDDED_PG_PORT: String(await freePort()), LOG_FORMAT: 'json' }, cwd);
    // The demo sends every recap once, prints a summary and stops by itself.
    const result = await Promise.race([demo.exited, new Promise<null>((r) => setTimeout(() => r(null), 90_000))]);
    if (!result) demo.child.kill('SIGKILL');
    assert.ok(result, 'the demo stopped by itself');
    t.diagnostic(`the demo finished after ${Math.round((Date.now() - started) / 1000)} s`);
    assert.equal(result.code, 0, result.stderr.slice(-2000));
    assert.ok(logLines(result.stdout).filter((l) => l.msg === 'message (dry run, not sent)').length >= 9, 'daily, weekly and monthly recaps for the three units');
    assert.match(result.stderr, /──── to 120363000000000101@g\.us ────\nMohon ijin Komandan,\n\n\*Rekap Harian Engagement\*\n\*Polres Sleman\*/);
    assert.match(result.stdout, /^Demo: \d+ new recap\(s\) this run; in all .*daily-report.* shown above \(to the log, not to WhatsApp\)\.$/m);
    assert.match(result.stdout, /^Stopping; run "npm run demo -- --keep-running" to keep the service up\.$/m);
  });
});
