/**
 * The groups of the session's number (wa_group_members), on a real PostgreSQL, with WhatsApp replaced by
 * the fake transport (the stand-in): learnt when the session becomes ready, changed by group events; a
 * group message the number cannot send fails at once with its reason and nothing handed to WhatsApp; an
 * unknown membership sends as before; doctor lists the unit groups out of reach.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { migrate } from '../src/db/migrate.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { silentLogger } from '../src/lib/logger.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { membershipOf } from '../src/whatsapp/wwebjs/groups.js';
import { readyStandIn, TodaysWhatsAppWebStandIn } from './helpers/wa-standin.js';
import type { GroupMembership } from '../src/whatsapp/transport.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { runCli, tempDir } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';

const UNIT_GROUP = '120363000000000001@g.us'; // Polres A's clients.client_group in the test rows
const OTHER_GROUP = '120363000000000002@g.us';
const ANNOUNCE_GROUP = '120363000000000003@g.us';
const PERSON = '6281234567890@c.us';

const group = (chatId: string, over: Partial<GroupMembership> = {}): GroupMembership => ({ chatId, name: `Grup ${chatId.slice(-6, -5)}`, member: true, admin: false, adminsOnly: false, ...over });

describe('group membership (fake transport as the stand-in for WhatsApp)', () => {
  let db: TestDatabase;
  let transport: FakeTransport;
  let delivery: SessionDelivery;
  /** The statements that read or wrote wa_group_members, since the last reset. */
  let groupStatements: string[] = [];
  const running: SessionDelivery[] = [];

  before(async () => {
    db = await createTestDatabase('group_membership', { migrated: true });
    const query = db.pool.query.bind(db.pool) as (...args: unknown[]) => Promise<unknown>;
    (db.pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text ?? '';
      if (text.includes('wa_group_members')) groupStatements.push(text);
      return query(...args);
    };
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
    await db.pool.query('TRUNCATE wa_group_members');
    groupStatements = [];
  });
  afterEach(async () => {
    for (const d of running.splice(0)) await d.stop();
  });

  /** A session whose number's groups are these, ready (or not yet, with ready: false). */
  async function startSession(groups: GroupMembership[] | 'unreadable', options: { ready?: boolean } = {}): Promise<void> {
    transport = new FakeTransport({ ready: options.ready ?? true });
    if (groups === 'unreadable') transport.setGroupsUnreadable();
    else transport.setGroups(groups);
    await transport.start();
    delivery = new SessionDelivery({ pool: db.pool, transport, logger: silentLogger(), dispatch: fastDispatch(), defaultCountryCode: '62', instanceId: 'test-groups' });
    running.push(delivery);
    delivery.start();
    await delivery.groups.settled();
  }

  const known = async () =>
    (await db.pool.query('SELECT session, chat_id, name, member, admin, admins_only FROM wa_group_members ORDER BY chat_id')).rows;

  async function sendAll(recipients: string[]): Promise<Array<{ recipient: string; status: string; attempts: number; last_error: string | null; failure_code: string | null }>> {
    await enqueue(db.pool, recipients.map((recipient, i) => ({ recipient, content: `Rekap harian ${i}`, type: 'rekap' })));
    delivery.trigger('test');
    await waitUntil(async () => (await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status IN ('pending', 'sending')")).rows[0].n === 0, 10_000, 'the outbox to drain');
    await delivery.idle();
    return (await db.pool.query('SELECT recipient, status, attempts, last_error, failure_code FROM wa_outbox ORDER BY id')).rows;
  }

  it('learns the groups when the session becomes ready, and follows join, leave and admin events', async () => {
    await startSession([group(UNIT_GROUP), group(ANNOUNCE_GROUP, { adminsOnly: true, admin: true })], { ready: false });
    assert.deepEqual(await known(), [], 'nothing is listed before the session is ready');
    transport.setReady(true);
    await waitUntil(async () => (await known()).length === 2, 5000, 'the listing at ready');
    assert.deepEqual((await known()).map((r) => [r.session, r.chat_id, r.member, r.admin, r.admins_only]), [
      ['default', UNIT_GROUP, true, false, false],
      ['default', ANNOUNCE_GROUP, true, true, true],
    ]);
    transport.changeGroup(group(UNIT_GROUP, { member: false }));
    transport.changeGroup(group(OTHER_GROUP));
    transport.changeGroup(group(ANNOUNCE_GROUP, { adminsOnly: true, admin: false }));
    await delivery.groups.settled();
    assert.deepEqual((await known()).map((r) => [r.chat_id, r.member, r.admin, r.admins_only]), [
      [UNIT_GROUP, false, false, false],
      [OTHER_GROUP, true, false, false],
      [ANNOUNCE_GROUP, true, false, true],
    ]);
    // Ready again: the listing replaces what was known; a group it no longer shows is unknown again.
    transport.setGroups([group(UNIT_GROUP)]);
    transport.setReady(false);
    transport.setReady(true);
    await waitUntil(async () => (await known()).length === 1, 5000, 'the listing at the next ready');
    assert.deepEqual((await known()).map((r) => [r.chat_id, r.member]), [[UNIT_GROUP, true]]);
  });

  it('a listing that throws leaves the membership unknown, never "not a member"', async () => {
    await startSession([group(UNIT_GROUP, { member: false })]);
    assert.equal((await known()).length, 1);
    transport.setGroupsUnreadable();
    transport.setReady(false);
    transport.setReady(true);
    await waitUntil(async () => (await known()).length === 0, 5000, 'the failed listing to forget the groups');
    const rows = await sendAll([UNIT_GROUP]);
    assert.equal(rows[0]!.status, 'sent', 'unknown: sent as before');
    assert.equal(transport.sends.length, 1);
  });

  it('a recap to a group the number left fails at once with not_in_group, nothing handed to WhatsApp; a member group beside it goes', async () => {
    await startSession([group(UNIT_GROUP), group(OTHER_GROUP)]);
    transport.changeGroup(group(UNIT_GROUP, { member: false }));
    await delivery.groups.settled();
    const rows = await sendAll([UNIT_GROUP, OTHER_GROUP]);
    assert.equal(rows[0]!.status, 'failed');
    assert.equal(rows[0]!.failure_code, 'not_in_group');
    assert.equal(rows[0]!.attempts, 1, 'failed at once, not retried');
    assert.match(rows[0]!.last_error!, new RegExp(`^not_in_group: this number \\(session default\\) is not a member of Grup 1 \\(${UNIT_GROUP}\\)`));
    assert.equal(rows[1]!.status, 'sent');
    assert.deepEqual(transport.sends.map((s) => s.chatId), [OTHER_GROUP], 'nothing handed to WhatsApp for the group it left');
  });

  it('an admins-only group fails with not_group_admin where the number is no admin, and goes where it is one or anyone may write', async () => {
    await startSession([
      group(UNIT_GROUP, { adminsOnly: true, admin: false }),
      group(OTHER_GROUP, { adminsOnly: true, admin: true }),
      group(ANNOUNCE_GROUP, { adminsOnly: false, admin: false }),
    ]);
    const rows = await sendAll([UNIT_GROUP, OTHER_GROUP, ANNOUNCE_GROUP]);
    assert.deepEqual(rows.map((r) => [r.recipient, r.status, r.failure_code]), [
      [UNIT_GROUP, 'failed', 'not_group_admin'],
      [OTHER_GROUP, 'sent', null],
      [ANNOUNCE_GROUP, 'sent', null],
    ]);
    assert.match(rows[0]!.last_error!, /^not_group_admin: only admins may send to Grup 1/);
    assert.deepEqual(transport.sends.map((s) => s.chatId), [OTHER_GROUP, ANNOUNCE_GROUP]);
  });

  it('a group never listed is unknown and sent to as before', async () => {
    await startSession([group(OTHER_GROUP, { member: false })]);
    const rows = await sendAll([UNIT_GROUP]);
    assert.equal(rows[0]!.status, 'sent');
    assert.deepEqual(transport.sends.map((s) => s.chatId), [UNIT_GROUP]);
  });

  it('a group known for another session decides nothing for this one', async () => {
    await startSession([]);
    await db.pool.query(`INSERT INTO wa_group_members (session, chat_id, member) VALUES ('nomor-dua', $1, false)`, [UNIT_GROUP]);
    const rows = await sendAll([UNIT_GROUP]);
    assert.equal(rows[0]!.status, 'sent');
  });

  it('reads nothing of the groups for a personal chat, and one indexed row for a group message', async () => {
    await startSession([group(UNIT_GROUP)]);
    groupStatements = [];
    await sendAll([PERSON]);
    assert.deepEqual(groupStatements, [], 'no statement for a personal chat');
    await sendAll([UNIT_GROUP]);
    assert.equal(groupStatements.length, 1, 'one statement for a group message');
    await db.pool.query('SET enable_seqscan = off'); // a tiny table is scanned either way; the index must be there to use
    const indexed = await db.pool.query(`EXPLAIN SELECT * FROM wa_group_members WHERE session = 'default' AND chat_id = $1`, [UNIT_GROUP]);
    await db.pool.query('RESET enable_seqscan');
    assert.match(indexed.rows.map((r: Record<string, string>) => Object.values(r)[0]).join('\n'), /Index (Only )?Scan using wa_group_members_pkey/);
  });
});

