/**
 * Routing and failover on a real PostgreSQL, with three registered numbers written as plain rows of
 * wa_sessions, wa_group_members, wa_session_guard and wa_chat_affinity, and WhatsApp replaced by the
 * fake transport (the stand-in) where a row is sent.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { recordDeliveredReceipt } from '../src/delivery/chat-affinity.js';
import { OutboxMaintenance } from '../src/delivery/outbox-maintenance.js';
import { Router, carryProblem, decide, type SessionInfo } from '../src/delivery/routing.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { Intake, personChat } from '../src/inbound/intake.js';
import { WebhookEvents } from '../src/webhooks/events.js';
import { silentLogger } from '../src/lib/logger.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { outboxRow, rowJson } from '../src/outbox/listing.js';
import { OutcomeHooks } from '../src/outbox/outcomes.js';
import { UNROUTED, hasUnroutedRows } from '../src/outbox/routing.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';

const GRACE_MS = 300_000;

describe('routing: messages without a session go to the number the person talks to or that is in the group', () => {
  let db: TestDatabase;
  let router: Router;
  const hooks = new OutcomeHooks();
  const failedHooks: number[] = [];
  hooks.onOutcome('*', async (_tx, event) => {
    if (event.status === 'failed') failedHooks.push(event.row.id);
  });

  before(async () => {
    db = await createTestDatabase('routing', { migrated: true });
    router = new Router({ pool: db.pool, logger: silentLogger(), defaultCountryCode: '62', failoverAfterMs: GRACE_MS, hooks });
  });
  after(async () => db.drop());
  beforeEach(async () => {
    failedHooks.length = 0;
    await db.pool.query('TRUNCATE wa_outbox, wa_sessions, wa_session_guard, wa_group_members, wa_chat_affinity RESTART IDENTITY CASCADE');
  });

  /** Three numbers, each ready: a (oldest), b (home of daily_report), c (home of every other type, '*'). */
  async function threeSessions(): Promise<void> {
    await db.pool.query(
      `INSERT INTO wa_sessions (name, auth_profile, state, state_since, home_types, created_at) VALUES
         ('a', 'pa', 'ready', now(), '{}', now() - interval '3 days'),
         ('b', 'pb', 'ready', now(), '{daily_report}', now() - interval '2 days'),
         ('c', 'pc', 'ready', now(), '{*}', now() - interval '1 day')`,
    );
  }

  const phone = (i: number) => `62812000${String(i).padStart(5, '0')}`;
  const chat = (i: number) => `${phone(i)}@c.us`;

  /** The seed's INSERT: no session, no priority, nothing but recipient, content and type. */
  async function seedInsert(recipient: string, type = 'manual', content = 'Pesan'): Promise<number> {
    const { rows } = await db.pool.query<{ id: number }>('INSERT INTO wa_outbox (recipient, content, type) VALUES ($1, $2, $3) RETURNING id', [recipient, content, type]);
    return rows[0]!.id;
  }

  const rowsById = async (ids: number[]) =>
    new Map(
      (await db.pool.query<{ id: number; session: string | null; route_reason: string | null; status: string; failure_code: string | null; last_error: string | null; route_moves: Array<{ from: string; to: string; why: string }> }>(
        'SELECT id, session, route_reason, status, failure_code, last_error, route_moves FROM wa_outbox WHERE id = ANY($1::int[])',
        [ids],
      )).rows.map((r) => [r.id, r]),
    );

  async function pause(session: string, kind = 'operator'): Promise<void> {
    await db.pool.query(
      `INSERT INTO wa_session_guard (session, pause_kind, paused_at, pause_reason) VALUES ($1, $2, now(), 'test')
       ON CONFLICT (session) DO UPDATE SET pause_kind = EXCLUDED.pause_kind, paused_at = now()`,
      [session, kind],
    );
  }

  it('a message that follows another goes from its number: a leader routed in the same batch, an explicit leader, a leader that failed at once', async () => {
    await threeSessions();
    // A person who wrote to c: the leader is routed to c; its follower, in the same batch, goes with it.
    await db.pool.query(`INSERT INTO wa_chat_affinity (chat_id, session, last_inbound_at) VALUES ($1, 'c', now())`, [chat(1)]);
    const [leader, follower] = await enqueue(db.pool, [
      { recipient: phone(1), content: 'Satu', type: 'manual', dedupKey: 'lead-1' },
      { recipient: phone(1), content: 'Dua', type: 'manual', dedupKey: 'follow-1', follows: 'lead-1' },
    ]);
    // A leader sent explicitly from a (the person wrote to c): the follower goes from a, not by the rules.
    const [explicit] = await enqueue(db.pool, [{ recipient: phone(1), content: 'Tiga', type: 'manual', dedupKey: 'lead-2', session: 'a' }]);
    const [afterExplicit] = await enqueue(db.pool, [{ recipient: phone(1), content: 'Empat', type: 'manual', dedupKey: 'follow-2', follows: 'lead-2' }]);
    // A leader to a group no number is in fails at once; its follower is then routed by the rules.
    await db.pool.query(`INSERT INTO wa_group_members (session, chat_id, member) VALUES ('a', '120363000000000777@g.us', true), ('b', '120363000000000777@g.us', true), ('c', '120363000000000777@g.us', true)`);
    const [groupLeader, groupFollower] = await enqueue(db.pool, [
      { recipient: '120363000000000999@g.us', content: 'Lima', type: 'manual', dedupKey: 'lead-3' },
      { recipient: '120363000000000777@g.us', content: 'Enam', type: 'manual', dedupKey: 'follow-3', follows: 'lead-3' },
    ]);
    await router.routeUnrouted();
    await router.routeUnrouted();
    const rows = await rowsById([leader!.id, follower!.id, explicit!.id, afterExplicit!.id, groupLeader!.id, groupFollower!.id]);
    assert.deepEqual([rows.get(leader!.id)!.session, rows.get(leader!.id)!.route_reason], ['c', 'wrote_last']);
    assert.deepEqual([rows.get(follower!.id)!.session, rows.get(follower!.id)!.route_reason], ['c', 'follows']);
    assert.deepEqual([rows.get(afterExplicit!.id)!.session, rows.get(afterExplicit!.id)!.route_reason], ['a', 'follows']);
    assert.equal(rows.get(groupLeader!.id)!.failure_code, 'not_in_group');
    assert.equal(rows.get(groupFollower!.id)!.route_reason, 'group_member');
  });

  it('a seed-style INSERT without a session is written with none (to be routed); an explicit session keeps "explicit"', async () => {
    const seeded = await seedInsert('081200000001');
    const [api] = await enqueue(db.pool, [{ recipient: '081200000002', content: 'x', type: 'api' }]);
    const [explicit] = await enqueue(db.pool, [{ recipient: '081200000003', content: 'x', type: 'api', session: 'b' }]);
    const rows = await rowsById([seeded, api!.id, explicit!.id]);
    assert.equal(rows.get(seeded)!.session, null);
    assert.equal(rows.get(api!.id)!.session, null);
    assert.deepEqual([rows.get(explicit!.id)!.session, rows.get(explicit!.id)!.route_reason], ['b', 'explicit']);
    const listed = (await outboxRow(db.pool, seeded))!;
    assert.equal(listed.session, null);
    assert.equal(rowJson(listed, 'Asia/Jakarta').session, null);
  });

  it('no registered number: everything goes to default, as only_number', async () => {
    const id = await seedInsert('081200000001');
    const group = await seedInsert('120363000000000001@g.us', 'daily_report');
    assert.deepEqual(await router.routeUnrouted(), { routed: 2, waiting: 0, failed: 0 });
    const rows = await rowsById([id, group]);
    for (const r of rows.values()) assert.deepEqual([r.session, r.route_reason], ['default', 'only_number']);
  });

  it('personal routing: 100 people each wrote to one of three numbers; their 300 messages each go from the number they wrote to', async () => {
    await threeSessions();
    const names = ['a', 'b', 'c'];
    // Each person wrote to one number; the next number delivered to them more recently (wrote_last wins).
    await db.pool.query(
      `INSERT INTO wa_chat_affinity (chat_id, session, last_inbound_at, last_delivered_at)
       SELECT '62812000' || lpad(i::text, 5, '0') || '@c.us', (ARRAY['a','b','c'])[i % 3 + 1], now() - interval '2 days', NULL FROM generate_series(0, 99) i
       UNION ALL
       SELECT '62812000' || lpad(i::text, 5, '0') || '@c.us', (ARRAY['a','b','c'])[(i + 1) % 3 + 1], NULL, now() - interval '1 hour' FROM generate_series(0, 99) i`,
    );
    const ids: Array<[number, number]> = [];
    for (let i = 0; i < 100; i++) {
      // Three ways the outbox is addressed: 08…, 62…, and the chat id.
      ids.push([await seedInsert(`0812000${String(i).padStart(5, '0')}`, 'complaint_reply'), i]);
      ids.push([await seedInsert(phone(i), 'daily_report'), i]);
    }
    const written = await enqueue(db.pool, Array.from({ length: 100 }, (_, i) => ({ recipient: chat(i), content: `Pesan ${i}`, type: 'api' })));
    written.forEach((w, i) => ids.push([w.id, i]));
    const never = await seedInsert('081299999999', 'daily_report');
    const neverOther = await seedInsert('081299999998', 'api');

    const result = await router.routeUnrouted();
    assert.deepEqual(result, { routed: 302, waiting: 0, failed: 0 });
    const rows = await rowsById([...ids.map(([id]) => id), never, neverOther]);
    for (const [id, person] of ids) {
      assert.deepEqual([rows.get(id)!.session, rows.get(id)!.route_reason], [names[person % 3], 'wrote_last'], `row ${id} of person ${person}`);
    }
    assert.deepEqual([rows.get(never)!.session, rows.get(never)!.route_reason], ['b', 'home'], "a person who never wrote: the type's home number");
    assert.deepEqual([rows.get(neverOther)!.session, rows.get(neverOther)!.route_reason], ['c', 'home'], "another type: the '*' home");
  });

  it('personal routing at its limits: delivered_last, never a cold number while a known one can send, waiting when none can', async () => {
    await threeSessions();
    await db.pool.query(
      `INSERT INTO wa_chat_affinity (chat_id, session, last_inbound_at, last_delivered_at) VALUES
         ($1, 'a', now() - interval '1 hour', NULL), ($1, 'c', NULL, now() - interval '1 day'),
         ($2, 'a', now(), NULL)`,
      [chat(1), chat(2)],
    );
    await pause('a');
    const reached = await seedInsert(phone(1), 'daily_report');
    const onlyA = await seedInsert(phone(2), 'daily_report');
    assert.deepEqual(await router.routeUnrouted(), { routed: 1, waiting: 1, failed: 0 });
    const rows = await rowsById([reached, onlyA]);
    assert.deepEqual([rows.get(reached)!.session, rows.get(reached)!.route_reason], ['c', 'delivered_last'], 'the number that delivered to them, not the home number b');
    assert.equal(rows.get(onlyA)!.session, 'a', 'waits at the number the person talks to; never the home number b, cold to them');
    assert.match(rows.get(onlyA)!.route_reason!, /^menunggu: orang ini hanya pernah bicara dengan nomor a \(sedang dijeda \(operator\)\)/);
  });

  it("no home number can send: another number that can (any_number); the oldest session is the home without home_types", async () => {
    await db.pool.query(
      `INSERT INTO wa_sessions (name, auth_profile, state, state_since, created_at) VALUES
         ('old', 'po', 'ready', now(), now() - interval '2 days'), ('new', 'pn', 'ready', now(), now() - interval '1 day')`,
    );
    const first = await seedInsert('081200000001');
    await router.routeUnrouted();
    assert.deepEqual([(await rowsById([first])).get(first)!.session, (await rowsById([first])).get(first)!.route_reason], ['old', 'home']);
    await db.pool.query("UPDATE wa_sessions SET enabled = false WHERE name = 'old'");
    const second = await seedInsert('081200000002');
    await router.routeUnrouted();
    const row = (await rowsById([second])).get(second)!;
    assert.deepEqual([row.session, row.route_reason], ['new', 'any_number']);
  });

  it('group routing: 50 groups with different member sets; each goes from a member, an admins-only group from an admin', async () => {
    await threeSessions();
    const subsets = [['a'], ['b'], ['c'], ['a', 'b'], ['a', 'c'], ['b', 'c'], ['a', 'b', 'c']];
    const groups = Array.from({ length: 50 }, (_, g) => {
      const members = subsets[g % 7]!;
      const adminsOnly = g % 5 === 0 && members.length > 1;
      return { chatId: `1203630000000${String(g).padStart(5, '0')}@g.us`, members, adminsOnly, admin: adminsOnly ? members[members.length - 1]! : null };
    });
    for (const g of groups) {
      for (const s of ['a', 'b', 'c']) {
        const member = g.members.includes(s);
        // A number not in the group either has a row saying so or is simply absent from its listing.
        if (!member && s === 'c') continue;
        await db.pool.query(
          'INSERT INTO wa_group_members (session, chat_id, name, member, admin, admins_only) VALUES ($1, $2, $3, $4, $5, $6)',
          [s, g.chatId, `Polres ${g.chatId.slice(13, 18)}`, member, g.admin === s, g.adminsOnly],
        );
      }
    }
    // Every enabled number has a listing (a disabled one without a listing changes nothing).
    await db.pool.query("INSERT INTO wa_group_members (session, chat_id, member) VALUES ('c', '120363999999999999@g.us', true)");
    await db.pool.query("INSERT INTO wa_sessions (name, auth_profile, state, enabled) VALUES ('off', 'poff', 'ready', false)");
    const ids = new Map<number, (typeof groups)[number]>();
    for (const g of groups) ids.set(await seedInsert(g.chatId, 'daily_report'), g);
    const nobody = await seedInsert('120363000000099999@g.us', 'daily_report');
    await db.pool.query(
      `INSERT INTO wa_group_members (session, chat_id, name, member, admin, admins_only) VALUES ('a', '120363000000088888@g.us', 'Polres Tanpa Admin', true, false, true)`,
    );
    const noAdmin = await seedInsert('120363000000088888@g.us', 'daily_report');

    const result = await router.routeUnrouted();
    assert.deepEqual(result, { routed: 50, waiting: 0, failed: 2 });
    const rows = await rowsById([...ids.keys(), nobody, noAdmin]);
    for (const [id, g] of ids) {
      const row = rows.get(id)!;
      if (g.adminsOnly) assert.deepEqual([row.session, row.route_reason], [g.admin, 'group_admin'], g.chatId);
      else {
        assert.ok(g.members.includes(row.session!), `${g.chatId}: ${row.session} is a member (${g.members})`);
        assert.equal(row.route_reason, 'group_member');
        if (g.members.includes('b')) assert.equal(row.session, 'b', 'the home number of daily_report when it is a member');
      }
    }
    const failed = rows.get(nobody)!;
    assert.deepEqual([failed.status, failed.failure_code, failed.session], ['failed', 'not_in_group', null]);
    assert.match(failed.last_error!, /^not_in_group: tidak ada nomor yang menjadi anggota grup 120363000000099999@g\.us/);
    assert.equal(failed.route_reason, failed.last_error);
    const admins = rows.get(noAdmin)!;
    assert.deepEqual([admins.status, admins.failure_code], ['failed', 'not_group_admin']);
    assert.match(admins.last_error!, /Polres Tanpa Admin/);
    assert.deepEqual(failedHooks.sort(), [nobody, noAdmin].sort(), 'the outcome hooks ran for the rows failed at once');
  });

  it('group routing: unknown membership (no listing at all) goes from the home number; among members, the one with fewer waiting rows', async () => {
    await threeSessions();
    const unknown = await seedInsert('120363000000011111@g.us', 'daily_report');
    await router.routeUnrouted();
    assert.deepEqual([(await rowsById([unknown])).get(unknown)!.session, (await rowsById([unknown])).get(unknown)!.route_reason], ['b', 'home']);
    // a and b are both members and neither is the home of type api (c is, by '*', and not a member).
    await db.pool.query(
      `INSERT INTO wa_group_members (session, chat_id, member) VALUES ('a', '120363000000022222@g.us', true), ('b', '120363000000022222@g.us', true)`,
    );
    await enqueue(db.pool, [{ recipient: '081200000001', content: 'x', type: 'x', session: 'a' }, { recipient: '081200000001', content: 'y', type: 'x', session: 'a' }]);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await seedInsert('120363000000022222@g.us', 'api', `Rekap ${i}`));
    await router.routeUnrouted();
    const rows = await rowsById(ids);
    // a waits with 2 rows, b with 1 (the group above): b (2 and 2), a by name on the tie (3 and 2), then b.
    assert.deepEqual(ids.map((id) => rows.get(id)!.session), ['b', 'a', 'b']);
    assert.ok(ids.every((id) => rows.get(id)!.route_reason === 'group_member'));
    // A group none of the listed numbers is in, while c has not listed its groups yet: c may be in it (sent as before).
    const maybe = await seedInsert('120363000000044444@g.us', 'daily_report');
    await router.routeUnrouted();
    const row = (await rowsById([maybe])).get(maybe)!;
    assert.deepEqual([row.status, row.session, row.route_reason], ['pending', 'c', 'home']);
  });

  it('the look for unrouted rows before every drain reads wa_outbox_unrouted_plain_idx: 5,000 sent rows and 2,000 failed at once cost a page', async () => {
    await db.pool.query(`INSERT INTO wa_outbox (recipient, content, type, session, status) SELECT '0812' || g, 'x', 'api', 'a', 'sent' FROM generate_series(1, 5000) g`);
    await db.pool.query(`INSERT INTO wa_outbox (recipient, content, type, status, failure_code) SELECT g || '@g.us', 'x', 'api', 'failed', 'not_in_group' FROM generate_series(100000, 101999) g`);
    await db.pool.query('ANALYZE wa_outbox');
    assert.equal(await hasUnroutedRows(db.pool), false);
    const [plan] = (await db.pool.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT EXISTS (SELECT 1 FROM wa_outbox WHERE ${UNROUTED})`)).rows[0]['QUERY PLAN'];
    assert.match(JSON.stringify(plan), /wa_outbox_unrouted_plain_idx/);
    assert.ok(plan.Plan['Shared Hit Blocks'] + (plan.Plan['Shared Read Blocks'] ?? 0) < 10, JSON.stringify(plan.Plan));
    await seedInsert('081200000001');
    assert.equal(await hasUnroutedRows(db.pool), true);
  });

  it('a session can carry at its limits: not ready for 299 s yes, 301 s no; paused, disabled, logged out and unregistered no', () => {
    const now = new Date('2026-12-04T12:00:00Z');
    const s = (over: Partial<SessionInfo>): SessionInfo => ({ name: 'a', enabled: true, state: 'ready', stateSince: now, homeTypes: [], createdAt: now, paused: null, ...over });
    const ago = (sec: number) => new Date(now.getTime() - sec * 1000);
    assert.equal(carryProblem(s({}), now, GRACE_MS), null);
    assert.equal(carryProblem(s({ state: 'authenticated', stateSince: ago(9999) }), now, GRACE_MS), null);
    assert.equal(carryProblem(s({ state: 'disconnected', stateSince: ago(299) }), now, GRACE_MS), null);
    assert.equal(carryProblem(s({ state: 'reconnecting', stateSince: ago(300) }), now, GRACE_MS), 'tidak siap (reconnecting) sejak 300 detik');
    assert.match(carryProblem(s({ state: 'disconnected', stateSince: ago(301) }), now, GRACE_MS)!, /tidak siap/);
    assert.match(carryProblem(s({ state: 'failed' }), now, GRACE_MS)!, /keluar atau gagal/);
    assert.match(carryProblem(s({ state: 'awaiting_qr' }), now, GRACE_MS)!, /QR/);
    assert.equal(carryProblem(s({ enabled: false }), now, GRACE_MS), 'dinonaktifkan');
    assert.equal(carryProblem(s({ paused: 'cooling' }), now, GRACE_MS), 'sedang dijeda (cooling)');
    assert.equal(carryProblem(undefined, now, GRACE_MS), 'tidak terdaftar lagi');
    // The rules themselves never choose a number that cannot carry while another known one can.
    const d = decide({
      type: 't', chatId: '6281200000001@c.us', now, failoverAfterMs: GRACE_MS, group: [], listed: new Set(), waiting: new Map(),
      sessions: [s({ name: 'a', state: 'disconnected', stateSince: ago(301) }), s({ name: 'b', homeTypes: ['t'] })],
      affinity: [{ chatId: '6281200000001@c.us', session: 'a', lastInboundAt: now, lastDeliveredAt: null }],
    });
    assert.equal(d.kind, 'wait');
  });

  describe('failover', () => {
    /** A row routed to `session` with `reason`, as the router would have left it. */
    async function routedRow(recipient: string, session: string, reason: string, type = 'daily_report'): Promise<number> {
      const { rows } = await db.pool.query<{ id: number }>(
        'INSERT INTO wa_outbox (recipient, content, type, session, route_reason, routed_at) VALUES ($1, $2, $3, $4, $5, now()) RETURNING id',
        [recipient, `Pesan ${recipient}`, type, session, reason],
      );
      return rows[0]!.id;
    }

    it('one session paused with rows waiting: after one maintenance run its never-handed-over rows move to eligible numbers; a row with a hand-over never moves; a person who talks only to it waits, saying so', async () => {
      await threeSessions();
      await db.pool.query(
        `INSERT INTO wa_chat_affinity (chat_id, session, last_inbound_at, last_delivered_at) VALUES
           ($1, 'a', now(), NULL), ($1, 'b', now() - interval '1 day', NULL),
           ($2, 'a', now(), NULL),
           ($3, 'a', now(), NULL), ($3, 'c', NULL, now() - interval '1 day'),
           ($4, 'a', now(), NULL), ($4, 'b', now(), NULL)`,
        [chat(1), chat(2), chat(3), chat(4)],
      );
      await db.pool.query(
        `INSERT INTO wa_group_members (session, chat_id, name, member, admin, admins_only) VALUES
           ('a', '120363000000000001@g.us', 'Polres A', true, false, false), ('c', '120363000000000001@g.us', 'Polres A', true, false, false),
           ('a', '120363000000000002@g.us', 'Polres Sendiri', true, false, false)`,
      );
      const movesToB = await routedRow(phone(1), 'a', 'wrote_last');
      const waits = await routedRow(phone(2), 'a', 'wrote_last');
      const movesToC = await routedRow(phone(3), 'a', 'wrote_last');
      const group = await routedRow('120363000000000001@g.us', 'a', 'group_member');
      const groupAlone = await routedRow('120363000000000002@g.us', 'a', 'group_member');
      const explicit = await routedRow(phone(4), 'a', 'explicit');
      const writtenWithSession = (await db.pool.query<{ id: number }>("INSERT INTO wa_outbox (recipient, content, type, session) VALUES ($1, 'x', 'api', 'a') RETURNING id", [phone(4)])).rows[0]!.id;
      // A split message whose first part went to WhatsApp: pending again for its second part.
      const handedOver = await routedRow(phone(4), 'a', 'wrote_last');
      await db.pool.query('UPDATE wa_outbox SET parts_sent = 1 WHERE id = $1', [handedOver]);
      await db.pool.query(
        "INSERT INTO wa_outbox_sends (outbox_id, part, parts, chat_id, body_sha256, instance, outcome, wa_message_id, session) VALUES ($1, 0, 2, $2, 'x', 'gone:1', 'confirmed', 'wamid-1', 'a')",
        [handedOver, chat(4)],
      );
      // Being sent right now by a's dispatcher: never touched.
      const held = await routedRow(phone(4), 'a', 'wrote_last');
      await db.pool.query("UPDATE wa_outbox SET status = 'sending', locked_by = 'here:1', lease_until = now() + interval '1 minute' WHERE id = $1", [held]);
      await pause('a');

      const maintenance = new OutboxMaintenance({ pool: db.pool, logger: silentLogger(), dispatch: fastDispatch(), hooks, governor: null, defaultCountryCode: '62', router });
      const result = await maintenance.run();
      assert.equal(result.moved, 3);
      const rows = await rowsById([movesToB, waits, movesToC, group, groupAlone, explicit, writtenWithSession, handedOver, held]);
      assert.deepEqual([rows.get(movesToB)!.session, rows.get(movesToB)!.route_reason], ['b', 'failover: wrote_last']);
      assert.deepEqual(rows.get(movesToB)!.route_moves.map((m) => [m.from, m.to, m.why]), [['a', 'b', 'a sedang dijeda (operator)']]);
      assert.deepEqual([rows.get(movesToC)!.session, rows.get(movesToC)!.route_reason], ['c', 'failover: delivered_last']);
      assert.deepEqual([rows.get(group)!.session, rows.get(group)!.route_reason], ['c', 'failover: group_member']);
      assert.equal(rows.get(waits)!.session, 'a');
      assert.equal(rows.get(waits)!.route_reason, 'menunggu: orang ini hanya pernah bicara dengan nomor a, yang sedang dijeda (operator)');
      assert.deepEqual(rows.get(waits)!.route_moves, []);
      assert.equal(rows.get(groupAlone)!.session, 'a');
      assert.match(rows.get(groupAlone)!.route_reason!, /^menunggu: tidak ada nomor lain yang diketahui menjadi anggota grup Polres Sendiri/);
      for (const id of [explicit, writtenWithSession, handedOver, held]) {
        assert.equal(rows.get(id)!.session, 'a', `row ${id} stays`);
        assert.deepEqual(rows.get(id)!.route_moves, []);
      }
      assert.equal(rows.get(handedOver)!.route_reason, 'wrote_last', 'a row with a hand-over is not even looked at');
      assert.equal(rows.get(held)!.status, 'sending');

      // Shown to an operator.
      const shown = rowJson((await outboxRow(db.pool, movesToB))!, 'Asia/Jakarta');
      assert.equal(shown.routeReason, 'failover: wrote_last');
      assert.equal((shown.routeMoves as Array<{ to: string }>)[0]!.to, 'b');
      assert.equal(rowJson((await outboxRow(db.pool, writtenWithSession))!, 'Asia/Jakarta').routeReason, 'explicit');

      // A second run changes nothing.
      assert.equal((await maintenance.run()).moved, 0);
      assert.equal((await rowsById([waits])).get(waits)!.route_reason!.startsWith('menunggu: '), true);

      // The pause ends: what waited on a no longer says it waits, and stays with a.
      await db.pool.query("UPDATE wa_session_guard SET pause_kind = NULL WHERE session = 'a'");
      assert.equal((await maintenance.run()).moved, 0);
      const after = await rowsById([waits, groupAlone]);
      assert.deepEqual([after.get(waits)!.session, after.get(waits)!.route_reason], ['a', 'wrote_last']);
      assert.deepEqual([after.get(groupAlone)!.session, after.get(groupAlone)!.route_reason], ['a', 'group_member']);
    });

    it('the grace at its limit: a number not ready for 299 s keeps its rows; at 301 s they move', async () => {
      await threeSessions();
      await db.pool.query(`INSERT INTO wa_chat_affinity (chat_id, session, last_inbound_at) VALUES ($1, 'a', now()), ($1, 'b', now() - interval '1 day')`, [chat(1)]);
      const id = await routedRow(phone(1), 'a', 'wrote_last');
      await db.pool.query("UPDATE wa_sessions SET state = 'disconnected', state_since = now() - interval '299 seconds' WHERE name = 'a'");
      assert.equal((await router.failover()).moved, 0);
      assert.equal((await rowsById([id])).get(id)!.session, 'a');
      await db.pool.query("UPDATE wa_sessions SET state_since = now() - interval '301 seconds' WHERE name = 'a'");
      assert.equal((await router.failover()).moved, 1);
      const row = (await rowsById([id])).get(id)!;
      assert.equal(row.session, 'b');
      assert.match(row.route_moves[0]!.why, /^a tidak siap \(disconnected\) sejak 30[01] detik$/);
    });

    it('a number removed from wa_sessions gives up its rows, explicit ones too; a disabled one its routed rows', async () => {
      await threeSessions();
      await db.pool.query(`INSERT INTO wa_chat_affinity (chat_id, session, last_inbound_at) VALUES ($1, 'gone', now()), ($1, 'c', now() - interval '1 day'), ($2, 'b', now()), ($2, 'a', now() - interval '1 day')`, [chat(1), chat(2)]);
      const fromGone = await routedRow(phone(1), 'gone', 'wrote_last');
      // Named explicitly, but its number is gone: what the producer named cannot be honoured, so it is routed.
      const explicitGone = await routedRow(phone(1), 'gone', 'explicit');
      const fromB = await routedRow(phone(2), 'b', 'wrote_last');
      const explicitB = await routedRow(phone(2), 'b', 'explicit');
      await db.pool.query("UPDATE wa_sessions SET enabled = false WHERE name = 'b'");
      assert.equal((await router.failover()).moved, 3);
      const rows = await rowsById([fromGone, explicitGone, fromB, explicitB]);
      assert.deepEqual([rows.get(fromGone)!.session, rows.get(fromGone)!.route_moves[0]!.why], ['c', 'gone tidak terdaftar lagi']);
      assert.deepEqual([rows.get(explicitGone)!.session, rows.get(explicitGone)!.route_reason], ['c', 'failover: wrote_last']);
      assert.deepEqual([rows.get(fromB)!.session, rows.get(fromB)!.route_moves[0]!.why], ['a', 'b dinonaktifkan']);
      assert.deepEqual([rows.get(explicitB)!.session, rows.get(explicitB)!.route_moves], ['b', []], 'an explicit row of a registered number waits for it');
    });
  });

  describe('chat affinity is fed by the inbox and by delivered receipts', () => {
    it("a person's chat is their number where WhatsApp tells it, else the chat's id", () => {
      assert.equal(personChat({ chatId: '12345678901234@lid', senderPhone: '6281200000001@c.us' }), '6281200000001@c.us');
      assert.equal(personChat({ chatId: '12345678901234@lid', senderPhone: null }), '12345678901234@lid');
    });

    it('the intake records each personal message (the newest wins), and no group message', async () => {
      const transport = new FakeTransport();
      await transport.start();
      const intake = new Intake({
        pool: db.pool, session: 'b', transport, handlers: [], logger: silentLogger(),
        webhooks: new WebhookEvents({ urls: [], events: [], retryForMs: 1000 }),
      });
      await intake.start();
      const base = { isGroup: false, senderName: null, body: 'halo', media: null, isStatus: false, senderLid: null };
      transport.emitInbound({ ...base, messageId: 'm1', chatId: '99999999999999@lid', senderId: '6281200000001@c.us', senderPhone: '6281200000001@c.us', sentAt: new Date('2026-12-01T01:00:00Z') });
      transport.emitInbound({ ...base, messageId: 'm0', chatId: '99999999999999@lid', senderId: '6281200000001@c.us', senderPhone: '6281200000001@c.us', sentAt: new Date('2026-11-01T01:00:00Z') });
      transport.emitInbound({ ...base, messageId: 'g1', chatId: '120363000000000001@g.us', isGroup: true, senderId: '6281200000002@c.us', senderPhone: '6281200000002@c.us', sentAt: new Date('2026-12-01T01:00:00Z') });
      await intake.idle();
      await intake.stop();
      const { rows } = await db.pool.query('SELECT chat_id, session, last_inbound_at FROM wa_chat_affinity');
      assert.deepEqual(rows, [{ chat_id: '6281200000001@c.us', session: 'b', last_inbound_at: new Date('2026-12-01T01:00:00Z') }]);
    });

    it('a delivered receipt (ack 2) records the number that reached the person; ack 1 and groups record nothing', async () => {
      const [personal, group] = await enqueue(db.pool, [
        { recipient: '081200000001', content: 'x', type: 'api', session: 'b' },
        { recipient: '120363000000000001@g.us', content: 'y', type: 'api', session: 'b' },
      ]);
      await recordDeliveredReceipt(db.pool, { rowIds: [personal!.id, group!.id], messageId: 'm', ack: 1 }, '62');
      assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM wa_chat_affinity')).rows[0].n, 0);
      await recordDeliveredReceipt(db.pool, { rowIds: [personal!.id, group!.id], messageId: 'm', ack: 2 }, '62');
      const { rows } = await db.pool.query('SELECT chat_id, session, last_inbound_at, last_delivered_at IS NOT NULL AS delivered FROM wa_chat_affinity');
      assert.deepEqual(rows, [{ chat_id: '6281200000001@c.us', session: 'b', last_inbound_at: null, delivered: true }]);
    });
  });

  it('upgrade: a seed-style INSERT without a session is routed and delivered by a dispatcher on the stand-in transport', async () => {
    const transport = new FakeTransport();
    await transport.start();
    const delivery = new SessionDelivery({ pool: db.pool, transport, logger: silentLogger(), dispatch: fastDispatch(), defaultCountryCode: '62', instanceId: 'routing-test' });
    delivery.start();
    try {
      const id = await seedInsert('081234567890', 'manual', 'Dari Cicero_V2');
      delivery.trigger('test');
      await waitUntil(async () => (await rowsById([id])).get(id)!.status === 'sent', 10_000, 'the seeded row sent');
      const row = (await rowsById([id])).get(id)!;
      assert.deepEqual([row.session, row.route_reason], ['default', 'only_number']);
      assert.deepEqual(transport.sends.map((s) => [s.chatId, s.text]), [['6281234567890@c.us', 'Dari Cicero_V2']]);
    } finally {
      await delivery.stop();
    }
  });
});
