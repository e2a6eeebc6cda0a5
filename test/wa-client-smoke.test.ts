/**
 * Smoke test with the real whatsapp-web.js and the real Chromium (installed by .ci/run). WhatsApp Web
 * cannot be reached from this machine, so the client must report the network error and keep retrying
 * while the rest of the service works; and stopping must leave no Chromium behind.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findChromium } from '../src/whatsapp/wwebjs/chromium.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { logLines, processesUsing, startCli, tempDir } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';

const chromium = findChromium(null).path;


describe('WhatsApp Web transport with real Chromium (no route to WhatsApp here)', { skip: chromium ? false : 'Chromium is not installed: apt-get install -y chromium (.ci/run does)' }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('wa_smoke', { migrated: true });
  });
  after(async () => db.drop());

  it('reports reconnecting with the network error, retries with growing delays, keeps rows pending, stops clean', async (t) => {
    const dir = await tempDir();
    const authPath = path.join(dir, 'wa-auth');
    const service = startCli(
      ['start'],
      { DATABASE_URL: db.url, WA_TRANSPORT: 'wwebjs', WA_AUTH_PATH: authPath, WA_RECONNECT_BASE_MS: '500', WA_RECONNECT_MAX_MS: '8000', LOG_LEVEL: 'debug' },
      dir,
    );
    let result;
    try {
      await service.waitFor(/cicero-wa-gateway is up/, 60_000);
      // Work goes on while WhatsApp is away: a job's rows and a seed-style insert are written.
      await enqueue(db.pool, [{ recipient: '081234567890', content: 'Rekap harian', type: 'daily_report', dedupKey: 'smoke-1' }]);
      await db.pool.query("INSERT INTO wa_outbox (recipient, content, type) VALUES ('081234567891', 'Pesan lama', 'legacy')");

      // Each restart is a state change; the outage is explained in words once (warn), the rest at debug.
      const reconnecting = () => logLines(service.stdout()).filter((l) => l.state === 'reconnecting');
      await waitUntil(() => reconnecting().length >= 3, 90_000, 'three restarts');
      const reasons = reconnecting().map((l) => String(l.reason));
      t.diagnostic(reasons[0]!);
      assert.ok(reasons.every((r) => /net::ERR_[A-Z_]+/.test(r)), `the reason names the network error: ${reasons[0]}`);
      const delays = reasons.map((r) => Number(/next try in (\d+) ms/.exec(r)![1]));
      assert.ok(delays[1]! > delays[0]! && delays[2]! > delays[1]!, `delays grow: ${delays.join(', ')}`);

      const explained = logLines(service.stdout()).filter((l) => l.level === 40 && /^WhatsApp Web cannot be reached from this machine: the name web\.whatsapp\.com does not resolve/.test(String(l.msg)));
      assert.equal(explained.length, 1, 'the outage is explained once, in words');
      const { rows } = await db.pool.query('SELECT status, attempts FROM wa_outbox ORDER BY id');
      assert.deepEqual(rows, [{ status: 'pending', attempts: 0 }, { status: 'pending', attempts: 0 }], 'nothing claimed while not ready');
    } finally {
      const stopAt = performance.now();
      service.child.kill('SIGTERM');
      result = await service.exited;
      t.diagnostic(`stopped in ${Math.round(performance.now() - stopAt)} ms`);
      assert.ok(performance.now() - stopAt < 10_000, 'stopped within 10 s');
    }
    assert.equal(result.code, 0, result.stderr);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(processesUsing(authPath).filter((l) => /chrom/i.test(l)), [], 'no Chromium of ours left');
  });

  it('cicero-wa doctor reports the Chromium found and its version', async () => {
    const result = await startCli(['doctor'], { DATABASE_URL: db.url, WA_TRANSPORT: 'wwebjs' }, await tempDir()).exited;
    const line = result.stdout.split('\n').find((l) => l.includes('chromium'))!;
    assert.match(line, new RegExp(`^ok\\s+chromium\\s+Chromium \\d+\\.[\\d.]+.* at ${chromium}`));
  });
});
