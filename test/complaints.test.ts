import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fixedClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { TemplateError, composeReply, loadTemplates, type Complainant } from '../src/features/complaints/reply.js';
import { greeting } from '../src/features/greeting.js';
import { COMPLAINT_REPLY_TYPE, complaintResponder } from '../src/features/complaints/responder.js';
import { SessionDelivery } from '../src/delivery/session-delivery.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { logLines, runCli, startCli, tempDir } from './helpers/cli.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fastDispatch, waitUntil } from './helpers/dispatch.js';

const JAKARTA = 'Asia/Jakarta';
const nobody: Complainant = { nomor: '081234567890', nama: null, pangkat: null, nrp: null, satker: null };
const budi: Complainant = { nomor: '081300000001', nama: 'Budi', pangkat: 'BRIPKA', nrp: '75010001', satker: 'Polres A' };

describe('the standard reply', () => {
  it('greets by the time of day in Jakarta: 23:30 UTC is 06:30 there, "Selamat pagi"', () => {
    assert.equal(greeting(new Date('2026-11-24T23:30:00Z'), JAKARTA), 'Selamat pagi');
    assert.equal(greeting(new Date('2026-11-25T04:00:00Z'), JAKARTA), 'Selamat siang'); // 11:00
    assert.equal(greeting(new Date('2026-11-25T08:59:00Z'), JAKARTA), 'Selamat sore'); // 15:59
    assert.equal(greeting(new Date('2026-11-25T11:00:00Z'), JAKARTA), 'Selamat malam'); // 18:00
    assert.equal(greeting(new Date('2026-11-24T20:59:00Z'), JAKARTA), 'Selamat malam'); // 03:59
  });

  it('a template key gives the problem and numbered steps, with who complained', async () => {
    const templates = await loadTemplates(null);
    const reply = composeReply('instagram_not_recorded', budi, templates, new Date('2026-11-24T23:30:00Z'), JAKARTA);
    assert.match(reply.text, /^Selamat pagi, Budi\.\n\nLaporan Anda sedang kami tindak lanjuti\.\n\n\*Pelapor:\* BRIPKA Budi \(NRP 75010001\) — Polres A\n\*Kendala:\* Aksi Instagram \(like\) tidak tercatat\n\n\*Solusi\/Tindak Lanjut:\*\n1\. /);
    assert.match(reply.text, /\n4\. Bila masih belum tercatat.*\n\nTerima kasih\.\n_Pesan otomatis Cicero_$/);
    for (const key of ['tiktok_not_recorded', 'attendance_less', 'activity_flagged_not_done', 'generic']) {
      assert.match(composeReply(key, nobody, templates, new Date(), JAKARTA).text, /\*Kendala:\* .+\n\n\*Solusi\/Tindak Lanjut:\*\n1\. /, key);
    }
  });

  it('literal text fills known placeholders, keeps unknown ones visible and reports them; an unknown key gets generic', async () => {
    const templates = await loadTemplates(null);
    const literal = composeReply('Yth. {pangkat} {nama} ({nrp}), akun {instagram} sudah kami cek.', budi, templates, new Date(), JAKARTA);
    assert.match(literal.text, /Yth\. BRIPKA Budi \(75010001\), akun \{instagram\} sudah kami cek\./);
    assert.deepEqual(literal.unknownPlaceholders, ['instagram']);
    assert.ok(!literal.text.includes('Kendala'));
    const stranger = composeReply('Halo {nama}', nobody, templates, new Date(), JAKARTA);
    assert.match(stranger.text, /Halo Bapak\/Ibu/);
    const typo = composeReply('instagram_not_recoded', nobody, templates, new Date(), JAKARTA);
    assert.equal(typo.unknownKey, 'instagram_not_recoded');
    assert.match(typo.text, /\*Kendala:\* Laporan kendala/);
  });

  it('COMPLAINT_TEMPLATES_DIR overrides a template; a bad file is refused naming it', async () => {
    const dir = await tempDir();
    await fs.writeFile(path.join(dir, 'generic.json'), JSON.stringify({ kendala: 'Kendala umum', steps: ['Hubungi operator.'] }));
    await fs.writeFile(path.join(dir, 'login_problem.json'), JSON.stringify({ kendala: 'Tidak bisa masuk', steps: ['Atur ulang kata sandi.'] }));
    const templates = await loadTemplates(dir);
    assert.equal(templates.generic!.kendala, 'Kendala umum');
    assert.equal(templates.login_problem!.steps[0], 'Atur ulang kata sandi.');
    assert.ok(templates.instagram_not_recorded, 'the others stay');
    await fs.writeFile(path.join(dir, 'broken.json'), JSON.stringify({ kendala: 'x', steps: [] }));
    await assert.rejects(loadTemplates(dir), (err: unknown) => err instanceof TemplateError && /broken\.json: template "broken" needs "steps"/.test(err.message));
  });
});

