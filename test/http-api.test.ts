/**
 * The HTTP API over real HTTP on loopback, on a real PostgreSQL, with the fake transport in place of
 * WhatsApp: messages round trip, keys, validation, sessions and the QR code, jobs, complaints,
 * readiness measured on traffic, Prometheus metrics, the OpenAPI document, and what the log holds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jsQRModule from 'jsqr';
import parsePrometheus from 'parse-prometheus-text-format';
import { pino } from 'pino';
import { PNG } from 'pngjs';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { JOB_NAMES } from '../src/jobs.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

const API_KEY = 'full-key-7f3a9c1e5b2d4f60a8e1';
const READ_KEY = 'read-key-1c2b3a4d5e6f7a8b9c0d';
/** Texts sent in this file: none may appear in the log. */
const BODY_MARK = 'ISI-PESAN-RAHASIA';
/** jsqr is CommonJS: under Node's ESM loader its function may be the default or the default's default. */
type JsQr = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsQRAny = jsQRModule as unknown as JsQr & { default?: JsQr };
const jsQR: JsQr = typeof jsQRAny.default === 'function' ? jsQRAny.default : jsQRAny;

describe('HTTP API (real HTTP on loopback, fake transport in place of WhatsApp)', () => {
  let db: TestDatabase;
  let app: App;
  let transport: FakeTransport;
  let base: string;
  const logLines: string[] = [];

  const call = async (method: string, path: string, options: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) => {
    const key = options.key === undefined ? API_KEY : options.key;
    const headers: Record<string, string> = { ...(key ? { 'x-api-key': key } : {}), ...(options.headers ?? {}) };
    // Every change is JSON, with or without a body.
    if (options.body !== undefined || options.raw !== undefined || method !== 'GET') headers['content-type'] = 'application/json';
    const response = await fetch(`${base}${path}`, { method, headers, ...(options.raw !== undefined ? { body: options.raw } : options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
    const type = response.headers.get('content-type') ?? '';
    const body = type.includes('json') ? await response.json() : type.startsWith('image/png') ? Buffer.from(await response.arrayBuffer()) : await response.text();
    return { status: response.status, body: body as any, headers: response.headers };
  };
  const rowCount = async () => (await db.pool.query('SELECT count(*)::int AS n FROM wa_outbox')).rows[0].n as number;

  before(async () => {
    db = await createTestDatabase('http_api', { migrated: true });
    const config = parseConfig(
      {
        DATABASE_URL: db.url,
        WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off',
        WA_AUTH_PROFILE: 'polda-api',
        HTTP_PORT: '0',
        API_KEY,
        API_READ_KEY: READ_KEY,
        HTTP_READY_STALL_MS: '1500',
        WA_SEND_INTERVAL_MS: '0',
        WA_SEND_JITTER_MS: '0',
        WA_RETRY_BASE_MS: '100',
        WA_RETRY_MAX_MS: '300',
        WA_MAX_ATTEMPTS: '100',
      },
      testCwd(),
    );
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
    transport = new FakeTransport();
    app = await startApp(config, logger, { transport, drawQr: null, maxAuthFailures: 1000 });
    base = app.http!.url!;
  });
  after(async () => {
    await app.stop();
    await db.drop();
  });

  it('POST then GET: pending → sent with the WhatsApp id; the same Idempotency-Key twice is one row and the same id', async () => {
    const created = await call('POST', '/api/messages', { body: { recipient: '0812-3456-7890', text: `Uji ${BODY_MARK} satu`, type: 'manual' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.status, 'pending');
    assert.equal(created.body.recipient, '0812-3456-7890');
    const id = created.body.id as number;
    let seen: any = null;
    await waitUntil(async () => {
      seen = (await call('GET', `/api/messages/${id}`)).body;
      return seen.status === 'sent' && seen.confirmed === true;
    }, 10_000, 'the message sent and confirmed');
    assert.equal(seen.waMessageId, transport.sends.find((s) => s.text.includes('satu'))!.messageId);
    assert.match(seen.sentAt, /\+07:00$/, 'times in CRON_TIMEZONE with the offset');

    const before = await rowCount();
    const first = await call('POST', '/api/messages', { body: { recipient: '6281234567890', text: `Uji ${BODY_MARK} dua` }, headers: { 'idempotency-key': 'cicero-v2-req-42' } });
    const again = await call('POST', '/api/messages', { body: { recipient: '6281234567890', text: `Uji ${BODY_MARK} dua` }, headers: { 'idempotency-key': 'cicero-v2-req-42' } });
    assert.equal(first.status, 201);
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    assert.equal(await rowCount(), before + 1, 'one outbox row');
    const byField = await call('POST', '/api/messages', { body: { recipient: '6281234567890', text: `Uji ${BODY_MARK} dua`, dedupKey: 'cicero-v2-req-42' } });
    assert.equal(byField.status, 200);
    assert.equal(byField.body.id, first.body.id, 'dedupKey in the body is the same key');
  });

  it('an Idempotency-Key reused with a different body is refused (422 naming the key); the same body written another way is the first message', async () => {
    const key = 'cicero-v2-req-77';
    const first = await call('POST', '/api/messages', {
      body: { recipient: '0812-3456-7890', text: `Uji ${BODY_MARK} tujuh`, sendAt: '2030-12-01T07:00:00+07:00' },
      headers: { 'idempotency-key': key },
    });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const before = await rowCount();

    // The same request: the number written another way, defaults spelt out, the same instant in UTC, the key as a field.
    const same = await call('POST', '/api/messages', {
      body: { sendAt: '2030-12-01T00:00:00Z', priority: 'normal', type: 'api', text: `Uji ${BODY_MARK} tujuh`, recipient: '+62 812 3456 7890', dedupKey: key },
    });
    assert.equal(same.status, 200, JSON.stringify(same.body));
    assert.equal(same.body.id, first.body.id);

    const changes: Array<[string, Record<string, unknown>]> = [
      ['text', { text: `Uji ${BODY_MARK} tujuh!` }],
      ['recipient', { recipient: '0812-3456-7891' }],
      ['sendAt', { sendAt: '2030-12-01T07:00:01+07:00' }],
      ['sendAt left out', { sendAt: undefined }],
      ['priority', { priority: 'reply' }],
      ['type', { type: 'manual' }],
      ['document', { document: { fileName: 'a.txt', mimeType: 'text/plain', base64: Buffer.from('a').toString('base64') } }],
    ];
    for (const [what, change] of changes) {
      const body = { recipient: '0812-3456-7890', text: `Uji ${BODY_MARK} tujuh`, sendAt: '2030-12-01T07:00:00+07:00', ...change };
      const refused = await call('POST', '/api/messages', { body, headers: { 'idempotency-key': key } });
      assert.equal(refused.status, 422, `${what}: ${JSON.stringify(refused.body)}`);
      assert.equal(refused.body.error, 'idempotency_key_reused');
      assert.equal(refused.body.messageId, first.body.id);
      assert.ok(refused.body.message.includes(`"${key}"`), `${what}: the key is named: ${refused.body.message}`);
      assert.ok(refused.body.message.includes(`message ${first.body.id}`), `${what}: the first message is named: ${refused.body.message}`);
    }
    assert.equal(await rowCount(), before, 'nothing written');

    // A key taken by a row written otherwise (a recap, another program): compared on what the row keeps.
    await db.pool.query("INSERT INTO wa_outbox (recipient, content, type, dedup_key) VALUES ('6281234567890', 'Laporan harian', 'api', 'written-elsewhere-1')");
    const kept = await call('POST', '/api/messages', { body: { recipient: '081234567890', text: 'Laporan harian' }, headers: { 'idempotency-key': 'written-elsewhere-1' } });
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
    const other = await call('POST', '/api/messages', { body: { recipient: '081234567890', text: 'Laporan lain' }, headers: { 'idempotency-key': 'written-elsewhere-1' } });
    assert.equal(other.status, 422, JSON.stringify(other.body));

    const doc = (await call('GET', '/openapi.json')).body;
    const post = doc.paths['/api/messages'].post;
    assert.ok(post.responses['422'], 'the OpenAPI document lists the 422');
    assert.match(post.description, /same body/i, 'the OpenAPI document says what the same body is');
  });

  it('takes a priority (reply, normal or bulk; default normal) and shows it', async () => {
    const plain = await call('POST', '/api/messages', { body: { recipient: '081234567890', text: `Uji ${BODY_MARK} prioritas biasa` } });
    assert.equal(plain.status, 201, JSON.stringify(plain.body));
    assert.equal(plain.body.priority, 'normal');
    const reply = await call('POST', '/api/messages', { body: { recipient: '081234567890', text: `Uji ${BODY_MARK} balasan`, priority: 'reply' } });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    assert.equal(reply.body.priority, 'reply');
    assert.equal((await call('GET', `/api/messages/${reply.body.id}`)).body.priority, 'reply');
    const { rows } = await db.pool.query('SELECT priority FROM wa_outbox WHERE id = $1', [reply.body.id]);
    assert.equal(rows[0].priority, 0);
    const before = await rowCount();
    const bad = await call('POST', '/api/messages', { body: { recipient: '081234567890', text: 'Halo', priority: 'urgent' } });
    assert.equal(bad.status, 400);
    assert.ok(bad.body.fields.some((f: { field: string }) => f.field === 'body.priority'), JSON.stringify(bad.body.fields));
    assert.equal(await rowCount(), before, 'nothing written');
  });

  it('refuses a missing or wrong key on every endpoint (401); the read key reads but cannot write (403); health is open', async () => {
    const endpoints: Array<[string, string, unknown?]> = [
      ['GET', '/api/messages'],
      ['GET', '/api/messages/1'],
      ['POST', '/api/messages', { recipient: '081234567890', text: 'x' }],
      ['POST', '/api/messages/1/retry'],
      ['POST', '/api/messages/1/cancel'],
      ['GET', '/api/sessions'],
      ['GET', '/api/sessions/default/qr'],
      ['POST', '/api/sessions/default/pairing-code', { phone: '6281234567890' }],
      ['POST', '/api/sessions/default/logout'],
      ['GET', '/api/jobs'],
      ['POST', '/api/jobs/wa-gateway-poll/run'],
      ['GET', '/api/jobs/engagement-reminder/times'],
      ['PUT', '/api/jobs/engagement-reminder/times', { times: ['18:05'] }],
      ['GET', '/api/complaints'],
      ['POST', '/api/complaints/1/retry'],
    ];
    const before = await rowCount();
    for (const [method, path, body] of endpoints) {
      for (const key of [null, 'wrong-key-0000000000000']) {
        const response = await call(method, path, { key, ...(body ? { body } : {}) });
        assert.equal(response.status, 401, `${method} ${path} with ${key ? 'a wrong' : 'no'} key: ${JSON.stringify(response.body)}`);
      }
      const bearer = await call(method, path, { key: null, headers: { authorization: 'Bearer wrong-key-0000000000000' }, ...(body ? { body } : {}) });
      assert.equal(bearer.status, 401);
      const read = await call(method, path, { key: READ_KEY, ...(body ? { body } : {}) });
      if (method === 'GET') assert.notEqual(read.status, 401, `${path} readable with the read key`);
      else assert.equal(read.status, 403, `${method} ${path} refused to the read key`);
    }
    assert.equal(await rowCount(), before, 'nothing written');
    assert.equal((await call('GET', '/api/sessions', { key: null, headers: { authorization: `Bearer ${READ_KEY}` } })).status, 200, 'Bearer works');
    assert.equal((await call('GET', '/healthz', { key: null })).status, 200);
    assert.equal((await call('GET', '/metrics', { key: null })).status, 200, 'metrics open on loopback');
  });

  it('400 naming the field for a bad recipient, empty text, 70,000 characters, an unknown session, malformed JSON; nothing written', async () => {
    const before = await rowCount();
    const cases: Array<[string, { body?: unknown; raw?: string }, RegExp]> = [
      ['bad recipient', { body: { recipient: 'kantor polres', text: 'Halo' } }, /^body\.recipient$/],
      ['empty text', { body: { recipient: '081234567890', text: '' } }, /^body\.text$/],
      ['blank text', { body: { recipient: '081234567890', text: '   ' } }, /^body\.text$/],
      ['70,000 characters', { body: { recipient: '081234567890', text: 'a'.repeat(70_000) } }, /^body\.text$/],
      ['unknown session', { body: { recipient: '081234567890', text: 'Halo', session: 'polda-jatim' } }, /^body\.session$/],
      ['missing text', { body: { recipient: '081234567890' } }, /^body\.text$/],
      ['unknown field', { body: { recipient: '081234567890', text: 'Halo', colour: 'red' } }, /^body\.colour$/],
      ['bad sendAt', { body: { recipient: '081234567890', text: 'Halo', sendAt: 'besok pagi' } }, /^body\.sendAt$/],
      ['malformed JSON', { raw: '{"recipient": "081234567890", "text": ' }, /^body$/],
    ];
    for (const [what, request, field] of cases) {
      const response = await call('POST', '/api/messages', request);
      assert.equal(response.status, 400, `${what}: ${JSON.stringify(response.body)}`);
      assert.ok(Array.isArray(response.body.fields), what);
      assert.ok(response.body.fields.some((f: { field: string }) => field.test(f.field)), `${what} names ${field}: ${JSON.stringify(response.body.fields)}`);
    }
    const all = await call('POST', '/api/messages', { body: { recipient: 'bukan nomor', text: '', session: 'Lain Lain', sendAt: 'nanti' } });
    assert.deepEqual(all.body.fields.map((f: { field: string }) => f.field).sort(), ['body.recipient', 'body.sendAt', 'body.session', 'body.text'], 'every bad field at once');
    assert.match(all.body.fields.find((f: { field: string }) => f.field === 'body.text').message, /must not be empty/);
    assert.equal(await rowCount(), before, 'nothing written');
    assert.equal((await call('GET', '/api/messages/999999')).status, 404);
    assert.equal((await call('GET', '/api/messages?limit=0')).status, 400);
  });

  it('lists with filters and a cursor; retry and cancel follow the CLI rules', async () => {
    const later = new Date(Date.now() + 3600_000).toISOString();
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await call('POST', '/api/messages', { body: { recipient: '081200000000', text: `Terjadwal ${BODY_MARK} ${i}`, type: 'scheduled_test', sendAt: later } });
      assert.equal(r.status, 201);
      ids.push(r.body.id);
    }
    const page1 = await call('GET', '/api/messages?type=scheduled_test&limit=2');
    assert.deepEqual(page1.body.messages.map((m: { id: number }) => m.id), [ids[2], ids[1]]);
    const page2 = await call('GET', `/api/messages?type=scheduled_test&limit=2&cursor=${page1.body.nextCursor}`);
    assert.deepEqual(page2.body.messages.map((m: { id: number }) => m.id), [ids[0]]);
    assert.equal(page2.body.nextCursor, null);
    assert.equal((await call('GET', '/api/messages?cursor=bm9wZQ')).status, 400);

    assert.equal((await call('POST', `/api/messages/${ids[0]}/cancel`)).status, 200);
    const twice = await call('POST', `/api/messages/${ids[0]}/cancel`);
    assert.equal(twice.status, 409);
    assert.match(twice.body.message, /is cancelled/);
    assert.equal((await call('POST', `/api/messages/${ids[1]}/retry`)).status, 409, 'a pending message cannot be retried');
    assert.equal((await call('POST', '/api/messages/999999/retry')).status, 404);
    assert.equal((await call('GET', `/api/messages?status=cancelled&type=scheduled_test`)).body.messages.length, 1);
    await call('POST', `/api/messages/${ids[1]}/cancel`);
    await call('POST', `/api/messages/${ids[2]}/cancel`);
  });

  it('sessions: state; the QR as a PNG that decodes to the stand-in\'s text, SVG or JSON; pairing code; logout; 404 without a QR', async () => {
    const listed = await call('GET', '/api/sessions');
    assert.equal(listed.body.sessions[0].name, 'default');
    assert.equal(listed.body.sessions[0].state, 'ready');
    // The auth profile its login is kept in (WA_AUTH_PROFILE), under its name and under its old one.
    assert.equal(listed.body.sessions[0].authProfile, 'polda-api');
    assert.equal(listed.body.sessions[0].whatsappSession, 'polda-api');
    const none = await call('GET', '/api/sessions/default/qr');
    assert.equal(none.status, 404);
    assert.equal(none.body.state, 'ready');
    assert.equal((await call('GET', '/api/sessions/polda/qr')).status, 404);
    assert.equal((await call('POST', '/api/sessions/default/pairing-code', { body: { phone: '6281234567890' } })).status, 409, 'no pairing code once paired');

    const qrText = '2@cicero-wa-standin-qr,Hh3kTqXo8lV0nA==,k1lYc0ZsTQ==';
    transport.emitPairing({ kind: 'qr', qr: qrText, at: new Date() });
    try {
      const png = await call('GET', '/api/sessions/default/qr', { headers: { accept: 'image/png' } });
      assert.equal(png.status, 200);
      assert.equal(png.headers.get('content-type'), 'image/png');
      const image = PNG.sync.read(png.body as Buffer);
      const decoded = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
      assert.equal(decoded?.data, qrText, 'the PNG decodes back to the QR text');
      const svg = await call('GET', '/api/sessions/default/qr?format=svg');
      assert.match(svg.body as string, /^<svg/);
      const json = await call('GET', '/api/sessions/default/qr');
      assert.equal(json.body.qr, qrText);
      assert.ok(Date.parse(json.body.expiresAt) > Date.parse(json.body.issuedAt));

      const code = await call('POST', '/api/sessions/default/pairing-code', { body: { phone: '+6281234567890' } });
      assert.equal(code.status, 200, JSON.stringify(code.body));
      assert.equal(code.body.code, 'FAKE7890');
      assert.equal((await call('POST', '/api/sessions/default/pairing-code', { body: { phone: '0812' } })).status, 400);
    } finally {
      transport.emitPairing({ kind: 'paired', at: new Date() });
    }
    const out = await call('POST', '/api/sessions/default/logout');
    assert.equal(out.status, 202);
    assert.equal(out.body.state, 'awaiting_qr');
    assert.equal((await call('GET', '/api/sessions/default/qr')).body.qr, 'fake-qr-after-logout-1', 'a new QR follows');
    transport.emitPairing({ kind: 'paired', at: new Date() });
  });

  it('jobs and complaints as the CLI shows them', async () => {
    const jobs = await call('GET', '/api/jobs');
    assert.deepEqual(jobs.body.jobs.map((j: { name: string }) => j.name), [...JOB_NAMES], 'every job of the job table');
    assert.ok(jobs.body.jobs.every((j: { recentRuns: unknown[] }) => Array.isArray(j.recentRuns)), 'the last runs of each job');
    const run = await call('POST', '/api/jobs/wa-gateway-poll/run');
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body.status, 'succeeded');
    const dated = await call('POST', '/api/jobs/wa-gateway-poll/run', { body: { date: '2026-11-25' } });
    assert.equal(dated.status, 400);
    assert.match(dated.body.fields[0].field, /body\.date/);
    assert.equal((await call('POST', '/api/jobs/nope/run')).status, 400);
    assert.equal((await call('POST', '/api/jobs/daily-report/run', { body: { date: '2026-02-30' } })).status, 400);
    await db.pool.query(`INSERT INTO complaint_queue (complainant, response_template, status) VALUES ('081234567890', 'tidak_ada', 'failed')`);
    const complaints = await call('GET', '/api/complaints?status=failed');
    assert.equal(complaints.body.complaints.length, 1);
    const retried = await call('POST', `/api/complaints/${complaints.body.complaints[0].id}/retry`);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal((await call('POST', '/api/complaints/999999/retry')).status, 404);
  });

  it('/readyz turns not ready within the threshold while the transport accepts nothing, and ready again after; /healthz stays 200', async () => {
    await waitUntil(async () => (await call('GET', '/readyz', { key: null })).status === 200, 10_000, 'ready at first');
    transport.setBehaviour(() => ({ fail: 'transient', reason: 'not_accepting' }));
    const r = await call('POST', '/api/messages', { body: { recipient: '081234567891', text: `Macet ${BODY_MARK}` } });
    assert.equal(r.status, 201);
    const stalledAfter = await waitUntil(async () => (await call('GET', '/readyz', { key: null })).status === 503, 6000, 'not ready');
    const notReady = await call('GET', '/readyz', { key: null });
    assert.equal(notReady.body.status, 'not_ready');
    assert.ok(notReady.body.checks.some((c: { name: string; ok: boolean }) => c.name === 'delivery' && !c.ok), JSON.stringify(notReady.body));
    assert.ok(notReady.body.checks.some((c: { name: string; ok: boolean }) => c.name === 'whatsapp' && c.ok), 'the transport itself says ready');
    assert.equal((await call('GET', '/healthz', { key: null })).status, 200);
    transport.setBehaviour(undefined);
    await waitUntil(async () => (await call('GET', '/readyz', { key: null })).status === 200, 10_000, 'ready again');
    await waitUntil(async () => (await call('GET', `/api/messages/${r.body.id}`)).body.status === 'sent', 10_000, 'the waiting message sent');
    assert.ok(stalledAfter < 6000);
  });

  it('/metrics parses as Prometheus text and its counters move as messages are sent', async () => {
    const scrape = async () => parsePrometheus((await call('GET', '/metrics', { key: null })).body as string);
    const sentCount = (families: ReturnType<typeof parsePrometheus>) =>
      (families.find((f) => f.name === 'cicero_wa_sends_total')?.metrics ?? [])
        .filter((m) => m.labels?.outcome === 'confirmed')
        .reduce((sum, m) => sum + Number(m.value), 0);
    const before = await scrape();
    for (const name of ['cicero_wa_outbox_messages', 'cicero_wa_transport_state', 'cicero_wa_http_requests_total', 'cicero_wa_pickup_latency_seconds', 'cicero_wa_send_duration_seconds', 'cicero_wa_complaints', 'process_cpu_seconds_total', 'cicero_wa_outbox_oldest_due_seconds']) {
      assert.ok(before.some((f) => f.name === name), `${name} exported`);
    }
    const ready = before.find((f) => f.name === 'cicero_wa_transport_state')!.metrics.find((m) => m.labels?.state === 'ready');
    assert.equal(ready?.value, '1');
    for (let i = 0; i < 3; i++) await call('POST', '/api/messages', { body: { recipient: '081234567892', text: `Metrik ${BODY_MARK} ${i}` } });
    await waitUntil(async () => sentCount(await scrape()) >= sentCount(before) + 3, 10_000, 'three more confirmed sends counted');
    transport.emitAck(transport.sends.at(-1)!.messageId, 3);
    const afterAck = await scrape();
    assert.ok(Number(afterAck.find((f) => f.name === 'cicero_wa_acks_total')?.metrics.find((m) => m.labels?.level === '3')?.value) >= 1);
  });

  it('lists incoming messages and webhook deliveries', async () => {
    transport.emitInbound({
      messageId: 'false_6281234500009@c.us_H1', chatId: '6281234500009@c.us', isGroup: false, senderId: '6281234500009@c.us', senderPhone: '6281234500009@c.us',
      senderLid: null, senderName: null, body: `Halo ${BODY_MARK}`, sentAt: new Date(), media: null, isStatus: false,
    });
    await app.intake!.idle();
    const inbox = await call('GET', '/api/inbox?limit=5', { key: READ_KEY });
    assert.equal(inbox.status, 200);
    assert.equal(inbox.body.messages[0].chatId, '6281234500009@c.us');
    assert.equal(inbox.body.messages[0].outcome, 'none');
    const hooks = await call('GET', '/api/webhooks?status=failed', { key: READ_KEY });
    assert.deepEqual(hooks.body, { deliveries: [] });
    assert.equal((await call('POST', '/api/webhooks/999/retry')).status, 404);
  });

  it('takes a document as base64 with the text as its caption; shows its name and size, never its bytes; refuses a bad one naming the field', async () => {
    const bytes = Buffer.from(`PK\u0003\u0004 workbook ${'x'.repeat(3000)}`);
    const document = { fileName: 'rekap-mingguan.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', base64: bytes.toString('base64') };
    const before = await rowCount();
    const bad: Array<[string, Record<string, unknown>, string]> = [
      ['a folder in the name', { ...document, fileName: 'a/b.xlsx' }, 'body.document.fileName'],
      ['no MIME type', { ...document, mimeType: 'excel' }, 'body.document.mimeType'],
      ['not base64', { ...document, base64: 'bukan base64!' }, 'body.document.base64'],
      ['a missing name', { mimeType: document.mimeType, base64: document.base64 }, 'body.document.fileName'],
    ];
    for (const [what, doc, field] of bad) {
      const response = await call('POST', '/api/messages', { body: { recipient: '081234567890', text: 'Rekap', document: doc } });
      assert.equal(response.status, 400, `${what}: ${JSON.stringify(response.body)}`);
      assert.ok(response.body.fields.some((f: { field: string }) => f.field === field), `${what} names ${field}: ${JSON.stringify(response.body.fields)}`);
    }
    const longCaption = await call('POST', '/api/messages', { body: { recipient: '081234567890', text: 'k'.repeat(1025), document } });
    assert.equal(longCaption.status, 400);
    assert.match(JSON.stringify(longCaption.body.fields), /body\.text.*1024/);
    assert.equal(await rowCount(), before, 'nothing written');

    const created = await call('POST', '/api/messages', { body: { recipient: '081234567890', text: 'Rekap mingguan', document } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.document, { fileName: 'rekap-mingguan.xlsx', mimeType: document.mimeType, size: bytes.length });
    const one = await call('GET', `/api/messages/${created.body.id}`);
    assert.equal(one.body.text, 'Rekap mingguan');
    assert.equal(one.body.document.size, bytes.length);
    const list = await call('GET', '/api/messages?limit=5');
    assert.ok(!JSON.stringify(list.body).includes(document.base64.slice(0, 40)), 'no bytes in the list');
    const stored = await db.pool.query('SELECT document, document_sha256 FROM wa_outbox WHERE id = $1', [created.body.id]);
    assert.ok(Buffer.from(stored.rows[0].document).equals(bytes));
  });

  it('serves an OpenAPI 3 document made from the validating schemas', async () => {
    const doc = await call('GET', '/openapi.json', { key: null });
    assert.equal(doc.status, 200);
    assert.match(doc.body.openapi, /^3\./);
    const post = doc.body.paths['/api/messages'].post;
    assert.deepEqual(post.requestBody.content['application/json'].schema.required, ['recipient', 'text']);
    assert.equal(post.requestBody.content['application/json'].schema.properties.text.maxLength, 65_536);
    assert.deepEqual(post.requestBody.content['application/json'].schema.properties.priority.enum, ['reply', 'normal', 'bulk']);
    assert.equal(post.requestBody.content['application/json'].schema.properties.priority.default, 'normal');
    assert.ok(doc.body.paths['/api/sessions/{name}/qr']);
  });

  it('no log line holds a key or a message body; each request is logged with method, route, status and duration', () => {
    const all = logLines.join('');
    assert.ok(!all.includes(API_KEY) && !all.includes(READ_KEY) && !all.includes('wrong-key-0000000000000'), 'no key in the log');
    assert.ok(!all.includes(BODY_MARK), 'no message body in the log');
    const requests = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'http request');
    assert.ok(requests.some((l) => l.method === 'POST' && l.route === '/api/messages' && l.status === 201 && typeof l.durationMs === 'number'));
    assert.ok(requests.some((l) => l.route === '/api/messages/:id' && l.status === 404));
  });
});

describe('HTTP API limits and start-up refusals', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('http_limits', { migrated: true });
  });
  after(async () => db.drop());

  it('an address that keeps sending wrong keys is slowed down with 429', async () => {
    const config = parseConfig({ DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', HTTP_PORT: '0', API_KEY }, testCwd());
    const app = await startApp(config, pino({ level: 'silent' }), { transport: new FakeTransport(), drawQr: null });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await fetch(`${app.http!.url}/api/messages`, { headers: { 'x-api-key': `guess-${i}-000000000000` } })).status);
      assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
      assert.deepEqual(statuses.slice(10), [429, 429]);
      const limited = await fetch(`${app.http!.url}/api/messages`, { headers: { 'x-api-key': 'guess-12-000000000000' } });
      assert.equal(limited.status, 429, 'until the window ends, a wrong key waits');
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      assert.equal((await fetch(`${app.http!.url}/api/messages`, { headers: { 'x-api-key': API_KEY } })).status, 200, 'a right key never waits');
      assert.equal((await fetch(`${app.http!.url}/healthz`)).status, 200, 'health is never limited');
    } finally {
      await app.stop();
    }
  });

  it('HTTP_HOST=0.0.0.0 without API_KEY: exit 2 naming both variables', async () => {
    const result = await runCli(['start'], { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', HTTP_HOST: '0.0.0.0' });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /HTTP_HOST="0\.0\.0\.0".*API_KEY/);
  });

  it('a short API key is refused without showing it', async () => {
    const result = await runCli(['start'], { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', API_KEY: 'hunter2' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /API_KEY is invalid \(value not shown\): expected at least 16 characters/);
    assert.ok(!result.stderr.includes('hunter2'));
  });
});
