/**
 * Recaps on Cicero_V2-shaped data. The expected numbers are computed here, in TypeScript, from the same
 * rows the fixture inserts: an independent judgement, not the views' SQL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fixedClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { reportPeriod } from '../src/features/rekap/periods.js';
import { rekapHandlers } from '../src/features/rekap/index.js';
import type { JobContext } from '../src/jobs.js';
import { REPO_ROOT, runCli } from './helpers/cli.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const TSX = import.meta.resolve('tsx');
const JAKARTA = 'Asia/Jakarta';

async function ciceroDatabase(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  await loadCiceroTables(db.pool);
  await db.pool.query(await fs.readFile(path.join(REPO_ROOT, 'test/fixtures/rekap-hard-cases.sql'), 'utf8'));
  const { migrate } = await import('../src/db/migrate.js');
  await migrate(db.pool, silentLogger());
  return db;
}

function context(job: JobContext['job'], date: string | null, now = '2026-11-25T00:00:00Z'): JobContext {
  return { job, slot: new Date(now), trigger: 'manual', date, clock: fixedClock(now), logger: silentLogger() };
}

// ---- The independent judgement -------------------------------------------------------------------

interface Person { divisi: string | null; insta: string | null; tiktok: string | null; client: string; status: boolean | null; exception: boolean | null }
type Verdict = 'done' | 'partly' | 'none' | 'nouser';

const handle = (h: string | null) => {
  const v = (h ?? '').trim().replace(/^@+/, '').toLowerCase();
  return v === '' ? null : v;
};

function judge(person: string | null, posts: string[][]): Verdict {
  if (person === null) return 'nouser';
  if (posts.length === 0) return 'none';
  const engaged = posts.filter((likers) => likers.map(handle).includes(person)).length;
  if (engaged * 2 >= posts.length) return 'done';
  return engaged > 0 ? 'partly' : 'none';
}

async function expectedCounts(db: TestDatabase, client: string, day: string) {
  const people = (await db.pool.query('SELECT divisi, insta, tiktok, client_id AS client, status, exception FROM "user"')).rows as Person[];
  const posts = (await db.pool.query(`SELECT p.client_id, to_char(p.created_at, 'YYYY-MM-DD') AS day, coalesce(l.likes, '[]') AS likes FROM insta_post p LEFT JOIN insta_like l USING (shortcode)`)).rows;
  const videos = (await db.pool.query(`SELECT p.client_id, to_char(p.created_at, 'YYYY-MM-DD') AS day, coalesce(c.comments, '[]') AS comments FROM tiktok_post p LEFT JOIN tiktok_comment c USING (video_id)`)).rows;
  const ig = posts.filter((p) => p.client_id === client && p.day === day).map((p) => p.likes as string[]);
  const tt = videos.filter((v) => v.client_id === client && v.day === day).map((v) => v.comments as string[]);
  const counted = people.filter((p) => p.client === client && p.status !== false && p.exception !== true);
  const tally = (who: Person[]) => {
    const t = { people: who.length, ig: { done: 0, partly: 0, none: 0, nouser: 0 }, tt: { done: 0, partly: 0, none: 0, nouser: 0 } };
    for (const p of who) {
      t.ig[judge(handle(p.insta), ig)]++;
      t.tt[judge(handle(p.tiktok), tt)]++;
    }
    return t;
  };
  const divisions = new Map<string, Person[]>();
  for (const p of counted) {
    const d = p.divisi?.trim() || 'Tanpa divisi';
    divisions.set(d, [...(divisions.get(d) ?? []), p]);
  }
  return { posts: ig.length, videos: tt.length, total: tally(counted), divisions: new Map([...divisions].map(([d, who]) => [d, tally(who)])) };
}

/** The numbers a rendered recap states. */
function parseRecap(text: string) {
  const number = (re: RegExp, from = text) => Number(re.exec(from)?.[1]);
  const section = (title: string) => text.slice(text.indexOf(title), text.indexOf('\n\n', text.indexOf(title)));
  const platform = (title: string) => {
    const s = section(title);
    return { done: number(/Sudah: (\d+)/, s), partly: number(/Kurang: (\d+)/, s), none: number(/Belum: (\d+)/, s), nouser: number(/username: (\d+)/, s) };
  };
  const divisions = new Map<string, string>();
  for (const m of text.matchAll(/^• (.+) \((\d+)\): IG (\d+)\/(\d+)\/(\d+)\/(\d+) · TikTok (\d+)\/(\d+)\/(\d+)\/(\d+)$/gm)) {
    divisions.set(m[1]!, m.slice(2).join(' '));
  }
  return {
    posts: number(/Instagram (\d+) ·/),
    videos: number(/TikTok (\d+)\n/),
    people: number(/Personil dinilai: (\d+)/),
    ig: platform('*Instagram (likes)*'),
    tt: platform('*TikTok (komentar)*'),
    divisions,
  };
}

