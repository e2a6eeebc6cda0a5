/**
 * `cicero-wa sessions add|remove|enable|disable|home` and the registry's columns in `sessions list`, run
 * as the command (a child process) on a real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getSession } from '../src/sessions/registry.js';
import { runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

describe('cicero-wa sessions (the registry)', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  before(async () => {
    db = await createTestDatabase('sessions_cli', { migrated: true });
    env = { DATABASE_URL: db.url };
  });
  after(async () => db.drop());

  it('adds a session with every option, and lists it beside a session only the outbox knows', async () => {
    const added = await runCli(['sessions', 'add', 'rekap', '--label', 'Nomor rekap', '--auth-profile', 'Profil_2', '--pair-phone', '6281234567890', '--home', 'daily-report,weekly-report', '--disabled'], env);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^rekap: added \(auth profile Profil_2, pairing code for 6281234567890, disabled, home of daily-report, weekly-report\)/);
    const row = await getSession(db.pool, 'rekap');
    assert.deepEqual(
      [row!.label, row!.authProfile, row!.pairing, row!.pairPhone, row!.enabled, row!.homeTypes],
      ['Nomor rekap', 'Profil_2', 'code', '6281234567890', false, ['daily-report', 'weekly-report']],
    );
    await db.pool.query(`UPDATE wa_sessions SET state = 'ready', paired_number = '6281234567890' WHERE name = 'rekap'`);
    await db.pool.query(`INSERT INTO wa_outbox (recipient, content, type, session) VALUES ('6281111111111', 'menunggu', 'api', 'lama')`);

    const listed = await runCli(['sessions'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const [header, ...lines] = listed.stdout.trimEnd().split('\n');
    assert.match(header!, /^SESSION\s+STATE\s+RISK.*DAILY BUDGET\s+LABEL\s+ENABLED\s+WHATSAPP\s+NUMBER\s+RUN BY\s+WHY$/);
    assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]), ['rekap', 'default', 'lama']);
    assert.match(lines[0]!, /Nomor rekap\s+no\s+ready\s+6281234567890/);
    assert.match(lines[2]!, /not registered/);

    const asJson = await runCli(['sessions', '--json'], env);
    const [rekap, , lama] = JSON.parse(asJson.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      [rekap!.session, rekap!.registered, rekap!.label, rekap!.enabled, rekap!.clientState, rekap!.pairedNumber, rekap!.homeTypes],
      ['rekap', true, 'Nomor rekap', false, 'ready', '6281234567890', ['daily-report', 'weekly-report']],
    );
    assert.deepEqual([lama!.session, lama!.registered, lama!.enabled], ['lama', false, null]);
  });

  it('enables, disables, sets the home types and removes; the last session is not removed', async () => {
    const enabled = await runCli(['sessions', 'enable', 'rekap'], env);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.match(enabled.stdout, /^rekap: enabled/);
    assert.equal((await getSession(db.pool, 'rekap'))!.enabled, true);
    const disabled = await runCli(['sessions', 'disable', 'rekap'], env);
    assert.match(disabled.stdout, /^rekap: disabled/);
    assert.equal((await getSession(db.pool, 'rekap'))!.enabled, false);

    const home = await runCli(['sessions', 'home', 'rekap', 'complaint-response'], env);
    assert.equal(home.code, 0, home.stderr);
    assert.deepEqual((await getSession(db.pool, 'rekap'))!.homeTypes, ['complaint-response']);
    const none = await runCli(['sessions', 'home', 'rekap', '-'], env);
    assert.match(none.stdout, /^rekap: home of no message type/);
    assert.deepEqual((await getSession(db.pool, 'rekap'))!.homeTypes, []);

    const pinned = await runCli(['sessions', 'pin', 'rekap', 'worker-jakarta'], env);
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.match(pinned.stdout, /^rekap: runs only on a worker with WA_HOST_LABEL=worker-jakarta/);
    assert.equal((await getSession(db.pool, 'rekap'))!.pinnedHost, 'worker-jakarta');
    assert.match((await runCli(['sessions', 'pin', 'rekap', '-'], env)).stdout, /^rekap: runs on any worker/);
    assert.equal((await getSession(db.pool, 'rekap'))!.pinnedHost, null);

    assert.equal((await runCli(['sessions', 'add', 'kedua'], env)).code, 0);
    const removed = await runCli(['sessions', 'remove', 'kedua'], env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await getSession(db.pool, 'kedua'), null);
    const last = await runCli(['sessions', 'remove', 'rekap'], env);
    assert.equal(last.code, 1);
    assert.match(last.stderr, /session "rekap" is the only session: add another before removing it/);
    const missing = await runCli(['sessions', 'enable', 'kedua'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /there is no session "kedua"/);
  });

  it('refuses bad arguments with exit code 2, naming them; a name or profile taken with exit code 1', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['sessions', 'add', 'a'.repeat(33)], 2, /<name> "a{33}" is not a session name: 1 to 32 of a-z, 0-9, _ and -/],
      [['sessions', 'add', 'baru', '--auth-profile', 'a/b'], 2, /--auth-profile "a\/b" is not an auth profile: 1 to 64 of A-Z, a-z, 0-9, _ and -/],
      [['sessions', 'add', 'baru', '--pair-phone', '6281234'], 2, /--pair-phone "6281234" is not a phone number to pair with: 8 to 15 digits/],
      [['sessions', 'add', 'baru', '--home', 'daily report'], 2, /--home "daily report" is not a message type/],
      [['sessions', 'add', 'baru', '--home', 'a,,b'], 2, /--home "a,,b" has an empty type/],
      [['sessions', 'add', 'rekap'], 1, /<name> "rekap" is already a session: choose another name/],
      [['sessions', 'add', 'baru', '--auth-profile', 'Profil_2'], 1, /--auth-profile "Profil_2" is already the auth profile of session "rekap"/],
      [['sessions', 'enable', 'rekap', '--label', 'x'], 2, /--label belongs to "sessions add", not "sessions enable"/],
      [['sessions', 'home', 'rekap'], 2, /sessions home takes a name and the types/],
      [['sessions', 'pin', 'rekap'], 2, /sessions pin takes a name and a host label/],
      [['sessions', 'pin', 'rekap', 'bukan label'], 2, /<host-label> "bukan label" is not a host label: 1 to 64 of A-Z, a-z, 0-9, \. _ and -/],
      [['sessions', 'remove'], 2, /sessions remove needs a session name/],
      [['outbox', 'list', '--home', 'x'], 2, /--home belongs to "sessions"/],
    ];
    for (const [args, code, message] of cases) {
      const result = await runCli(args, env);
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
    }
    assert.equal((await db.pool.query(`SELECT count(*)::int AS n FROM wa_sessions`)).rows[0].n, 1);
  });
});
