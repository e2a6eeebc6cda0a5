/**
 * Per-number visibility over real HTTP on loopback and a real PostgreSQL, with the fake transport in
 * place of WhatsApp: rows and governor records of two sessions, `default` (run here) and `admin` (known
 * only from the database). /metrics labels each series with its session and counts each session's own
 * rows; GET /api/sessions lists both with their own waiting messages, holds, risk and budgets left.
 * Every count differs between the two sessions, so a reading that stopped grouping by session fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import parsePrometheus from 'parse-prometheus-text-format';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

const API_KEY = 'full-key-4b1d6e8a2c9f0e3d7a5b';

type Families = ReturnType<typeof parsePrometheus>;

/** The value of one series, found by its labels (all of them given). */
function value(families: Families, name: string, labels: Record<string, string>): number | undefined {
  const family = families.find((f) => f.name === name);
  const series = family?.metrics.find((m) => Object.keys(labels).length === Object.keys(m.labels ?? {}).length && Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return series === undefined ? undefined : Number((series as { value: string }).value);
}

describe('per-number visibility (real HTTP on loopback, real PostgreSQL, fake transport)', () => {
  let db: TestDatabase;
  let app: App;
  let base: string;

  const get = async (path: string) => {
    const response = await fetch(`${base}${path}`, { headers: { 'x-api-key': API_KEY } });
    return { status: response.status, body: (response.headers.get('content-type') ?? '').includes('json') ? await response.json() : await response.text() };
  };
  const scrape = async () => parsePrometheus((await get('/metrics')).body as string);

  before(async () => {
    db = await createTestDatabase('per_number_visibility', { migrated: true });
    const row = (session: string, status: string, extra: string) =>
      `INSERT INTO wa_outbox (recipient, content, type, session, status, next_attempt_at, lease_until, deferred_until, deferred_reason) VALUES ('081200000001', 'Uji', 'manual', '${session}', '${status}', ${extra})`;
    const later = "now() + interval '1 day'";
    const many = async (n: number, sql: string) => {
      for (let i = 0; i < n; i++) await db.pool.query(sql);
    };
    // default: 2 pending rows not due yet, 1 held back by quiet hours.
    await many(2, row('default', 'pending', `${later}, NULL, NULL, NULL`));
    await many(1, row('default', 'pending', `${later}, NULL, ${later}, 'quiet hours (WA_QUIET_HOURS) for personal chats'`));
    // admin (no process here runs it): 4 due rows waiting for its operator's pause, 2 held by the hour's budget, 1 being sent elsewhere.
    await many(4, row('admin', 'pending', `now() - interval '1 minute', NULL, NULL, NULL`));
    await many(2, row('admin', 'pending', `now() + interval '1 hour', NULL, now() + interval '1 hour', '20 messages in an hour (WA_BUDGET_PER_HOUR) reached'`));
    await many(1, row('admin', 'sending', `now() - interval '1 minute', now() + interval '1 hour', NULL, NULL`));
    await db.pool.query(
      `INSERT INTO wa_session_guard (session, warmup_started_at, pause_kind, paused_at, pause_reason, risk_score, risk_level)
       VALUES ('admin', now() - interval '2 days', 'operator', now(), 'uji', 30, 'medium')`,
    );
    // Permitted sends: admin 3 in the last minute and 7 half an hour ago; default 1 two hours ago.
    const sends = (session: string, n: number, ago: string) =>
      db.pool.query(
        `INSERT INTO wa_governor_sends (session, at, chat_id, personal, cold, text_sha256) SELECT $1, now() - $2::interval, '6281200000001@c.us', true, false, 'x' FROM generate_series(1, $3)`,
        [session, ago, n],
      );
    await sends('admin', 3, '10 seconds');
    await sends('admin', 7, '30 minutes');
    await sends('default', 1, '2 hours');

    const config = parseConfig(
      {
        DATABASE_URL: db.url,
        WA_TRANSPORT: 'fake',
        HTTP_PORT: '0',
        API_KEY,
        WA_QUIET_HOURS: 'off',
        WA_BUDGET_PER_MINUTE: '5',
        WA_BUDGET_PER_HOUR: '20',
        WA_BUDGET_PER_DAY: '50',
        WA_WARMUP_SCHEDULE: '10,20,30',
        WA_SEND_INTERVAL_MS: '0',
        WA_SEND_JITTER_MS: '0',
      },
      testCwd(),
    );
    app = await startApp(config, pino({ level: 'silent' }), { transport: new FakeTransport(), drawQr: null, maxAuthFailures: 1000 });
    base = app.http!.url!;
  });
  after(async () => {
    await app.stop();
    await db.drop();
  });

  it('/metrics: outbox rows, held messages, risk and budgets left carry each session as a label, with each session\'s own counts', async () => {
    const m = await scrape();
    assert.equal(value(m, 'cicero_wa_outbox_messages', { session: 'default', status: 'pending', type: 'manual' }), 3);
    assert.equal(value(m, 'cicero_wa_outbox_messages', { session: 'admin', status: 'pending', type: 'manual' }), 6);
    assert.equal(value(m, 'cicero_wa_outbox_messages', { session: 'admin', status: 'sending', type: 'manual' }), 1);
    assert.equal(value(m, 'cicero_wa_outbox_messages', { session: 'default', status: 'sending', type: 'manual' }), undefined, 'no sending row of default');

    const held = (session: string) =>
      (m.find((f) => f.name === 'cicero_wa_session_held_messages')?.metrics ?? [])
        .filter((s) => s.labels?.session === session)
        .map((s) => `${s.labels!.kind}=${(s as { value: string }).value}`)
        .sort();
    assert.deepEqual(held('default'), ['quiet_hours=1'], "the pause and the budget of admin hold nothing of default");
    assert.deepEqual(held('admin'), ['budget_hour=2', 'paused_operator=4'], "admin's due rows wait for its pause");

    assert.equal(value(m, 'cicero_wa_session_risk_score', { session: 'admin' }), 30);
    assert.equal(value(m, 'cicero_wa_session_risk_score', { session: 'default' }), 0);
    assert.equal(value(m, 'cicero_wa_session_paused', { session: 'admin', kind: 'operator' }), 1);
    assert.equal(value(m, 'cicero_wa_session_paused', { session: 'default', kind: 'none' }), 0);

    const budget = (session: string, measure: string) => value(m, 'cicero_wa_session_budget_messages', { session, measure });
    assert.deepEqual(['left_minute', 'left_hour', 'left_day', 'daily_budget', 'sent_last_hour', 'sent_last_day'].map((x) => budget('admin', x)), [2, 10, 20, 30, 10, 10]);
    assert.deepEqual(['left_minute', 'left_hour', 'left_day', 'daily_budget', 'sent_last_hour', 'sent_last_day'].map((x) => budget('default', x)), [5, 20, 9, 10, 0, 1]);

    assert.equal(value(m, 'cicero_wa_transport_state', { session: 'default', state: 'ready' }), 1, 'the transport state of the session run here');
  });

  it('GET /api/sessions: both sessions, admin marked as not running here, each with its own waiting messages, holds, risk and budgets left', async () => {
    const { status, body } = await get('/api/sessions');
    assert.equal(status, 200, JSON.stringify(body));
    const sessions = (body as { sessions: any[] }).sessions;
    assert.deepEqual(sessions.map((s) => [s.name, s.running]), [['default', true], ['admin', false]]);
    const [own, admin] = sessions;
    assert.equal(own.state, 'ready');
    assert.equal(admin.state, 'none');
    assert.deepEqual(own.waiting, { pending: 3, sending: 0, heldBack: 1, heldBackByKind: [{ kind: 'quiet_hours', count: 1 }] });
    assert.deepEqual(admin.waiting, { pending: 6, sending: 1, heldBack: 6, heldBackByKind: [{ kind: 'paused_operator', count: 4 }, { kind: 'budget_hour', count: 2 }] });
    assert.deepEqual([own.governor.riskScore, own.governor.riskLevel, own.governor.paused], [0, 'low', false]);
    assert.deepEqual([admin.governor.riskScore, admin.governor.riskLevel, admin.governor.paused, admin.governor.pauseKind], [30, 'medium', true, 'operator']);
    assert.equal(admin.governor.warmupDay, 3, "admin's warm-up on its third day");
    assert.equal(own.governor.warmupDay, 1);
    assert.deepEqual(admin.governor.budgets, { minute: { limit: 5, used: 3, left: 2 }, hour: { limit: 20, used: 10, left: 10 }, day: { limit: 30, used: 10, left: 20 } });
    assert.deepEqual(own.governor.budgets, { minute: { limit: 5, used: 0, left: 5 }, hour: { limit: 20, used: 0, left: 20 }, day: { limit: 10, used: 1, left: 9 } });
  });

  it('/metrics: a send of the session run here is counted under its session', async () => {
    await db.pool.query("INSERT INTO wa_outbox (recipient, content, type, session) VALUES ('081200000002', 'Kirim', 'manual', 'default')");
    await waitUntil(async () => (value(await scrape(), 'cicero_wa_sends_total', { session: 'default', type: 'manual', outcome: 'confirmed', reason: '' }) ?? 0) >= 1, 10_000, 'the send counted under default');
    const m = await scrape();
    assert.equal(m.find((f) => f.name === 'cicero_wa_sends_total')!.metrics.some((s) => s.labels?.session === 'admin'), false, 'nothing sent here from admin');
    // The parser drops a histogram's labels: the text says them.
    const text = (await get('/metrics')).body as string;
    assert.match(text, /^cicero_wa_pickup_latency_seconds_count\{session="default"\} [1-9]/m);
    assert.match(text, /^cicero_wa_send_duration_seconds_count\{session="default",outcome="confirmed"\} [1-9]/m);
  });
});
