/**
 * Liveness and readiness. `/healthz`: the process answers. `/readyz`: the database answers, the schema
 * is up to date, WhatsApp is ready, and sending makes progress: messages that have been waiting (due,
 * or retrying after failures) for longer than HTTP_READY_STALL_MS while nothing went to WhatsApp make
 * the service not ready, whatever state the transport reports.
 */
import type pg from 'pg';
import { pendingMigrations } from '../db/migrate.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { Transport } from '../whatsapp/transport.js';

export interface Check {
  name: 'database' | 'migrations' | 'whatsapp' | 'delivery';
  ok: boolean;
  detail: string;
}

export interface ReadinessSources {
  pool: pg.Pool;
  /** The sessions this process runs (none: it sends nothing). */
  sessions: ReadonlyArray<{ name: string; transport: Transport; delivery: { dispatcher: Dispatcher } }>;
  stallMs: number;
  now?: () => Date;
}

const DATABASE_TIMEOUT_MS = 2000;

async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function readiness(sources: ReadinessSources): Promise<{ ready: boolean; checks: Check[] }> {
  const now = (sources.now ?? (() => new Date()))();
  const checks: Check[] = [];
  try {
    await withDeadline(sources.pool.query('SELECT 1'), DATABASE_TIMEOUT_MS, 'the database');
    checks.push({ name: 'database', ok: true, detail: 'reachable' });
    const pending = await withDeadline(pendingMigrations(sources.pool), DATABASE_TIMEOUT_MS, 'the database');
    checks.push(
      pending.length === 0
        ? { name: 'migrations', ok: true, detail: 'schema up to date' }
        : { name: 'migrations', ok: false, detail: `not applied: ${pending.join(', ')} (run cicero-wa migrate, or restart the service)` },
    );
  } catch (err) {
    checks.push({ name: 'database', ok: false, detail: `unreachable: ${(err as Error).message}` });
  }

  const { sessions } = sources;
  if (sessions.length === 0) {
    checks.push({ name: 'whatsapp', ok: true, detail: 'no WhatsApp number runs in this process (SERVICE_ROLE, or a worker holding none now: cicero-wa sessions shows who runs each)' });
  } else {
    // Ready when a number can send: one being paired, or down while the others carry its messages, is named, not fatal.
    const states = sessions.map((s) => ({ name: s.name, status: s.transport.status() }));
    const describe = (s: (typeof states)[number]) => `${s.status.state}${s.status.reason ? `: ${s.status.reason}` : ''}`;
    const detail = states.length === 1 ? describe(states[0]!) : states.map((s) => `${s.name} ${describe(s)}`).join('; ');
    checks.push({ name: 'whatsapp', ok: states.some((s) => s.status.state === 'ready'), detail });
  }

  const stalled: string[] = [];
  let lastHandOver: number | null = null;
  let waiting = false;
  for (const { name, delivery } of sessions) {
    const { backlogSince, lastHandOverAt } = delivery.dispatcher.progress();
    if (lastHandOverAt) lastHandOver = Math.max(lastHandOver ?? 0, lastHandOverAt.getTime());
    if (!backlogSince) continue;
    waiting = true;
    const movedAt = Math.max(backlogSince.getTime(), lastHandOverAt?.getTime() ?? 0);
    const stuckMs = now.getTime() - movedAt;
    if (stuckMs > sources.stallMs) stalled.push(`${sessions.length > 1 ? `${name}: ` : ''}messages have been waiting ${Math.round(stuckMs / 1000)} s and nothing went to WhatsApp`);
  }
  if (sessions.length > 0) {
    checks.push(
      stalled.length > 0
        ? { name: 'delivery', ok: false, detail: `${stalled.join('; ')} (HTTP_READY_STALL_MS=${sources.stallMs})` }
        : !waiting
          ? { name: 'delivery', ok: true, detail: 'nothing waiting' }
          : { name: 'delivery', ok: true, detail: lastHandOver ? `sending; last hand-over ${Math.round((now.getTime() - lastHandOver) / 1000)} s ago` : 'sending' },
    );
  }
  return { ready: checks.every((c) => c.ok), checks };
}
