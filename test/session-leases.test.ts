/**
 * The rules of src/sessions/leases.ts, each at its limit, on a real PostgreSQL: who may take a session
 * (free, lapsed past the margin, pinned), what a renewal proves, the fence every claim and hand-over
 * proves, a crashed predecessor on the same data directory, and a Tenure's own clock.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { carryProblem } from '../src/delivery/routing.js';
import { readSessions } from '../src/delivery/routing-inputs.js';
import { recordHandOver } from '../src/outbox/part-outcomes.js';
import { claimDueRows } from '../src/outbox/row-status.js';
import {
  TAKEOVER_MARGIN_MS, Tenure, deadPredecessors, nextTakeoverInMs, releaseSession, renewLeases, stopAllowanceMs, takeSessions, type LeaseTerms,
} from '../src/sessions/leases.js';
import { addSession, getSession, recordState, setEnabled, setPinnedHost } from '../src/sessions/registry.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { tempDir } from './helpers/cli.js';
import { dataHome } from '../src/lib/instance-id.js';
import { expireCommand, requestCommand, takeCommands } from '../src/sessions/live-view.js';
import fs from 'node:fs/promises';

const terms = (owner: string, extra: Partial<LeaseTerms> = {}): LeaseTerms => ({ owner, hostLabel: 'jakarta', leaseMs: 10_000, home: 'home-a', ...extra });

describe('session leases (real PostgreSQL)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('leases', { migrated: true });
  });
  after(async () => db.drop());
  beforeEach(async () => {
    await db.pool.query('TRUNCATE wa_outbox, wa_sessions RESTART IDENTITY CASCADE');
    await addSession(db.pool, { name: 'utama' });
  });

  /** Moves the session's lease end by `ms` from now. */
  const leaseEndsIn = (ms: number) => db.pool.query(`UPDATE wa_sessions SET lease_until = now() + $1 * interval '1 millisecond' WHERE name = 'utama'`, [ms]);

  it('a free session is taken by one process; the fence grows at every takeover', async () => {
    const [a, b] = await Promise.all([takeSessions(db.pool, terms('a:1:x'), 5), takeSessions(db.pool, terms('b:2:y'), 5)]);
    assert.equal(a.length + b.length, 1, 'one of two processes at once');
    const first = (a[0] ?? b[0])!;
    assert.equal(first.fence, 1);
    const holder = a.length === 1 ? 'a:1:x' : 'b:2:y';
    assert.deepEqual(await takeSessions(db.pool, terms('c:3:z'), 5), [], 'held: nobody else takes it');
    assert.ok(await releaseSession(db.pool, holder, 'utama', 1, 'handed over'));
    assert.equal((await getSession(db.pool, 'utama'))!.state, 'stopped');
    const again = await takeSessions(db.pool, terms('c:3:z'), 5);
    assert.equal(again[0]!.fence, 2, 'a let-go session is taken at once, with the next fence');
  });

  it('a lapsed lease is taken only after the margin', async () => {
    await takeSessions(db.pool, terms('a:1:x'), 1);
    await leaseEndsIn(-(TAKEOVER_MARGIN_MS - 1000));
    assert.deepEqual(await takeSessions(db.pool, terms('b:2:y'), 1), [], 'within the margin');
    const wait = await nextTakeoverInMs(db.pool, terms('b:2:y'));
    assert.ok(wait !== null && wait > 0 && wait <= 1000, `takeable in about a second (${wait})`);
    await leaseEndsIn(-(TAKEOVER_MARGIN_MS + 200));
    assert.equal((await takeSessions(db.pool, terms('b:2:y'), 1))[0]?.fence, 2, 'past the margin');
  });

  it('a renewal proves the fence; one taken over, disabled or pinned elsewhere is not renewed', async () => {
    const [won] = await takeSessions(db.pool, terms('a:1:x'), 1);
    assert.deepEqual((await renewLeases(db.pool, terms('a:1:x'), [{ session: 'utama', fence: won!.fence }])).map((s) => s.name), ['utama']);
    assert.deepEqual(await renewLeases(db.pool, terms('a:1:x'), [{ session: 'utama', fence: won!.fence - 1 }]), [], 'an older fence');
    assert.deepEqual(await renewLeases(db.pool, terms('b:2:y'), [{ session: 'utama', fence: won!.fence }]), [], 'another owner');
    await setPinnedHost(db.pool, 'utama', 'bandung');
    assert.deepEqual(await renewLeases(db.pool, terms('a:1:x'), [{ session: 'utama', fence: won!.fence }]), [], 'pinned to another host');
    await setPinnedHost(db.pool, 'utama', 'jakarta');
    await setEnabled(db.pool, 'utama', false);
    assert.deepEqual(await renewLeases(db.pool, terms('a:1:x'), [{ session: 'utama', fence: won!.fence }]), [], 'disabled');
  });

  it('a pinned session goes only to its host label', async () => {
    await setPinnedHost(db.pool, 'utama', 'bandung');
    assert.deepEqual(await takeSessions(db.pool, terms('a:1:x'), 1), []);
    assert.equal((await takeSessions(db.pool, terms('b:2:y', { hostLabel: 'bandung' }), 1)).length, 1);
    await assert.rejects(setPinnedHost(db.pool, 'utama', 'bukan label!'), /pinnedHost "bukan label!" is not a host label/);
  });

  it('claims and hand-overs prove the fence: a lost or lapsed lease claims nothing and hands nothing over', async () => {
    const [won] = await takeSessions(db.pool, terms('a:1:x'), 1);
    await db.pool.query(`INSERT INTO wa_outbox (recipient, content, type, session) VALUES ('6281200000001@c.us', 'satu', 'test', 'utama'), ('6281200000002@c.us', 'dua', 'test', 'utama')`);
    assert.deepEqual(await claimDueRows(db.pool, 'a:1:x', 'utama', 1, 60_000, 1000, won!.fence - 1), [], 'an older fence claims nothing');
    assert.deepEqual(await claimDueRows(db.pool, 'a:1:x', 'utama', 1, 60_000, 1000, null), [], 'no fence for a registered session claims nothing');
    const [row] = await claimDueRows(db.pool, 'a:1:x', 'utama', 1, 60_000, 1000, won!.fence);
    assert.ok(row, 'the holder claims');
    const handOver = { rowId: row.id, owner: 'a:1:x', session: 'utama', part: 0, parts: 1, chatId: '6281200000001@c.us', bodySha256: 'x', leaseMs: 60_000, countAttempt: true, fence: won!.fence };
    assert.equal(await recordHandOver(db.pool, { ...handOver, fence: won!.fence + 1 }), null, 'another fence: no proof');
    await leaseEndsIn(-1);
    assert.equal(await recordHandOver(db.pool, handOver), null, 'a lapsed lease: no proof');
    await leaseEndsIn(10_000);
    assert.ok(await recordHandOver(db.pool, handOver), 'the holder, in force: proof');
    // An unregistered session (a dispatcher outside the service's sessions) needs no fence, and takes none.
    await db.pool.query(`INSERT INTO wa_outbox (recipient, content, type, session) VALUES ('6281200000003@c.us', 'tiga', 'test', 'lain')`);
    assert.equal((await claimDueRows(db.pool, 'a:1:x', 'lain', 1, 60_000, 1000, null)).length, 1);
  });

  it("the holder's state counts; a process that lost the session writes nothing", async () => {
    const [won] = await takeSessions(db.pool, terms('a:1:x'), 1);
    await recordState(db.pool, 'utama', 'ready', null, new Date(), { owner: 'a:1:x', fence: won!.fence });
    await recordState(db.pool, 'utama', 'disconnected', 'old holder', new Date(), { owner: 'b:2:y', fence: won!.fence - 1 });
    assert.equal((await getSession(db.pool, 'utama'))!.state, 'ready');
  });

  it('a predecessor on the same data directory and host whose pid is gone is dead; its sessions are taken at once', async () => {
    await takeSessions(db.pool, terms('mesin:4242:aa'), 1);
    const running = new Set([4242]);
    const me = terms('mesin:5000:bb');
    assert.deepEqual(await deadPredecessors(db.pool, me, 'mesin', (pid) => running.has(pid)), [], 'its pid runs: alive');
    assert.deepEqual(await deadPredecessors(db.pool, { ...me, home: 'home-b' }, 'mesin', () => false), [], 'another data directory: not ours to judge');
    assert.deepEqual(await deadPredecessors(db.pool, me, 'mesin-lain', () => false), [], 'another host: not ours to judge');
    const dead = await deadPredecessors(db.pool, me, 'mesin', () => false);
    assert.deepEqual(dead, ['mesin:4242:aa']);
    assert.deepEqual(await takeSessions(db.pool, me, 1), [], 'without the verdict, the lease is waited out');
    assert.equal((await takeSessions(db.pool, me, 1, dead))[0]?.fence, 2);
  });

  it('a session whose holder\'s lease ended is not ready for the routing since then, whatever state its holder wrote', async () => {
    const [won] = await takeSessions(db.pool, terms('a:1:x'), 1);
    await recordState(db.pool, 'utama', 'ready', null, new Date(), { owner: 'a:1:x', fence: won!.fence });
    const now = new Date();
    assert.equal(carryProblem((await readSessions(db.pool))[0], now, 60_000), null, 'held and ready: carries');
    await db.pool.query(`UPDATE wa_sessions SET lease_until = now() - interval '61 seconds' WHERE name = 'utama'`);
    const [lapsed] = await readSessions(db.pool);
    assert.equal(lapsed!.state, 'disconnected');
    assert.match(carryProblem(lapsed, new Date(), 60_000) ?? '', /tidak siap \(disconnected\) sejak 6\d detik/);
    assert.equal(carryProblem(lapsed, new Date(), 120_000), null, 'within WA_FAILOVER_AFTER_SECONDS of the lease end: still waited for');
  });

  it('a command its asker stopped waiting for is never carried out once expired; one already taken is not expired (it may have been done)', async () => {
    const [won] = await takeSessions(db.pool, terms('a:1:x'), 1);
    const holder = { owner: 'a:1:x', fence: won!.fence };
    const first = await requestCommand(db.pool, 'utama', 'logout', null, 'http:9:z');
    assert.equal(await expireCommand(db.pool, first, 'http:9:z'), true, 'nobody took it: expired, nothing done');
    assert.deepEqual(await takeCommands(db.pool, 'utama', holder), [], 'an expired command is never taken');
    const second = await requestCommand(db.pool, 'utama', 'logout', null, 'http:9:z');
    assert.deepEqual((await takeCommands(db.pool, 'utama', holder)).map((c) => c.id), [second]);
    assert.equal(await expireCommand(db.pool, second, 'http:9:z'), false, 'taken: it may be carried out');
    assert.deepEqual(await takeCommands(db.pool, 'utama', { ...holder, fence: holder.fence - 1 }), [], 'an old fence takes nothing');
  });

  it('a data directory has one home per pid namespace: the same on a restart in it, never shared with another process table', async () => {
    const dir = await tempDir();
    try {
      const home = await dataHome(dir);
      assert.equal(await dataHome(dir), home, 'the same directory and process table: the same home');
      assert.match(home, /^[0-9a-f]{32}:pid:\[\d+\]$/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("a Tenure ends by its own clock a third of the lease (at most 10 s) before the lease, and a renewal moves it", () => {
    assert.equal(stopAllowanceMs(9000), 3000);
    assert.equal(stopAllowanceMs(60_000), 10_000);
    const tenure = new Tenure('utama', 1, 1000, 9000);
    assert.equal(tenure.live(6999), true);
    assert.equal(tenure.live(7000), false);
    tenure.renewed(4000);
    assert.equal(tenure.live(9999), true);
    assert.equal(tenure.live(10_000), false);
    tenure.renewed(2000);
    assert.equal(tenure.live(9999), true, 'an older renewal never shortens it');
  });
});
