/**
 * The governor in the dispatcher (real PostgreSQL; the fake transport stands in for WhatsApp): a
 * budget holds messages back with until when and why, without spending an attempt or polling; risk
 * signals from sends pause the session; `cicero-wa sessions resume` sends again at once.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { parseConfig } from '../src/config/index.js';
import type { GovernorConfig } from '../src/config/types.js';
import { startApp } from '../src/app/app.js';
import { OutboxMaintenance } from '../src/delivery/outbox-maintenance.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { Governor } from '../src/governor/governor.js';
import { systemClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { outboxListener } from '../src/outbox/channel.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { FakeTransport, type FakeTransportOptions } from '../src/whatsapp/fake-transport.js';
import { runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

describe('the governor in the dispatcher (fake transport standing in for WhatsApp)', () => {
  let db: TestDatabase;
  const running: { stop(): Promise<void> }[] = [];
  before(async () => {
    db = await createTestDatabase('governor_dispatch', { migrated: true });
  });
  afterEach(async () => {
    for (const part of running.splice(0).reverse()) await part.stop();
    await db.pool.query('DELETE FROM wa_outbox_sends');
    await db.pool.query('TRUNCATE wa_governor_sends, wa_session_guard, wa_risk_events, wa_outbox RESTART IDENTITY CASCADE');
  });
  after(async () => db.drop());

  async function gateway(governorConfig: Partial<GovernorConfig>, fake: FakeTransportOptions = {}) {
    const config = { ...parseConfig({}, '/srv').governor, warmup: null, quietHours: null, ...governorConfig };
    const governor = new Governor({ pool: db.pool, config, timeZone: 'Asia/Jakarta', clock: systemClock, logger: silentLogger() });
    const transport = new FakeTransport(fake);
    await transport.start();
    const dispatcher = new SessionDelivery({ pool: db.pool, transport, logger: silentLogger(), dispatch: fastDispatch(), defaultCountryCode: '62', governor, instanceId: 'governor-test' });
    let claims = 0;
    dispatcher.observe({ claimed: () => void claims++ });
    const listener = outboxListener({ connectionString: db.url, logger: silentLogger(), onNotify: () => dispatcher.trigger('notify'), onReconnect: () => undefined });
    await listener.start();
    running.push(listener, dispatcher);
    dispatcher.start();
    return { governor, transport, dispatcher, claims: () => claims };
  }

  const rows = async () =>
    (await db.pool.query('SELECT id, status, attempts, deferred_until, deferred_reason, next_attempt_at FROM wa_outbox ORDER BY id')).rows as {
      id: number;
      status: string;
      attempts: number;
      deferred_until: Date | null;
      deferred_reason: string | null;
    }[];

  it('a spent budget holds messages back: the row says until when and why, no attempt is spent, nothing fails, and the dispatcher sleeps instead of polling', async (t) => {
    const { transport, claims, dispatcher } = await gateway({ perMinute: 2 });
    await enqueue(db.pool, Array.from({ length: 5 }, (_, i) => ({ recipient: `12036300000000${i}@g.us`, content: `Rekap ${i}`, type: 'daily-report' })));
    await waitUntil(() => transport.sends.length === 2, 10_000, 'two sends');
    await waitUntil(async () => (await rows()).some((r) => r.deferred_until !== null), 5000, 'a held-back row');
    await dispatcher.idle();
    const claimsThen = claims();
    await new Promise((r) => setTimeout(r, 1500));
    const now = await rows();
    const held = now.find((r) => r.deferred_until !== null)!;
    t.diagnostic(`held back until ${held.deferred_until!.toISOString()}: ${held.deferred_reason}`);
    assert.equal(transport.sends.length, 2, 'nothing more within the minute');
    assert.equal(claims(), claimsThen, 'no claim while held back: the dispatcher sleeps until the budget frees');
    assert.match(held.deferred_reason!, /2 messages in a minute \(WA_BUDGET_PER_MINUTE\) reached/);
    const firstSent = Math.min(...transport.sends.map((s) => s.at.getTime()));
    assert.ok(Math.abs(held.deferred_until!.getTime() - (firstSent + 60_000)) < 2000, 'until the first send leaves the minute');
    assert.deepEqual(now.map((r) => r.attempts), [0, 0, 0, 0, 0].map((_, i) => (i < 2 ? 1 : 0)), 'only the sent rows counted a try');
    assert.equal(now.filter((r) => r.status === 'failed').length, 0);
    assert.equal(now.filter((r) => r.status === 'pending').length, 3);
  });

  it('numbers not on WhatsApp pause the session with the reason; the rows behind wait untouched; cicero-wa sessions resume sends again', async (t) => {
    const { transport, governor } = await gateway(
      { coldGapMs: [0, 0] },
      { behaviour: ({ chatId }) => (chatId.endsWith('@c.us') ? { fail: 'permanent', reason: 'not_on_whatsapp' } : 'ok') },
    );
    await enqueue(db.pool, [
      ...Array.from({ length: 5 }, (_, i) => ({ recipient: `08120000000${i}`, content: `Halo ${i}`, type: 'manual' })),
      ...Array.from({ length: 3 }, (_, i) => ({ recipient: `12036300000001${i}@g.us`, content: `Rekap ${i}`, type: 'daily-report' })),
    ]);
    await waitUntil(async () => (await governor.status('default')).paused, 10_000, 'the session paused');
    const status = await governor.status('default');
    t.diagnostic(`paused: ${status.pauseReason}`);
    assert.equal(status.pauseKind, 'cooling');
    assert.match(status.pauseReason!, /risk score 50 \(high\) from 5 × not_on_whatsapp in the last hour/);
    await new Promise((r) => setTimeout(r, 500));
    const groups = (await rows()).slice(5);
    assert.deepEqual(groups.map((r) => [r.status, r.attempts]), [['pending', 0], ['pending', 0], ['pending', 0]], 'the groups wait, no attempt spent');
    assert.equal(transport.sends.length, 0);

    const listed = await runCli(['sessions'], { DATABASE_URL: db.url, WA_GOVERNOR: 'on' });
    assert.match(listed.stdout, /^default\s+paused \(cooling\) until .*\s+50 high/m);
    const resumed = await runCli(['sessions', 'resume', 'default'], { DATABASE_URL: db.url, WA_GOVERNOR: 'on' });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /default: resumed; sending again/);
    await waitUntil(() => transport.sends.length === 3, 10_000, 'the three group messages sent after the resume');
    const unknown = await runCli(['sessions', 'pause', 'nope'], { DATABASE_URL: db.url, WA_GOVERNOR: 'on' });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no session "nope" \(known: default\)/);
  });

  it("two sessions: one session's unconfirmed sends leave the other's risk score at 0 (its confirmer leaves them alone; the maintenance charges them to their own session)", async () => {
    // A hand-over of another number ("admin") whose outcome stayed unknown for an hour.
    const { rows: [row] } = await db.pool.query(
      "INSERT INTO wa_outbox (recipient, content, type, session, status, attempts) VALUES ('081200000077', 'Dari nomor admin', 'manual', 'admin', 'sent', 1) RETURNING id",
    );
    await db.pool.query(
      `INSERT INTO wa_outbox_sends (outbox_id, part, parts, chat_id, body_sha256, instance, outcome, handed_over_at, session)
       VALUES ($1, 0, 1, '6281200000077@c.us', 'stand-in', 'another-instance', 'unknown', now() - interval '1 hour', 'admin')`,
      [row.id],
    );
    const { governor, dispatcher } = await gateway({});
    await enqueue(db.pool, [{ recipient: '081200000078', content: 'Dari nomor bawaan', type: 'manual' }]);
    await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE session = 'default' AND status = 'sent'")).rows[0].n === 1, 10_000, 'the default session sending');
    dispatcher.confirmer.trigger();
    await dispatcher.confirmer.idle();
    const outcome = async () => (await db.pool.query('SELECT outcome FROM wa_outbox_sends WHERE outbox_id = $1', [row.id])).rows[0].outcome;
    assert.equal(await outcome(), 'unknown', "the default session's confirmer leaves the admin number's hand-over alone");

    const maintenance = new OutboxMaintenance({ pool: db.pool, logger: silentLogger(), dispatch: fastDispatch(), hooks: dispatcher.hooks, governor });
    assert.equal((await maintenance.run()).unconfirmed, 1);
    assert.equal(await outcome(), 'unconfirmed');
    assert.deepEqual((await db.pool.query("SELECT session FROM wa_risk_events WHERE kind = 'unconfirmed'")).rows, [{ session: 'admin' }]);
    assert.equal((await governor.status('default')).riskScore, 0, "the default session's score is untouched");
    assert.ok((await governor.status('admin')).riskScore > 0, "the admin session's score counts it");
  });

  it('what the session sees counts: ack errors from WhatsApp, and in the running service a dropped connection and a new QR code after pairing', async (t) => {
    const { transport, governor } = await gateway({});
    await enqueue(db.pool, Array.from({ length: 4 }, (_, i) => ({ recipient: `12036300000002${i}@g.us`, content: `Rekap ${i}`, type: 'daily-report' })));
    await waitUntil(() => transport.sends.length === 4, 10_000, 'four sends');
    for (const send of transport.sends) transport.emitAck(send.messageId, -1);
    await waitUntil(async () => (await governor.status('default')).paused, 10_000, 'paused by the ack errors');
    const status = await governor.status('default');
    t.diagnostic(`after four ack errors: ${status.pauseReason}`);
    assert.match(status.pauseReason!, /risk score 60 \(high\) from 4 × ack_error/);
    await governor.resume('default');

    const config = parseConfig({ DATABASE_URL: db.url, WA_TRANSPORT: 'fake', HTTP_PORT: 'off', CRON_CATCHUP_HOURS: '0' }, testCwd());
    const app = await startApp(config, silentLogger(), { transport: new FakeTransport({ number: '6281234500000' }), drawQr: null });
    try {
      const seen = app.transport as FakeTransport;
      await waitUntil(async () => (await governor.status('default')).riskScore === 0 && seen.isReady(), 5000, 'ready');
      seen.setReady(false, 'stand-in: connection lost');
      seen.emitPairing({ kind: 'qr', qr: 'stand-in-qr-after-logout', at: new Date() });
      await waitUntil(async () => (await governor.status('default')).pauseKind === 'critical', 10_000, 'a critical pause');
      const after = await governor.status('default');
      t.diagnostic(`after a dropped connection and a new QR code: ${after.pauseReason}`);
      assert.match(after.pauseReason!, /risk score 1\d\d \(critical\) from .*1 × logged_out.* until an operator resumes it/);
      assert.equal(after.pausedUntil, null);
      await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM wa_risk_events WHERE kind IN ('logged_out', 'disconnected')")).rows[0].n === 2, 5000, 'both signals recorded');
    } finally {
      await app.stop();
    }
  });
});