describe('whatsapp-web.js groups as the adapter reads them (stand-in chats)', () => {
  const ME = '6280000000001@c.us';
  const ME_LID = '11122233344455@lid';
  const chat = (participants: unknown[] | undefined, announce = false) => ({
    id: { _serialized: UNIT_GROUP }, isGroup: true, name: 'Polres A', isReadOnly: announce,
    groupMetadata: { subject: 'Polres A', announce, ...(participants ? { participants } : {}) }, fetchMessages: async () => [],
  });
  const other = { id: { _serialized: '6281111111111@c.us' }, isAdmin: true };

  it('a participant list without this number says "not a member" only when no participant could be this number under a LID it cannot map', () => {
    assert.deepEqual(membershipOf(chat([other]), [ME]), { chatId: UNIT_GROUP, name: 'Polres A', member: false, admin: false, adminsOnly: false });
    const underLid = { id: { _serialized: '99988877766655@lid' }, isAdmin: false };
    assert.equal(membershipOf(chat([other, underLid]), [ME]), null, 'a LID it cannot map may be this number: unknown');
    assert.equal(membershipOf(chat([other, underLid]), [ME, ME_LID])?.member, false, 'its own LID known: not among them');
    assert.equal(membershipOf(chat([other, { id: { _serialized: ME_LID }, isSuperAdmin: true }], true), [ME, ME_LID])?.admin, true, 'found under its LID, a super admin');
  });

  it('missing or empty participants, or no own id, tell nothing', () => {
    assert.equal(membershipOf(chat(undefined), [ME]), null);
    assert.equal(membershipOf(chat([]), [ME]), null);
    assert.equal(membershipOf(chat([other]), []), null);
  });

  it('WhatsApp Web adapter on a stand-in: the groups learnt at ready into wa_group_members; removed, a recap fails with not_in_group and the page is never asked to send', async () => {
    const db = await createTestDatabase('group_membership_wwebjs', { migrated: true });
    const standIn = await readyStandIn({ groups: [{ chatId: UNIT_GROUP, name: 'Polres A', adminsOnly: false, me: 'member' }] }, { logger: silentLogger() });
    const delivery = new SessionDelivery({ pool: db.pool, transport: standIn.transport, logger: silentLogger(), dispatch: fastDispatch(), defaultCountryCode: '62', instanceId: 'test-groups-wwebjs' });
    try {
      delivery.start();
      await waitUntil(async () => (await db.pool.query('SELECT 1 FROM wa_group_members WHERE member')).rowCount === 1, 5000, 'the listing at ready');
      standIn.client.groupEvent(UNIT_GROUP, 'remove');
      await waitUntil(async () => (await db.pool.query('SELECT 1 FROM wa_group_members WHERE NOT member')).rowCount === 1, 5000, 'the removal');
      await enqueue(db.pool, [{ recipient: UNIT_GROUP, content: 'Rekap harian', type: 'rekap' }]);
      delivery.trigger('test');
      await waitUntil(async () => (await db.pool.query("SELECT 1 FROM wa_outbox WHERE status = 'failed' AND failure_code = 'not_in_group'")).rowCount === 1, 5000, 'the recap failed');
      assert.equal(standIn.client.sendMessageCalls, 0, 'nothing given to WhatsApp Web');
      assert.equal(TodaysWhatsAppWebStandIn.ME, ME);
    } finally {
      await delivery.stop();
      await standIn.close();
      await db.drop();
    }
  });
});

