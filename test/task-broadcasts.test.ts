/**
 * The task broadcast to unit groups on Cicero_V2-shaped data, with a fixed clock stepped through a day:
 * a broadcast goes only when a unit's posts of the day changed, with [BARU] on exactly the new links;
 * the state survives a restart; nothing goes from the cut-off on; a group gets at most one per run; bad
 * units are skipped with their reason while the others go on.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { migrate } from '../src/db/migrate.js';
import { parseConfig } from '../src/config/index.js';
import { lockUnitDay, recordBroadcast } from '../src/features/reminders/broadcast-state.js';
import { taskBroadcastJob } from '../src/features/reminders/task-broadcast.js';
import { fixedClock } from '../src/lib/clock.js';
import { instantOf } from '../src/lib/zoned-time.js';
import { silentLogger } from '../src/lib/logger.js';
import { priorityValue } from '../src/outbox/priority.js';
import { JOBS, type JobHandler, type JobResult } from '../src/jobs.js';
import { REPO_ROOT } from './helpers/cli.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const JAKARTA = 'Asia/Jakarta';
const CUTOFF = 17 * 60 + 15;
const GROUP_A = '120363000000000001@g.us'; // POLRES_A's group in test/fixtures/cicero-v2-rows.sql
const GROUP_B = '120363000000000002@g.us';

const handler = (db: TestDatabase) => taskBroadcastJob({ pool: db.pool, timeZone: JAKARTA, cutoffMinute: CUTOFF });

/** Runs the job at a wall-clock time in Jakarta ("YYYY-MM-DD HH:MM[:SS]"). */
async function runAt(job: JobHandler, local: string): Promise<JobResult> {
  const [date, time] = local.split(' ') as [string, string];
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const [hour, minute, second = 0] = time.split(':').map(Number) as [number, number, number?];
  const at = instantOf({ year, month, day, hour, minute, second }, JAKARTA);
  return (await job({ job: 'task-broadcast', slot: at, trigger: 'schedule', date: null, clock: fixedClock(at), logger: silentLogger() })) ?? {};
}

interface Row { id: number; recipient: string; content: string; type: string; session: string | null; priority: number }

async function rowsAfter(db: TestDatabase, id: number): Promise<Row[]> {
  return (await db.pool.query<Row>('SELECT id, recipient, content, type, session, priority FROM wa_outbox WHERE id > $1 ORDER BY id', [id])).rows;
}

async function lastId(db: TestDatabase): Promise<number> {
  return (await db.pool.query<{ id: number }>('SELECT coalesce(max(id), 0)::int AS id FROM wa_outbox')).rows[0]!.id;
}

