/**
 * The registry of WhatsApp numbers (wa_sessions, src/sessions/registry.ts) on a real PostgreSQL: every
 * validation at its limit, names and auth profiles unique, a session not removed while sending nor when
 * it is the last, the configuration's session made once by two processes at once, each change notified
 * on wa_sessions_changed, a state's start kept while the state stays the same.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  SESSIONS_CHANNEL,
  SessionError,
  addSession,
  ensureConfiguredSession,
  getSession,
  listSessions,
  recordPairedNumber,
  recordState,
  removeSession,
  setEnabled,
  setHomeTypes,
  setLabel,
} from '../src/sessions/registry.js';
import { OperatorError } from '../src/lib/errors.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

/** Asserts `work` is refused with a SessionError of this code whose message matches. */
async function refused(work: Promise<unknown>, code: SessionError['code'], message: RegExp): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof SessionError, `expected a SessionError, got ${String(err)}`);
    assert.ok(err instanceof OperatorError);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('the session registry (wa_sessions)', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase('sessions_registry', { migrated: true });
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query('TRUNCATE wa_sessions CASCADE');
    await db.pool.query('TRUNCATE wa_outbox RESTART IDENTITY CASCADE');
  });

  it('adds a session with its defaults: the auth profile is the name, pairing by QR code, enabled, no home types', async () => {
    const added = await addSession(db.pool, { name: 'kedua' });
    assert.equal(added.name, 'kedua');
    assert.equal(added.authProfile, 'kedua');
    assert.equal(added.label, '');
    assert.equal(added.pairing, 'qr');
    assert.equal(added.pairPhone, null);
    assert.equal(added.enabled, true);
    assert.deepEqual(added.homeTypes, []);
    assert.equal(added.state, 'new');
    assert.equal(added.pairedNumber, null);
    assert.ok(added.createdAt instanceof Date && added.stateSince instanceof Date);
    assert.deepEqual(await getSession(db.pool, 'kedua'), added);
    assert.equal(await getSession(db.pool, 'tidak-ada'), null);
  });

  it('a name of 1 and of 32 characters is accepted, 33 refused; upper case, a leading - or _, and other characters refused', async () => {
    await addSession(db.pool, { name: 'a' });
    await addSession(db.pool, { name: 'a'.repeat(32) });
    await addSession(db.pool, { name: '0_b-c' });
    for (const name of ['a'.repeat(33), '', 'Kedua', '-a', '_a', 'a.b', 'a b', 'nomor/2']) {
      await refused(addSession(db.pool, { name }), 'invalid', /^name .*is not a session name: 1 to 32 of a-z, 0-9, _ and -/);
    }
    assert.equal((await listSessions(db.pool)).length, 3);
  });

  it('an auth profile of 64 characters is accepted, 65 refused, and one with other characters refused', async () => {
    await addSession(db.pool, { name: 's1', authProfile: 'P'.repeat(64) });
    await addSession(db.pool, { name: 's2', authProfile: 'A_b-9' });
    for (const authProfile of ['P'.repeat(65), '', 'a.b', 'a/b', 'a b']) {
      await refused(addSession(db.pool, { name: 's3', authProfile }), 'invalid', /^authProfile .*is not an auth profile: 1 to 64 of A-Z, a-z, 0-9, _ and -/);
    }
  });

  it('pairing by code needs a phone of 8 to 15 digits: 8 and 15 accepted, 7, 16, a + and letters refused; a phone alone means pairing by code', async () => {
    const eight = await addSession(db.pool, { name: 'p8', pairing: 'code', pairPhone: '62812345' });
    assert.equal(eight.pairing, 'code');
    assert.equal(eight.pairPhone, '62812345');
    const byPhone = await addSession(db.pool, { name: 'p15', pairPhone: '628123456789012' });
    assert.equal(byPhone.pairing, 'code');
    for (const pairPhone of ['6281234', '6281234567890123', '+6281234567890', '62812a45678']) {
      await refused(addSession(db.pool, { name: 'px', pairPhone }), 'invalid', /^pairPhone .*8 to 15 digits/);
    }
    await refused(addSession(db.pool, { name: 'px', pairing: 'code' }), 'invalid', /^pairPhone is needed to pair with a code/);
    await refused(addSession(db.pool, { name: 'px', pairing: 'sms' as 'qr' }), 'invalid', /^pairing "sms" is not a way to pair: qr or code/);
  });

  it('home types are message-type words of at most 64 characters; duplicates kept once', async () => {
    const s = await addSession(db.pool, { name: 'rekap', homeTypes: ['rekap_pagi', 'api', 'x'.repeat(64), 'api', 'a.b:c-d'] });
    assert.deepEqual(s.homeTypes, ['rekap_pagi', 'api', 'x'.repeat(64), 'a.b:c-d']);
    for (const bad of ['x'.repeat(65), '', 'rekap pagi', 'rekap/pagi']) {
      await refused(addSession(db.pool, { name: 'lain', homeTypes: ['api', bad] }), 'invalid', /^homeTypes .*is not a message type: 1 to 64 of A-Z, a-z, 0-9, _ \. : and -/);
    }
    await refused(setHomeTypes(db.pool, 'rekap', ['ok', 'tidak ok']), 'invalid', /^homeTypes "tidak ok"/);
    assert.deepEqual((await setHomeTypes(db.pool, 'rekap', [])).homeTypes, []);
  });

  it('a label of 100 characters is accepted, 101 and one with a line break refused', async () => {
    await addSession(db.pool, { name: 'l', label: 'L'.repeat(100) });
    await refused(addSession(db.pool, { name: 'm', label: 'L'.repeat(101) }), 'invalid', /^label is 101 characters long; at most 100/);
    await refused(setLabel(db.pool, 'l', 'dua\nbaris'), 'invalid', /^label must not contain control characters/);
    assert.equal((await setLabel(db.pool, 'l', 'Nomor rekap')).label, 'Nomor rekap');
  });

  it('a name or an auth profile already taken is refused, naming the field and the session holding it', async () => {
    await addSession(db.pool, { name: 'satu', authProfile: 'profil-satu' });
    await refused(addSession(db.pool, { name: 'satu', authProfile: 'lain' }), 'exists', /^name "satu" is already a session/);
    await refused(addSession(db.pool, { name: 'dua', authProfile: 'profil-satu' }), 'exists', /^authProfile "profil-satu" is already the auth profile of session "satu": each session needs its own/);
    // The auth profile defaults to the name: a session named after a taken profile is refused for the profile.
    await refused(addSession(db.pool, { name: 'profil-satu' }), 'exists', /^authProfile "profil-satu"/);
    assert.deepEqual((await listSessions(db.pool)).map((s) => s.name), ['satu']);
  });

  it('lists sessions oldest first, then by name; enabledOnly leaves the disabled out', async () => {
    await db.pool.query(`INSERT INTO wa_sessions (name, auth_profile, created_at) VALUES ('zulu', 'zulu', now() - interval '1 hour'), ('beta', 'beta', now()), ('alfa', 'alfa', now())`);
    await db.pool.query(`UPDATE wa_sessions SET created_at = (SELECT created_at FROM wa_sessions WHERE name = 'beta') WHERE name = 'alfa'`);
    assert.deepEqual((await listSessions(db.pool)).map((s) => s.name), ['zulu', 'alfa', 'beta']);
    const disabled = await setEnabled(db.pool, 'alfa', false);
    assert.equal(disabled.enabled, false);
    assert.deepEqual((await listSessions(db.pool, { enabledOnly: true })).map((s) => s.name), ['zulu', 'beta']);
    assert.equal((await setEnabled(db.pool, 'alfa', true)).enabled, true);
    await refused(setEnabled(db.pool, 'tidak-ada', true), 'not_found', /^there is no session "tidak-ada"/);
  });

  it('removing: refused while one of its rows is being sent, then allowed; its waiting rows untouched; the last session refused; an unknown one not found', async () => {
    await addSession(db.pool, { name: 'utama' });
    await addSession(db.pool, { name: 'kedua' });
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO wa_outbox (recipient, content, type, session, status, locked_by, lease_until)
       VALUES ('6281111111111', 'sedang dikirim', 'api', 'kedua', 'sending', 'lain:1:x', now() + interval '1 minute'),
              ('6281111111112', 'menunggu', 'api', 'kedua', 'pending', NULL, NULL),
              ('6281111111113', 'dikirim nomor lain', 'api', 'utama', 'sending', 'lain:1:x', now() + interval '1 minute')
       RETURNING id`,
    );
    await refused(removeSession(db.pool, 'kedua'), 'busy', /^session "kedua" is sending 1 message now/);
    assert.ok(await getSession(db.pool, 'kedua'));
    await db.pool.query(`UPDATE wa_outbox SET status = 'sent', locked_by = NULL, lease_until = NULL, sent_at = now() WHERE id = $1`, [rows[0]!.id]);
    await removeSession(db.pool, 'kedua');
    assert.equal(await getSession(db.pool, 'kedua'), null);
    const waiting = await db.pool.query(`SELECT status, session FROM wa_outbox WHERE id = $1`, [rows[1]!.id]);
    assert.deepEqual(waiting.rows[0], { status: 'pending', session: 'kedua' });
    await refused(removeSession(db.pool, 'kedua'), 'not_found', /^there is no session "kedua"/);
    await db.pool.query(`UPDATE wa_outbox SET status = 'sent', locked_by = NULL, lease_until = NULL, sent_at = now() WHERE id = $1`, [rows[2]!.id]);
    await refused(removeSession(db.pool, 'utama'), 'busy', /^session "utama" is the only session: add another before removing it/);
    assert.ok(await getSession(db.pool, 'utama'));
  });

  it('the configured session: made once, whatever two processes do at once; an existing row left as the operator set it', async () => {
    const configured = { name: 'default', authProfile: 'cicero', pairing: 'qr' as const, pairPhone: null };
    const [a, b] = await Promise.all([ensureConfiguredSession(db.pool, configured), ensureConfiguredSession(db.pool, configured)]);
    assert.deepEqual(a, b);
    assert.equal(a.authProfile, 'cicero');
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM wa_sessions`);
    assert.equal(rows[0].n, 1);
    await setLabel(db.pool, 'default', 'Nomor lama');
    await db.pool.query(`UPDATE wa_sessions SET auth_profile = 'dipindah' WHERE name = 'default'`);
    const again = await ensureConfiguredSession(db.pool, { ...configured, pairing: 'code', pairPhone: '6281234567890' });
    assert.equal(again.authProfile, 'dipindah');
    assert.equal(again.label, 'Nomor lama');
    assert.equal(again.pairing, 'qr');
    // Pairing by code from the configuration, on a fresh table.
    await db.pool.query('TRUNCATE wa_sessions CASCADE');
    const byCode = await ensureConfiguredSession(db.pool, { ...configured, pairing: 'code', pairPhone: '6281234567890' });
    assert.deepEqual([byCode.pairing, byCode.pairPhone], ['code', '6281234567890']);
    // The configured auth profile held by another session: said, naming the variable.
    await db.pool.query('TRUNCATE wa_sessions CASCADE');
    await addSession(db.pool, { name: 'lain', authProfile: 'cicero' });
    await refused(ensureConfiguredSession(db.pool, configured), 'exists', /^authProfile "cicero" \(WA_AUTH_PROFILE\) is already the auth profile of session "lain"/);
  });

  it('a state recorded again keeps its start (the reason is updated); a new state starts now; the paired number is kept', async () => {
    await addSession(db.pool, { name: 'utama' });
    const t0 = new Date('2026-12-01T01:00:00Z');
    await recordState(db.pool, 'utama', 'awaiting_qr', null, t0);
    await recordState(db.pool, 'utama', 'awaiting_qr', 'kode baru', new Date('2026-12-01T01:05:00Z'));
    let s = (await getSession(db.pool, 'utama'))!;
    assert.deepEqual([s.state, s.stateReason, s.stateSince.toISOString()], ['awaiting_qr', 'kode baru', t0.toISOString()]);
    const t1 = new Date('2026-12-01T01:06:00Z');
    await recordState(db.pool, 'utama', 'ready', null, t1);
    s = (await getSession(db.pool, 'utama'))!;
    assert.deepEqual([s.state, s.stateReason, s.stateSince.toISOString()], ['ready', null, t1.toISOString()]);
    await recordPairedNumber(db.pool, 'utama', '6281234567890');
    assert.equal((await getSession(db.pool, 'utama'))!.pairedNumber, '6281234567890');
    await recordPairedNumber(db.pool, 'utama', null);
    assert.equal((await getSession(db.pool, 'utama'))!.pairedNumber, null);
  });

  it(`notifies ${SESSIONS_CHANNEL} with the name on add, enable, disable and remove; not on a label or a state`, async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => {
      if (n.channel === SESSIONS_CHANNEL) heard.push(n.payload ?? '');
    });
    await listener.query(`LISTEN ${SESSIONS_CHANNEL}`);
    try {
      await addSession(db.pool, { name: 'utama' });
      await addSession(db.pool, { name: 'kedua' });
      await setEnabled(db.pool, 'kedua', false);
      await setEnabled(db.pool, 'kedua', true);
      await setLabel(db.pool, 'kedua', 'tanpa pemberitahuan');
      await recordState(db.pool, 'kedua', 'ready', null);
      await removeSession(db.pool, 'kedua');
      // A round trip on the listener's connection: every notification sent before it has arrived.
      await listener.query('SELECT 1');
      assert.deepEqual(heard, ['utama', 'kedua', 'kedua', 'kedua', 'kedua']);
    } finally {
      await listener.end();
    }
  });
});
