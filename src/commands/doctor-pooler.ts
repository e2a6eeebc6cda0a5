/**
 * doctor's connection-pooler check: whether DATABASE_URL leads to a pooler in transaction or statement
 * mode (PgBouncer's `pool_mode = transaction`/`statement`), under which LISTEN/NOTIFY (the outbox, the
 * sessions, the complaints and the webhooks wake on it) and the migrations' session advisory lock break.
 *
 * Two probes on two short-lived connections, together under 3 s: one connection LISTENs and asks its
 * server process id; the other opens a transaction (holding whichever server connection it gets), then
 * the first asks its id again (a pooler that hands server connections out per transaction gives it
 * another one), and the second NOTIFYs. A direct connection keeps its process and hears the
 * notification at once; a transaction pooler does neither. A statement pooler refuses the transaction.
 */
import pg from 'pg';
import type { CheckResult } from './doctor-check.js';

const PROBE_CHANNEL = 'cicero_wa_pooler_probe';
/** Connecting and each probe statement: a pooler waiting for a free server connection must not hang doctor. */
const STATEMENT_MS = 800;
/** How long the listening connection waits for the notification (a direct one hears it in milliseconds). */
const NOTIFY_WAIT_MS = 1200;
/** The whole check: doctor goes on after it whatever the pooler does. */
const DEADLINE_MS = 2500;

async function probeClient(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: STATEMENT_MS, query_timeout: STATEMENT_MS, application_name: 'cicero-wa-doctor' });
  client.on('error', () => undefined); // a pooler closing the connection: the probe's own error says so
  await client.connect();
  return client;
}

async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0]!.pid;
}

/** What the probes found that a direct PostgreSQL session would not show; empty for a direct session. */
async function poolerSigns(connectionString: string): Promise<string[]> {
  const signs: string[] = [];
  const listener = await probeClient(connectionString);
  let other: pg.Client | null = null;
  try {
    const token = `${process.pid}-${Date.now()}`;
    let heard: () => void = () => undefined;
    const notified = new Promise<boolean>((resolve) => {
      heard = () => resolve(true);
      setTimeout(() => resolve(false), NOTIFY_WAIT_MS).unref();
    });
    listener.on('notification', (n) => {
      if (n.channel === PROBE_CHANNEL && n.payload === token) heard();
    });
    await listener.query(`LISTEN ${PROBE_CHANNEL}`);
    const before = await backendPid(listener);
    other = await probeClient(connectionString);
    let inTransaction = true;
    try {
      await other.query('BEGIN');
      await backendPid(other);
    } catch (err) {
      signs.push(`a transaction is refused (${(err as Error).message}): statement pooling`);
      inTransaction = false;
      await other.end().catch(() => undefined); // PgBouncer closes the connection after refusing
      other = await probeClient(connectionString);
    }
    try {
      const after = await backendPid(listener);
      if (after !== before) signs.push(`one connection's statements ran in two server sessions (pid ${before}, then ${after})`);
    } catch (err) {
      signs.push(`a second statement on one connection waited for a server session (${(err as Error).message})`);
    }
    await other.query('SELECT pg_notify($1, $2)', [PROBE_CHANNEL, token]);
    if (inTransaction) await other.query('COMMIT');
    if (!(await notified)) signs.push(`LISTEN ${PROBE_CHANNEL} heard no NOTIFY within ${NOTIFY_WAIT_MS / 1000} s`);
  } finally {
    await Promise.all([listener.end().catch(() => undefined), other?.end().catch(() => undefined)]);
  }
  return signs;
}

const REMEDY =
  'point DATABASE_URL at PostgreSQL itself (the service opens few connections: DB_POOL_MAX plus one per LISTEN channel), ' +
  'or set pool_mode = session for this database in PgBouncer';

export async function checkPooler(connectionString: string): Promise<CheckResult> {
  const name = 'pooler';
  let signs: string[];
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${DEADLINE_MS / 1000} s`)), DEADLINE_MS);
    });
    signs = await Promise.race([poolerSigns(connectionString), deadline]);
  } catch (err) {
    return {
      name,
      ok: true,
      warn: true,
      detail: `cannot tell whether DATABASE_URL leads to a pooler in transaction mode: the LISTEN/NOTIFY probe failed (${(err as Error).message})`,
      remedy: `if DATABASE_URL names a pooler: ${REMEDY}`,
    };
  } finally {
    clearTimeout(timer);
  }
  if (signs.length === 0) return { name, ok: true, detail: 'direct sessions: LISTEN/NOTIFY delivered, one server session per connection' };
  return {
    name,
    ok: true,
    warn: true,
    detail: `DATABASE_URL looks like a pooler in transaction or statement mode: ${signs.join('; ')}. LISTEN/NOTIFY (outbox, sessions, complaints, webhooks) and the migrations' session advisory lock need one server session per connection`,
    remedy: REMEDY,
  };
}
