/**
 * The ban-risk governor on a real PostgreSQL, with a stepping clock: a simulated day of recaps and
 * replies (no test sleeps for a real budget), the warm-up of a new number, two instances sharing one
 * session, and the pause on risk signals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../src/config/index.js';
import type { GovernorConfig } from '../src/config/types.js';
import { Governor, type Permit } from '../src/governor/governor.js';
import { quietUntil } from '../src/governor/policy.js';
import type { Clock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const JAKARTA = 'Asia/Jakarta';
const SESSION = 'default';
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A clock the test moves. */
function steppingClock(start: string): Clock & { set(at: number): void; at(): number } {
  let now = new Date(start).getTime();
  return { now: () => new Date(now), set: (at) => void (now = at), at: () => now };
}

function defaults(overrides: Partial<GovernorConfig> = {}): GovernorConfig {
  return { ...parseConfig({}, '/srv').governor, ...overrides };
}

interface Message {
  id: number;
  chatId: string;
  text: string;
  priority: number;
  due: number;
  sentAt?: number;
  /** Why it last waited. */
  waited?: string;
}

/**
 * A dispatcher in simulated time: takes the most urgent due message (priority, then due time), asks the
 * governor, sends it (the next send no sooner than WA_SEND_INTERVAL_MS, 3 s plus up to 1 s), or moves
 * it (message held back) or the whole session (session held back) to the time the governor names.
 */
async function simulate(governor: Governor, clock: ReturnType<typeof steppingClock>, messages: Message[], until: number, arrivals: Message[] = []) {
  let heldUntil = 0;
  let nextTurn = clock.at();
  const timeline: { at: number; message: Message; cold: boolean }[] = [];
  const queue = [...messages];
  const waiting = [...arrivals];
  let jitter = 0;
  for (;;) {
    const now = Math.max(clock.at(), heldUntil, nextTurn);
    while (waiting.length > 0 && waiting[0]!.due <= now) queue.push(waiting.shift()!);
    const due = queue.filter((m) => m.sentAt === undefined && m.due <= now);
    if (due.length === 0) {
      const next = Math.min(...queue.filter((m) => m.sentAt === undefined).map((m) => m.due), waiting[0]?.due ?? Infinity);
      if (!Number.isFinite(next) || next > until) break;
      clock.set(next);
      continue;
    }
    if (now > until) break;
    clock.set(now);
    due.sort((a, b) => a.priority - b.priority || a.due - b.due || a.id - b.id);
    const message = due[0]!;
    const permit: Permit = await governor.permit({ session: SESSION, chatId: message.chatId, text: message.text, parts: 1, outboxId: message.id });
    if (permit.ok) {
      message.sentAt = now;
      timeline.push({ at: now, message, cold: permit.cold });
      jitter = (jitter + 389) % 1000;
      nextTurn = now + 3000 + jitter;
    } else if (permit.scope === 'session') {
      assert.ok(permit.until, `a session hold without end: ${permit.reason}`);
      heldUntil = permit.until.getTime();
    } else {
      assert.ok(permit.until, `a message hold without end: ${permit.reason}`);
      message.due = permit.until.getTime();
      message.waited = permit.reason;
    }
  }
  return timeline;
}

/** The most sends in any window of `ms` ending at a send. */
function busiest(times: number[], ms: number): number {
  let most = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= ms) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