describe('cicero-wa doctor: unit groups out of reach (membership as a stand-in session recorded it)', () => {
  let cicero: TestDatabase;
  before(async () => {
    cicero = await createTestDatabase('group_membership_doctor');
    await loadCiceroTables(cicero.pool);
    await migrate(cicero.pool, silentLogger());
    await cicero.pool.query(
      `INSERT INTO clients (client_id, nama, client_type, client_status, client_group) VALUES
         ('POLRES_B', 'Polres B', 'org', true, '120363000000000002@g.us'),
         ('POLRES_C', 'Polres C', 'org', true, '120363000000000003@g.us'),
         ('POLRES_D', 'Polres D', 'org', false, '120363000000000004@g.us')`,
    );
  });
  after(async () => cicero.drop());

  async function doctorLine(): Promise<string> {
    const dir = await tempDir();
    const authPath = path.join(dir, 'wa-auth');
    await fs.mkdir(authPath, { mode: 0o700 });
    const result = await runCli(['doctor'], { DATABASE_URL: cicero.url, WA_AUTH_PATH: authPath, WA_TRANSPORT: 'fake' }, dir);
    const found = result.stdout.split('\n').find((l) => l.slice(5).startsWith('unit-groups'));
    assert.ok(found, `no unit-groups line in:\n${result.stdout}${result.stderr}`);
    return found;
  }

  it('lists the active unit groups no number can write to (not in it, or admins only and no admin); unknown ones only counted', async () => {
    const before = await doctorLine();
    assert.match(before, /^ok\s+unit-groups\s+3 active unit group\(s\): none known to be out of reach; 3 not yet seen/);
    await cicero.pool.query(
      `INSERT INTO wa_group_members (session, chat_id, name, member, admin, admins_only) VALUES
         ('default', '120363000000000001@g.us', 'Grup A', false, false, false),
         ('default', '120363000000000002@g.us', 'Grup B', true, false, true),
         ('default', '120363000000000004@g.us', 'Grup D', false, false, false)`,
    );
    const after = await doctorLine();
    // The number listed its groups: Polres C, absent from its list, is a group it is not in.
    assert.match(after, /^WARN unit-groups\s+no number can write to these unit groups, their messages fail at once: Polres A 120363000000000001@g\.us \(not_in_group\); Polres B 120363000000000002@g\.us \(not_group_admin\); Polres C 120363000000000003@g\.us \(not_in_group\) ->/);
    assert.ok(!after.includes('Polres D'), 'an inactive unit is left out');
    assert.match(after, /-> add one of the numbers to the group/);
    // A second number, registered and in Polres A's group as a member: Polres A is in reach again.
    await cicero.pool.query(`INSERT INTO wa_sessions (name, auth_profile, state) VALUES ('default', 'default', 'ready'), ('admin', 'admin', 'ready')`);
    await cicero.pool.query(`INSERT INTO wa_group_members (session, chat_id, name, member, admin, admins_only) VALUES ('admin', '120363000000000001@g.us', 'Grup A', true, false, false)`);
    const withAdmin = await doctorLine();
    assert.match(withAdmin, /^WARN unit-groups\s+no number can write to these unit groups, their messages fail at once: Polres B 120363000000000002@g\.us \(not_group_admin\); Polres C/);
    assert.ok(!withAdmin.includes('Polres A'), 'reached through admin');
    // The numbers check names each registered number; one enabled and waiting for a scan is a warning naming it.
    await cicero.pool.query(`INSERT INTO wa_sessions (name, auth_profile, label, state) VALUES ('user', 'user', 'Nomor user', 'awaiting_qr')`);
    await cicero.pool.query(`UPDATE wa_sessions SET paired_number = '6281100000002' WHERE name = 'admin'`);
    const dir = await tempDir();
    const result = await runCli(['doctor'], { DATABASE_URL: cicero.url, WA_AUTH_PATH: path.join(dir, 'wa-auth'), WA_TRANSPORT: 'fake' }, dir);
    const numbers = result.stdout.split('\n').find((l) => l.slice(5).startsWith('numbers'))!;
    assert.match(numbers, /^WARN numbers\s+3 number\(s\): admin: ready since [^;]+ WIB, \+6281100000002; default: ready since [^;]+, never paired; user \(Nomor user\): awaiting_qr since [^;]+, never paired -> pair or reconnect user /);
  });
});