describe('report periods in Asia/Jakarta', () => {
  it('reports the period before the slot, or the one holding --date', () => {
    const slot = new Date('2026-11-30T00:00:00Z'); // Monday 30 November, 07:00 in Jakarta
    assert.deepEqual(reportPeriod('daily', slot, JAKARTA), { kind: 'daily', column: 'report_date', start: '2026-11-29', end: '2026-11-29' });
    assert.deepEqual(reportPeriod('weekly', slot, JAKARTA), { kind: 'weekly', column: 'week_start', start: '2026-11-23', end: '2026-11-29' });
    assert.deepEqual(reportPeriod('monthly', slot, JAKARTA), { kind: 'monthly', column: 'month_start', start: '2026-10-01', end: '2026-10-31' });
    assert.equal(reportPeriod('daily', new Date('2026-11-29T17:30:00Z'), JAKARTA).start, '2026-11-29', '00:30 on the 30th in Jakarta, still the 29th in UTC');
    assert.equal(reportPeriod('monthly', new Date('2026-01-01T00:00:00Z'), JAKARTA).start, '2025-12-01');
    assert.deepEqual(reportPeriod('weekly', slot, JAKARTA, '2026-11-26'), { kind: 'weekly', column: 'week_start', start: '2026-11-23', end: '2026-11-29' });
    assert.equal(reportPeriod('weekly', slot, JAKARTA, '2026-11-29').start, '2026-11-23', 'a Sunday belongs to the week before it');
    assert.deepEqual(reportPeriod('monthly', slot, JAKARTA, '2024-02-10'), { kind: 'monthly', column: 'month_start', start: '2024-02-01', end: '2024-02-29' });
  });
});