describe('ban-risk governor (stepping clock, real PostgreSQL)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('governor', { migrated: true });
  });
  after(async () => db.drop());

  const governorAt = (clock: Clock, config: GovernorConfig = defaults({ warmup: null }), pool = db.pool) =>
    new Governor({ pool, config, timeZone: JAKARTA, clock, logger: silentLogger() });
  const fresh = async () => db.pool.query('TRUNCATE wa_governor_sends, wa_session_guard, wa_risk_events, wa_inbox, wa_outbox RESTART IDENTITY CASCADE');

  it('a simulated day at the default budgets: 3,000 messages at 07:00 to 300 groups and 200 people, and a reply at 07:05 to someone who just wrote', async (t) => {
    await fresh();
    const clock = steppingClock('2026-11-25T00:00:00Z'); // 07:00 WIB
    const start = clock.at();
    const governor = governorAt(clock);
    // Half of the 200 people (every other one) wrote to the number in the last days; the others never did.
    for (let p = 0; p < 200; p += 2) {
      await db.pool.query(
        `INSERT INTO wa_inbox (session, wa_message_id, chat_id, is_group, sender_id, sender_phone, body, sent_at)
         VALUES ($1, $2, $3, false, $3, $4, 'halo', $5)`,
        [SESSION, `in-${p}`, `62812000${String(p).padStart(4, '0')}@c.us`, `62812000${String(p).padStart(4, '0')}`, new Date(start - 2 * DAY)],
      );
    }
    const messages: Message[] = [];
    for (let i = 0; i < 3000; i++) {
      const personal = i % 15 === 0; // 200 personal messages, 2,800 to groups
      messages.push({
        id: i,
        chatId: personal ? `62812000${String((i / 15) % 200).padStart(4, '0')}@c.us` : `1203630000${String(i % 300).padStart(5, '0')}@g.us`,
        // The same notice to every person (spread out), a unit's own recap to each group.
        text: personal ? 'Pemberitahuan: tugas baru dari Ditbinmas' : `Rekap Harian ${i % 300} bagian ${Math.floor(i / 300)}`,
        priority: 2,
        due: start,
      });
    }
    const reply: Message = { id: 9999, chatId: '6281200000007@c.us', text: 'Terima kasih, komplain Anda kami terima.', priority: 0, due: start + 5 * MINUTE };
    await db.pool.query(
      `INSERT INTO wa_inbox (session, wa_message_id, chat_id, is_group, sender_id, sender_phone, body, sent_at) VALUES ($1, 'in-reply', $2, false, $2, '6281200000007', 'komplain', $3)`,
      [SESSION, reply.chatId, new Date(start + 4 * MINUTE)],
    );

    const timeline = await simulate(governor, clock, messages, start + DAY - 1, [reply]);
    const times = timeline.map((s) => s.at);
    const config = defaults();
    const personal = timeline.filter((s) => s.message.chatId.endsWith('@c.us'));
    const cold = timeline.filter((s) => s.cold);
    const hours = new Map<number, number>();
    for (const s of timeline) hours.set(Math.floor((s.at - start) / HOUR), (hours.get(Math.floor((s.at - start) / HOUR)) ?? 0) + 1);
    t.diagnostic(`${timeline.length} sent in 24 h (${personal.length} personal, ${cold.length} to people who never wrote); ${messages.filter((m) => m.sentAt === undefined).length} wait for the next day, none dropped`);
    t.diagnostic(`per hour from 07:00 WIB: ${[...hours].map(([h, n]) => `${String((7 + h) % 24).padStart(2, '0')}h ${n}`).join(', ')}`);
    t.diagnostic(`busiest minute ${busiest(times, MINUTE)}, hour ${busiest(times, HOUR)}, day ${busiest(times, DAY)}; reply sent ${((reply.sentAt! - reply.due) / 1000).toFixed(1)} s after it was due`);

    assert.ok(busiest(times, MINUTE) <= config.perMinute, 'never more than 8 in a minute');
    assert.ok(busiest(times, HOUR) <= config.perHour, 'never more than 120 in an hour');
    assert.ok(busiest(times, DAY) <= config.perDay, 'never more than 1,000 in a day');
    assert.equal(timeline.length, config.perDay, 'the whole daily budget is used, no more');
    for (const s of personal) assert.equal(quietUntil(new Date(s.at), config.quietHours, JAKARTA), null, 'no personal message in quiet hours');
    assert.ok(busiest(cold.map((s) => s.at), DAY) <= config.coldPerDay);
    for (let i = 1; i < cold.length; i++) {
      assert.ok(cold[i]!.at - cold[i - 1]!.at >= config.coldGapMs[0], `messages to people who never wrote ${(cold[i]!.at - cold[i - 1]!.at) / 1000} s apart`);
    }
    assert.ok(cold.length > 10, 'people who never wrote are reached too, spaced out, on a busy day');
    assert.ok(busiest(personal.filter((s) => s.message.text.startsWith('Pemberitahuan')).map((s) => s.at), HOUR) <= config.sameTextPerHour, 'the same text spread out');
    assert.ok(reply.sentAt !== undefined && reply.sentAt - reply.due < MINUTE, 'the reply went within a minute, ahead of the bulk');
  });

  it("a new number's first day sends at most the warm-up's first budget; the rest wait for the next day", async (t) => {
    await fresh();
    const clock = steppingClock('2026-11-25T00:00:00Z');
    const start = clock.at();
    const governor = governorAt(clock, defaults());
    await governor.notePaired(SESSION, '6281234500000');
    const messages: Message[] = Array.from({ length: 100 }, (_, i) => ({ id: i, chatId: `1203630000${String(i).padStart(5, '0')}@g.us`, text: `Rekap ${i}`, priority: 2, due: start }));
    const firstDay = await simulate(governor, clock, messages, start + 17 * HOUR - 1); // to 23:59 WIB
    t.diagnostic(`day 1: ${firstDay.length} sent; ${messages.filter((m) => m.sentAt === undefined).length} wait`);
    assert.equal(firstDay.length, 20);
    const secondDay = await simulate(governor, clock, messages, start + 2 * DAY - 1);
    t.diagnostic(`day 2: ${secondDay.length} sent, the first at ${new Date(secondDay[0]!.at).toISOString()}`);
    assert.ok(secondDay[0]!.at >= start + DAY, 'the rest waited for the next day');
    assert.equal(secondDay.length, 50, "day 2's budget is 50");
    clock.set(start + DAY + HOUR);
    assert.equal((await governor.status(SESSION)).warmupDay, 1, 'the second day of the warm-up');
  });

  it('two instances sharing one session keep one budget', async () => {
    await fresh();
    const clock = steppingClock('2026-11-25T01:00:00Z');
    const other = (await import('../src/db/pool.js')).createPool(db.url, 10, silentLogger());
    try {
      const a = governorAt(clock);
      const b = governorAt(clock, defaults({ warmup: null }), other);
      const asks = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).permit({ session: SESSION, chatId: `1203630000${i}@g.us`, text: `m${i}`, parts: 1 }));
      const permits = await Promise.all(asks);
      assert.equal(permits.filter((p) => p.ok).length, 8, 'eight in the minute between them, not eight each');
      const held = permits.find((p) => !p.ok) as Extract<Permit, { ok: false }>;
      assert.equal(held.scope, 'session');
      assert.match(held.reason, /8 messages in a minute \(WA_BUDGET_PER_MINUTE\) reached/);
    } finally {
      await other.end();
    }
  });

  it('a burst of ack errors and numbers not on WhatsApp pauses the session with the reason; a restart keeps the pause; resume sends again', async () => {
    await fresh();
    const clock = steppingClock('2026-11-25T01:00:00Z');
    const governor = governorAt(clock);
    for (const kind of ['ack_error', 'not_on_whatsapp', 'ack_error', 'not_on_whatsapp'] as const) await governor.observe(SESSION, kind, 'test');
    let held = (await governor.permit({ session: SESSION, chatId: '120363000000001@g.us', text: 'x', parts: 1 })) as Extract<Permit, { ok: false }>;
    assert.equal(held.ok, false);
    assert.equal(held.scope, 'pause');
    assert.match(held.reason, /session paused \(cooling\): risk score 50 \(high\) from 2 × ack_error, 2 × not_on_whatsapp in the last hour/);
    assert.equal(held.until?.getTime(), clock.at() + 60 * MINUTE);

    const restarted = governorAt(clock);
    assert.equal((await restarted.status(SESSION)).paused, true, 'the pause outlives the process');
    clock.set(clock.at() + 61 * MINUTE);
    assert.equal((await restarted.permit({ session: SESSION, chatId: '120363000000001@g.us', text: 'x', parts: 1 })).ok, true, 'cooled down');

    await restarted.observe(SESSION, 'logged_out', 'WhatsApp asked for a new QR code');
    held = (await restarted.permit({ session: SESSION, chatId: '120363000000001@g.us', text: 'y', parts: 1 })) as Extract<Permit, { ok: false }>;
    assert.equal(held.until, null, 'critical: until an operator resumes it');
    assert.match(held.reason, /paused \(critical\)/);
    clock.set(clock.at() + 5 * HOUR);
    assert.equal((await restarted.permit({ session: SESSION, chatId: '120363000000001@g.us', text: 'y', parts: 1 })).ok, false, 'no end by itself');
    assert.equal(await restarted.resume(SESSION), true);
    const status = await restarted.status(SESSION);
    assert.equal(status.paused, false);
    assert.equal(status.riskScore, 0, 'the score starts afresh');
    assert.equal((await restarted.permit({ session: SESSION, chatId: '120363000000001@g.us', text: 'y', parts: 1 })).ok, true);
  });

  it('quiet hours hold personal chats and not groups; a number that sent before the governor keeps its history, one idle for long warms up again', async () => {
    await fresh();
    const clock = steppingClock('2026-11-25T15:00:00Z'); // 22:00 WIB
    await db.pool.query(
      `INSERT INTO wa_outbox (recipient, content, type, status, sent_at, session)
       VALUES ('120363000000001@g.us', 'lama', 'manual', 'sent', $2::timestamptz - interval '300 days', $1),
              ('120363000000001@g.us', 'kemarin', 'manual', 'sent', $2::timestamptz - interval '1 day', $1)`,
      [SESSION, clock.now()],
    );
    const governor = governorAt(clock, defaults());
    const person = (await governor.permit({ session: SESSION, chatId: '6281200000009@c.us', text: 'malam', parts: 1 })) as Extract<Permit, { ok: false }>;
    assert.equal(person.scope, 'message');
    assert.equal(person.until?.toISOString(), '2026-11-25T23:00:00.000Z', 'until 06:00 WIB');
    assert.match(person.reason, /quiet hours/);
    assert.equal((await governor.permit({ session: SESSION, chatId: '120363000000001@g.us', text: 'rekap', parts: 1 })).ok, true);
    assert.equal((await governor.status(SESSION)).warmupDay, null, 'a number in use for 300 days: no warm-up');
    clock.set(clock.at() + 20 * DAY);
    assert.equal((await governor.permit({ session: SESSION, chatId: '120363000000001@g.us', text: 'lagi', parts: 1 })).ok, true);
    assert.equal((await governor.status(SESSION)).warmupDay, 0, 'silent for 20 days (WA_WARMUP_IDLE_DAYS 14): the warm-up starts again');
  });

  it('room: what the permits would give now, cold chats named, taking none of it', async () => {
    const clock = steppingClock('2026-11-25T10:00:00Z'); // 17:00 WIB
    const governor = governorAt(clock);
    const session = 'room-check';
    const people = ['6281300000001@c.us', '6281300000002@c.us'];
    const room = await governor.room(session, people);
    assert.deepEqual({ ...room, bounds: undefined }, { total: 8, cold: 8, coldChats: people, until: null, reason: null, bounds: undefined });
    assert.equal(room.bounds.total, '8 messages in a minute (WA_BUDGET_PER_MINUTE)');
    assert.deepEqual(await governor.room(session, people), room, 'asking takes nothing');
    assert.equal((await governor.permit({ session, chatId: people[0]!, text: 'a', parts: 1 })).ok, true);
    const after = await governor.room(session, people);
    assert.equal(after.total, 7);
    assert.equal(after.cold, 0, 'the gap after a cold message');
    assert.match(after.reason!, /\(WA_COLD_GAP_SECONDS\)/);
    assert.equal(after.until!.getTime(), clock.at() + 30_000);
    for (let i = 0; i < 7; i++) assert.equal((await governor.permit({ session, chatId: '120363000000009@g.us', text: `g${i}`, parts: 1 })).ok, true);
    const full = await governor.room(session, people);
    assert.equal(full.total, 0);
    assert.match(full.reason!, /8 messages in a minute \(WA_BUDGET_PER_MINUTE\) reached/);
    assert.equal((await governor.permit({ session, chatId: '120363000000009@g.us', text: 'g8', parts: 1 })).ok, false, 'the permit agrees');
    await governor.pause(session, 'uji');
    assert.match((await governor.room(session, [])).reason!, /^session paused \(operator\)/);
  });
});
