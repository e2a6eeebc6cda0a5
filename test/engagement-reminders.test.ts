/**
 * Personal engagement reminders on a real PostgreSQL with Cicero_V2-shaped data and a fixed clock: the
 * reminder day (17:05, 17:35, a third run at 18:05, restarts between them), the pacing by the governor
 * with its default settings (release ticks never put more in the outbox than the budgets allow; every
 * released message gets its permit on its first try), and the rules at their edges (REMINDER_UNITS,
 * a day without posts, no handle, `@` and case).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../src/config/index.js';
import type { GovernorConfig } from '../src/config/types.js';
import { greeting } from '../src/features/greeting.js';
import { planEnd } from '../src/features/reminders/day.js';
import { reminderHandlers, type ReminderOptions } from '../src/features/reminders/index.js';
import { Governor } from '../src/governor/governor.js';
import { recordInbound } from '../src/sessions/affinity.js';
import { addSession } from '../src/sessions/registry.js';
import type { JobContext, JobName, JobResult } from '../src/jobs.js';
import { fixedClock, type Clock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { DAY, IG_LINK, TT, TT_LINK, lastId, links, missingOf, outboxSince, personOf, seedDay, setEngagement, wib } from './helpers/reminder-day.js';

const JAKARTA = 'Asia/Jakarta';

function defaults(overrides: Partial<GovernorConfig> = {}): GovernorConfig {
  return { ...parseConfig({}, '/srv').governor, ...overrides };
}
/** Budgets that let everything go at once. */
const OPEN: Partial<GovernorConfig> = { perMinute: 1000, perHour: 10_000, perDay: 100_000, warmup: null, coldPerDay: 10_000, coldGapMs: [0, 0] };

function context(slot: Date, clock: Clock, job = 'engagement-reminder'): JobContext {
  return { job: job as JobName, slot, trigger: 'schedule', date: null, clock, logger: silentLogger() };
}

/** A new instance of everything (what a restart makes): governor and handlers on the same database. */
function instance(db: TestDatabase, clock: Clock, governorConfig: GovernorConfig, extra: Partial<ReminderOptions> = {}) {
  const governor = new Governor({ pool: db.pool, config: governorConfig, timeZone: JAKARTA, clock, logger: silentLogger() });
  const handlers = reminderHandlers({
    pool: db.pool, timeZone: JAKARTA, units: ['DITBINMAS', 'BIDHUMAS'], defaultCountryCode: '62', governor, governorConfig,
    times: async () => ['17:05', '17:35'], ...extra,
  });
  return { governor, ...handlers };
}