describe('daily recap on Cicero_V2 data', () => {
  let db: TestDatabase;
  before(async () => {
    db = await ciceroDatabase('rekap');
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
  });

  const handlers = (sendEmpty = false) => rekapHandlers({ pool: db.pool, timeZone: JAKARTA, sendEmpty, attachExcel: false });
  const outbox = async () => (await db.pool.query('SELECT recipient, content, type, dedup_key FROM wa_outbox ORDER BY recipient')).rows;

  it("states the numbers an independent judgement of the day's data gives, for every unit it goes to", async () => {
    const result = await handlers()['daily-report']!(context('daily-report', '2026-11-24'));
    const rows = await outbox();
    assert.deepEqual(rows.map((r) => r.recipient), ['120363000000000001@g.us', '120363000000000002@g.us'], 'active units with a group only');
    assert.equal(result?.enqueued, 2);
    for (const [client, row] of [['POLRES_A', rows[0]], ['POLRES_B', rows[1]]] as const) {
      const want = await expectedCounts(db, client, '2026-11-24');
      const got = parseRecap(row.content);
      assert.equal(got.posts, want.posts, `${client} posts`);
      assert.equal(got.videos, want.videos, `${client} videos`);
      assert.equal(got.people, want.total.people, `${client} people`);
      assert.deepEqual(got.ig, want.total.ig, `${client} Instagram`);
      assert.deepEqual(got.tt, want.total.tt, `${client} TikTok`);
      assert.deepEqual(
        got.divisions,
        new Map([...want.divisions].map(([d, t]) => [d, [t.people, t.ig.done, t.ig.partly, t.ig.none, t.ig.nouser, t.tt.done, t.tt.partly, t.tt.none, t.tt.nouser].join(' ')])),
        `${client} divisions`,
      );
    }
    // The hard cases did matter: the 23:30 post counts for the 24th, the 00:10 one does not.
    assert.equal(parseRecap(rows[0].content).posts, 3);
  });

  it('renders the recap exactly as the golden file', async () => {
    await handlers()['daily-report']!(context('daily-report', '2026-11-24'));
    const [row] = await outbox();
    const golden = path.join(REPO_ROOT, 'test/golden/daily-report-polres-a.txt');
    if (process.env.UPDATE_GOLDEN) await fs.writeFile(golden, row.content);
    assert.equal(row.content, await fs.readFile(golden, 'utf8'));
  });

  it('sends nothing for a period with nothing in it, unless REKAP_SEND_EMPTY', async () => {
    const quiet = await handlers(false)['daily-report']!(context('daily-report', '2026-11-20'));
    assert.equal(quiet?.enqueued, 0);
    assert.equal((await outbox()).length, 0);
    const empty = await handlers(true)['daily-report']!(context('daily-report', '2026-11-20'));
    assert.equal(empty?.enqueued, 2);
    assert.match((await outbox())[0].content, /Konten: Instagram 0 · TikTok 0/);
  });

  it('weekly and monthly recaps cover their whole period', async () => {
    await handlers()['weekly-report']!(context('weekly-report', '2026-11-24'));
    await handlers()['monthly-report']!(context('monthly-report', '2026-11-24'));
    const rows = (await db.pool.query("SELECT type, content, priority FROM wa_outbox WHERE recipient = '120363000000000001@g.us' ORDER BY type")).rows;
    assert.ok(rows.every((r) => r.priority === 2), 'recaps are bulk');
    const monthly = rows.find((r) => r.type === 'monthly-report')!.content;
    const weekly = rows.find((r) => r.type === 'weekly-report')!.content;
    assert.match(weekly, /Senin, 23 November 2026 s\.d\. Minggu, 29 November 2026/);
    assert.equal(parseRecap(weekly).posts, 5, 'all five posts of 23-29 November');
    assert.match(monthly, /\*Rekap Bulanan Engagement\*\n\*Polres A\*\nNovember 2026/);
    assert.equal(parseRecap(monthly).posts, 5);
  });

  it("sends an operator's own view as it is; one without a needed column fails naming view and column, and the other jobs carry on", async () => {
    await db.pool.query(`CREATE VIEW daily_report_view AS
      SELECT client_group AS recipient, 'Laporan versi operator ' || client_id AS summary, date '2026-11-24' AS report_date, client_id
        FROM clients WHERE client_group IS NOT NULL`);
    try {
      const own = await handlers()['daily-report']!(context('daily-report', '2026-11-24'));
      assert.equal(own?.enqueued, 3, 'every row of the view, including the inactive unit the view chose to keep');
      assert.deepEqual((await outbox()).map((r) => r.content), ['Laporan versi operator POLRES_A', 'Laporan versi operator POLRES_B', 'Laporan versi operator POLRES_C']);
      await db.pool.query('DROP VIEW daily_report_view');
      await db.pool.query("CREATE VIEW daily_report_view AS SELECT client_group AS recipient, current_date AS report_date FROM clients");
      await assert.rejects(handlers()['daily-report']!(context('daily-report', '2026-11-24')), /report view daily_report_view has no column summary/);
      const weekly = await handlers()['weekly-report']!(context('weekly-report', '2026-11-24'));
      assert.equal(weekly?.enqueued, 2);
    } finally {
      await db.pool.query('DROP VIEW IF EXISTS daily_report_view');
    }
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
    const made = await handlers()['daily-report']!(context('daily-report', '2026-11-24'));
    assert.equal(made?.enqueued, 2, 'without the view, the service makes the recap again');
  });

  it("one row of an operator's view the outbox refuses is left out alone, named in the run's detail; the others are sent", async () => {
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
    await db.pool.query(`CREATE VIEW daily_report_view AS
      SELECT client_group AS recipient, 'Laporan versi operator ' || client_id AS summary, date '2026-11-24' AS report_date, client_id
        FROM clients WHERE client_group IS NOT NULL AND client_id = 'POLRES_A'
      UNION ALL SELECT 'bukan-nomor', 'Laporan tanpa penerima yang sah', date '2026-11-24', 'POLRES_B'
      UNION ALL SELECT '120363000000000009@g.us', repeat('x', 70000), date '2026-11-24', 'POLRES_C'`);
    try {
      const run = await handlers()['daily-report']!(context('daily-report', '2026-11-24'));
      assert.equal(run?.enqueued, 2, 'the other rows are enqueued (a recipient that is no number fails alone when sent)');
      assert.match(String(run?.detail), /, 2 new; 1 left out \(120363000000000009@g\.us: content .*65,?536/);
      assert.deepEqual((await outbox()).map((r) => r.content), ['Laporan versi operator POLRES_A', 'Laporan tanpa penerima yang sah']);
    } finally {
      await db.pool.query('DROP VIEW IF EXISTS daily_report_view');
      await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
    }
  });

  it('cicero-wa export with a date outside 2000-2099 is a usage error naming the range', async () => {
    const result = await runCli(['export', 'weekly', '--date', '9999-12-31'], { DATABASE_URL: db.url });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /date "9999-12-31" is invalid: it is outside the dates a report covers: 2000-01-01 to 2099-12-31/);
  });

  it('cicero-wa run daily-report --date D twice enqueues once', async () => {
    const first = await runCli(['run', 'daily-report', '--date', '2026-11-24'], { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    const second = await runCli(['run', 'daily-report', '--date', '2026-11-24'], { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    assert.match(first.stdout, /daily-report: succeeded, 2 message\(s\) enqueued/);
    assert.match(second.stdout, /daily-report: succeeded, 0 message\(s\) enqueued \(report_date 2026-11-24: 3 unit\(s\), 2 recap\(s\), 0 new\)/);
    assert.equal((await outbox()).length, 2);
  });
});

describe('report views and an operator', () => {
  it("keeps an operator's own daily_report_view when migrating, drops the ones it once installed, and installs only the task view", async () => {
    const db = await createTestDatabase('rekap_operator_view');
    try {
      await loadCiceroTables(db.pool);
      await db.pool.query(`CREATE VIEW daily_report_view AS
        SELECT client_operator AS recipient, 'Laporan versi operator'::text AS summary, current_date AS report_date FROM clients`);
      const before = (await db.pool.query("SELECT pg_get_viewdef('daily_report_view') AS def")).rows[0].def;
      const { migrate } = await import('../src/db/migrate.js');
      const applied = await migrate(db.pool, silentLogger());
      assert.ok(applied.some((m) => /^005_/.test(m)) && applied.some((m) => /^014_/.test(m)), '005 installed the weekly and monthly views, 014 dropped them');
      assert.equal((await db.pool.query("SELECT pg_get_viewdef('daily_report_view') AS def")).rows[0].def, before);
      const views = (await db.pool.query("SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1")).rows.map((r) => r.table_name);
      assert.deepEqual(views, ['daily_report_view', 'task_delivery_recap_view']);
      assert.equal((await db.pool.query("SELECT to_regproc('cicero_wa_engagement_recap') IS NULL AS gone")).rows[0].gone, true);
    } finally {
      await db.drop();
    }
  });

  it("installs the task view as the service's own when Cicero_V2's tables appear after the migrations", async () => {
    const db = await createTestDatabase('rekap_tables_later', { migrated: true });
    try {
      await loadCiceroTables(db.pool);
      const { installReportViews } = await import('../src/features/rekap/report-views.js');
      assert.deepEqual(await installReportViews(db.pool), ['task_delivery_recap_view']);
      assert.equal((await db.pool.query('SELECT cicero_wa_task_view_is_own() AS own')).rows[0].own, true, 'read by window through cicero_wa_task_deliveries');
    } finally {
      await db.drop();
    }
  });

  it('installs nothing on a database without Cicero_V2 tables', async () => {
    const db = await createTestDatabase('rekap_no_cicero', { migrated: true });
    try {
      const views = (await db.pool.query("SELECT count(*)::int AS n FROM information_schema.views WHERE table_schema = 'public'")).rows[0].n;
      assert.equal(views, 0);
    } finally {
      await db.drop();
    }
  });
});

describe('task delivery recap', () => {
  it('two instances and a SIGKILL mid-run: every delivery in exactly one message', async (t) => {
    const db = await ciceroDatabase('rekap_tasks');
    try {
      // 240 batches, one a minute over four simulated hours, each its own post.
      await db.pool.query(`
        INSERT INTO insta_post (shortcode, client_id, caption, created_at)
        SELECT 'T' || lpad(g::text, 4, '0'), CASE WHEN g % 2 = 0 THEN 'POLRES_A' ELSE 'POLRES_B' END, 'Tugas ' || g,
               timestamp '2026-11-25 06:00' + g * interval '1 minute'
          FROM generate_series(1, 240) g;
        INSERT INTO tasks (shortcode, user_id, created_at)
        SELECT 'T' || lpad(g::text, 4, '0'), u.user_id, timestamp '2026-11-25 06:00' + g * interval '1 minute' + interval '5 seconds'
          FROM generate_series(1, 240) g CROSS JOIN (VALUES ('75010001'), ('A02')) u(user_id);
        INSERT INTO cicero_wa_watermarks (job, position) VALUES ('task-delivery-recap', '2026-11-25 06:00');`);
      // Simulated time runs 120x: 2 s of real time is 4 simulated minutes.
      const env = { ...process.env, TEST_RECAP_DB: db.url, TEST_SIM_START: '2026-11-24T23:00:00Z', TEST_WALL_START: String(Date.now()), TEST_SIM_SPEED: '120', TEST_RECAP_SECONDS: '6' };
      const start = () => spawn(process.execPath, ['--import', TSX, path.join(REPO_ROOT, 'test/helpers/task-recap-process.ts')], { env, stdio: 'ignore' });
      const victim = start();
      const survivor = start();
      await new Promise((r) => setTimeout(r, 2500));
      victim.kill('SIGKILL');
      const restarted = start();
      await Promise.all([survivor, restarted].map((p) => new Promise((r) => p.on('exit', r))));
      // A last run well after the last delivery.
      await rekapHandlers({ pool: db.pool, timeZone: JAKARTA, sendEmpty: false, attachExcel: false })['task-delivery-recap']!(context('task-delivery-recap', null, '2026-11-25T12:00:00Z'));

      const messages = (await db.pool.query("SELECT content FROM wa_outbox WHERE type = 'task-delivery-recap'")).rows.map((r) => r.content as string);
      const mentions = messages.flatMap((m) => [...m.matchAll(/tugas post (T\d{4})/g)].map((x) => x[1]!));
      t.diagnostic(`${messages.length} messages carried ${mentions.length} deliveries`);
      assert.equal(new Set(mentions).size, 240, 'every delivery recapped');
      assert.equal(mentions.length, 240, 'none recapped twice');
      assert.ok(messages.every((m) => /dikirim ke 2 personil/.test(m)));
      assert.equal((await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE type = 'task-delivery-recap' AND priority <> 2")).rows[0].n, 0, 'task recaps are bulk');
    } finally {
      await db.drop();
    }
  });
});
