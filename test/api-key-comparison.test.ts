/**
 * The API key comparison (http/auth.ts) over real HTTP on loopback and a real PostgreSQL, with the fake
 * transport in place of WhatsApp: a key that shares a prefix or a suffix with API_KEY or API_READ_KEY is
 * no key at all. Each near miss (its first character, the key with one more character, the key without
 * its last character, its tail alone, the key with its first character changed) gets 401, sent as
 * X-Api-Key and as a Bearer token, for a read and for a change; the two right keys still work.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { testCwd } from './helpers/temp-dirs.js';

const API_KEY = 'full-key-5b8e2d7a1c9f4e60a3d7';
const READ_KEY = 'read-key-0c6f3a9e2b7d5a18c4e2';

/** Wrong keys that share a prefix or a suffix with `key`, each named. */
function nearMisses(key: string): Array<[string, string]> {
  return [
    ['its first character', key.slice(0, 1)],
    ['its first half', key.slice(0, key.length / 2)],
    ['without its last character', key.slice(0, -1)],
    ['with one character more', `${key}x`],
    ['with its first character changed (the right suffix)', `${key[0] === 'z' ? 'y' : 'z'}${key.slice(1)}`],
    ['its last character', key.slice(-1)],
    ['its second half', key.slice(key.length / 2)],
    ['with a character more in front', `x${key}`],
  ];
}

describe('the API key comparison refuses keys that share a prefix or a suffix (real HTTP on loopback, real PostgreSQL, fake transport as the stand-in)', () => {
  let db: TestDatabase;
  let app: App;
  let base: string;

  const statusOf = async (method: 'GET' | 'POST', path: string, headers: Record<string, string>): Promise<number> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      ...(method === 'POST' ? { body: JSON.stringify({ reason: 'uji kunci' }) } : {}),
    });
    await response.arrayBuffer();
    return response.status;
  };

  before(async () => {
    db = await createTestDatabase('api_key_comparison', { migrated: true });
    const config = parseConfig({ DATABASE_URL: db.url, WA_TRANSPORT: 'fake', HTTP_PORT: '0', API_KEY, API_READ_KEY: READ_KEY, WA_GOVERNOR: 'off' }, testCwd());
    app = await startApp(config, pino({ level: 'silent' }), { transport: new FakeTransport(), drawQr: null, maxAuthFailures: 1000 });
    base = app.http!.url!.replace(/\/$/, '');
  });
  after(async () => {
    await app.stop();
    await db.drop();
  });

  for (const [name, key] of [['API_KEY', API_KEY], ['API_READ_KEY', READ_KEY]] as const) {
    it(`${name}: every near miss gets 401, as X-Api-Key and as a Bearer token, for a read and for a change`, async () => {
      for (const [label, wrong] of nearMisses(key)) {
        assert.notEqual(wrong, key, label);
        for (const headers of [{ 'x-api-key': wrong }, { authorization: `Bearer ${wrong}` }] as Array<Record<string, string>>) {
          const how = `${label} (${JSON.stringify(wrong)}) as ${Object.keys(headers)[0]}`;
          assert.equal(await statusOf('GET', '/api/messages', headers), 401, `read: ${how}`);
          assert.equal(await statusOf('POST', '/api/sessions/default/pause', headers), 401, `change: ${how}`);
        }
      }
    });
  }

  it('the right keys still work: both read, only API_KEY changes (the read key gets 403), and nothing was paused by a near miss', async () => {
    assert.equal(await statusOf('GET', '/api/messages', { 'x-api-key': API_KEY }), 200);
    assert.equal(await statusOf('GET', '/api/messages', { authorization: `Bearer ${READ_KEY}` }), 200);
    const paused = await db.pool.query(`SELECT count(*)::int AS n FROM wa_session_guard WHERE pause_kind IS NOT NULL`);
    assert.equal(paused.rows[0].n, 0, 'a near miss paused the session');
    assert.equal(await statusOf('POST', '/api/sessions/default/pause', { 'x-api-key': READ_KEY }), 403);
  });
});
