/**
 * Each WhatsApp number runs in exactly one process of the cluster: worker processes (`startApp` as
 * `cicero-wa start` runs it, SERVICE_ROLE=worker, each on its own data directory, one PostgreSQL) share
 * six sessions, each on a stand-in WhatsApp Web client (test/helpers/standin-worker.ts). A sampler at
 * 10 Hz counts, for every session, the live processes whose stand-in browser for it is open.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addSession } from '../src/sessions/registry.js';
import { REPO_ROOT, startChild, tempDir, type CliProcess } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/dispatch.js';
import { stopAll } from './helpers/services.js';

const WORKER = path.join(REPO_ROOT, 'test/helpers/standin-worker.ts');
const SESSIONS = ['s1', 's2', 's3', 's4', 's5', 's6'];
const LEASE_SECONDS = 6;
const MAX_SESSIONS = 3;

describe('sessions spread over worker processes (stand-in WhatsApp Web per session, one database)', () => {
  let db: TestDatabase;
  let dir: string;
  const workers: CliProcess[] = [];
  let sampler: NodeJS.Timeout | null = null;
  const sampling = { samples: 0, doubles: [] as string[], on: true };

  const handOverDir = () => path.join(dir, 'handovers');
  const aliveDir = () => path.join(dir, 'alive');
  const live = (pid: number) => workers.some((w) => w.child.pid === pid && w.child.exitCode === null && w.child.signalCode === null);

  /** The live processes whose browser for each session is open now. */
  function runningOn(): Map<string, number[]> {
    const map = new Map<string, number[]>(SESSIONS.map((s) => [s, []]));
    for (const file of readdirSync(aliveDir())) {
      const [session, pid] = file.split('@');
      if (live(Number(pid))) map.get(session!)?.push(Number(pid));
    }
    return map;
  }

  /** Every hand-over the stand-in pages took: session, text and the pid of the process that sent it. */
  function handOvers(): Array<{ session: string; text: string; pid: number }> {
    return SESSIONS.flatMap((session) => {
      const file = path.join(handOverDir(), `${session}.jsonl`);
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
        const entry = JSON.parse(line) as { text: string; pid: number };
        return { session, text: entry.text, pid: entry.pid };
      });
    });
  }

  function startWorker(label: string): CliProcess {
    const worker = startChild(
      WORKER,
      {
        DATABASE_URL: db.url,
        SERVICE_ROLE: 'worker',
        DATA_DIR: path.join(dir, label),
        WA_MAX_SESSIONS: String(MAX_SESSIONS),
        WA_SESSION_LEASE_SECONDS: String(LEASE_SECONDS),
        WA_HOST_LABEL: label,
        WA_SEND_INTERVAL_MS: '40',
        WA_SEND_JITTER_MS: '0',
        WA_SEND_MAX_PER_MINUTE: '100000',
        HTTP_PORT: 'off',
        LOG_LEVEL: 'info',
        TEST_HANDOVER_DIR: handOverDir(),
        TEST_ALIVE_DIR: aliveDir(),
      },
      dir,
    );
    workers.push(worker);
    return worker;
  }

  async function insertRows(sessions: string[], perSession: number, tag: string): Promise<void> {
    await db.pool.query(
      `INSERT INTO wa_outbox (recipient, content, type, session)
       SELECT '0812' || lpad((s.i * 1000 + g)::text, 8, '0'), s.name || '-${tag}-' || g, 'test', s.name
         FROM unnest($1::text[]) WITH ORDINALITY AS s(name, i), generate_series(1, $2::int) g`,
      [sessions, perSession],
    );
  }

  async function allSettled(): Promise<boolean> {
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM wa_outbox WHERE status IN ('pending', 'sending')");
    return rows[0].n === 0;
  }

  function assertNothingSentTwice(): void {
    const texts = handOvers().map((h) => h.text);
    const twice = texts.filter((t, i) => texts.indexOf(t) !== i);
    assert.deepEqual(twice, [], 'no message handed over twice');
  }

  before(async () => {
    db = await createTestDatabase('ownership', { migrated: true });
    dir = await tempDir();
    await fs.mkdir(handOverDir());
    await fs.mkdir(aliveDir());
    // The configuration's own session stays out of the way: six numbers, all added by an operator.
    await db.pool.query(`INSERT INTO wa_sessions (name, auth_profile, enabled) VALUES ('default', 'cicero-wa', false)`);
    for (const name of SESSIONS) await addSession(db.pool, { name });
    sampler = setInterval(() => {
      if (!sampling.on) return;
      sampling.samples++;
      for (const [session, pids] of runningOn()) if (pids.length > 1) sampling.doubles.push(`${session} on ${pids.join(' and ')}`);
    }, 100);
  });

  after(async () => {
    if (sampler) clearInterval(sampler);
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGCONT');
    await stopAll(workers);
    await db.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('each session runs in exactly one worker; a SIGKILLed worker\'s sessions run elsewhere within the lease plus 10 s, nothing sent twice', async (t) => {
    const [a, b, c] = [startWorker('a'), startWorker('b'), startWorker('c')];
    await Promise.all([a, b, c].map((w) => w.waitFor(/cicero-wa-gateway is up/)));
    await waitUntil(() => [...runningOn().values()].every((pids) => pids.length === 1), 30_000, 'every session running in one worker');
    const { rows: owners } = await db.pool.query<{ name: string; owner: string }>(`SELECT name, owner FROM wa_sessions WHERE name = ANY($1) ORDER BY name`, [SESSIONS]);
    assert.equal(owners.length, 6);
    for (const o of owners) assert.match(o.owner, new RegExp(`:${runningOn().get(o.name)![0]}:`), `${o.name}'s owner in the table is the process running it`);
    const perWorker = [a, b, c].map((w) => [...runningOn().values()].filter((pids) => pids[0] === w.child.pid).length);
    t.diagnostic(`sessions per worker at the start: ${perWorker.join(', ')}`);
    assert.ok(perWorker.every((n) => n <= MAX_SESSIONS), 'no worker runs more than WA_MAX_SESSIONS');

    await insertRows(SESSIONS, 60, 'kill');
    await waitUntil(() => handOvers().length >= 40, 30_000, '40 hand-overs');
    const victim = [a, b, c].reduce((most, w) => (perWorker[[a, b, c].indexOf(w)]! > perWorker[[a, b, c].indexOf(most)]! ? w : most));
    const lost = [...runningOn()].filter(([, pids]) => pids[0] === victim.child.pid).map(([s]) => s);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    const tookMs = await waitUntil(() => lost.every((s) => runningOn().get(s)!.length === 1), (LEASE_SECONDS + 10) * 1000, `${lost.join(', ')} running elsewhere`);
    t.diagnostic(`${lost.length} session(s) of the killed worker running elsewhere ${Date.now() - killedAt} ms after the kill (lease ${LEASE_SECONDS} s; waited ${tookMs} ms)`);
    assert.ok(Date.now() - killedAt <= (LEASE_SECONDS + 10) * 1000);

    await waitUntil(allSettled, 60_000, 'every row settled');
    assertNothingSentTwice();
    const { rows } = await db.pool.query<{ status: string; n: number }>("SELECT status, count(*)::int AS n FROM wa_outbox GROUP BY status ORDER BY status");
    t.diagnostic(`rows: ${rows.map((r) => `${r.status} ${r.n}`).join(', ')}; samples ${sampling.samples}`);
    const sentTexts = new Set(handOvers().map((h) => h.text));
    const { rows: missing } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM wa_outbox WHERE NOT (content = ANY($1))`, [[...sentTexts]]);
    assert.ok(missing[0]!.n <= lost.length, `at most the messages in flight at the kill left unknown (${missing[0]!.n})`);
    assert.ok(sampling.samples > 100, `the sampler ran (${sampling.samples} samples)`);
    assert.deepEqual(sampling.doubles, [], 'never a session with two live owners');
  });

  it('on SIGTERM a worker hands its sessions over in under 10 s', async (t) => {
    const fresh = startWorker('d');
    await fresh.waitFor(/cicero-wa-gateway is up/);
    const running = runningOn();
    const leaving = workers.find((w) => w !== fresh && live(w.child.pid!) && [...running.values()].some((pids) => pids[0] === w.child.pid))!;
    const handed = [...running].filter(([, pids]) => pids[0] === leaving.child.pid).map(([s]) => s);
    assert.ok(handed.length > 0);
    const stoppedAt = Date.now();
    leaving.child.kill('SIGTERM');
    await waitUntil(() => handed.every((s) => runningOn().get(s)!.length === 1 && runningOn().get(s)![0] === fresh.child.pid), 10_000, `${handed.join(', ')} running on the new worker`);
    const ms = Date.now() - stoppedAt;
    t.diagnostic(`${handed.length} session(s) handed over ${ms} ms after SIGTERM`);
    assert.ok(ms < 10_000);
    assert.equal((await leaving.exited).code, 0, 'the worker stopped cleanly');
    assert.deepEqual(sampling.doubles, [], 'never a session with two live owners');
  });

  it('a worker frozen (SIGSTOP) past its lease, then resumed, sends nothing for the sessions it lost and stops their browsers', async (t) => {
    const spare = startWorker('e');
    await spare.waitFor(/cicero-wa-gateway is up/);
    // The frozen process's browsers cannot close while it is frozen (a real Chromium would stay linked):
    // this test counts sends and browsers itself.
    sampling.on = false;
    const running = runningOn();
    const frozen = workers.find((w) => w !== spare && live(w.child.pid!) && [...running.values()].some((pids) => pids[0] === w.child.pid))!;
    const its = [...running].filter(([, pids]) => pids[0] === frozen.child.pid).map(([s]) => s);
    await insertRows(its, 150, 'freeze');
    const byFrozen = () => handOvers().filter((h) => h.pid === frozen.child.pid && h.text.includes('-freeze-')).length;
    await waitUntil(() => byFrozen() >= 10, 30_000, 'the worker sending');
    frozen.child.kill('SIGSTOP');
    // A signal is delivered a moment after kill() returns: the count is taken once the process is stopped.
    const state = () => readFileSync(`/proc/${frozen.child.pid}/stat`, 'utf8').split(') ').pop()!.charAt(0);
    await waitUntil(() => state() === 'T', 5000, 'the worker stopped');
    const sentBeforeFreeze = byFrozen();
    // Its lease ends, the margin passes, and the spare worker takes its sessions.
    await waitUntil(() => its.every((s) => runningOn().get(s)!.includes(spare.child.pid!)), (LEASE_SECONDS + 10) * 1000, `${its.join(', ')} taken by the spare worker`);
    await waitUntil(() => handOvers().some((h) => h.pid === spare.child.pid && h.text.includes('-freeze-')), 10_000, 'the spare worker sending');
    frozen.child.kill('SIGCONT');
    const resumedAt = Date.now();
    await waitUntil(() => its.every((s) => !runningOn().get(s)!.includes(frozen.child.pid!)), 10_000, "the resumed worker's browsers closed");
    t.diagnostic(`resumed worker closed ${its.length} browser(s) ${Date.now() - resumedAt} ms after SIGCONT`);
    await waitUntil(allSettled, 60_000, 'every row settled');
    assertNothingSentTwice();
    assert.equal(byFrozen(), sentBeforeFreeze, 'nothing sent by the resumed worker for the sessions it lost');
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM wa_sessions WHERE name = ANY($1) AND owner LIKE $2`, [its, `%:${frozen.child.pid}:%`]);
    assert.equal(rows[0]!.n, 0, 'the resumed worker holds none of them');
  });
});
