/**
 * The governor's per-message guards, each at its limit with its own small workload (real PostgreSQL, a
 * clock the test moves): the gap before a second message to someone who never wrote, the same text to
 * WA_SAME_TEXT_PER_HOUR people in an hour, WA_COLD_PER_DAY messages to people who never wrote, how
 * recently someone must have written to count as warm (WA_WARM_CONTACT_DAYS), quiet hours for groups
 * when asked (WA_QUIET_HOURS_GROUPS), and the warm-up starting again after WA_WARMUP_IDLE_DAYS of
 * silence. The settings are read from the environment as the service reads them.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parseConfig } from '../src/config/index.js';
import { Governor, type Permit } from '../src/governor/governor.js';
import type { Clock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const SESSION = 'default';
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** 08:00 WIB: outside the default quiet hours (21:00-06:00), and the day after stays outside too. */
const START = '2026-11-25T01:00:00Z';

function steppingClock(start: string): Clock & { set(at: number): void; at(): number } {
  let now = new Date(start).getTime();
  return { now: () => new Date(now), set: (at) => void (now = at), at: () => now };
}

const person = (n: number) => `62813200${String(n).padStart(5, '0')}@c.us`;

describe("the governor's per-message guards at their limits (real PostgreSQL, a clock the test moves)", () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('governor_guards', { migrated: true });
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE wa_governor_sends, wa_session_guard, wa_risk_events, wa_inbox, wa_outbox RESTART IDENTITY CASCADE');
  });
  after(async () => db.drop());

  /** A governor configured from these environment variables (the warm-up off: a number long in use). */
  function governorWith(env: Record<string, string>, clock: Clock): Governor {
    const config = parseConfig({ WA_WARMUP: 'false', ...env }, '/srv').governor;
    return new Governor({ pool: db.pool, config, timeZone: 'Asia/Jakarta', clock, logger: silentLogger() });
  }

  /** These people wrote to the number `ago` before `at` (a day by default): messages to them are not cold. */
  async function wrote(chatIds: string[], at: number, ago = DAY): Promise<void> {
    for (const chatId of chatIds) {
      await db.pool.query(
        `INSERT INTO wa_inbox (session, wa_message_id, chat_id, is_group, sender_id, sender_phone, body, sent_at) VALUES ($1, $2, $3, false, $3, $4, 'halo', $5)`,
        [SESSION, `in-${chatId}`, chatId, chatId.replace('@c.us', ''), new Date(at - ago)],
      );
    }
  }

  const ask = (governor: Governor, chatId: string, text: string) => governor.permit({ session: SESSION, chatId, text, parts: 1 });
  const held = (permit: Permit) => {
    assert.equal(permit.ok, false, 'held back');
    return permit as Extract<Permit, { ok: false }>;
  };

  it('two cold messages due together (WA_COLD_GAP_SECONDS at its default 30-60): the second waits 30 to 60 s, with the reason, and goes at the end of the gap', async () => {
    const clock = steppingClock(START);
    const governor = governorWith({}, clock);
    assert.deepEqual(parseConfig({}, '/srv').governor.coldGapMs, [30_000, 60_000], 'the default gap is 30-60 s');
    const first = await ask(governor, person(1), 'Selamat pagi, ada tugas baru');
    assert.ok(first.ok && first.cold, 'the first message to someone who never wrote goes, counted cold');

    const second = held(await ask(governor, person(2), 'Selamat pagi, ada tugas baru juga'));
    assert.equal(second.scope, 'message', 'only this message waits');
    assert.match(second.reason, /^a gap of \d+ s between messages to people who have not written \(WA_COLD_GAP_SECONDS\)$/);
    const gap = second.until!.getTime() - clock.at();
    assert.ok(gap >= 30_000 && gap <= 60_000, `the gap is ${gap} ms`);
    assert.equal(second.reason, `a gap of ${Math.round(gap / 1000)} s between messages to people who have not written (WA_COLD_GAP_SECONDS)`);
    assert.ok((await ask(governor, '120363000000001@g.us', 'Rekap grup')).ok, 'a group keeps its pace in between');

    clock.set(second.until!.getTime() - 1);
    held(await ask(governor, person(2), 'Selamat pagi, ada tugas baru juga'));
    clock.set(second.until!.getTime());
    const then = await ask(governor, person(2), 'Selamat pagi, ada tugas baru juga');
    assert.ok(then.ok && then.cold, 'it goes when the gap is over');
  });

  it('the same text to 21 people within an hour (WA_SAME_TEXT_PER_HOUR=20): the first 20 go, the 21st waits until the first leaves the hour, with the reason', async () => {
    const clock = steppingClock(START);
    const start = clock.at();
    const governor = governorWith({ WA_SAME_TEXT_PER_HOUR: '20' }, clock);
    const people = Array.from({ length: 21 }, (_, i) => person(100 + i));
    await wrote(people, start); // people who wrote: neither the cold gap nor the cold budget plays a part
    const text = 'Pemberitahuan: tugas baru dari Ditbinmas';
    for (let i = 0; i < 20; i++) {
      clock.set(start + i * 2 * MINUTE); // two minutes apart: within every session budget
      const permit = await ask(governor, people[i]!, text);
      assert.ok(permit.ok && !permit.cold, `message ${i + 1} of 20 goes`);
    }
    clock.set(start + 40 * MINUTE);
    const last = held(await ask(governor, people[20]!, text));
    assert.equal(last.scope, 'message');
    assert.equal(last.reason, 'the same text to 20 people in an hour (WA_SAME_TEXT_PER_HOUR) reached');
    assert.equal(last.until?.getTime(), start + HOUR, 'until the first of them leaves the hour');
    assert.ok((await ask(governor, people[20]!, 'Pesan lain untuk Anda')).ok, 'another text to the same person goes');

    clock.set(start + HOUR - 1);
    held(await ask(governor, people[20]!, text));
    clock.set(start + HOUR);
    assert.ok((await ask(governor, people[20]!, text)).ok, 'the 21st goes once the first left the hour');
  });

  it('WA_COLD_PER_DAY=3: three cold messages go, the 4th waits until a day after the first, with the reason; someone who wrote is not held', async () => {
    const clock = steppingClock(START);
    const start = clock.at();
    const governor = governorWith({ WA_COLD_PER_DAY: '3' }, clock);
    await wrote([person(900)], start);
    for (let i = 0; i < 3; i++) {
      clock.set(start + i * 2 * MINUTE); // beyond the cold gap (at most 60 s)
      const permit = await ask(governor, person(200 + i), `Pesan ${i}`);
      assert.ok(permit.ok && permit.cold, `cold message ${i + 1} of 3 goes`);
    }
    clock.set(start + 6 * MINUTE);
    const fourth = held(await ask(governor, person(203), 'Pesan 3'));
    assert.equal(fourth.scope, 'message');
    assert.equal(fourth.reason, '3 messages a day to people who have not written (WA_COLD_PER_DAY) reached');
    assert.equal(fourth.until?.getTime(), start + DAY, 'a day after the first');
    const warm = await ask(governor, person(900), 'Balasan');
    assert.ok(warm.ok && !warm.cold, 'a message to someone who wrote goes meanwhile');

    clock.set(start + DAY - 1);
    held(await ask(governor, person(203), 'Pesan 3'));
    clock.set(start + DAY);
    const next = await ask(governor, person(203), 'Pesan 3');
    assert.ok(next.ok && next.cold, 'the 4th goes a day after the first');
  });

  it('WA_WARM_CONTACT_DAYS=30: someone who wrote 29 days 23 h ago is warm; 30 days 1 h ago, cold (the cold gap and budget apply)', async () => {
    const clock = steppingClock(START);
    const start = clock.at();
    const governor = governorWith({ WA_WARM_CONTACT_DAYS: '30', WA_COLD_PER_DAY: '1' }, clock);
    await wrote([person(300)], start, 30 * DAY - HOUR);
    await wrote([person(301)], start, 30 * DAY + HOUR);
    const warm = await ask(governor, person(300), 'Pengingat');
    assert.ok(warm.ok && !warm.cold, 'wrote within the 30 days: not cold');
    const cold = await ask(governor, person(301), 'Pengingat');
    assert.ok(cold.ok && cold.cold, 'wrote just before the 30 days: cold');
    clock.set(start + 2 * MINUTE);
    const spent = held(await ask(governor, person(301), 'Pengingat lagi'));
    assert.equal(spent.reason, '1 messages a day to people who have not written (WA_COLD_PER_DAY) reached');
    const stillWarm = await ask(governor, person(300), 'Pengingat lagi');
    assert.ok(stillWarm.ok && !stillWarm.cold, 'the one who wrote within the days is not held by the cold budget');
  });

  it('WA_QUIET_HOURS_GROUPS=true: at 22:00 WIB a group message waits till 06:00 WIB, with the reason; by default it goes', async () => {
    const group = '120363000000077@g.us';
    const tenPm = new Date('2026-11-25T15:00:00Z').getTime(); // 22:00 WIB
    const sixAm = new Date('2026-11-25T23:00:00Z').getTime(); // 06:00 WIB the next day
    const clock = steppingClock(new Date(tenPm).toISOString());
    const quietGroups = governorWith({ WA_QUIET_HOURS_GROUPS: 'true' }, clock);
    const waiting = held(await ask(quietGroups, group, 'Rekap harian'));
    assert.equal(waiting.scope, 'message');
    assert.equal(waiting.reason, 'quiet hours (WA_QUIET_HOURS) for every chat');
    assert.equal(waiting.until?.getTime(), sixAm);
    clock.set(sixAm - 1);
    held(await ask(quietGroups, group, 'Rekap harian'));
    clock.set(sixAm);
    assert.equal((await ask(quietGroups, group, 'Rekap harian')).ok, true, 'goes at 06:00 WIB');
    clock.set(tenPm);
    assert.equal((await ask(governorWith({}, clock), group, 'Rekap harian 2')).ok, true, 'without WA_QUIET_HOURS_GROUPS a group is not held');
  });

  it('WA_WARMUP_IDLE_DAYS=14: a number silent 13 days 23 h keeps its history; one silent 14 days 1 h starts its warm-up again', async () => {
    const clock = steppingClock(START);
    const start = clock.at();
    const silentFor = { 'diam-13-hari': 14 * DAY - HOUR, 'diam-14-hari': 14 * DAY + HOUR };
    for (const [session, silence] of Object.entries(silentFor)) {
      await db.pool.query(
        `INSERT INTO wa_outbox (recipient, content, type, status, sent_at, session)
         VALUES ('120363000000001@g.us', 'lama', 'manual', 'sent', $2::timestamptz - interval '300 days', $1),
                ('120363000000001@g.us', 'terakhir', 'manual', 'sent', $3, $1)`,
        [session, new Date(start), new Date(start - silence)],
      );
    }
    const governor = governorWith({ WA_WARMUP: 'on', WA_WARMUP_IDLE_DAYS: '14' }, clock);
    for (const session of Object.keys(silentFor)) {
      assert.equal((await governor.permit({ session, chatId: '120363000000001@g.us', text: 'Rekap harian', parts: 1 })).ok, true);
    }
    assert.equal((await governor.status('diam-13-hari')).warmupDay, null, 'silent less than 14 days: no warm-up');
    assert.equal((await governor.status('diam-14-hari')).warmupDay, 0, 'silent more than 14 days: the warm-up starts again');
    assert.equal((await governor.status('diam-14-hari')).dailyBudget, 20, "the warm-up's first day (WA_WARMUP_SCHEDULE's first)");
  });
});