/** The run times from 06:00 every 30 minutes up to and including `last`. */
function halfHours(last: string): string[] {
  const times: string[] = [];
  for (let m = 6 * 60; ; m += 30) {
    const t = `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    times.push(t);
    if (t === last) return times;
  }
}

/** The numbered link lines of one section ("Instagram" or "Tiktok") of a broadcast. */
function linkLines(content: string, section: 'Instagram' | 'Tiktok'): string[] {
  const start = content.indexOf(`Jumlah konten ${section} hari ini`);
  const rincian = content.indexOf('Rincian:\n', start) + 'Rincian:\n'.length;
  return content.slice(rincian, content.indexOf('\n\n', rincian)).split('\n').filter((l) => /^\d+\. /.test(l));
}

const isNew = (lines: string[]) => lines.filter((l) => l.includes('[BARU]')).map((l) => /\/(?:p|video)\/([^ ]+)/.exec(l)![1]);

describe('task broadcasts to unit groups', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('task_broadcasts');
    await loadCiceroTables(db.pool);
    await migrate(db.pool, silentLogger());
    await db.pool.query(`
      UPDATE clients SET client_tiktok = '@polres.a' WHERE client_id = 'POLRES_A';
      INSERT INTO clients (client_id, nama, client_status, client_group, client_insta_status, client_tiktok_status) VALUES
        ('POLRES_B', 'Polres B', true, '${GROUP_B}', true, true),
        ('POLRES_OFF', 'Polres Nonaktif', false, '120363000000000003@g.us', true, true),
        ('POLRES_NOSOSMED', 'Polres Tanpa Sosmed', true, '120363000000000004@g.us', false, false),
        ('POLRES_NOGROUP', 'Polres Tanpa Grup', true, NULL, true, true);`);
  });
  after(async () => db.drop());

  it('broadcasts at the runs where posts appeared, with [BARU] on the new links only; a restart at 09:00 repeats nothing; nothing after 17:15', async () => {
    const day = '2026-11-26';
    // When each post appears in Cicero_V2's tables (its created_at is its upload time, a few minutes earlier).
    const posts: Array<{ at: string; sql: string }> = [
      { at: '08:00', sql: `INSERT INTO insta_post VALUES ('IG_A1', 'POLRES_A', 'Apel', '${day} 07:52');
                           INSERT INTO tiktok_post VALUES ('7300000000000000101', 'POLRES_B', 'Patroli', 0, 0, '${day} 07:58');
                           INSERT INTO insta_post VALUES ('IG_OFF', 'POLRES_OFF', 'x', '${day} 07:50');
                           INSERT INTO insta_post VALUES ('IG_NOSOSMED', 'POLRES_NOSOSMED', 'x', '${day} 07:50');
                           INSERT INTO insta_post VALUES ('IG_NOGROUP', 'POLRES_NOGROUP', 'x', '${day} 07:50');` },
      { at: '08:30', sql: `INSERT INTO tiktok_post VALUES ('7300000000000000102', 'POLRES_A', 'Binmas', 0, 0, '${day} 08:21')` },
      // Likes and comments coming in change no link: no broadcast.
      { at: '09:30', sql: `INSERT INTO insta_like VALUES ('IG_A1', '["satu", "@dua", {"username": "tiga"}, "", 7]', '${day} 09:20');
                           INSERT INTO tiktok_comment VALUES ('7300000000000000102', '["x", "y"]', '${day} 09:20')` },
      { at: '10:00', sql: `INSERT INTO insta_post VALUES ('IG_A3', 'POLRES_A', 'Sosialisasi', '${day} 09:47');
                           INSERT INTO insta_post VALUES ('IG_B2', 'POLRES_B', 'Sambang', '${day} 09:55')` },
      // After the cut-off: never broadcast that day.
      { at: '17:20', sql: `INSERT INTO insta_post VALUES ('IG_A4', 'POLRES_A', 'Malam', '${day} 17:18')` },
    ];
    let job = handler(db);
    const sentAt = new Map<string, Row[]>();
    const results = new Map<string, JobResult>();
    const appeared = new Set<string>();
    for (const time of halfHours('17:30')) {
      for (const post of posts.filter((p) => p.at <= time && !appeared.has(p.at))) {
        await db.pool.query(post.sql);
        appeared.add(post.at);
      }
      if (time === '09:00') job = handler(db); // a restart: new handler, same database
      const before = await lastId(db);
      results.set(time, await runAt(job, `${day} ${time}`));
      const rows = await rowsAfter(db, before);
      if (rows.length) sentAt.set(time, rows);
      assert.equal(results.get(time)!.enqueued, rows.length, `${time}: enqueued says what was written`);
    }

    assert.deepEqual([...sentAt.keys()], ['08:00', '08:30', '10:00'], 'broadcasts go at the runs that saw new posts, and only then');
    const groups = (time: string) => sentAt.get(time)!.map((r) => r.recipient);
    assert.deepEqual(groups('08:00'), [GROUP_A, GROUP_B], 'one per unit, never for inactive units, units without Instagram and TikTok, or without a group');
    assert.deepEqual(groups('08:30'), [GROUP_A]);
    assert.deepEqual(groups('10:00'), [GROUP_A, GROUP_B]);
    for (const row of [...sentAt.values()].flat()) {
      assert.equal(row.type, 'task-broadcast');
      assert.equal(row.session, null, 'the router picks a number in the group');
      assert.equal(row.priority, priorityValue('bulk'));
    }

    const a = (time: string) => sentAt.get(time)![0]!.content;
    assert.deepEqual(isNew(linkLines(a('08:00'), 'Instagram')), ['IG_A1']);
    assert.deepEqual(linkLines(a('08:00'), 'Tiktok'), []);
    assert.deepEqual(isNew(linkLines(a('08:30'), 'Instagram')), [], 'IG_A1 was in the last broadcast');
    assert.deepEqual(isNew(linkLines(a('08:30'), 'Tiktok')), ['7300000000000000102']);
    assert.deepEqual(isNew(linkLines(a('10:00'), 'Instagram')), ['IG_A3']);
    assert.deepEqual(isNew(linkLines(a('10:00'), 'Tiktok')), []);
    assert.deepEqual(linkLines(a('10:00'), 'Instagram'), [
      '1. https://www.instagram.com/p/IG_A1 (upload 07:52 WIB) : 3 likes',
      '2. [BARU] https://www.instagram.com/p/IG_A3 (upload 09:47 WIB) : 0 likes',
    ]);
    const b = sentAt.get('10:00')![1]!.content;
    assert.deepEqual(isNew(linkLines(b, 'Instagram')), ['IG_B2']);
    assert.deepEqual(isNew(linkLines(b, 'Tiktok')), [], 'the TikTok video went at 08:00');
    assert.match(b, /^1\. https:\/\/www\.tiktok\.com\/video\/7300000000000000101 \(upload 07:58 WIB\) : 0 komentar$/m, 'no TikTok account: the link without it');

    const golden = path.join(REPO_ROOT, 'test/golden/task-broadcast-polres-a.txt');
    if (process.env.UPDATE_GOLDEN) await fs.writeFile(golden, a('10:00'));
    assert.equal(a('10:00'), await fs.readFile(golden, 'utf8'), "Cicero_V2's wording, exactly");

    assert.match(results.get('09:00')!.detail!, /no broadcast; 2 unit\(s\) unchanged; 1 unit\(s\) without a group$/);
    assert.match(results.get('17:00')!.detail!, /^2026-11-26 17:00 WIB: no broadcast/);
    assert.equal(results.get('17:30')!.detail, '2026-11-26 17:30 WIB: past the cut-off 17:15 WIB (TASK_BROADCAST_CUTOFF): nothing is broadcast until tomorrow');
    const state = await db.pool.query(`SELECT client_id, ig_shortcodes, tiktok_video_ids, broadcasts FROM wa_task_broadcasts WHERE day = $1 ORDER BY client_id`, [day]);
    assert.deepEqual(state.rows, [
      { client_id: 'POLRES_A', ig_shortcodes: ['IG_A1', 'IG_A3'], tiktok_video_ids: ['7300000000000000102'], broadcasts: 3 },
      { client_id: 'POLRES_B', ig_shortcodes: ['IG_B2'], tiktok_video_ids: ['7300000000000000101'], broadcasts: 2 },
    ]);

    // The next day starts afresh: yesterday's posts are not today's.
    const next = await runAt(handler(db), '2026-11-27 06:00');
    assert.equal(next.enqueued, 0);
  });

  it('sends nothing from the cut-off on: 17:14:59 goes, 17:15:00 does not', async () => {
    await db.pool.query(`INSERT INTO insta_post VALUES ('IG_CUT1', 'POLRES_A', 'x', '2026-12-01 17:10'), ('IG_CUT2', 'POLRES_A', 'x', '2026-12-02 17:10')`);
    assert.equal((await runAt(handler(db), '2026-12-01 17:14:59')).enqueued, 1);
    const at = await runAt(handler(db), '2026-12-02 17:15:00');
    assert.equal(at.enqueued, 0);
    assert.match(at.detail!, /past the cut-off 17:15 WIB/);
    const later = taskBroadcastJob({ pool: db.pool, timeZone: JAKARTA, cutoffMinute: 18 * 60 });
    assert.equal((await runAt(later, '2026-12-02 17:15:00')).enqueued, 1, 'a later TASK_BROADCAST_CUTOFF lets it go');
  });

  it('gives a group at most one broadcast per run: two units of one group, the second at the next run', async () => {
    const shared = '120363000000000010@g.us';
    const day = '2026-12-03';
    await db.pool.query(`
      INSERT INTO clients (client_id, nama, client_group) VALUES ('SAT_C', 'Sat C', '${shared}'), ('SAT_D', 'Sat D', ' ${shared} ');
      INSERT INTO insta_post VALUES ('IG_C1', 'SAT_C', 'x', '${day} 07:00'), ('IG_D1', 'SAT_D', 'x', '${day} 07:05');`);
    const job = handler(db);
    const first = await lastId(db);
    const r1 = await runAt(job, `${day} 07:30`);
    assert.equal(r1.heldBack, 1);
    assert.match(r1.detail!, /held back for the next run \(one broadcast per group per run\): SAT_D \(120363000000000010@g\.us\)/);
    const rows1 = (await rowsAfter(db, first)).filter((r) => r.recipient === shared);
    assert.equal(rows1.length, 1);
    assert.match(rows1[0]!.content, /SAT C\n/);

    const second = await lastId(db);
    const r2 = await runAt(job, `${day} 08:00`);
    assert.equal(r2.heldBack, undefined);
    const rows2 = (await rowsAfter(db, second)).filter((r) => r.recipient === shared);
    assert.equal(rows2.length, 1);
    assert.match(rows2[0]!.content, /SAT D\n/);
    assert.equal((await runAt(job, `${day} 08:30`)).enqueued, 0, 'both have had theirs');
  });

  it('skips a unit without a name or with a group id that is none, saying why, and broadcasts the others', async () => {
    const day = '2026-12-04';
    await db.pool.query(`
      INSERT INTO clients (client_id, nama, client_group) VALUES ('SAT_NONAME', '  ', '120363000000000020@g.us'),
        ('SAT_BADGROUP', 'Sat Grup Salah', 'https://chat.whatsapp.com/AbCdEf'), ('SAT_DIGITS', 'Sat Angka', '120363000000000021');
      INSERT INTO insta_post VALUES ('IG_N1', 'SAT_NONAME', 'x', '${day} 07:00'), ('IG_G1', 'SAT_BADGROUP', 'x', '${day} 07:00'),
        ('IG_DG1', 'SAT_DIGITS', 'x', '${day} 07:00'), ('IG_A5', 'POLRES_A', 'x', '${day} 07:00');`);
    const before = await lastId(db);
    const result = await runAt(handler(db), `${day} 07:30`);
    assert.match(result.detail!, /SAT_BADGROUP: client_group "https:\/\/chat\.whatsapp\.com\/AbCdEf" is not a WhatsApp group id/);
    assert.match(result.detail!, /SAT_NONAME: clients\.nama is empty/);
    const rows = await rowsAfter(db, before);
    assert.deepEqual(rows.map((r) => r.recipient).sort(), [GROUP_A, '120363000000000021@g.us'], "a group's number alone is taken, as Cicero_V2 takes it");
    assert.equal(result.enqueued, 2);
  });

  it('keeps the state in the database: a second run at once (another instance) sends nothing', async () => {
    const day = '2026-12-05';
    await db.pool.query(`INSERT INTO insta_post VALUES ('IG_P1', 'POLRES_B', 'x', '${day} 07:00')`);
    const results = await Promise.all([runAt(handler(db), `${day} 07:30`), runAt(handler(db), `${day} 07:30`)]);
    assert.equal(results.reduce((sum, r) => sum + (r.enqueued ?? 0), 0), 1);
    // The unit and day are locked while one decides: the other then finds the state written, not a repeat.
    assert.equal(results.filter((r) => /POLRES_B \(1 \[BARU\]\)/.test(r.detail!)).length, 1);
    assert.equal(results.filter((r) => r.detail!.includes('not sent again')).length, 0, results.map((r) => r.detail).join('\n'));
    const state = await db.pool.query(`SELECT broadcasts FROM wa_task_broadcasts WHERE client_id = 'POLRES_B' AND day = $1`, [day]);
    assert.deepEqual(state.rows, [{ broadcasts: 1 }]);
  });

  it('waits for another run deciding the same unit and day, then finds what it wrote', async () => {
    const day = '2026-12-07';
    await db.pool.query(`INSERT INTO insta_post VALUES ('IG_L1', 'POLRES_B', 'x', '${day} 07:00')`);
    const other = await db.pool.connect();
    try {
      // Another run holds POLRES_B's day and is about to record the broadcast it enqueued.
      await other.query('BEGIN');
      await lockUnitDay(other, 'POLRES_B', day);
      const run = runAt(handler(db), `${day} 07:30`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await recordBroadcast(other, { clientId: 'POLRES_B', day, igShortcodes: ['IG_L1'], tiktokVideoIds: [], groupId: GROUP_B, outboxId: 0, newMessage: true, at: new Date() });
      await other.query('COMMIT');
      const result = await run;
      assert.equal(result.enqueued, 0, result.detail);
    } finally {
      other.release();
    }
  });

  it('does not send a group a set of links it was already sent that day (a post removed, then back)', async () => {
    const day = '2026-12-06';
    const job = handler(db);
    await db.pool.query(`INSERT INTO insta_post VALUES ('IG_R1', 'POLRES_B', 'x', '${day} 07:00')`);
    assert.equal((await runAt(job, `${day} 07:30`)).enqueued, 1);
    await db.pool.query(`INSERT INTO insta_post VALUES ('IG_R2', 'POLRES_B', 'x', '${day} 07:40')`);
    assert.equal((await runAt(job, `${day} 08:00`)).enqueued, 1);
    await db.pool.query(`DELETE FROM insta_post WHERE shortcode = 'IG_R2'`);
    const back = await runAt(job, `${day} 08:30`);
    assert.equal(back.enqueued, 0);
    assert.match(back.detail!, /same links as an earlier broadcast today, not sent again: POLRES_B/);
    const rows = await db.pool.query(`SELECT count(*)::int AS n FROM wa_outbox WHERE type = 'task-broadcast' AND recipient = $1 AND content LIKE '%IG_R1%'`, [GROUP_B]);
    assert.equal(rows.rows[0].n, 2);
    assert.equal((await runAt(job, `${day} 09:00`)).enqueued, 0, 'the state is the set it has now: nothing changed since');
  });
});

describe('task broadcast configuration', () => {
  it('runs every 30 minutes from 06:00, shared, not caught up', () => {
    const spec = JOBS.find((j) => j.name === 'task-broadcast')!;
    assert.deepEqual([spec.variable, spec.defaultExpression, spec.shared, spec.catchUp], ['TASK_BROADCAST_CRON', '0,30 6-17 * * *', true, false]);
    assert.equal(parseConfig({}, '/srv').cron.schedules['task-broadcast'], '0,30 6-17 * * *');
  });

  it('TASK_BROADCAST_CUTOFF: HH:MM in CRON_TIMEZONE, default 17:15; anything else named in the error', () => {
    assert.equal(parseConfig({}, '/srv').taskBroadcast.cutoffMinute, 17 * 60 + 15);
    assert.equal(parseConfig({ TASK_BROADCAST_CUTOFF: '16:45' }, '/srv').taskBroadcast.cutoffMinute, 16 * 60 + 45);
    for (const bad of ['17.15', '24:00', '5:30', '17:15-18:00']) {
      assert.throws(() => parseConfig({ TASK_BROADCAST_CUTOFF: bad }, '/srv'), /TASK_BROADCAST_CUTOFF=.*expected a time of day "HH:MM"/, bad);
    }
    assert.throws(() => parseConfig({ TASK_BROADCAST_CUTOFF: '' }, '/srv'), /TASK_BROADCAST_CUTOFF="" is invalid/);
  });
});
