/**
 * A SIGKILL that lands after the hand-over by construction (real service processes, one database, a
 * stand-in of today's WhatsApp Web page): the stand-in's page takes the message and writes it to the
 * account's history, then its answer never comes (the send hangs); the test sees the message in the
 * history and the hand-over recorded as under way, and kills the service then. WhatsApp has the
 * message, so after the restart it must not be sent again: the interrupted hand-over is an unknown
 * outcome, settled from the chat (found there: confirmed). 0 repeats.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { enqueue } from '../src/outbox/enqueue.js';
import { startChild, tempDir } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { STANDIN_SERVICE, standInServiceEnv } from './helpers/standin-service-env.js';

const TEXT = 'Pesan uji: dikirim sekali saja';

describe('SIGKILL after the hand-over (stand-in of today\'s WhatsApp Web, real processes)', () => {
  let db: TestDatabase;
  let dir: string;
  before(async () => {
    db = await createTestDatabase('crash_repeats', { migrated: true });
    dir = await tempDir();
  });
  after(async () => {
    await db.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('killed after the stand-in page took the message and before its answer: after the restart the message is confirmed from the chat and sent 0 more times', async (t) => {
    const handOverLog = path.join(dir, 'handovers.jsonl');
    // The chat has a message from before: its history shows whether it reaches back past the hand-over.
    const env = { ...standInServiceEnv(db, dir, handOverLog, ['6281310000001@c.us']), TEST_TAKE_AFTER_MS: '0' };
    const taken = async () => (await fs.readFile(handOverLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l).text as string);
    await enqueue(db.pool, [{ recipient: '081310000001', content: TEXT, type: 'test' }]);

    // The page takes the message, and its answer would come only after ten minutes (the send timeout too,
    // and the row's lease twice that: the send simply hangs). The restarted service takes the session from
    // the dead process and recovers its rows whatever their lease says.
    const first = startChild(STANDIN_SERVICE, { ...env, TEST_RESOLVE_AFTER_MS: '600000', WA_SEND_TIMEOUT_MS: '600000', WA_LEASE_MS: '1200000' }, dir);
    try {
      await waitUntil(async () => (await taken()).length > 0 || first.child.exitCode !== null, 30_000, 'the stand-in page taking the message');
      assert.equal(first.child.exitCode, null, `the service stopped by itself: ${first.stderr()}`);
      const { rows } = await db.pool.query("SELECT o.status, s.outcome FROM wa_outbox o JOIN wa_outbox_sends s ON s.outbox_id = o.id");
      assert.deepEqual(rows, [{ status: 'sending', outcome: 'handing_over' }], 'the kill lands after the hand-over, before its outcome is known');
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }
    assert.deepEqual(await taken(), [TEXT], 'WhatsApp has the message once');

    const second = startChild(STANDIN_SERVICE, { ...env, TEST_RESOLVE_AFTER_MS: '15', WA_SEND_TIMEOUT_MS: '1000' }, dir);
    try {
      await waitUntil(async () => {
        const { rows } = await db.pool.query(
          `SELECT (SELECT count(*)::int FROM wa_outbox WHERE status = 'sent' AND confirmation = 'confirmed') AS confirmed,
                  (SELECT count(*)::int FROM wa_outbox_sends WHERE outcome IN ('unknown', 'unconfirmed', 'handing_over')) AS open`,
        );
        return rows[0].confirmed === 1 && rows[0].open === 0;
      }, 60_000, 'the message sent and confirmed, no hand-over open');
      await new Promise((r) => setTimeout(r, 500)); // a repeat, if any, would have been taken by now
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }

    const texts = await taken();
    const { rows: sends } = await db.pool.query('SELECT outcome, reason, chat_check->>\'result\' AS checked FROM wa_outbox_sends ORDER BY id');
    t.diagnostic(`taken by the stand-in page: ${texts.length}; hand-overs: ${JSON.stringify(sends)}`);
    assert.equal(texts.length - new Set(texts).size, 0, '0 repeats');
    assert.deepEqual(texts, [TEXT]);
    assert.equal(sends.length, 1, 'one hand-over: the interrupted one, never made again');
    assert.equal(sends[0].outcome, 'confirmed');
    assert.equal(sends[0].checked, 'found', 'settled from the chat: the message is there');
  });
});