describe('engagement reminders', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('reminders', { migrated: true });
    await loadCiceroTables(db.pool);
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query(`TRUNCATE wa_outbox, wa_reminder_state, wa_reminder_plan, wa_reminder_runs, wa_governor_sends, wa_session_guard, wa_inbox, wa_chat_affinity RESTART IDENTITY CASCADE; DELETE FROM wa_sessions;
      DELETE FROM insta_like WHERE shortcode <> 'C0ABC'; DELETE FROM tiktok_comment WHERE video_id <> '7300000000000000001';
      DELETE FROM insta_post WHERE shortcode <> 'C0ABC'; DELETE FROM tiktok_post WHERE video_id <> '7300000000000000001';
      DELETE FROM "user" WHERE user_id <> '75010001'; DELETE FROM clients WHERE client_id <> 'POLRES_A';`);
  });

  it('the reminder day: 17:05, 17:35 and 18:05 with restarts between, each link list exact, one thank-you each', async () => {
    await seedDay(db);
    const open = defaults(OPEN);
    const times = async () => ['17:05', '17:35', '18:05'];

    // 17:05
    let clock = fixedClock(wib('17:05'));
    let run = instance(db, clock, open, { times });
    const first = (await run.remind(context(wib('17:05'), clock))) as JobResult;
    const at1705 = await outboxSince(db, 0);
    const thanks1 = at1705.filter((r) => r.type === 'engagement-thanks');
    const reminders1 = at1705.filter((r) => r.type === 'engagement-reminder');
    assert.equal(thanks1.length, 40);
    assert.equal(reminders1.length, 80);
    assert.equal(first.enqueued, 120);
    assert.match(first.detail!, /17:05 2026-11-25: 80 reminder\(s\) and 40 thank-you\(s\) planned until 2026-11-25 17:35:00 WIB/);
    assert.deepEqual(new Set(thanks1.map((r) => personOf(r.recipient))), new Set(Array.from({ length: 40 }, (_, i) => i)));
    for (const r of reminders1) assert.deepEqual(links(r.content), missingOf(personOf(r.recipient)), `links of ${r.recipient}`);
    assert.ok(at1705.every((r) => r.session === null && r.priority === at1705[0]!.priority), 'session left to the router, one priority');
    assert.equal((await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE priority = (SELECT priority FROM wa_outbox WHERE id = $1)", [at1705[0]!.id])).rows[0].n, 120);
    const person65 = reminders1.find((r) => personOf(r.recipient) === 65)!;
    assert.equal(person65.content, [
      'Selamat Sore, Bapak/Ibu BRIPKA Person 65', '', '👋 Pengingat engagement harian', '',
      'Konten Instagram yang perlu diselesaikan:', `1. ${IG_LINK('DqIgPost1')}`, `2. ${IG_LINK('DqIgPost3')}`, '',
      'Konten TikTok yang perlu diselesaikan:', `1. ${TT_LINK(TT[0]!)}`, '',
      '1️⃣ Pastikan setiap unggahan mendapat dukungan likes sesuai target.', '2️⃣ Tambahkan komentar positif dan relevan pada konten terbaru.', '',
      'Balas *notifwa#off* jika ingin berhenti menerima pengingat otomatis.',
    ].join('\n'));
    assert.equal(thanks1[0]!.content, `Selamat Sore, Bapak/Ibu BRIPKA Person ${personOf(thanks1[0]!.recipient)}\n\nTerimakasih, Tugas Likes dan komentar hari ini sudah dilaksanakan semua`);
    assert.ok(at1705.every((r) => !r.recipient.startsWith('62813') && !r.recipient.startsWith('62814')), 'another unit and those not opted in get nothing');
    await db.pool.query("UPDATE wa_outbox SET status = 'sent', sent_at = $1", [wib('17:06')]);

    // 25 more are done by 17:35; a restart between the runs.
    await setEngagement(db, (i) => i < 65);
    clock = fixedClock(wib('17:35'));
    run = instance(db, clock, open, { times });
    const mark = await lastId(db);
    await run.remind(context(wib('17:35'), clock));
    const at1735 = await outboxSince(db, mark);
    assert.equal(at1735.filter((r) => r.type === 'engagement-reminder').length, 55);
    assert.deepEqual(new Set(at1735.filter((r) => r.type === 'engagement-thanks').map((r) => personOf(r.recipient))), new Set(Array.from({ length: 25 }, (_, i) => 40 + i)));
    for (const r of at1735.filter((x) => x.type === 'engagement-reminder')) assert.deepEqual(links(r.content), missingOf(personOf(r.recipient)));

    // A restart and the same run again, and a release tick: nothing repeats.
    run = instance(db, clock, open, { times });
    await run.remind(context(wib('17:35'), clock));
    await run.release(context(wib('17:35'), clock, 'reminder-release'));
    assert.equal(await lastId(db), mark + 80);
    await db.pool.query("UPDATE wa_outbox SET status = 'sent', sent_at = $1 WHERE status = 'pending'", [wib('17:36')]);

    // 18:05, a third time (from the schedule's list): the 55 again, in the evening's greeting.
    clock = fixedClock(wib('18:05'));
    run = instance(db, clock, open, { times });
    await run.remind(context(wib('18:05'), clock));
    const at1805 = await outboxSince(db, mark + 80);
    assert.equal(at1805.length, 55);
    assert.ok(at1805.every((r) => r.type === 'engagement-reminder' && r.content.startsWith('Selamat Malam, Bapak/Ibu BRIPKA Person ')));

    const { rows: thanksPerPerson } = await db.pool.query("SELECT recipient, count(*)::int AS n FROM wa_outbox WHERE type = 'engagement-thanks' GROUP BY 1 HAVING count(*) > 1");
    assert.deepEqual(thanksPerPerson, [], 'nobody gets a second thank-you');
    const { rows: stages } = await db.pool.query("SELECT stage, reminders, count(*)::int AS n FROM wa_reminder_state WHERE day = $1 GROUP BY 1, 2 ORDER BY 1, 2", [DAY]);
    assert.deepEqual(stages, [{ stage: 'reminded', reminders: 3, n: 55 }, { stage: 'thanked', reminders: 0, n: 40 }, { stage: 'thanked', reminders: 1, n: 25 }]);
    const { rows: runs } = await db.pool.query("SELECT to_char(slot AT TIME ZONE 'Asia/Jakarta', 'HH24:MI') AS slot, planned_thanks, planned_reminders, released_thanks, released_reminders, expired, waiting FROM wa_reminder_runs ORDER BY slot");
    assert.deepEqual(runs, [
      { slot: '17:05', planned_thanks: 40, planned_reminders: 80, released_thanks: 40, released_reminders: 80, expired: 0, waiting: 0 },
      { slot: '17:35', planned_thanks: 25, planned_reminders: 55, released_thanks: 25, released_reminders: 55, expired: 0, waiting: 0 },
      { slot: '18:05', planned_thanks: 0, planned_reminders: 55, released_thanks: 0, released_reminders: 55, expired: 0, waiting: 0 },
    ]);
  });

  it('the default governor, recipients cold: one at a time, the warm-up\'s 20 on a new number, the rest expired at quiet hours and reported', async () => {
    await seedDay(db);
    const result = await paceDay(db, defaults(), { warm: false, from: '17:05', times: ['17:05'] });
    assert.equal(result.deferred, 0, 'no released message is deferred by the governor');
    assert.equal(result.maxPendingPerTick, 1, 'one cold message due at a time');
    assert.equal(result.sent, 20, "the warm-up's first day allows 20");
    assert.match(result.reportBeforeEnd.waiting_reason, /warm-up's day 1 \(WA_WARMUP_SCHEDULE\)/);
    assert.equal(result.reportBeforeEnd.waiting, 100);
    assert.deepEqual(result.finalReport, { released: 20, expired: 100, waiting: 0 });
    assert.match(result.lastDetail, /100 expired unsent/);
  });

  it('the default governor without warm-up, recipients cold: exactly WA_COLD_PER_DAY (50) by quiet hours, a message a minute', async () => {
    await seedDay(db);
    const result = await paceDay(db, defaults({ warmup: null }), { warm: false, from: '17:05', times: ['17:05'] });
    assert.equal(result.deferred, 0);
    assert.equal(result.maxPendingPerTick, 1);
    assert.equal(result.sent, 50);
    assert.match(result.reportBeforeEnd.waiting_reason, /\(WA_COLD_PER_DAY\) reached/);
    assert.deepEqual(result.finalReport, { released: 50, expired: 70, waiting: 0 });
  });

  it('the default governor without warm-up, recipients warm: 8 a minute, then 120 an hour, never deferred', async () => {
    await seedDay(db);
    const result = await paceDay(db, defaults({ warmup: null }), { warm: true, from: '17:05', times: ['17:05', '17:35'] });
    assert.equal(result.deferred, 0);
    assert.equal(result.maxPendingPerTick, 8, 'WA_BUDGET_PER_MINUTE a tick');
    // 8 at the run (17:05), then 8 at each tick from 17:06 to 17:19: all 120 before the plan ends at 17:35.
    assert.deepEqual(result.releasedPerTick.slice(0, 15), [...Array(14).fill(8), 0]);
    assert.equal(result.sent, 120);
    assert.deepEqual(result.finalReport, { released: 120, expired: 0, waiting: 0 });
  });

  it('what was released and still waits is taken off the next slice; a pause and quiet hours release nothing; released but unsent at the plan\'s end is cancelled; the report says it all', async () => {
    await seedDay(db);
    await db.pool.query(
      `INSERT INTO wa_inbox (session, wa_message_id, chat_id, is_group, sender_id, body, sent_at)
       SELECT 'default', 'in-' || i, '62812' || (70000000 + i)::text || '@c.us', false, 'x', 'halo', $1::timestamptz - interval '2 days' FROM generate_series(0, 119) i`,
      [wib('17:05')],
    );
    let now = wib('17:05').getTime();
    const clock: Clock = { now: () => new Date(now) };
    const run = instance(db, clock, defaults({ warmup: null }));
    await run.remind(context(wib('17:05'), clock));
    assert.equal(await lastId(db), 8, 'WA_BUDGET_PER_MINUTE');
    // Nothing was sent (WhatsApp away): the next ticks add nothing.
    now += 60_000;
    const tick = (await run.release(context(new Date(now), clock, 'reminder-release'))) as JobResult;
    assert.equal(tick.enqueued, 0);
    assert.match(tick.detail!, /112 waiting: 8 released message\(s\) still waiting to be sent from default/);
    // Sent, then the session paused by an operator: nothing more while it is.
    await db.pool.query("UPDATE wa_outbox SET status = 'sent', sent_at = $1", [new Date(now)]);
    await run.governor.pause('default', 'uji');
    now += 60_000;
    const paused = (await run.release(context(new Date(now), clock, 'reminder-release'))) as JobResult;
    assert.equal(paused.enqueued, 0);
    const report = (await db.pool.query('SELECT waiting, waiting_reason FROM wa_reminder_runs')).rows[0];
    assert.equal(report.waiting, 112);
    assert.match(report.waiting_reason, /^session paused \(operator\)/);
    await run.governor.resume('default');
    now += 60_000;
    assert.equal(((await run.release(context(new Date(now), clock, 'reminder-release'))) as JobResult).enqueued, 8);

    // A run inside quiet hours (21:30): its plan ends at once, everything counted as expired, nothing sent.
    const late = fixedClock(wib('21:30'));
    const before = await lastId(db);
    const result = (await instance(db, late, defaults({ warmup: null })).remind(context(wib('21:30'), late))) as JobResult;
    assert.equal(await lastId(db), before);
    assert.match(result.detail!, /planned until 2026-11-25 21:30:00 WIB \(quiet hours \(WA_QUIET_HOURS\)\); 0 reminder\(s\) and 0 thank-you\(s\) released; \d+ expired unsent/);
    const { rows: runs } = await db.pool.query("SELECT to_char(slot AT TIME ZONE 'Asia/Jakarta', 'HH24:MI') AS slot, released_thanks + released_reminders AS released, expired, waiting FROM wa_reminder_runs ORDER BY slot");
    // The 8 released after the resume were never sent (nothing sends in this test): cancelled, not sent late.
    assert.equal((await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status = 'cancelled'")).rows[0].n, 8);
    assert.deepEqual(runs.map((r) => [r.slot, r.released, r.expired, r.waiting]), [['17:05', 8, 112, 0], ['21:30', 0, 120, 0]]);
  });

  it('several numbers: each slice is sized by the room of the number the person talks to', async () => {
    await seedDay(db);
    await db.pool.query('DELETE FROM wa_sessions');
    await addSession(db.pool, { name: 'utama', homeTypes: ['engagement-reminder', 'engagement-thanks'] });
    await addSession(db.pool, { name: 'kedua' });
    // Persons 0–59 wrote to 'kedua' yesterday; the others never wrote (home number: 'utama').
    for (let i = 0; i < 60; i++) await recordInbound(db.pool, `62812${70000000 + i}@c.us`, 'kedua', new Date(wib('17:05').getTime() - 86_400_000));
    await db.pool.query(
      `INSERT INTO wa_inbox (session, wa_message_id, chat_id, is_group, sender_id, body, sent_at)
       SELECT 'kedua', 'in-' || i, '62812' || (70000000 + i)::text || '@c.us', false, 'x', 'halo', $1::timestamptz - interval '1 day' FROM generate_series(0, 59) i`,
      [wib('17:05')],
    );
    const clock = fixedClock(wib('17:05'));
    const run = instance(db, clock, defaults({ warmup: null }));
    await run.governor.pause('utama', 'uji');
    const result = (await run.remind(context(wib('17:05'), clock))) as JobResult;
    const rows = await outboxSince(db, 0);
    assert.equal(rows.length, 8, "'kedua': WA_BUDGET_PER_MINUTE; 'utama' paused");
    assert.ok(rows.every((r) => personOf(r.recipient) < 60 && r.session === null), 'only people who talk to kedua; the router picks the number');
    const { rows: states } = await db.pool.query('SELECT DISTINCT session, cold FROM wa_reminder_state');
    assert.deepEqual(states, [{ session: 'kedua', cold: false }]);
    assert.match(result.detail!, /112 waiting: kedua: 8 messages in a minute \(WA_BUDGET_PER_MINUTE\) reached; utama: session paused \(operator\)/);
    const { rows: planned } = await db.pool.query('SELECT session, count(*)::int AS n FROM wa_reminder_plan GROUP BY 1 ORDER BY 1');
    assert.deepEqual(planned, [{ session: 'kedua', n: 52 }, { session: 'utama', n: 60 }]);
  });

  it('each message is read again when its turn comes: notifwa#off since withdraws it, done since makes it the thank-you', async () => {
    await seedDay(db);
    let now = wib('17:05').getTime();
    const clock: Clock = { now: () => new Date(now) };
    const run = instance(db, clock, defaults({ warmup: null }));
    await run.remind(context(wib('17:05'), clock));
    const first = await outboxSince(db, 0);
    assert.deepEqual(first.map((r) => [personOf(r.recipient), r.type]), [[40, 'engagement-reminder']], 'cold: one at a time');
    await db.pool.query("UPDATE wa_outbox SET status = 'sent', sent_at = $1", [new Date(now)]);
    await db.pool.query(`UPDATE "user" SET wa_notification_opt_in = false WHERE user_id = '80000041'`);
    await setEngagement(db, (i) => i < 40 || i === 42);

    now += 60_000;
    const tick = (await run.release(context(new Date(now), clock, 'reminder-release'))) as JobResult;
    assert.equal(tick.enqueued, 0);
    assert.match(tick.detail!, /1 no longer to be sent \(opted out or no longer a recipient\)/);
    now += 60_000;
    await run.release(context(new Date(now), clock, 'reminder-release'));
    const rows = await outboxSince(db, first[0]!.id);
    assert.deepEqual(rows.map((r) => [personOf(r.recipient), r.type]), [[42, 'engagement-thanks']]);
    const report = (await db.pool.query('SELECT planned_reminders, released_reminders, released_thanks, withdrawn FROM wa_reminder_runs')).rows[0];
    assert.deepEqual(report, { planned_reminders: 80, released_reminders: 1, released_thanks: 1, withdrawn: 1 });
  });

  it('REMINDER_UNITS=* reaches every unit with posts today; a unit id is matched whatever its case and spaces', async () => {
    await seedDay(db);
    await db.pool.query(`INSERT INTO clients (client_id, nama) VALUES ('polres_b ', 'Polres B (lower case)');
      UPDATE "user" SET client_id = 'polres_b ' WHERE user_id = '81000000'`);
    const clock = fixedClock(wib('17:05'));
    const open = defaults(OPEN);
    await instance(db, clock, open, { units: null }).remind(context(wib('17:05'), clock));
    const rows = await outboxSince(db, 0);
    assert.equal(rows.filter((r) => r.recipient.startsWith('62813')).length, 30, "POLRES_B's 30, the one filed under 'polres_b' too");
    assert.equal(rows.filter((r) => r.recipient.startsWith('62812')).length, 120);
    assert.equal(rows.filter((r) => r.recipient.startsWith('62814')).length, 0, 'never those not opted in');
    const other = rows.find((r) => r.recipient.startsWith('62813'))!;
    assert.deepEqual(links(other.content), ['https://www.instagram.com/p/PolresBPost'], 'only their own unit\'s post');
  });

  it('the greeting for the hour in WIB, capitalised, at each boundary', () => {
    const at = (hhmm: string) => greeting(wib(hhmm), JAKARTA, { capitalised: true });
    assert.deepEqual(['03:59', '04:00', '10:59', '11:00', '14:59', '15:00', '17:05', '17:59', '18:00'].map(at), [
      'Selamat Malam', 'Selamat Pagi', 'Selamat Pagi', 'Selamat Siang', 'Selamat Siang', 'Selamat Sore', 'Selamat Sore', 'Selamat Sore', 'Selamat Malam',
    ]);
  });

  it("a plan ends at the day's next reminder time, else at quiet hours or midnight; a run in quiet hours has no time at all", () => {
    const quiet = defaults().quietHours;
    const end = (slot: string, times: string[], q = quiet) => planEnd(wib(slot), times, q, JAKARTA);
    assert.deepEqual(end('17:05', ['17:35', '17:05', '18:05']), { at: wib('17:35'), by: 'the next reminder time 17:35' });
    assert.deepEqual(end('18:05', ['17:05', '17:35', '18:05']), { at: wib('21:00'), by: 'quiet hours (WA_QUIET_HOURS)' });
    assert.deepEqual(end('18:05', ['17:05'], null), { at: wib('00:00', '2026-11-26'), by: 'midnight' });
    assert.deepEqual(end('21:30', ['17:05']), { at: wib('21:30'), by: 'quiet hours (WA_QUIET_HOURS)' });
    assert.deepEqual(end('17:05', ['17:05'], { startMinute: 13 * 60, endMinute: 14 * 60 }), { at: wib('00:00', '2026-11-26'), by: 'midnight' }, 'quiet hours already past today');
  });

  it('REMINDER_UNITS: default, a list in any case, * and a bad value naming the variable', () => {
    assert.deepEqual(parseConfig({}).reminders.units, ['DITBINMAS', 'BIDHUMAS']);
    assert.deepEqual(parseConfig({ REMINDER_UNITS: ' ditbinmas , Polres_B' }).reminders.units, ['DITBINMAS', 'POLRES_B']);
    assert.equal(parseConfig({ REMINDER_UNITS: '*' }).reminders.units, null);
    for (const bad of ['DIT BINMAS', 'DITBINMAS;BIDHUMAS', 'DITBINMAS,,BIDHUMAS', '*,DITBINMAS']) {
      assert.throws(() => parseConfig({ REMINDER_UNITS: bad }), (err: unknown) => err instanceof ConfigError && /REMINDER_UNITS=.* is invalid: expected \* \(every unit\) or unit ids/.test(err.message), bad);
    }
  });

  it('a day without posts sends nothing, and says so', async () => {
    await seedDay(db);
    const clock = fixedClock(wib('17:05', '2026-11-26'));
    const result = (await instance(db, clock, defaults(OPEN)).remind(context(wib('17:05', '2026-11-26'), clock))) as JobResult;
    assert.equal(await lastId(db), 0);
    assert.equal(result.enqueued, 0);
    assert.match(result.detail!, /nothing to send \(no posts today/);
  });

  it('no handle: every link; handles match whatever their case and leading @, on either side', async () => {
    await db.pool.query(`
      INSERT INTO clients (client_id, nama, client_tiktok) VALUES ('BIDHUMAS', 'Bidhumas', NULL);
      INSERT INTO "user" (user_id, nama, title, insta, tiktok, whatsapp, client_id, status, wa_notification_opt_in) VALUES
        ('90000001', 'Tanpa Handle', 'AIPDA', NULL, '  ', '0812-7000-0001', 'BIDHUMAS', true, true),
        ('90000002', 'Huruf Besar', 'AIPTU', ' @Huruf.Besar ', '@TikTok_Besar', '0812 7000 0002', 'BIDHUMAS', true, true),
        ('90000003', 'Belum', 'BRIPKA', 'belum.like', 'belum_komen', '081270000003', 'BIDHUMAS', true, true),
        ('90000004', 'Tidak Aktif', 'BRIPKA', NULL, NULL, '081270000004', 'BIDHUMAS', false, true),
        ('90000005', 'Nomor Pendek', 'BRIPKA', NULL, NULL, '0812700', 'BIDHUMAS', true, true);
      INSERT INTO insta_post (shortcode, client_id, created_at) VALUES ('HumasIg', 'BIDHUMAS', '${DAY} 07:00');
      INSERT INTO tiktok_post (video_id, client_id, created_at) VALUES ('7500000000000000001', 'BIDHUMAS', '${DAY} 23:59');
      INSERT INTO insta_like (shortcode, likes) VALUES ('HumasIg', '["HURUF.BESAR", ""]');
      INSERT INTO tiktok_comment (video_id, comments) VALUES ('7500000000000000001', '[{"user": {"unique_id": "tiktok_besar"}}, null, 5]');
    `);
    const clock = fixedClock(wib('17:05'));
    await instance(db, clock, defaults(OPEN)).remind(context(wib('17:05'), clock));
    const rows = await outboxSince(db, 0);
    const by = (phone: string) => rows.find((r) => r.recipient === `62${phone}@c.us`);
    assert.equal(rows.length, 3, 'the inactive person and the short number get nothing');
    assert.deepEqual(links(by('81270000001')!.content), ['https://www.instagram.com/p/HumasIg', 'https://www.tiktok.com/video/7500000000000000001']);
    assert.ok(by('81270000001')!.content.startsWith('Selamat Sore, Bapak/Ibu AIPDA Tanpa Handle\n'));
    assert.equal(by('81270000002')!.type, 'engagement-thanks');
    assert.deepEqual(links(by('81270000003')!.content), ['https://www.instagram.com/p/HumasIg', 'https://www.tiktok.com/video/7500000000000000001']);
  });
});

/**
 * The run at `from`, then a release tick a minute until the plan's end and one after, each followed by
 * a stand-in dispatcher that asks the real governor for every pending reminder row (sent when allowed,
 * counted as deferred when not).
 */
async function paceDay(db: TestDatabase, config: GovernorConfig, options: { warm: boolean; from: string; times: string[] }) {
  if (options.warm) {
    await db.pool.query(
      `INSERT INTO wa_inbox (session, wa_message_id, chat_id, is_group, sender_id, body, sent_at)
       SELECT 'default', 'in-' || i, '62812' || (70000000 + i)::text || '@c.us', false, '62812' || (70000000 + i)::text || '@c.us', 'halo', $1::timestamptz - interval '2 days'
         FROM generate_series(0, 119) i`,
      [wib(options.from)],
    );
  }
  let now = wib(options.from).getTime();
  const clock: Clock = { now: () => new Date(now) };
  const run = instance(db, clock, config, { times: async () => options.times });
  let lastDetail = ((await run.remind(context(new Date(now), clock))) as JobResult).detail ?? '';
  let deferred = 0;
  let sent = 0;
  let maxPendingPerTick = 0;
  const releasedPerTick: number[] = [];
  let reportBeforeEnd: { waiting: number; waiting_reason: string } | null = null;
  const end = (await db.pool.query<{ at: Date }>('SELECT expires_at AS at FROM wa_reminder_runs ORDER BY slot DESC LIMIT 1')).rows[0]!.at.getTime();
  for (;;) {
    const { rows: pending } = await db.pool.query<{ id: number; recipient: string; content: string }>(
      "SELECT id::int, recipient, content FROM wa_outbox WHERE status = 'pending' AND type LIKE 'engagement-%' ORDER BY id",
    );
    maxPendingPerTick = Math.max(maxPendingPerTick, pending.length);
    for (const row of pending) {
      const permit = await run.governor.permit({ session: 'default', chatId: row.recipient, text: row.content, parts: 1, outboxId: row.id });
      if (!permit.ok) {
        deferred++;
        continue;
      }
      sent++;
      await db.pool.query("UPDATE wa_outbox SET status = 'sent', sent_at = $2 WHERE id = $1", [row.id, new Date(now)]);
    }
    now += 60_000;
    if (now > end) break;
    if (now + 60_000 > end) reportBeforeEnd = (await db.pool.query('SELECT waiting, waiting_reason FROM wa_reminder_runs ORDER BY slot DESC LIMIT 1')).rows[0];
    const tick = (await run.release(context(new Date(now), clock, 'reminder-release'))) as JobResult;
    releasedPerTick.push(tick.enqueued ?? 0);
    lastDetail = tick.detail ?? lastDetail;
  }
  const final = (await db.pool.query('SELECT released_thanks + released_reminders AS released, expired, waiting FROM wa_reminder_runs ORDER BY slot DESC LIMIT 1')).rows[0];
  return { deferred, sent, maxPendingPerTick, releasedPerTick, reportBeforeEnd: reportBeforeEnd ?? { waiting: 0, waiting_reason: '' }, finalReport: final, lastDetail };
}
