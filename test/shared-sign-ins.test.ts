/**
 * Two `http` instances on one database (real HTTP on loopback, real PostgreSQL, the fake transport in
 * place of WhatsApp): a dashboard sign-in made on one is honoured by the other and survives a restart,
 * a sign-out on one ends it on both, only the token's sha256 is stored, an expired sign-in is refused
 * and deleted, and wrong keys sent to both count towards one 429 limit per address and minute.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { testCwd } from './helpers/temp-dirs.js';

const API_KEY = 'full-key-5d1e9a3c7b2f4e60a8c1';
const READ_KEY = 'read-key-9a8b7c6d5e4f3a2b1c0d';
const MAX_FAILURES = 4;
const json = { 'content-type': 'application/json' };

describe('dashboard sign-ins and the wrong-key limit shared by two instances (fake transport in place of WhatsApp)', () => {
  let db: TestDatabase;
  let a: App;
  let b: App;
  const start = () => {
    const config = parseConfig(
      { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', HTTP_PORT: '0', API_KEY, API_READ_KEY: READ_KEY, HTTP_TRUST_PROXY: 'loopback' },
      testCwd(),
    );
    return startApp(config, pino({ level: 'silent' }), { transport: new FakeTransport(), drawQr: null, maxAuthFailures: MAX_FAILURES });
  };
  const call = async (app: App, method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
    const response = await fetch(`${app.http!.url}${path}`, { method, headers: { ...(method === 'GET' ? {} : json), ...headers }, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    return { status: response.status, text, headers: response.headers };
  };
  /** Signs in on an instance as the page does; the cookie's `name=token` and the token. */
  const signIn = async (app: App, key: string) => {
    const response = await call(app, 'POST', '/dashboard/login', {}, JSON.stringify({ key }));
    assert.equal(response.status, 204, response.text);
    const cookie = String(response.headers.get('set-cookie')).split(';')[0]!;
    return { cookie, token: cookie.split('=')[1]! };
  };
  /** The CSRF token the page of an instance embeds for a cookie; null when it shows the sign-in form. */
  const csrfOf = async (app: App, cookie: string) => {
    const page = (await call(app, 'GET', '/dashboard', { cookie })).text;
    if (/data-view="signin"/.test(page)) return null;
    return /data-csrf="([^"]*)"/.exec(page)![1]!;
  };
  const sha256 = (text: string) => createHash('sha256').update(text).digest();

  before(async () => {
    db = await createTestDatabase('shared_signins', { migrated: true });
    a = await start();
    b = await start();
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  it('a sign-in made on A is honoured by B, with its CSRF token; a sign-out on B ends it on A', async () => {
    const { cookie } = await signIn(a, API_KEY);
    const csrf = await csrfOf(b, cookie);
    assert.ok(csrf, "B shows the page, not the sign-in form, for A's sign-in");
    assert.equal(csrf, await csrfOf(a, cookie), 'both embed the same CSRF token');
    assert.equal((await call(b, 'GET', '/api/summary', { cookie })).status, 200, "B reads with A's sign-in");
    // A change through the sign-in: B asks for its CSRF token and knows it (an unknown route then answers 404).
    assert.equal((await call(b, 'POST', '/api/no-such-change', { cookie })).status, 403, 'without the CSRF token');
    assert.equal((await call(b, 'POST', '/api/no-such-change', { cookie, 'x-csrf-token': `${csrf}x` })).status, 403, 'with another CSRF token');
    assert.equal((await call(b, 'POST', '/api/no-such-change', { cookie, 'x-csrf-token': csrf! })).status, 404, 'with its CSRF token the change passes the gate');

    assert.equal((await call(b, 'POST', '/dashboard/logout', { cookie })).status, 403, 'a sign-out without the CSRF token is refused');
    assert.equal((await call(b, 'POST', '/dashboard/logout', { cookie, 'x-csrf-token': csrf! })).status, 204);
    assert.equal((await call(a, 'GET', '/api/summary', { cookie })).status, 401, 'A refuses the sign-in ended on B');
    assert.equal(await csrfOf(a, cookie), null, 'A shows the sign-in form');
  });

  it('a read-only sign-in made on A is read-only on B', async () => {
    const { cookie } = await signIn(a, READ_KEY);
    const csrf = (await csrfOf(b, cookie))!;
    assert.equal((await call(b, 'GET', '/api/summary', { cookie })).status, 200);
    assert.equal((await call(b, 'POST', '/api/no-such-change', { cookie, 'x-csrf-token': csrf })).status, 403, 'no change with a read-only sign-in');
  });

  it('the database holds the sha256 of the cookie token, never the token; the sign-in lasts 8 hours', async () => {
    const { token } = await signIn(b, API_KEY);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes');
    const { rows } = await db.pool.query('SELECT t::text AS row, encode(id, \'hex\') AS id, extract(epoch FROM expires_at - created_at) AS ttl FROM http_sign_ins t');
    assert.ok(rows.length >= 1);
    for (const row of rows) assert.ok(!row.row.includes(token) && !row.row.includes(Buffer.from(token).toString('hex')), 'no row holds the token');
    const mine = rows.find((row) => row.id === sha256(token).toString('hex'));
    assert.ok(mine, 'the row is found by the sha256 of the token');
    assert.equal(Number(mine.ttl), 8 * 60 * 60);
  });

  it('a sign-in holds until its expiry and not a moment after; a restart signs nobody out; expired rows are deleted on a sign-in', async () => {
    const { cookie, token } = await signIn(a, API_KEY);
    await db.pool.query("UPDATE http_sign_ins SET expires_at = now() + interval '5 seconds' WHERE id = $1", [sha256(token)]);
    assert.equal((await call(b, 'GET', '/api/summary', { cookie })).status, 200, 'five seconds before its expiry');

    await a.stop();
    a = await start();
    assert.equal((await call(a, 'GET', '/api/summary', { cookie })).status, 200, 'after a restart of A');

    await db.pool.query('UPDATE http_sign_ins SET expires_at = now() WHERE id = $1', [sha256(token)]);
    assert.equal((await call(b, 'GET', '/api/summary', { cookie })).status, 401, 'at its expiry');
    assert.equal(await csrfOf(a, cookie), null);
    await signIn(b, API_KEY);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM http_sign_ins WHERE id = $1', [sha256(token)]);
    assert.equal(rows[0].n, 0, 'the expired sign-in was deleted by the next sign-in');
    assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM http_sign_ins WHERE expires_at <= now()')).rows[0].n, 0);
  });

  it(`wrong keys sent to A and B count together: ${MAX_FAILURES} answered 401, the next 429 on either; a right key is answered`, async () => {
    const client = { 'x-forwarded-for': '198.51.100.40' };
    const statuses: number[] = [];
    for (let i = 0; i < MAX_FAILURES; i++) statuses.push((await call(i % 2 ? b : a, 'GET', '/api/summary', { ...client, 'x-api-key': `guess-${i}-0000000000000` })).status);
    assert.deepEqual(statuses, Array(MAX_FAILURES).fill(401));
    const limitedA = await call(a, 'GET', '/api/summary', { ...client, 'x-api-key': 'guess-a-0000000000000' });
    assert.equal(limitedA.status, 429, limitedA.text);
    assert.ok(Number(limitedA.headers.get('retry-after')) > 0 && Number(limitedA.headers.get('retry-after')) <= 60);
    assert.equal((await call(b, 'GET', '/api/summary', { ...client, 'x-api-key': 'guess-b-0000000000000' })).status, 429);
    assert.equal((await call(b, 'POST', '/dashboard/login', client, JSON.stringify({ key: 'guess-c-0000000000000' }))).status, 429, 'a sign-in with a wrong key too');
    assert.equal((await call(b, 'GET', '/api/summary', { ...client, 'x-api-key': API_KEY })).status, 200, 'a right key never waits');
    assert.equal((await call(a, 'GET', '/api/summary', { 'x-forwarded-for': '198.51.100.41', 'x-api-key': 'guess-d-0000000000000' })).status, 401, 'another address is counted apart');

    // The window is one minute from the first failure: a second before its end still 429, at its end counted afresh.
    await db.pool.query("UPDATE http_auth_failures SET window_start = now() - interval '59 seconds' WHERE address = $1", [client['x-forwarded-for']]);
    assert.equal((await call(a, 'GET', '/api/summary', { ...client, 'x-api-key': 'guess-e-0000000000000' })).status, 429, 'a second before the window ends');
    await db.pool.query("UPDATE http_auth_failures SET window_start = now() - interval '1 minute' WHERE address = $1", [client['x-forwarded-for']]);
    assert.equal((await call(b, 'GET', '/api/summary', { ...client, 'x-api-key': 'guess-f-0000000000000' })).status, 401, 'once the window is over');
    const { rows } = await db.pool.query('SELECT count FROM http_auth_failures WHERE address = $1', [client['x-forwarded-for']]);
    assert.equal(rows[0].count, 1, 'a new window starts at one');
  });
});
