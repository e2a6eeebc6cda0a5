/**
 * The weekly recap end to end, on the hard-case fixture: the running service (real HTTP on loopback,
 * real PostgreSQL, the fake transport standing in for WhatsApp) sends each unit's group its text and
 * then its workbook; a second run enqueues nothing; `cicero-wa export` and the HTTP API give the very
 * same workbook on demand.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { startApp, type App } from '../src/app/app.js';
import { parseConfig } from '../src/config/index.js';
import { migrate } from '../src/db/migrate.js';
import { silentLogger } from '../src/lib/logger.js';
import { FakeTransport } from '../src/whatsapp/fake-transport.js';
import { loadCiceroTables } from './helpers/cicero.js';
import { REPO_ROOT, runCli, tempDir } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { testCwd } from './helpers/temp-dirs.js';

const API_KEY = 'recap-key-4c1d8e2f6a9b3c7d0e5f';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function sheetsOf(bytes: Buffer): Promise<string[]> {
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(bytes as unknown as ArrayBuffer);
  return book.worksheets.map((s) => s.name);
}

describe('weekly recap with its workbook (fake transport standing in for WhatsApp)', () => {
  let db: TestDatabase;
  let app: App;
  let transport: FakeTransport;
  let base: string;
  const call = (method: string, route: string, body?: unknown) =>
    fetch(`${base}${route}`, { method, headers: { 'x-api-key': API_KEY, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });

  before(async () => {
    db = await createTestDatabase('recap_delivery');
    await loadCiceroTables(db.pool);
    await db.pool.query(await fs.readFile(path.join(REPO_ROOT, 'test/fixtures/rekap-hard-cases.sql'), 'utf8'));
    await migrate(db.pool, silentLogger());
    const config = parseConfig(
      { DATABASE_URL: db.url, WA_TRANSPORT: 'fake', HTTP_PORT: '0', API_KEY, CRON_CATCHUP_HOURS: '0', WA_SEND_INTERVAL_MS: '0', WA_SEND_JITTER_MS: '0' },
      testCwd(),
    );
    transport = new FakeTransport();
    app = await startApp(config, silentLogger(), { transport, drawQr: null, maxAuthFailures: 1000 });
    base = app.http!.url!;
  });
  after(async () => {
    await app.stop();
    await db.drop();
  });

  it('sends each group its text, then its workbook; a second run enqueues nothing', async (t) => {
    const first = await (await call('POST', '/api/jobs/weekly-report/run', { date: '2026-11-24' })).json();
    assert.equal(first.status, 'succeeded', JSON.stringify(first));
    assert.equal(first.enqueued, 4, 'two units with a group: a text and a workbook each');
    await waitUntil(() => transport.sends.length >= 4, 10_000, 'four sends');

    for (const [group, unit] of [['120363000000000001@g.us', 'Polres A'], ['120363000000000002@g.us', 'Polres Bantul']]) {
      const sends = transport.sends.filter((s) => s.chatId === group);
      assert.equal(sends.length, 2, `${group}: two messages`);
      const [text, workbook] = sends;
      assert.equal(text!.document, undefined, `${group}: the text first`);
      assert.match(text!.text, new RegExp(`\\*Rekap Mingguan Engagement\\*\\n\\*${unit}\\*`));
      assert.ok(workbook!.document, `${group}: then the workbook`);
      assert.equal(workbook!.document!.mimeType, XLSX);
      assert.equal(workbook!.document!.fileName, `Rekap Engagement ${unit} 2026-11-23 s.d. 2026-11-29.xlsx`);
      assert.match(workbook!.text, new RegExp(`^\\*Rekap Mingguan Engagement\\*\\n\\*${unit}\\*\\nSenin, 23 November 2026 s\\.d\\. Minggu, 29 November 2026`));
      assert.deepEqual(await sheetsOf(workbook!.document!.bytes), [`${unit} IG`, `${unit} TikTok`]);
      assert.ok(workbook!.startedAt >= text!.endedAt, `${group}: the workbook handed over after the text was`);
    }
    const rows = (await db.pool.query("SELECT dedup_key, follows_id::int AS follows_id, id FROM wa_outbox ORDER BY id")).rows;
    t.diagnostic(rows.map((r) => `${r.id} ${r.dedup_key} follows ${r.follows_id ?? '-'}`).join('; '));
    assert.deepEqual(
      rows.filter((r) => r.dedup_key.endsWith(':xlsx')).map((r) => r.follows_id),
      rows.filter((r) => !r.dedup_key.endsWith(':xlsx')).map((r) => r.id),
      'each workbook follows its text',
    );

    const second = await (await call('POST', '/api/jobs/weekly-report/run', { date: '2026-11-26' })).json();
    assert.equal(second.status, 'succeeded');
    assert.equal(second.enqueued, 0, 'the same week again: nothing new');
    assert.equal((await db.pool.query('SELECT count(*)::int AS n FROM wa_outbox')).rows[0].n, 4);
  });

  it('cicero-wa export and GET /api/recaps/weekly/workbook give the workbook the group got, byte for byte', async () => {
    const sent = transport.sends.find((s) => s.chatId === '120363000000000001@g.us' && s.document)!.document!;
    const dir = await tempDir();
    const file = path.join(dir, 'polres-a.xlsx');
    const exported = await runCli(['export', 'weekly', '--date', '2026-11-24', '--unit', 'POLRES_A', '-o', file], { DATABASE_URL: db.url });
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /polres-a\.xlsx: weekly 2026-11-23 to 2026-11-29, 1 unit\(s\), \d+ KB/);
    assert.equal(sha256(await fs.readFile(file)), sent.sha256);

    const response = await call('GET', '/api/recaps/weekly/workbook?date=2026-11-24&unit=POLRES_A');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), XLSX);
    assert.match(response.headers.get('content-disposition') ?? '', /attachment; filename="Rekap Engagement Polres A 2026-11-23 s\.d\. 2026-11-29\.xlsx"/);
    assert.equal(sha256(Buffer.from(await response.arrayBuffer())), sent.sha256);
  });

  it('every unit, one platform, the ranking; bad input named', async () => {
    const dir = await tempDir();
    const all = await runCli(['export', 'monthly', '--date', '2026-11-10', '--platform', 'tiktok', '-o', path.join(dir, 'all.xlsx')], { DATABASE_URL: db.url });
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /monthly 2026-11-01 to 2026-11-30, 3 unit\(s\)/);
    assert.ok((await sheetsOf(await fs.readFile(path.join(dir, 'all.xlsx')))).every((name) => !/ IG$/.test(name)));
    const ranking = await call('GET', '/api/recaps/ranking/workbook?date=2026-11-24');
    assert.equal(ranking.status, 200);
    assert.deepEqual(await sheetsOf(Buffer.from(await ranking.arrayBuffer())), ['Ranking Engagement']);

    const badPlatform = await call('GET', '/api/recaps/weekly/workbook?platform=facebook');
    assert.equal(badPlatform.status, 400);
    assert.match(JSON.stringify(await badPlatform.json()), /query\.platform/);
    const badUnit = await call('GET', '/api/recaps/weekly/workbook?unit=NOPE');
    assert.equal(badUnit.status, 400);
    assert.match(JSON.stringify(await badUnit.json()), /unit \\"NOPE\\" is not in clients \(expected a clients.client_id; valid: DIT_D, POLRES_A, POLRES_B, POLRES_C\)/);
    const unknownUnit = await runCli(['export', 'weekly', '--unit', 'POLRES_X'], { DATABASE_URL: db.url });
    assert.equal(unknownUnit.code, 2, unknownUnit.stderr);
    assert.match(unknownUnit.stderr, /^cicero-wa: --unit: unit "POLRES_X" is not in clients \(expected a clients\.client_id; valid: DIT_D, POLRES_A, POLRES_B, POLRES_C\)$/m);
    // Many units: ten are named (active ones first), then how many more.
    await db.pool.query("INSERT INTO clients (client_id, nama, client_type, client_status) SELECT 'ARSIP_' || lpad(n::text, 2, '0'), 'Arsip ' || n, 'org', false FROM generate_series(1, 12) n");
    try {
      const many = await runCli(['export', 'weekly', '--unit', 'POLRES_X'], { DATABASE_URL: db.url });
      assert.match(many.stderr, /valid: DIT_D, POLRES_A, POLRES_B, ARSIP_01, ARSIP_02, ARSIP_03, ARSIP_04, ARSIP_05, ARSIP_06, ARSIP_07 and 6 more\)$/m);
    } finally {
      await db.pool.query("DELETE FROM clients WHERE client_id LIKE 'ARSIP_%'");
    }
    const usage = await runCli(['export', 'yearly'], { DATABASE_URL: db.url });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /export kind "yearly" is unknown: expected one of weekly, monthly, ranking/);
    const badDate = await runCli(['export', 'weekly', '--date', '2026-02-30'], { DATABASE_URL: db.url });
    assert.equal(badDate.code, 2);
    assert.match(badDate.stderr, /date "2026-02-30" is invalid/);
  });
});
