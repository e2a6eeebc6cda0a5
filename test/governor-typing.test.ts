/**
 * "typing…" before a personal message, as the governor's permit gives it (real PostgreSQL, fixed clock):
 * 1 s plus 0.25 s per 20 characters, capped at WA_TYPING_MAX_MS; none for a group, none with 0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../src/config/index.js';
import { Governor, type Permit } from '../src/governor/governor.js';
import { silentLogger } from '../src/lib/logger.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const PERSON = '6281200000001@c.us';
const GROUP = '120363000000000001@g.us';

describe('typing before a personal message (the governor, real PostgreSQL, fixed clock at 10:00 WIB)', () => {
  let db: TestDatabase;
  const governor = (typingMax: string, session: string) => {
    const config = parseConfig({ WA_TYPING_MAX_MS: typingMax, WA_WARMUP: 'off', WA_COLD_GAP_SECONDS: '0-0' }, '/srv').governor;
    const clock = { now: () => new Date('2026-11-25T03:00:00Z') };
    const g = new Governor({ pool: db.pool, config, timeZone: 'Asia/Jakarta', clock, logger: silentLogger() });
    return async (chatId: string, text: string) => {
      const permit: Permit = await g.permit({ session, chatId, text, parts: 1 });
      assert.equal(permit.ok, true, JSON.stringify(permit));
      return (permit as Extract<Permit, { ok: true }>).typingMs;
    };
  };

  before(async () => {
    db = await createTestDatabase('governor_typing', { migrated: true });
  });
  after(async () => db.drop());

  it('a personal message: 1 s plus 0.25 s per started 20 characters, up to the cap; a group: none', async () => {
    const typing = governor('6000', 'typing_a');
    assert.equal(await typing(PERSON, 'x'.repeat(20)), 1250);
    assert.equal(await typing(PERSON, 'x'.repeat(21)), 1500);
    assert.equal(await typing(PERSON, 'x'.repeat(400)), 6000, '1 s + 20 × 0.25 s is the cap exactly');
    assert.equal(await typing(PERSON, 'x'.repeat(401)), 6000, 'capped');
    assert.equal(await typing(GROUP, 'x'.repeat(100)), 0, 'groups get no typing');
  });

  it('WA_TYPING_MAX_MS=0: none', async () => {
    const typing = governor('0', 'typing_b');
    assert.equal(await typing(PERSON, 'halo'), 0);
  });
});
