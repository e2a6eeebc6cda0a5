/**
 * The outbox maintenance: one shared job, once per slot across instances (the run ledger), session by
 * session; and the TypeScript confirmation summary the drain writes equal to the database's own.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { OutboxMaintenance } from '../src/delivery/outbox-maintenance.js';
import { silentLogger } from '../src/lib/logger.js';
import { outboxListener } from '../src/outbox/channel.js';
import { OutcomeHooks } from '../src/outbox/outcomes.js';
import { HANDED_OVER, PART_OUTCOMES, summariseParts, type HandedOverOutcome } from '../src/outbox/vocabulary.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

describe('outbox maintenance', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('outbox_maintenance', { migrated: true });
  });
  after(async () => db.drop());
  afterEach(async () => {
    await db.pool.query('TRUNCATE wa_outbox, cron_job_runs RESTART IDENTITY CASCADE');
  });

  /** A row left `sending` by a holder that stopped, in `session`. */
  const abandoned = async (session: string, label: string) =>
    (
      await db.pool.query(
        `INSERT INTO wa_outbox (recipient, content, type, session, status, locked_by, lease_until)
         VALUES ('081200000001', $2, 'test', $1, 'sending', 'gone-host:1', now() - interval '1 minute') RETURNING id`,
        [session, label],
      )
    ).rows[0].id as number;

  it('three instances, the job every 2 s: each slot run once in the ledger, and a stopped holder\'s rows put back once', async (t) => {
    const ids = [await abandoned('default', 'a'), await abandoned('admin', 'b'), await abandoned('user', 'c')];
    const config = parseConfig(
      {
        DATABASE_URL: db.url, SERVICE_ROLE: 'scheduler', HTTP_PORT: 'off', CRON_CATCHUP_HOURS: '0', OUTBOX_MAINTENANCE_CRON: '*/2 * * * * *',
        DAILY_REPORT_CRON: 'off', WEEKLY_REPORT_CRON: 'off', MONTHLY_REPORT_CRON: 'off', TASK_DELIVERY_RECAP_CRON: 'off', COMPLAINT_RESPONSE_CRON: 'off', OUTBOX_RETENTION_CRON: 'off',
      },
      testCwd(),
    );
    const apps: App[] = [];
    try {
      for (let i = 0; i < 3; i++) apps.push(await startApp(config, silentLogger(), { drawQr: null }));
      await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM cron_job_runs WHERE job = 'outbox-maintenance' AND status = 'succeeded'")).rows[0].n >= 4, 20_000, 'four slots');
    } finally {
      for (const app of apps) await app.stop();
    }
    const { rows: runs } = await db.pool.query("SELECT slot, instance, detail FROM cron_job_runs WHERE job = 'outbox-maintenance' ORDER BY slot");
    const slots = runs.map((r) => (r.slot as Date).getTime());
    assert.equal(new Set(slots).size, slots.length, 'each slot once across the three instances');
    for (let i = 1; i < slots.length; i++) assert.equal(slots[i]! - slots[i - 1]!, 2000, 'every slot, none missing');
    t.diagnostic(`${runs.length} slots run by ${new Set(runs.map((r) => r.instance)).size} instance(s); first: ${runs[0]?.detail}`);
    const { rows } = await db.pool.query('SELECT id, status, last_error FROM wa_outbox WHERE id = ANY($1::int[]) ORDER BY id', [ids]);
    assert.deepEqual(rows.map((r) => r.status), ['pending', 'pending', 'pending'], 'every session\'s row put back');
    assert.ok(rows.every((r) => /^lease expired: the dispatcher holding it stopped \(gone-host:1\)$/.test(r.last_error)));
  });

  it('works session by session: each session with work is found, and only those', async () => {
    // NULL is what another program's INSERT leaves when it names no status (the check constraint lets it through).
    await db.pool.query(
      `INSERT INTO wa_outbox (recipient, content, type, session, status) VALUES
         ('081200000001', 'x', 'test', 'admin', NULL), ('081200000002', 'y', 'test', 'user', NULL), ('081200000003', 'z', 'test', 'user', NULL),
         ('081200000004', 'w', 'test', 'default', 'pending')`,
    );
    const maintenance = new OutboxMaintenance({ pool: db.pool, logger: silentLogger(), dispatch: fastDispatch(), hooks: new OutcomeHooks(), governor: null });
    const result = await maintenance.run();
    assert.deepEqual({ sessions: result.sessions, normalised: result.normalised }, { sessions: 2, normalised: 3 });
    const { rows } = await db.pool.query('SELECT session, status, last_error FROM wa_outbox ORDER BY id');
    assert.deepEqual(rows.map((r) => [r.session, r.status]), [['admin', 'pending'], ['user', 'pending'], ['user', 'pending'], ['default', 'pending']]);
    assert.deepEqual(rows.map((r) => r.last_error), ['status was NULL: read as pending', 'status was NULL: read as pending', 'status was NULL: read as pending', null]);
    assert.equal((await maintenance.run()).sessions, 0, 'nothing left to do');
  });

  it("leaves the rows this process's dispatcher holds right now, recovers one it let go of, and wakes the confirmer of a session whose sends it recovered as unknown", async () => {
    const held = await abandoned('default', 'still held here');
    const dropped = await abandoned('default', 'let go of');
    const handedOver = await abandoned('admin', 'handed over when its holder stopped');
    await db.pool.query(
      `INSERT INTO wa_outbox_sends (outbox_id, part, parts, chat_id, body_sha256, instance, outcome, session)
       VALUES ($1, 0, 1, '6281200000001@c.us', 'x', 'gone-host:1', 'handing_over', 'admin')`,
      [handedOver],
    );
    const payloads: string[] = [];
    const listener = outboxListener({ connectionString: db.url, logger: silentLogger(), onNotify: (payload) => payloads.push(payload), onReconnect: () => undefined });
    await listener.start();
    try {
      const maintenance = new OutboxMaintenance({ pool: db.pool, logger: silentLogger(), dispatch: fastDispatch(), hooks: new OutcomeHooks(), governor: null, heldHere: () => [held] });
      const result = await maintenance.run();
      assert.deepEqual({ pending: result.recoveredPending, sent: result.recoveredSent }, { pending: 1, sent: 1 });
      await waitUntil(() => payloads.includes('recovered-unknown:admin') && payloads.includes(''), 5000, 'the notifications');
    } finally {
      await listener.stop();
    }
    const { rows } = await db.pool.query('SELECT id, status, confirmation FROM wa_outbox ORDER BY id');
    assert.deepEqual(rows, [
      { id: held, status: 'sending', confirmation: null },
      { id: dropped, status: 'pending', confirmation: null },
      { id: handedOver, status: 'sent', confirmation: 'awaiting' },
    ]);
    assert.equal((await db.pool.query('SELECT outcome FROM wa_outbox_sends WHERE outbox_id = $1', [handedOver])).rows[0].outcome, 'unknown');
  });

  it("the drain's confirmation summary is the database's cicero_wa_outbox_confirmation(), for every mix of part outcomes", async () => {
    const outcomes = [...PART_OUTCOMES];
    // Every combination of two parts' outcomes, and every single part.
    const mixes: string[][] = [...outcomes.map((o) => [o]), ...outcomes.flatMap((a) => outcomes.map((b) => [a, b]))];
    for (const [i, mix] of mixes.entries()) {
      const { rows: [row] } = await db.pool.query("INSERT INTO wa_outbox (recipient, content, type, status) VALUES ('081200000001', $1, 'test', 'sent') RETURNING id", [`mix ${i}`]);
      for (const [part, outcome] of mix.entries()) {
        await db.pool.query(
          `INSERT INTO wa_outbox_sends (outbox_id, part, parts, chat_id, body_sha256, instance, outcome, reason)
           VALUES ($1, $2, $3, '6281200000001@c.us', 'x', 'test', $4, $5)`,
          [row.id, part, mix.length, outcome, `why ${outcome}`],
        );
      }
      const inDatabase = (await db.pool.query('SELECT cicero_wa_outbox_confirmation($1) AS c', [row.id])).rows[0].c;
      const handedOver = mix.filter((o): o is HandedOverOutcome => (HANDED_OVER as readonly string[]).includes(o));
      const inCode = summariseParts(handedOver.map((outcome) => ({ outcome, reason: `why ${outcome}` }))).confirmation;
      assert.equal(inCode, inDatabase, `parts ${mix.join(', ')}`);
    }
  });
});
