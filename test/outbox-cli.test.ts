import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

describe('cicero-wa outbox', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  before(async () => {
    db = await createTestDatabase('outbox_cli', { migrated: true });
    env = { DATABASE_URL: db.url };
    await db.pool.query(`
      INSERT INTO wa_outbox (recipient, content, type, status, last_error, attempts) VALUES
        ('081234567890', 'Rekap harian', 'daily_report', 'pending', NULL, 0),
        ('budi', 'Nomor salah', 'complaint_reply', 'failed', 'invalid_recipient: "budi" is not a phone number', 1),
        ('081234567891', 'Sudah terkirim', 'daily_report', 'sent', NULL, 1),
        ('081234567892', 'Dibatalkan', 'weekly_report', 'cancelled', NULL, 0),
        ('081234567893', 'Gagal terus', 'daily_report', 'failed', 'attempts exhausted (6): timeout', 6)`);
  });
  after(async () => db.drop());

  it('lists the newest rows, filtered by status', async () => {
    const all = await runCli(['outbox', 'list'], env);
    assert.equal(all.code, 0, all.stderr);
    const [header, ...lines] = all.stdout.trimEnd().split('\n');
    assert.match(header!, /^\s*ID\s+STATUS\s+TYPE\s+RECIPIENT\s+TRIES\s+CREATED \(WIB\)/);
    assert.equal(lines.length, 5);
    assert.match(lines[0]!, /^\s*5\s+failed\s+daily_report\s+081234567893\s+6\s.*Gagal terus\s+attempts exhausted \(6\): timeout$/);
    const failed = await runCli(['outbox', 'list', '--status', 'failed', '--limit', '1'], env);
    assert.equal(failed.stdout.trimEnd().split('\n').length, 2);
    assert.match(failed.stdout.split('\n')[1]!, /^\s*5\s+failed/);
  });

  it('retries failed and cancelled rows with attempts reset, and says why others are skipped', async () => {
    const result = await runCli(['outbox', 'retry', '2', '4', '3', '99'], env);
    assert.equal(result.code, 1, 'not every id could be retried');
    assert.deepEqual(result.stdout.trim().split('\n'), [
      'ok   2: pending again',
      'ok   4: pending again',
      'skip 3: is sent; only failed or cancelled rows (or rows with a status the service does not know) can be',
      'skip 99: no such row',
    ]);
    const { rows } = await db.pool.query('SELECT id, status, attempts, last_error FROM wa_outbox WHERE id IN (2, 4) ORDER BY id');
    assert.deepEqual(rows, [
      { id: 2, status: 'pending', attempts: 0, last_error: null },
      { id: 4, status: 'pending', attempts: 0, last_error: null },
    ]);
  });

  it('cancels pending or failed rows', async () => {
    const result = await runCli(['outbox', 'cancel', '1', '5'], env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const { rows } = await db.pool.query('SELECT status FROM wa_outbox WHERE id IN (1, 5)');
    assert.ok(rows.every((r) => r.status === 'cancelled'));
    const sent = await runCli(['outbox', 'cancel', '3'], env);
    assert.equal(sent.code, 1);
    assert.match(sent.stdout, /skip 3: is sent; only pending or failed rows can be/);
  });

  it('refuses bad arguments with exit code 2, naming them', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['outbox', 'list', '--status', 'done'], /--status "done" is invalid: expected one of pending, sending, sent, failed, cancelled/],
      [['outbox', 'list', '--limit', '0'], /--limit "0" is invalid: expected a whole number from 1 to 10000/],
      [['outbox', 'retry'], /outbox retry needs at least one id/],
      [['outbox', 'retry', 'abc'], /id "abc" is invalid/],
      [['outbox', 'purge'], /unknown outbox action "purge"/],
      [['outbox', 'list', '--colour'], /Unknown option '--colour'/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, env);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, message);
    }
  });
});
