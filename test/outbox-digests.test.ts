/**
 * Digests (src/outbox/digests.ts): messages with a digest key go out folded into one message per
 * recipient, key and window, on a real PostgreSQL, the composer run with a fixed clock as the outbox
 * maintenance runs it (every minute), and the digests sent through the dispatcher with the fake
 * transport in place of WhatsApp.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { startApp, type App } from '../src/app/app.js';
import { ConfigError, parseConfig } from '../src/config/index.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { splitText } from '../src/delivery/split-text.js';
import { runOutboxCommand } from '../src/commands/outbox.js';
import { fixedClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { OutboxMaintenance } from '../src/delivery/outbox-maintenance.js';
import { outboxListener } from '../src/outbox/channel.js';
import { OutcomeHooks } from '../src/outbox/outcomes.js';
import { composeDigests, type DigestSettings } from '../src/outbox/digests.js';
import { MAX_CONTENT_CHARS } from '../src/outbox/enqueue.js';
import { cancelRows, retryRows } from '../src/outbox/operator-actions.js';
import { claimDueRows } from '../src/outbox/row-status.js';
import { outboxSummary } from '../src/outbox/summary.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

const ZONE = 'Asia/Jakarta';
/** 10:00 WIB. */
const T0 = new Date('2026-12-04T03:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const SETTINGS: DigestSettings = { windowMinutes: 15, windows: {}, timeZone: ZONE };
const ADMINS = ['6281100000001', '6281100000002'];

describe('digests (fixed clock, fake transport in place of WhatsApp)', () => {
  let db: TestDatabase;
  const running: Array<{ stop(): Promise<void> }> = [];

  before(async () => {
    db = await createTestDatabase('outbox_digests', { migrated: true });
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
  });

  /** A notice as Cicero_V2's admin logs would write it: a plain INSERT with a digest key, created at `when`. */
  async function notice(recipient: string, content: string, when: Date, key = 'cicero-log', extra: { session?: string } = {}): Promise<number> {
    const { rows } = await db.pool.query(
      `INSERT INTO wa_outbox (recipient, content, type, digest_key, session, created_at)
       VALUES ($1, $2, 'admin_log', $3, $4, $5::timestamptz AT TIME ZONE current_setting('TimeZone')) RETURNING id`,
      [recipient, content, key, extra.session ?? null, when],
    );
    return rows[0].id;
  }

  async function startDispatcher(): Promise<FakeTransport> {
    const transport = new FakeTransport();
    await transport.start();
    const dispatcher = new SessionDelivery({ pool: db.pool, transport, logger: silentLogger(), dispatch: fastDispatch(), defaultCountryCode: '62', instanceId: 'digest-test' });
    running.push(dispatcher);
    // New digests wake it as any new row does (the outbox's NOTIFY).
    const listener = outboxListener({ connectionString: db.url, logger: silentLogger(), onNotify: () => dispatcher.trigger('notify'), onReconnect: () => undefined });
    await listener.start();
    running.push(listener);
    dispatcher.start();
    return transport;
  }

  const digestRows = async () =>
    (await db.pool.query("SELECT id, recipient, content, status, digest_count, dedup_key FROM wa_outbox WHERE type = 'digest' ORDER BY id")).rows;

  it('500 notices to 2 admins over an hour: at most 10 messages per admin, each listing its entries, nothing lost', async () => {
    const transport = await startDispatcher();
    // One notice every 7.2 s, alternating admins: 250 each over the hour from 10:00 WIB.
    const notices = Array.from({ length: 500 }, (_, i) => ({ i, recipient: ADMINS[i % 2]!, when: at(i * 7.2), text: `[CRON] Absensi likes POLRES ${String(i).padStart(3, '0')}: 12 konten diproses` }));
    const ids = new Map<number, (typeof notices)[number]>();
    for (let minute = 1; minute <= 75; minute++) {
      const now = at(minute * 60);
      for (const n of notices.filter((x) => x.when < now && x.when >= at((minute - 1) * 60))) ids.set(await notice(n.recipient, n.text, n.when), n);
      await composeDigests(db.pool, SETTINGS, now);
      if (minute === 5) {
        // Nothing goes on its own while the window is open; the originals say until when they wait.
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(transport.sends.length, 0, 'no original sent alone');
        const { rows } = await db.pool.query('SELECT DISTINCT status, deferred_reason FROM wa_outbox');
        assert.deepEqual(rows, [{ status: 'pending', deferred_reason: 'menunggu ringkasan cicero-log sampai 10:15 WIB' }]);
      }
    }
    assert.equal(ids.size, 500);
    await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status <> 'sent'")).rows[0].n === 0, 20_000, 'every row sent');

    const digests = await digestRows();
    for (const admin of ADMINS) {
      const mine = digests.filter((d) => d.recipient === admin);
      // Windows of 15 minutes from each first waiting notice: 10:00, 10:15:07, 10:30:14, 10:45:21.
      assert.equal(mine.length, 4, `four digests for ${admin}`);
      const sends = transport.sends.filter((s) => s.chatId === `${admin}@c.us`);
      assert.ok(sends.length <= 10, `at most 10 WhatsApp messages to ${admin} (got ${sends.length})`);
      assert.equal(sends.length, mine.reduce((n, d) => n + splitText(d.content).length, 0), 'each digest sent as its parts, once');
    }
    assert.match(digests[0].content, /^Ringkasan cicero-log: 63 pesan, 04-12-2026 10:00–10:15 WIB\n\n10:00 \[CRON\] Absensi likes POLRES 000: 12 konten diproses\n10:00 \[CRON\] Absensi likes POLRES 002/);
    assert.equal(digests.reduce((n, d) => n + d.digest_count, 0), 500, 'the counts add up to every notice');

    const { rows: originals } = await db.pool.query(
      `SELECT o.id, o.status, o.content, o.digest_id, d.status AS digest_status, d.content AS digest_content, d.recipient AS digest_recipient
         FROM wa_outbox o LEFT JOIN wa_outbox d ON d.id = o.digest_id WHERE o.type = 'admin_log'`,
    );
    assert.equal(originals.length, 500);
    for (const o of originals) {
      const n = ids.get(o.id)!;
      assert.equal(o.status, 'sent', `original ${o.id} sent`);
      assert.equal(o.digest_status, 'sent', `original ${o.id} linked to a sent digest`);
      assert.equal(o.digest_recipient, n.recipient);
      const hhmm = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(n.when);
      assert.ok(o.digest_content.includes(`\n${hhmm} ${n.text}`), `original ${o.id} listed with its time in its digest`);
    }
    const counts = await db.pool.query('SELECT digest_id, count(*)::int AS n FROM wa_outbox WHERE digest_id IS NOT NULL GROUP BY 1');
    for (const c of counts.rows) assert.equal(c.n, digests.find((d) => d.id === c.digest_id).digest_count, 'each count is its originals');

    // The summary counts the originals under their type and the digests under theirs.
    const today = (await outboxSummary(db.pool, ZONE)).today;
    assert.equal(today.find((t) => t.type === 'digest')?.sent, 8);
  });

  it('a key\'s own window (WA_DIGEST_WINDOWS) overrides the default; a waiting message says until when', async () => {
    const settings: DigestSettings = { windowMinutes: 15, windows: { fast: 5 }, timeZone: ZONE };
    for (const minute of [0, 2, 4, 6]) {
      await notice(ADMINS[0]!, `cepat ${minute}`, at(minute * 60), 'fast');
      await notice(ADMINS[0]!, `lambat ${minute}`, at(minute * 60), 'slow');
    }
    const first = await composeDigests(db.pool, settings, at(5 * 60 + 30));
    assert.deepEqual({ digests: first.digests, folded: first.folded, waiting: first.waiting }, { digests: 1, folded: 3, waiting: 5 });
    const [digest] = await digestRows();
    assert.equal(digest.content, 'Ringkasan fast: 3 pesan, 04-12-2026 10:00–10:05 WIB\n\n10:00 cepat 0\n10:02 cepat 2\n10:04 cepat 4');
    // At the limit: 10:05 closes the fast window [10:00, 10:05), not a minute before.
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
    await notice(ADMINS[0]!, 'cepat', at(0), 'fast');
    assert.equal((await composeDigests(db.pool, settings, at(5 * 60 - 1))).digests, 0);
    const { rows: waiting } = await db.pool.query('SELECT status, deferred_reason FROM wa_outbox');
    assert.deepEqual(waiting, [{ status: 'pending', deferred_reason: 'menunggu ringkasan fast sampai 10:05 WIB' }]);
    assert.equal((await composeDigests(db.pool, settings, at(5 * 60))).digests, 1);
  });

  it('WA_DIGEST_WINDOW_MINUTES and WA_DIGEST_WINDOWS are validated, the errors naming the variable', () => {
    const config = parseConfig({ WA_DIGEST_WINDOWS: 'cicero-log:30,other:5', WA_DIGEST_WINDOW_MINUTES: '10' }, testCwd());
    assert.deepEqual(config.outbox.digestWindows, { 'cicero-log': 30, other: 5 });
    assert.equal(config.outbox.digestWindowMinutes, 10);
    assert.equal(parseConfig({}, testCwd()).outbox.digestWindowMinutes, 15);
    const refused = (env: Record<string, string>) => {
      try {
        parseConfig(env, testCwd());
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.problems.join('\n');
      }
      assert.fail(`accepted ${JSON.stringify(env)}`);
    };
    assert.match(refused({ WA_DIGEST_WINDOWS: 'cicero-log:0' }), /^WA_DIGEST_WINDOWS="cicero-log:0" is invalid: "cicero-log:0": the minutes must be a whole number from 1 to 1440/);
    assert.match(refused({ WA_DIGEST_WINDOWS: 'cicero log:5' }), /^WA_DIGEST_WINDOWS=.*is not "key:minutes"/);
    assert.match(refused({ WA_DIGEST_WINDOWS: 'a:5,a:6' }), /^WA_DIGEST_WINDOWS=.*"a" is named twice/);
    assert.match(refused({ WA_DIGEST_WINDOW_MINUTES: '0' }), /^WA_DIGEST_WINDOW_MINUTES="0" is invalid/);
  });

  it('a digest over the length of one message is split into several digest rows, each sent in parts, every entry once', async () => {
    const text = (i: number) => `Entri ${String(i).padStart(4, '0')} ${'x'.repeat(100)}`;
    for (let i = 0; i < 700; i++) await notice(ADMINS[0]!, text(i), at(i));
    const result = await composeDigests(db.pool, SETTINGS, at(3600));
    assert.deepEqual({ digests: result.digests, folded: result.folded }, { digests: 2, folded: 700 });
    const digests = await digestRows();
    assert.ok(digests.every((d) => d.content.length <= MAX_CONTENT_CHARS));
    assert.ok(digests[0].content.length > MAX_CONTENT_CHARS - 500, 'the first row filled up to the limit, not split early');
    assert.match(digests[0].content, /^Ringkasan cicero-log \(bagian 1 dari 2\): \d+ dari 700 pesan, 04-12-2026 10:00–10:15 WIB\n/);
    assert.match(digests[1].content, /^Ringkasan cicero-log \(bagian 2 dari 2\): \d+ dari 700 pesan/);
    assert.equal(digests[0].digest_count + digests[1].digest_count, 700);
    const all = digests.map((d) => d.content).join('\n');
    for (let i = 0; i < 700; i++) assert.equal(all.split(text(i)).length, 2, `entry ${i} exactly once`);

    const transport = await startDispatcher();
    await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status <> 'sent'")).rows[0].n === 0, 20_000, 'every row sent');
    assert.equal(transport.sends.map((s) => s.text).join(''), digests.map((d) => d.content).join(''), 'the parts are the digests, whole');
    assert.ok(transport.sends.length > 2 && transport.sends.every((s) => s.text.length <= 4096));
  });

  it('a composer that dies before its commit, run again, writes one digest; runs at once on several instances write one', async () => {
    for (let i = 0; i < 20; i++) await notice(ADMINS[0]!, `catatan ${i}`, at(i * 10));
    // The run dies after writing its digest, before linking the originals: nothing of it stays.
    await db.pool.query(`CREATE FUNCTION digest_test_crash() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'crash'; END $$`);
    await db.pool.query('CREATE TRIGGER digest_test_crash BEFORE UPDATE OF digest_id ON wa_outbox FOR EACH ROW EXECUTE FUNCTION digest_test_crash()');
    await assert.rejects(composeDigests(db.pool, SETTINGS, at(3600)), /crash/);
    await db.pool.query('DROP TRIGGER digest_test_crash ON wa_outbox; DROP FUNCTION digest_test_crash()');
    assert.equal((await digestRows()).length, 0);

    const runs = await Promise.all([1, 2, 3].map(() => composeDigests(db.pool, SETTINGS, at(3600))));
    assert.equal(runs.reduce((n, r) => n + r.digests, 0), 1);
    const again = await composeDigests(db.pool, SETTINGS, at(3700));
    assert.equal(again.digests, 0, 'a run after it finds nothing to fold');
    const digests = await digestRows();
    assert.equal(digests.length, 1);
    assert.equal(digests[0].digest_count, 20);
    assert.equal(digests[0].dedup_key, `digest:cicero-log:${ADMINS[0]}:-:${T0.toISOString()}:1:0`);
  });

  it('an original is never claimed alone, even in a named session with its time due', async () => {
    const id = await notice(ADMINS[0]!, 'di sesi default', at(0), 'cicero-log', { session: 'default' });
    assert.deepEqual(await claimDueRows(db.pool, 'test-owner', 'default', 100, 60_000, MAX_CONTENT_CHARS), []);
    await db.pool.query("INSERT INTO wa_outbox (recipient, content, type, session) VALUES ($1, 'biasa', 'admin_log', 'default')", [ADMINS[0]]);
    const claimed = await claimDueRows(db.pool, 'test-owner', 'default', 100, 60_000, MAX_CONTENT_CHARS);
    assert.deepEqual(claimed.map((c) => c.content), ['biasa'], 'the plain row is claimed, the original is not');
    // The digest keeps the session the producer named.
    await composeDigests(db.pool, SETTINGS, at(3600));
    const { rows } = await db.pool.query('SELECT d.session, d.type FROM wa_outbox o JOIN wa_outbox d ON d.id = o.digest_id WHERE o.id = $1', [id]);
    assert.deepEqual(rows, [{ session: 'default', type: 'digest' }]);
  });

  it('a key that cannot be folded does not hold its row back: it goes as a plain message, the reason kept', async () => {
    const bad = await notice(ADMINS[0]!, 'kunci salah', at(0), 'kunci dengan spasi');
    const long = await notice(ADMINS[0]!, 'y'.repeat(60_001), at(0), 'cicero-log');
    const good = await notice(ADMINS[0]!, 'baik', at(0), 'cicero-log');
    const result = await composeDigests(db.pool, SETTINGS, at(60));
    assert.equal(result.plain, 2);
    const { rows } = await db.pool.query('SELECT id, digest_key, last_error FROM wa_outbox ORDER BY id');
    assert.deepEqual(rows.map((r) => [r.id, r.digest_key]), [[bad, null], [long, null], [good, 'cicero-log']]);
    assert.match(rows[0].last_error, /^digest_key 'kunci dengan spasi' is not 1 to 100 of A-Z a-z 0-9 \. _ : -: sent as a plain message$/);
    assert.match(rows[1].last_error, /too long for a digest entry: sent as a plain message$/);
    const transport = await startDispatcher();
    await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status = 'sent' AND id = ANY($1::int[])", [[bad, long]])).rows[0].n === 2, 10_000, 'the two plain rows sent');
    assert.equal(transport.sends.map((s) => s.text).join(''), `kunci salah${'y'.repeat(60_001)}`);
    assert.equal((await db.pool.query('SELECT status FROM wa_outbox WHERE id = $1', [good])).rows[0].status, 'pending');
  });

  it('the originals end as their digest ends: failed naming it, put back with it, cancelled with it; they are acted on through it', async () => {
    const ids = [await notice(ADMINS[0]!, 'satu', at(0)), await notice(ADMINS[0]!, 'dua', at(60))];
    await composeDigests(db.pool, SETTINGS, at(3600));
    const [digest] = await digestRows();
    const originals = async () => (await db.pool.query('SELECT status, last_error, failure_code, deferred_reason FROM wa_outbox WHERE id = ANY($1::int[]) ORDER BY id', [ids])).rows;
    assert.deepEqual((await originals()).map((o) => [o.status, o.deferred_reason]), [['pending', `dalam ringkasan #${digest.id}`], ['pending', `dalam ringkasan #${digest.id}`]]);
    // As the dispatcher fails a row (markFailed): the originals fail with a reason naming the digest.
    await db.pool.query("UPDATE wa_outbox SET status = 'failed', last_error = 'timeout: no answer', failure_code = 'timeout' WHERE id = $1", [digest.id]);
    assert.deepEqual((await originals())[0], { status: 'failed', last_error: `digest #${digest.id} failed: timeout: no answer`, failure_code: 'timeout', deferred_reason: null });
    const summary = await outboxSummary(db.pool, ZONE);
    assert.deepEqual(summary.failures24h, [{ reason: 'timeout', count: 1 }], 'one failure: the digest');
    // An original is acted on through its digest.
    const refused = await retryRows(db.pool, [ids[0]!]);
    assert.deepEqual(refused, [{ id: ids[0], done: false, detail: `went into digest ${digest.id} and ends with it; act on the digest instead (outbox show ${digest.id})` }]);
    assert.equal((await retryRows(db.pool, [digest.id]))[0]!.done, true);
    assert.deepEqual((await originals()).map((o) => o.status), ['pending', 'pending']);
    assert.equal((await cancelRows(db.pool, [ids[1]!]))[0]!.done, false);
    assert.equal((await cancelRows(db.pool, [digest.id]))[0]!.done, true);
    assert.deepEqual((await originals()).map((o) => [o.status, o.last_error]), [['cancelled', `digest #${digest.id} cancelled`], ['cancelled', `digest #${digest.id} cancelled`]]);
  });

  it('outbox show lists a digest\'s originals and count, and names the digest an original went into', async () => {
    const ids = [await notice(ADMINS[0]!, 'Absensi POLRES A selesai', at(0)), await notice(ADMINS[0]!, `Absensi POLRES B ${'panjang '.repeat(20)}`, at(125))];
    const waiting = await runOutboxCommand(db.pool, { action: 'show', ids: [ids[0]!], json: false, dryRun: false }, ZONE);
    assert.ok(waiting.lines.includes('  digest        key cicero-log: waits for its window, then goes out in a digest'));
    await composeDigests(db.pool, SETTINGS, at(60));
    const list = async () => (await runOutboxCommand(db.pool, { action: 'list', list: { limit: 10 }, ids: [], json: false, dryRun: false }, ZONE)).lines.join('\n');
    assert.match(await list(), /pending\s+admin_log\s+6281100000001\s+0\s+2026-12-04 10:00:00\s+digest 2026-12-04 10:15:00\s/, 'listed as waiting for its digest, not as due');
    await composeDigests(db.pool, SETTINGS, at(3600));
    assert.match(await list(), /pending\s+admin_log\s+6281100000001\s+0\s+2026-12-04 10:00:00\s+in digest 3\s/);
    const [digest] = await digestRows();
    const shown = await runOutboxCommand(db.pool, { action: 'show', ids: [digest.id], json: false, dryRun: false }, ZONE);
    const text = shown.lines.join('\n');
    assert.match(text, /\n {2}digest {8}folds 2 message\(s\): listed below\n/);
    assert.match(text, /\nMessages in this digest \(2\):\n\s+ID\s+CREATED \(WIB\)\s+STATUS\s+TEXT\n\s+1\s+2026-12-04 10:00:00\s+pending\s+Absensi POLRES A selesai\n\s+2\s+2026-12-04 10:02:05\s+pending\s+Absensi POLRES B panjang panjang .*…\n/);
    const json = JSON.parse((await runOutboxCommand(db.pool, { action: 'show', ids: [digest.id], json: true, dryRun: false }, ZONE)).lines.join('\n'));
    assert.deepEqual(json.digestEntries.map((e: { id: number; content: string }) => [e.id, e.content]), [[ids[0], 'Absensi POLRES A selesai'], [ids[1], `Absensi POLRES B ${'panjang '.repeat(20)}`]]);
    assert.equal(json.digestCount, 2);
    const original = await runOutboxCommand(db.pool, { action: 'show', ids: [ids[1]!], json: false, dryRun: false }, ZONE);
    assert.ok(original.lines.includes(`  digest        went into digest ${digest.id} (key cicero-log): cicero-wa outbox show ${digest.id}`));
    assert.ok(original.lines.includes(`History: never handed to WhatsApp on its own (it went in digest ${digest.id}).`));
  });

  it('the outbox maintenance composes with its clock', async () => {
    await notice(ADMINS[0]!, 'lewat pemeliharaan', at(0));
    const maintenance = new OutboxMaintenance({ pool: db.pool, logger: silentLogger(), dispatch: fastDispatch(), hooks: new OutcomeHooks(), governor: null, digests: SETTINGS, clock: fixedClock(at(14 * 60)) });
    assert.equal((await maintenance.run()).digests, 0);
    const later = new OutboxMaintenance({ pool: db.pool, logger: silentLogger(), dispatch: fastDispatch(), hooks: new OutcomeHooks(), governor: null, digests: SETTINGS, clock: fixedClock(at(15 * 60)) });
    const result = await later.run();
    assert.deepEqual({ digests: result.digests, folded: result.folded }, { digests: 1, folded: 1 });
    const { rows } = await db.pool.query("SELECT session, route_reason FROM wa_outbox WHERE type = 'digest'");
    assert.equal(rows[0].session, 'default', 'the digest routed in the same run');
  });
});

describe('digestKey in POST /api/messages (real HTTP on loopback)', () => {
  let db: TestDatabase;
  let app: App;
  let base: string;
  const API_KEY = 'digest-key-test-7f3a9c1e5b2d4f60';

  before(async () => {
    db = await createTestDatabase('outbox_digests_api', { migrated: true });
    const config = parseConfig(
      {
        DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', HTTP_PORT: '0', API_KEY, WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0',
        DAILY_REPORT_CRON: 'off', WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off', COMPLAINT_RESPONSE_CRON: 'off', OUTBOX_RETENTION_CRON: 'off',
      },
      testCwd(),
    );
    app = await startApp(config, silentLogger(), { transport: new FakeTransport(), drawQr: null, clock: fixedClock(T0) });
    base = app.http!.url!;
  });
  after(async () => {
    await app.stop();
    await db.drop();
  });

  const post = async (body: unknown) => {
    const response = await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('refuses a bad digestKey naming the field, and writes a good one on the row', async () => {
    for (const digestKey of ['', 'dengan spasi', 'x'.repeat(101), 'a/b']) {
      const refused = await post({ recipient: ADMINS[0], text: 'catatan', digestKey });
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.ok(refused.body.fields.some((f: { field: string }) => f.field === 'body.digestKey'), JSON.stringify(refused.body));
    }
    const withSendAt = await post({ recipient: ADMINS[0], text: 'catatan', digestKey: 'cicero-log', sendAt: '2030-12-01T07:00:00+07:00' });
    assert.equal(withSendAt.status, 400);
    assert.equal(withSendAt.body.fields[0].field, 'body.digestKey');
    assert.match(withSendAt.body.fields[0].message, /cannot be combined with sendAt/);
    assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM wa_outbox')).rows[0].n, 0);

    const created = await post({ recipient: ADMINS[0], text: 'catatan', digestKey: 'x'.repeat(100) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.digestKey, 'x'.repeat(100));
    assert.equal(created.body.digestId, null);
    const { rows } = await db.pool.query('SELECT digest_key, session FROM wa_outbox WHERE id = $1', [created.body.id]);
    assert.deepEqual(rows, [{ digest_key: 'x'.repeat(100), session: null }], 'stored, and not routed on its own');

    // The digest key is part of the request an Idempotency-Key stands for.
    const keyed = { recipient: ADMINS[1], text: 'sekali', digestKey: 'cicero-log', dedupKey: 'cicero-v2-log-1' };
    assert.equal((await post(keyed)).status, 201);
    assert.equal((await post(keyed)).status, 200);
    assert.equal((await post({ ...keyed, digestKey: undefined })).status, 422);
    assert.equal((await post({ ...keyed, digestKey: 'cicero-error' })).status, 422);
    await db.pool.query("DELETE FROM wa_outbox WHERE dedup_key = 'cicero-v2-log-1'");
    // Waiting for its digest is not being due: the oldest-due gauge does not count it.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const metrics = await (await fetch(`${base}/metrics`, { headers: { 'x-api-key': API_KEY } })).text();
    assert.doesNotMatch(metrics, /cicero_wa_outbox_oldest_due_seconds\{session="\(unrouted\)"\}/);
    const second = await post({ recipient: ADMINS[0], text: 'catatan dua', digestKey: 'x'.repeat(100) });
    await db.pool.query("UPDATE wa_outbox SET created_at = created_at - interval '1 hour' WHERE digest_key IS NOT NULL");
    await composeDigests(db.pool, { ...SETTINGS, timeZone: ZONE }, new Date());
    const original = await (await fetch(`${base}/api/messages/${second.body.id}`, { headers: { 'x-api-key': API_KEY } })).json() as any;
    assert.equal(typeof original.digestId, 'number');
    const digest = await (await fetch(`${base}/api/messages/${original.digestId}`, { headers: { 'x-api-key': API_KEY } })).json() as any;
    assert.equal(digest.type, 'digest');
    assert.equal(digest.digestCount, 2);
    assert.deepEqual(digest.digestEntries.map((e: { id: number; text: string }) => [e.id, e.text]), [[created.body.id, 'catatan'], [second.body.id, 'catatan dua']]);
  });
});
