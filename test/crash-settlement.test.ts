/**
 * Crashes at random moments while draining, on a stand-in of today's WhatsApp Web page (real service
 * processes, one database): the service is SIGKILLed at 20 moments and started again each time. A kill
 * can land between the hand-over record and the page taking the message (WhatsApp never got it), or
 * after the page took it but before the outcome was recorded (WhatsApp has it). Either way the hand-over
 * is an unknown outcome that the next process settles from the chat: found, confirmed; not there, sent
 * again once. The stand-in's record of what its pages took is the account's history, shared by every
 * process (each new page loads it, as WhatsApp Web syncs a chat).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../src/lib/seeded-random.js';
import { enqueue } from '../src/outbox/enqueue.js';
import { startChild, tempDir } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { STANDIN_SERVICE, standInServiceEnv } from './helpers/standin-service-env.js';

const MESSAGES = 500;
const KILLS = 20;

describe('SIGKILL at random moments while draining (stand-in of today\'s WhatsApp Web, real processes)', () => {
  let db: TestDatabase;
  let dir: string;
  before(async () => {
    db = await createTestDatabase('crash_settlement', { migrated: true });
    dir = await tempDir();
  });
  after(async () => {
    await db.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it(`${KILLS} kills over ${MESSAGES} messages: nothing left unknown or unconfirmed, nothing sent twice, nothing lost; each settled hand-over says how`, async (t) => {
    const handOverLog = path.join(dir, 'handovers.jsonl');
    const env = {
      // Every chat has a message from before (the service never writes first): a chat's history then shows
      // whether it reaches back past a hand-over.
      ...standInServiceEnv(db, dir, handOverLog, Array.from({ length: 25 }, (_, i) => `628131000${String(i).padStart(4, '0')}@c.us`)),
      WA_SEND_TIMEOUT_MS: '1000',
      TEST_TAKE_AFTER_MS: '15', // between the hand-over record and the page taking the message
      TEST_RESOLVE_AFTER_MS: '15', // between the page taking it and the answer
    };
    await enqueue(
      db.pool,
      Array.from({ length: MESSAGES }, (_, i) => ({ recipient: `08131000${String(i % 25).padStart(4, '0')}`, content: `Pesan uji ${i}`, type: 'test' })),
    );
    const taken = async () => (await fs.readFile(handOverLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l).text as string);
    const random = seededRandom(23);

    for (let kill = 0; kill < KILLS; kill++) {
      const before = (await taken()).length;
      const service = startChild(STANDIN_SERVICE, env, dir);
      try {
        await waitUntil(async () => (await taken()).length > before || service.child.exitCode !== null, 30_000, 'the restarted service taking messages');
        assert.equal(service.child.exitCode, null, `the service stopped by itself: ${service.stderr()}`);
        await new Promise((r) => setTimeout(r, 20 + Math.floor(random() * 400)));
      } finally {
        service.child.kill('SIGKILL');
        await service.exited;
      }
    }
    const afterKills = (await taken()).length;

    const last = startChild(STANDIN_SERVICE, env, dir);
    try {
      await waitUntil(async () => {
        const { rows } = await db.pool.query(
          `SELECT (SELECT count(*)::int FROM wa_outbox WHERE status = 'sent' AND confirmation = 'confirmed') AS confirmed,
                  (SELECT count(*)::int FROM wa_outbox_sends WHERE outcome IN ('unknown', 'unconfirmed', 'handing_over')) AS open`,
        );
        return rows[0].confirmed === MESSAGES && rows[0].open === 0;
      }, 120_000, 'every message sent and confirmed, no hand-over open').catch(async (err: Error) => {
        const { rows } = await db.pool.query(
          `SELECT o.status, o.confirmation, s.outcome, left(coalesce(s.reason, o.last_error), 90) AS reason, s.chat_check->>'result' AS checked, count(*)::int AS n
             FROM wa_outbox o LEFT JOIN wa_outbox_sends s ON s.outbox_id = o.id
            WHERE NOT (o.status = 'sent' AND o.confirmation = 'confirmed') OR s.outcome IN ('unknown', 'unconfirmed', 'handing_over')
            GROUP BY 1, 2, 3, 4, 5`,
        );
        throw new Error(`${err.message}: ${JSON.stringify(rows)}\n${last.stdout().slice(-3000)}`);
      });
    } finally {
      last.child.kill('SIGTERM');
      await last.exited;
    }

    const texts = await taken();
    const counts = new Map<string, number>();
    for (const text of texts) counts.set(text, (counts.get(text) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    const { rows: settled } = await db.pool.query(
      `SELECT s.outbox_id, s.outcome, s.reason, s.chat_check, s.id,
              EXISTS (SELECT 1 FROM wa_outbox_sends later WHERE later.outbox_id = s.outbox_id AND later.id > s.id AND later.outcome = 'confirmed') AS confirmed_later
         FROM wa_outbox_sends s WHERE s.reason LIKE 'the service holding it stopped during the hand-over%' OR s.chat_check IS NOT NULL`,
    );
    const found = settled.filter((s) => s.chat_check?.result === 'found');
    const resent = settled.filter((s) => s.chat_check?.result === 'not_found');
    t.diagnostic(`${afterKills} of ${MESSAGES} taken during the ${KILLS} kills; hand-overs interrupted: ${settled.length} (found in the chat: ${found.length}; checked and sent again: ${resent.length})`);

    assert.deepEqual(twice, [], 'no message taken twice');
    assert.equal(counts.size, MESSAGES, 'every message taken');
    assert.ok(settled.length > 0, 'some kills landed during a hand-over');
    for (const s of settled) {
      if (s.chat_check?.result === 'found') assert.equal(s.outcome, 'confirmed', `hand-over ${s.id}: found, so confirmed`);
      else {
        assert.equal(s.chat_check?.result, 'not_found', `hand-over ${s.id} says how it was settled: ${JSON.stringify(s)}`);
        assert.equal(s.outcome, 'rejected');
        assert.equal(s.chat_check.resent, true);
        assert.match(s.reason, /^not delivered \(checked in the chat\)/);
        assert.equal(s.confirmed_later, true, `hand-over ${s.id}: sent again and confirmed`);
      }
    }
    const { rows: left } = await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status <> 'sent' OR confirmation <> 'confirmed'");
    assert.equal(left[0].n, 0, 'nothing lost, nothing left unconfirmed');
  });
});