describe('complaint responder on a real PostgreSQL', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('complaints', { migrated: true });
    await loadCiceroTables(db.pool);
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query('TRUNCATE complaint_queue, wa_outbox RESTART IDENTITY CASCADE');
  });

  async function drainWithFake(): Promise<FakeTransport> {
    const transport = new FakeTransport();
    await transport.start();
    const responder = complaintResponder({ pool: db.pool, templates: await loadTemplates(null), timeZone: JAKARTA, defaultCountryCode: '62' }, fixedClock(new Date()), silentLogger());
    const dispatcher = new SessionDelivery({ pool: db.pool, transport, logger: silentLogger(), dispatch: fastDispatch({ batchSize: 100 }), defaultCountryCode: '62' });
    dispatcher.hooks.onOutcome([COMPLAINT_REPLY_TYPE], responder.outcomeHook);
    dispatcher.start();
    try {
      await waitUntil(async () => (await db.pool.query("SELECT 1 FROM wa_outbox WHERE status IN ('pending', 'sending')")).rowCount === 0, 60_000, 'replies sent');
      await dispatcher.idle();
    } finally {
      await dispatcher.stop();
    }
    return transport;
  }

  it('500 complaints, the job in two processes at once: 500 replies, one each, every complaint responded at its send time', async () => {
    await db.pool.query(`INSERT INTO complaint_queue (complainant, response_template)
      SELECT '0812' || lpad(g::text, 8, '0'), (ARRAY['instagram_not_recorded', 'tiktok_not_recorded', 'Mohon cek lagi, {nama}.'])[1 + g % 3]
        FROM generate_series(1, 500) g`);
    const env = { DATABASE_URL: db.url, LOG_LEVEL: 'warn' };
    const [a, b] = await Promise.all([runCli(['run', 'complaint-response'], env), runCli(['run', 'complaint-response'], env)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const replies = (stdout: string) => Number(/(\d+) repl/.exec(stdout)?.[1] ?? Number.NaN);
    const queued = replies(a.stdout) + replies(b.stdout);
    assert.equal(queued, 500, `the two runs shared the work: ${a.stdout.trim()} | ${b.stdout.trim()}`);
    const transport = await drainWithFake();
    assert.equal(transport.sends.length, 500);
    assert.equal(new Set(transport.sends.map((s) => s.chatId)).size, 500, 'one reply per complainant');
    const { rows } = await db.pool.query(`SELECT c.status, c.responded_at = o.sent_at AS at_send_time, o.type
      FROM complaint_queue c JOIN wa_outbox o ON o.id = c.outbox_id`);
    assert.equal(rows.length, 500);
    assert.ok(rows.every((r) => r.status === 'responded' && r.at_send_time && r.type === COMPLAINT_REPLY_TYPE));
  });

  it('an invalid complainant fails with invalid_recipient and writes no reply; the others are answered', async () => {
    await db.pool.query("INSERT INTO complaint_queue (complainant, response_template) VALUES ('bukan nomor', 'generic'), ('081300000001', 'Halo {nama} dari {satker}')");
    const result = await runCli(['run', 'complaint-response'], { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    assert.match(result.stdout, /1 reply queued, 1 complaint\(s\) failed/);
    const { rows } = await db.pool.query('SELECT status, failure_reason, outbox_id FROM complaint_queue ORDER BY id');
    assert.equal(rows[0].status, 'failed');
    assert.match(rows[0].failure_reason, /^invalid_recipient: "bukan nomor"/);
    assert.equal(rows[0].outbox_id, null);
    assert.equal(rows[1].status, 'queued');
    const reply = (await db.pool.query('SELECT recipient, content, priority FROM wa_outbox')).rows[0];
    assert.equal(reply.recipient, '6281300000001@c.us');
    assert.equal(reply.priority, 0, 'a complaint reply is a reply');
    assert.match(reply.content, /Halo Budi dari Polres A/, "the name comes from Cicero_V2's personnel");
  });

  it('a reply cancelled by an operator fails its complaint at the next run; complaints retry sends it again', async () => {
    await db.pool.query("INSERT INTO complaint_queue (complainant, response_template) VALUES ('081234567890', 'generic')");
    const env = { DATABASE_URL: db.url, LOG_LEVEL: 'warn' };
    await runCli(['run', 'complaint-response'], env);
    await runCli(['outbox', 'cancel', '1'], env);
    await runCli(['run', 'complaint-response'], env);
    assert.deepEqual((await db.pool.query('SELECT status, failure_reason FROM complaint_queue')).rows[0], { status: 'failed', failure_reason: 'reply_cancelled: cancelled by an operator' });
    const listed = await runCli(['complaints', 'list', '--status', 'failed'], env);
    assert.match(listed.stdout, /^\s*1\s+failed\s+081234567890\s.*\s1\s+reply_cancelled: cancelled by an operator$/m);
    const retried = await runCli(['complaints', 'retry', '1'], env);
    assert.equal(retried.code, 0, retried.stdout + retried.stderr);
    assert.match(retried.stdout, /ok {3}1: reply 1 will be sent again/);
    await drainWithFake();
    assert.equal((await db.pool.query('SELECT status FROM complaint_queue')).rows[0].status, 'responded');
    const again = await runCli(['complaints', 'retry', '1'], env);
    assert.equal(again.code, 1);
    assert.match(again.stdout, /skip 1: is responded/);
  });
});

describe('complaints in the running service (fake transport in place of WhatsApp)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('complaints_service', { migrated: true });
  });
  after(async () => db.drop());

  const serviceEnv = (sendLog: string, extra: Record<string, string> = {}) => ({
    DATABASE_URL: db.url, WA_TRANSPORT: 'fake', WA_GOVERNOR: 'off', WA_FAKE_SEND_LOG: sendLog, WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0',
    WA_SEND_MAX_PER_MINUTE: '100000', WA_DISPATCH_BATCH_SIZE: '25', COMPLAINT_RESPONSE_CRON: '0 0 1 1 *', ...extra,
  });

  it('answers a complaint within a second of its insert', async (t) => {
    const dir = await tempDir();
    const sendLog = path.join(dir, 'sends.jsonl');
    const service = startCli(['start'], serviceEnv(sendLog), dir);
    try {
      await service.waitFor(/cicero-wa-gateway is up/);
      const insertedAt = performance.now();
      await db.pool.query("INSERT INTO complaint_queue (complainant, response_template) VALUES ('081234567890', 'tiktok_not_recorded')");
      await waitUntil(async () => (await db.pool.query("SELECT 1 FROM complaint_queue WHERE status = 'responded'")).rowCount === 1, 3000, 'responded');
      t.diagnostic(`insert to responded: ${Math.round(performance.now() - insertedAt)} ms`);
      assert.ok(performance.now() - insertedAt < 1500);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });

  it('a SIGKILL mid-run: after a restart no complaint stays pending or queued, each has one reply', async (t) => {
    await db.pool.query('TRUNCATE complaint_queue, wa_outbox RESTART IDENTITY CASCADE');
    await db.pool.query(`INSERT INTO complaint_queue (complainant, response_template)
      SELECT '0813' || lpad(g::text, 8, '0'), 'generic' FROM generate_series(1, 300) g`);
    const dir = await tempDir();
    const sendLog = path.join(dir, 'sends.jsonl');
    const env = serviceEnv(sendLog, { WA_FAKE_SEND_DELAY_MS: '5', WA_LEASE_MS: '1500', WA_SEND_TIMEOUT_MS: '500' });
    const first = startCli(['start'], env, dir);
    await waitUntil(async () => (await fs.readFile(sendLog, 'utf8').catch(() => '')).split('\n').length > 60, 60_000, 'some replies sent');
    first.child.kill('SIGKILL');
    await first.exited;
    const second = startCli(['start'], env, dir);
    try {
      await waitUntil(async () => (await db.pool.query("SELECT 1 FROM complaint_queue WHERE status <> 'responded'")).rowCount === 0, 60_000, 'every complaint responded');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    const replies = (await db.pool.query('SELECT count(*)::int AS n, count(DISTINCT dedup_key)::int AS keys FROM wa_outbox')).rows[0];
    assert.deepEqual(replies, { n: 300, keys: 300 }, 'one reply row per complaint');
    const sends = (await fs.readFile(sendLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).chatId as string);
    const repeated = sends.length - new Set(sends).size;
    t.diagnostic(`replies delivered twice (the send in flight at the kill): ${repeated}`);
    assert.ok(repeated <= 1);
    assert.ok(logLines(second.stdout()).some((l) => l.msg === 'cicero-wa-gateway is up'));
  });
});
