/**
 * The outbox tried as an attacker would: holders frozen past their lease, a database away longer than
 * the lease, a 100 MB row, crash loops right after claiming, statuses written by other programs, a
 * complaint locked by another session. Real PostgreSQL servers and real processes; WhatsApp is the
 * fake transport, whose send log stands for what WhatsApp received.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs/promises';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { MIGRATIONS_DIR, migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { silentLogger } from '../src/lib/logger.js';
import { complaintResponder } from '../src/features/complaints/responder.js';
import { COMPLAINT_REPLY_TYPE } from '../src/features/complaints/responder.js';
import { listComplaints } from '../src/features/complaints/complaint-queue.js';
import { composeReply, loadTemplates } from '../src/features/complaints/reply.js';
import { OutboxMaintenance } from '../src/delivery/outbox-maintenance.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { outboxListener } from '../src/outbox/channel.js';
import { listOutbox } from '../src/outbox/listing.js';
import { retryRows } from '../src/outbox/operator-actions.js';
import { MAX_CONTENT_CHARS, OutboxValidationError, enqueue } from '../src/outbox/enqueue.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { systemClock } from '../src/lib/clock.js';
import { startCli, tempDir, type CliProcess } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';
import { freePort } from './helpers/ports.js';
import { insertMessages, readSends, repeats, serviceEnv, stopAll } from './helpers/services.js';

const countWhere = async (db: { query: pg.Pool['query'] }, where: string): Promise<number> =>
  ((await db.query(`SELECT count(*)::int AS n FROM wa_outbox WHERE ${where}`)).rows[0] as { n: number }).n;

describe('outbox under takeovers, outages and crash loops (processes, fake transport in place of WhatsApp)', () => {
  let db: TestDatabase;
  const services: CliProcess[] = [];
  before(async () => {
    db = await createTestDatabase('hardening_procs', { migrated: true });
  });
  after(async () => db.drop());
  afterEach(async () => {
    await stopAll(services.splice(0));
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
  });

  const fastLease = { WA_LEASE_MS: '2000', WA_SEND_TIMEOUT_MS: '1000', WA_CONFIRM_TIMEOUT_MS: '600000' };

  it('two instances and a holder frozen past its lease (SIGSTOP, SIGCONT): nothing is sent twice', async (t) => {
    const dir = await tempDir();
    const sendLog = path.join(dir, 'sends.jsonl');
    const env = serviceEnv(db.url, sendLog, { ...fastLease, WA_FAKE_SEND_DELAY_MS: '20' });
    await insertMessages(db.pool, 200);
    const a = startCli(['start'], env, dir);
    services.push(a);
    await waitUntil(() => readSends(sendLog).length >= 10, 60_000, 'A sending');
    a.child.kill('SIGSTOP'); // frozen while it holds a claimed batch
    const frozenHolding = await countWhere(db.pool, "status = 'sending'");
    const b = startCli(['start'], env, dir);
    services.push(b);
    await waitUntil(async () => (await countWhere(db.pool, "status IN ('pending', 'sending')")) === 0, 90_000, 'B to finish, A\'s rows included');
    const beforeThaw = readSends(sendLog).length;
    a.child.kill('SIGCONT'); // A wakes up believing it still holds its batch
    await new Promise((r) => setTimeout(r, 3000));
    const sends = readSends(sendLog);
    t.diagnostic(`A held ${frozenHolding} rows when frozen; sends after A woke: ${sends.length - beforeThaw}; repeated: ${repeats(sends)}`);
    assert.ok(frozenHolding > 0, 'A was frozen holding rows');
    assert.equal(new Set(sends.map((s) => s.text)).size, 200, 'every message went out');
    assert.equal(repeats(sends), 0, 'none twice');
    assert.equal(await countWhere(db.pool, "status <> 'sent'"), 0);
  });

  it('two instances and a database away longer than the lease: nothing is sent twice, nothing lost', async (t) => {
    const dataDir = await tempDir();
    const server = new EmbeddedPostgres({ dataDir, port: await freePort(), logger: silentLogger() });
    const url = await server.start();
    const pool = createPool(url, 2, silentLogger());
    const sendLog = path.join(dataDir, 'sends.jsonl');
    const env = serviceEnv(url, sendLog, { ...fastLease, WA_FAKE_SEND_DELAY_MS: '5', DATABASE_WAIT_MS: '30000' });
    const pair = [startCli(['start'], env, dataDir), startCli(['start'], env, dataDir)];
    try {
      await Promise.all(pair.map((s) => s.waitFor(/cicero-wa-gateway is up/)));
      await insertMessages(pool, 600);
      await waitUntil(() => readSends(sendLog).length >= 100, 60_000, '100 sends');
      await server.stop();
      await new Promise((r) => setTimeout(r, 4000)); // twice the lease
      await server.start();
      await waitUntil(async () => (await countWhere(pool, "status IN ('pending', 'sending')")) === 0, 120_000, 'all rows settled after the outage');
      const sends = readSends(sendLog);
      t.diagnostic(`sends: ${sends.length}; repeated: ${repeats(sends)}`);
      assert.equal(new Set(sends.map((s) => s.text)).size, 600, 'nothing lost');
      assert.equal(repeats(sends), 0, 'none twice');
      assert.equal(await countWhere(pool, "status <> 'sent'"), 0);
    } finally {
      await stopAll(pair);
      await pool.end().catch(() => undefined);
      await server.stop();
    }
  });

  it('a 100 MB row fails alone with its reason; the rows behind it are delivered', async (t) => {
    const dir = await tempDir();
    const sendLog = path.join(dir, 'sends.jsonl');
    await db.pool.query("INSERT INTO wa_outbox (recipient, content, type) VALUES ('081234567890', repeat('x', 100 * 1024 * 1024), 'huge')");
    await insertMessages(db.pool, 5, 'behind-');
    const started = performance.now();
    const service = startCli(['start'], serviceEnv(db.url, sendLog), dir);
    services.push(service);
    await waitUntil(async () => (await countWhere(db.pool, "status IN ('pending', 'sending')")) === 0, 60_000, 'the outbox to settle');
    t.diagnostic(`settled ${Math.round(performance.now() - started)} ms after start`);
    const { rows } = await db.pool.query('SELECT type, status, attempts, last_error FROM wa_outbox ORDER BY id');
    assert.equal(rows[0].status, 'failed');
    assert.equal(rows[0].last_error, 'content_too_large: 104,857,600 bytes; the limit is 65,536 characters');
    assert.ok(rows.slice(1).every((r) => r.status === 'sent'), 'the rows behind it are sent');
    assert.equal(readSends(sendLog).length, 5);
  });

  it('seven crashes right after claiming leave the untried rows pending with their attempts untouched', async (t) => {
    const dir = await tempDir();
    const sendLog = path.join(dir, 'sends.jsonl');
    // Each send spends 30 s before its hand-over (a slow number lookup): the kill lands before it.
    const slow = serviceEnv(db.url, sendLog, { ...fastLease, WA_FAKE_HANDOVER_DELAY_MS: '30000', WA_DISPATCH_BATCH_SIZE: '10' });
    await insertMessages(db.pool, 10);
    for (let crash = 1; crash <= 7; crash++) {
      const service = startCli(['start'], slow, dir);
      await waitUntil(async () => (await countWhere(db.pool, "status = 'sending' AND locked_by IS NOT NULL AND lease_until > now()")) === 10, 60_000, `claim ${crash}`);
      service.child.kill('SIGKILL');
      await service.exited;
    }
    const { rows } = await db.pool.query('SELECT status, attempts FROM wa_outbox ORDER BY id');
    t.diagnostic(`after 7 crashes: ${JSON.stringify(rows.reduce((acc: Record<string, number>, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {}))}`);
    assert.ok(rows.every((r) => r.attempts === 0), 'no attempt was used by a crash');
    assert.equal(readSends(sendLog).length, 0, 'nothing was handed over');
    const service = startCli(['start'], serviceEnv(db.url, sendLog, fastLease), dir);
    services.push(service);
    await waitUntil(async () => (await countWhere(db.pool, "status = 'sent' AND attempts = 1")) === 10, 60_000, 'all sent at the first real try');
    assert.equal(await countWhere(db.pool, "status = 'failed'"), 0, 'none dead-lettered');
  });
});

describe('outbox rows and complaints as other programs leave them (in-process, fake transport)', () => {
  let shared: TestDatabase;
  /** The database of the test at hand: the shared one, or a seed-era one. */
  let db: TestDatabase;
  const running: Array<{ stop(): Promise<void> }> = [];
  before(async () => {
    shared = await createTestDatabase('hardening_rows', { migrated: true });
  });
  after(async () => shared.drop());
  beforeEach(() => {
    db = shared;
  });
  afterEach(async () => {
    for (const r of running.splice(0).reverse()) await r.stop();
    await shared.pool.query('TRUNCATE wa_outbox, complaint_queue RESTART IDENTITY CASCADE');
  });

  async function gateway(): Promise<{ transport: FakeTransport; dispatcher: SessionDelivery }> {
    const transport = new FakeTransport();
    await transport.start();
    const dispatcher = new SessionDelivery({ pool: db.pool, transport, logger: silentLogger(), dispatch: fastDispatch(), defaultCountryCode: '62', instanceId: 'hardening' });
    const listener = outboxListener({ connectionString: db.url, logger: silentLogger(), onNotify: () => dispatcher.trigger('notify'), onReconnect: () => undefined });
    await listener.start();
    running.push(listener, dispatcher);
    return { transport, dispatcher };
  }

  /** A database the seed's own code created and filled, then migrated: its rows keep their old statuses. */
  async function seedEraDatabase(fill: string): Promise<TestDatabase> {
    const seeded = await createTestDatabase('hardening_seed_era');
    await seeded.pool.query(await fs.readFile(path.join(MIGRATIONS_DIR, '001_seed_tables.sql'), 'utf8'));
    await seeded.pool.query(fill);
    await migrate(seeded.pool, silentLogger());
    running.push({ stop: () => seeded.drop() });
    return seeded;
  }

  it('every outbox status is picked up or reported: NULL, seed-era spellings, a leaseless sending row, an unknown word', async () => {
    db = await seedEraDatabase(`INSERT INTO wa_outbox (recipient, content, type, status) VALUES
      ('081200000001', 'null status', 'legacy', NULL),
      ('081200000002', 'upper case', 'legacy', 'PENDING'),
      ('081200000003', 'seed queued', 'legacy', 'queued'),
      ('081200000004', 'seed retry', 'legacy', 'retry'),
      ('081200000005', 'sent upper', 'legacy', 'Sent'),
      ('081200000006', 'odd word', 'legacy', 'menunggu'),
      ('081200000007', 'leaseless', 'legacy', 'sending')`);
    const { transport, dispatcher } = await gateway();
    dispatcher.start();
    // The outbox maintenance (every minute, and at start-up) picks them up, not the drain.
    const maintenance = new OutboxMaintenance({ pool: db.pool, logger: silentLogger(), dispatch: fastDispatch(), hooks: dispatcher.hooks, governor: null });
    assert.deepEqual(await maintenance.run(), { sessions: 1, recoveredPending: 1, recoveredSent: 0, normalised: 5, unconfirmed: 0, healed: 0, requeued: 0, routed: 0, moved: 0, digests: 0, folded: 0 });
    await waitUntil(() => transport.sends.length === 5, 5000, 'five sends');
    await dispatcher.idle();
    const rows = (await db.pool.query('SELECT content, status, last_error FROM wa_outbox ORDER BY id')).rows;
    assert.deepEqual(rows.map((r) => r.status), ['sent', 'sent', 'sent', 'sent', 'sent', 'menunggu', 'sent']);
    assert.deepEqual(transport.sends.map((s) => s.text).sort(), ['leaseless', 'null status', 'seed queued', 'seed retry', 'upper case']);
    assert.equal(rows[4].last_error, 'status was "Sent": read as sent', 'a sent row of another spelling is not sent again');
    const other = await listOutbox(db.pool, { status: 'other', limit: 10 });
    assert.deepEqual(other.map((r) => r.status), ['menunggu'], 'an unknown status is listed');
    const [retried] = await retryRows(db.pool, [other[0]!.id]);
    assert.equal(retried!.done, true, retried!.detail);
    await waitUntil(() => transport.sends.length === 6, 5000, 'the retried row sent');
  });

  it('every complaint status is picked up or reported; a template key "constructor" gets the generic reply', async () => {
    db = await seedEraDatabase(`INSERT INTO complaint_queue (complainant, response_template, status) VALUES
      ('081300000001', 'generic', NULL),
      ('081300000002', 'instagram_not_recorded', 'PENDING'),
      ('081300000003', 'constructor', 'queued'),
      ('081300000004', 'generic', 'diproses')`);
    const responder = complaintResponder({ pool: db.pool, templates: await loadTemplates(null), timeZone: 'Asia/Jakarta', defaultCountryCode: '62' }, systemClock, silentLogger());
    responder.trigger();
    await responder.idle();
    const rows = (await db.pool.query('SELECT status, outbox_id FROM complaint_queue ORDER BY id')).rows;
    assert.deepEqual(rows.map((r) => r.status), ['queued', 'queued', 'queued', 'diproses']);
    const reply = (await db.pool.query('SELECT content FROM wa_outbox WHERE id = $1', [rows[2].outbox_id])).rows[0].content as string;
    const templates = await loadTemplates(null);
    assert.ok(reply.includes(templates.generic!.kendala), 'the generic template answers "constructor"');
    const other = await listComplaints(db.pool, { status: 'other', limit: 10 });
    assert.deepEqual(other.map((c) => c.status), ['diproses']);
  });

  it('template keys and placeholders are looked up as own keys only', async () => {
    const templates = await loadTemplates(null);
    const who = { nomor: '6281300000001', nama: 'Budi', pangkat: 'BRIPKA', nrp: '87010123', satker: 'Polres A' };
    for (const key of ['constructor', 'tostring', 'hasownproperty', 'valueof']) {
      const reply = composeReply(key, who, templates, new Date('2026-11-25T01:00:00Z'), 'Asia/Jakarta');
      assert.equal(reply.unknownKey, key);
      assert.ok(reply.text.includes(templates.generic!.kendala), key);
    }
    // `__proto__` is no template key (keys start with a letter): it is literal text, sent as written.
    const proto = composeReply('__proto__', who, templates, new Date('2026-11-25T01:00:00Z'), 'Asia/Jakarta');
    assert.ok(proto.text.includes('\n__proto__\n'), proto.text);
    const literal = composeReply('Halo {nama}: {constructor} {__proto__} {toString} {valueOf}', who, templates, new Date('2026-11-25T01:00:00Z'), 'Asia/Jakarta');
    assert.ok(literal.text.includes('Halo Budi: {constructor} {__proto__} {toString} {valueOf}'), literal.text);
    assert.deepEqual(literal.unknownPlaceholders, ['constructor', '__proto__', 'toString', 'valueOf']);
  });

  it('a complaint locked by another session does not stop other sends; its status is reconciled later', async (t) => {
    await db.pool.query("INSERT INTO complaint_queue (complainant, response_template) VALUES ('081300000009', 'generic')");
    const responder = complaintResponder({ pool: db.pool, templates: await loadTemplates(null), timeZone: 'Asia/Jakarta', defaultCountryCode: '62' }, systemClock, silentLogger());
    responder.trigger();
    await responder.idle();
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('SELECT * FROM complaint_queue FOR UPDATE'); // an operator's open transaction
    try {
      const { dispatcher } = await gateway();
      dispatcher.hooks.onOutcome([COMPLAINT_REPLY_TYPE], responder.outcomeHook);
      await enqueue(db.pool, Array.from({ length: 10 }, (_, i) => ({ recipient: `08140000000${i}`, content: `Lain ${i}`, type: 'test' })));
      dispatcher.start();
      const took = await waitUntil(async () => (await countWhere(db.pool, "status = 'sent'")) === 11, 15_000, 'every row sent despite the lock');
      t.diagnostic(`all 11 sent in ${Math.round(took)} ms with the complaint locked`);
      assert.ok(took < 10_000);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    assert.equal((await db.pool.query('SELECT status FROM complaint_queue')).rows[0].status, 'queued', 'the hook gave up on the lock');
    responder.trigger();
    await responder.idle();
    assert.equal((await db.pool.query('SELECT status FROM complaint_queue')).rows[0].status, 'responded', 'reconciled from the outbox');
  });

  it('refuses a message over the content limit at enqueue, naming it, and writes nothing', async () => {
    await assert.rejects(
      enqueue(db.pool, [{ recipient: '081234567890', content: 'x'.repeat(MAX_CONTENT_CHARS + 1), type: 'test' }]),
      (err: unknown) => err instanceof OutboxValidationError && /message 0: content is 65,537 characters long; the limit is 65,536/.test(err.message),
    );
    assert.equal(await countWhere(db.pool, 'true'), 0);
  });
});
