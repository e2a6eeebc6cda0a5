/**
 * The registry of WhatsApp numbers over real HTTP on loopback and a real PostgreSQL, with the fake
 * transport in place of WhatsApp: POST /api/sessions/{name} adds, DELETE removes, /enable and /disable;
 * each with the full key only (the read-only key gets 403 and nothing changes); refusals name the field;
 * GET /api/sessions shows every registered session with its registry fields.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { getSession } from '../src/sessions/registry.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { testCwd } from './helpers/temp-dirs.js';

const API_KEY = 'full-key-7c2e9a4b1d8f3e6a0b5c';
const READ_KEY = 'read-key-3f8a1c6e9b2d4a7f0e5c';

describe('the session registry over HTTP (real HTTP on loopback, real PostgreSQL, fake transport as the stand-in)', () => {
  let db: TestDatabase;
  let app: App;
  let base: string;

  const call = async (method: string, path: string, body?: unknown, key = API_KEY) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
  };

  before(async () => {
    db = await createTestDatabase('session_admin_api', { migrated: true });
    const config = parseConfig({ DATABASE_URL: db.url, WA_TRANSPORT: 'fake', HTTP_PORT: '0', API_KEY, API_READ_KEY: READ_KEY }, testCwd());
    app = await startApp(config, pino({ level: 'silent' }), { transport: new FakeTransport(), drawQr: null, maxAuthFailures: 1000 });
    base = app.http!.url!;
  });
  after(async () => {
    await app.stop();
    await db.drop();
  });

  it('adds a session with every field (201), and GET /api/sessions lists it with its registry fields beside a session only the outbox knows', async () => {
    const added = await call('POST', '/api/sessions/rekap', { label: 'Nomor rekap', authProfile: 'profil_rekap', pairPhone: '6281234567890', homeTypes: ['daily-report'], enabled: false });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.equal(added.body!.name, 'rekap');
    assert.deepEqual(
      [added.body!.label, added.body!.authProfile, added.body!.pairing, added.body!.pairPhone, added.body!.enabled, added.body!.homeTypes, added.body!.state],
      ['Nomor rekap', 'profil_rekap', 'code', '6281234567890', false, ['daily-report'], 'new'],
    );
    assert.match(added.body!.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+07:00$/);
    const minimal = await call('POST', '/api/sessions/kedua');
    assert.equal(minimal.status, 201, JSON.stringify(minimal.body));
    assert.deepEqual([minimal.body!.authProfile, minimal.body!.pairing, minimal.body!.enabled], ['kedua', 'qr', true]);
    await db.pool.query(`UPDATE wa_sessions SET paired_number = '6281234567890' WHERE name = 'rekap'`);
    await db.pool.query(`INSERT INTO wa_outbox (recipient, content, type, session) VALUES ('6281111111111', 'menunggu', 'api', 'lama')`);

    for (const key of [API_KEY, READ_KEY]) {
      const listed = await call('GET', '/api/sessions', undefined, key);
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      const byName = new Map((listed.body!.sessions as Array<Record<string, any>>).map((s) => [s.name, s]));
      const rekap = byName.get('rekap')!;
      assert.deepEqual(
        [rekap.registered, rekap.label, rekap.enabled, rekap.pairingMethod, rekap.homeTypes, rekap.pairedNumber, rekap.running],
        [true, 'Nomor rekap', false, 'code', ['daily-report'], '6281234567890', false],
      );
      const lama = byName.get('lama')!;
      assert.deepEqual([lama.registered, lama.label, lama.enabled, lama.pairingMethod, lama.homeTypes, lama.pairedNumber], [false, null, null, null, null, null]);
      assert.equal(byName.get('kedua')!.registered, true);
      // The session this process runs keeps its transport's view.
      assert.equal(byName.get('default')!.running, true);
    }
  });

  it('refuses a taken name or auth profile (409 session_exists) and bad fields (400), naming each field', async () => {
    const taken = await call('POST', '/api/sessions/rekap', {});
    assert.equal(taken.status, 409);
    assert.equal(taken.body!.error, 'session_exists');
    assert.match(taken.body!.message, /name "rekap" is already a session/);
    const profile = await call('POST', '/api/sessions/ketiga', { authProfile: 'profil_rekap' });
    assert.equal(profile.status, 409);
    assert.deepEqual(profile.body!.fields.map((f: { field: string }) => f.field), ['body.authProfile']);
    assert.match(profile.body!.message, /authProfile "profil_rekap" is already the auth profile of session "rekap"/);

    const cases: Array<[string, unknown, string, RegExp]> = [
      ['a'.repeat(33), {}, 'params.name', /is not a session name: 1 to 32 of a-z, 0-9, _ and -/],
      ['Besar', {}, 'params.name', /"Besar" is not a session name/],
      ['ketiga', { authProfile: 'a.b' }, 'body.authProfile', /"a\.b" is not an auth profile: 1 to 64 of A-Z, a-z, 0-9, _ and -/],
      ['ketiga', { pairPhone: '6281234' }, 'body.pairPhone', /"6281234" is not a phone number to pair with: 8 to 15 digits/],
      ['ketiga', { homeTypes: ['rekap harian'] }, 'body.homeTypes', /"rekap harian" is not a message type/],
      ['ketiga', { label: 'x'.repeat(101) }, 'body.label', /must have at most 100 characters/],
      ['ketiga', { enabled: 'ya' }, 'body.enabled', /boolean/],
      ['ketiga', { nomor: '1' }, 'body.nomor', /is not a known field/],
    ];
    for (const [name, body, field, message] of cases) {
      const refused = await call('POST', `/api/sessions/${name}`, body);
      assert.equal(refused.status, 400, `${name} ${JSON.stringify(body)}: ${JSON.stringify(refused.body)}`);
      const entry = (refused.body!.fields as Array<{ field: string; message: string }>).find((f) => f.field === field);
      assert.ok(entry, `${field} named in ${JSON.stringify(refused.body)}`);
      assert.match(entry.message, message);
    }
    // A 32-character name is accepted (the limit).
    assert.equal((await call('POST', `/api/sessions/${'a'.repeat(32)}`, { enabled: false })).status, 201);
    assert.equal(await getSession(db.pool, 'ketiga'), null);
  });

  it('enables and disables (200 with the session; 404 for an unknown one)', async () => {
    const enabled = await call('POST', '/api/sessions/rekap/enable');
    assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
    assert.equal(enabled.body!.enabled, true);
    assert.equal((await getSession(db.pool, 'rekap'))!.enabled, true);
    const disabled = await call('POST', '/api/sessions/rekap/disable');
    assert.equal(disabled.body!.enabled, false);
    assert.equal((await getSession(db.pool, 'rekap'))!.enabled, false);
    const unknown = await call('POST', '/api/sessions/tidak-ada/enable');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body!.message, /there is no session "tidak-ada"/);
  });

  it('removes: 409 session_busy while one of its messages is being sent, then 204; 404 for an unknown one; the last session refused', async () => {
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO wa_outbox (recipient, content, type, session, status, locked_by, lease_until)
       VALUES ('6281111111112', 'sedang dikirim', 'api', 'kedua', 'sending', 'lain:1:x', now() + interval '1 minute') RETURNING id`,
    );
    const busy = await call('DELETE', '/api/sessions/kedua');
    assert.equal(busy.status, 409);
    assert.equal(busy.body!.error, 'session_busy');
    assert.match(busy.body!.message, /session "kedua" is sending 1 message now/);
    await db.pool.query(`UPDATE wa_outbox SET status = 'sent', locked_by = NULL, lease_until = NULL, sent_at = now() WHERE id = $1`, [rows[0]!.id]);
    const removed = await call('DELETE', '/api/sessions/kedua');
    assert.equal(removed.status, 204);
    assert.equal(await getSession(db.pool, 'kedua'), null);
    assert.equal((await call('DELETE', '/api/sessions/kedua')).status, 404);

    await db.pool.query(`DELETE FROM wa_sessions WHERE name <> 'rekap'`);
    const last = await call('DELETE', '/api/sessions/rekap');
    assert.equal(last.status, 409);
    assert.match(last.body!.message, /session "rekap" is the only session/);
  });

  it('the read-only key is refused every change (403) and nothing changes', async () => {
    const before = await getSession(db.pool, 'rekap');
    for (const [method, path] of [['POST', '/api/sessions/baru'], ['DELETE', '/api/sessions/rekap'], ['POST', '/api/sessions/rekap/enable'], ['POST', '/api/sessions/rekap/disable']] as const) {
      const refused = await call(method, path, method === 'POST' && path === '/api/sessions/baru' ? {} : undefined, READ_KEY);
      assert.equal(refused.status, 403, `${method} ${path}: ${JSON.stringify(refused.body)}`);
    }
    assert.equal(await getSession(db.pool, 'baru'), null);
    assert.deepEqual(await getSession(db.pool, 'rekap'), before);
  });
});
