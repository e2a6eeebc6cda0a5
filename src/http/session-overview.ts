/**
 * Each number's sending at a glance, for every session the database knows (not only the one this
 * process runs): the messages waiting (pending, being sent) and how many of them the governor holds
 * back, by rule. Read from wa_outbox at each call, grouped by session, so that every instance shows the
 * same; what `GET /api/sessions` and `/metrics` report per session.
 */
import type { Governor } from '../governor/governor.js';
import { HOLD_KINDS, holdOf, type HoldKind } from '../governor/holds.js';
import { knownSessions } from '../governor/session-state.js';
import type { Queryable } from '../db/pool.js';
import { listSessions } from '../sessions/registry.js';
import { WAITING_STATUSES, sqlList } from '../outbox/vocabulary.js';

export interface SessionWaiting {
  pending: number;
  sending: number;
  /** Pending messages the governor holds back now: their own hold (still running) or, for due rows without one, their session's. */
  heldBack: number;
  heldBackByKind: Array<{ kind: HoldKind; count: number }>;
}

/** The schema of a session's `waiting` (GET /api/sessions). */
export const waitingSchema = {
  type: 'object',
  required: ['pending', 'sending', 'heldBack', 'heldBackByKind'],
  properties: {
    pending: { type: 'integer', description: "the session's pending messages (due or not)" },
    sending: { type: 'integer', description: 'its messages being handed to WhatsApp now' },
    heldBack: { type: 'integer', description: 'pending messages the ban-risk governor holds back now' },
    heldBackByKind: {
      type: 'array',
      description: 'the held-back messages by rule (quiet_hours, budget_minute, budget_hour, budget_day, warmup, cold_per_day, cold_gap, same_text, paused_*, other)',
      items: { type: 'object', required: ['kind', 'count'], properties: { kind: { type: 'string', enum: [...HOLD_KINDS] }, count: { type: 'integer' } } },
    },
  },
} as const;

/**
 * The sessions to show: those this process runs first, then the numbers registered in wa_sessions,
 * then every other the database knows (wa_session_guard, waiting rows).
 */
export async function sessionNames(db: Queryable, running: readonly string[]): Promise<string[]> {
  const registered = (await listSessions(db)).map((s) => s.name);
  return [...new Set([...running, ...registered, ...(await knownSessions(db))])];
}

/** The waiting messages of each of `sessions` (a session without any has zeros). */
export async function waitingBySession(db: Queryable, governor: Governor | null, sessions: readonly string[]): Promise<Map<string, SessionWaiting>> {
  const counts = await db.query<{ session: string; pending: number; sending: number; due_unheld: number }>(
    `SELECT session,
            count(*) FILTER (WHERE status = 'pending')::int AS pending,
            count(*) FILTER (WHERE status = 'sending')::int AS sending,
            count(*) FILTER (WHERE status = 'pending' AND digest_key IS NULL AND next_attempt_at <= now() AND (deferred_until IS NULL OR deferred_until <= now()))::int AS due_unheld
       FROM wa_outbox WHERE status IN ${sqlList(WAITING_STATUSES)} AND session = ANY($1) GROUP BY session`,
    [sessions],
  );
  const holds = await db.query<{ session: string; reason: string; count: number }>(
    `SELECT session, deferred_reason AS reason, count(*)::int AS count FROM wa_outbox
      WHERE status = 'pending' AND digest_key IS NULL AND deferred_reason IS NOT NULL AND deferred_until > now() AND session = ANY($1)
      GROUP BY 1, 2`,
    [sessions],
  );
  const result = new Map<string, SessionWaiting>();
  for (const session of sessions) {
    const row = counts.rows.find((r) => r.session === session);
    const byKind = new Map<HoldKind, number>();
    const add = (kind: HoldKind, count: number) => byKind.set(kind, (byKind.get(kind) ?? 0) + count);
    for (const h of holds.rows) if (h.session === session) add(holdOf(null, h.reason).kind, h.count);
    // Due rows the dispatcher has not asked about wait for their session's hold (a pause, a spent budget).
    if (row && row.due_unheld > 0 && governor?.enabled) {
      const hold = await governor.sessionHold(session);
      if (hold) add(hold.kind, row.due_unheld);
    }
    const heldBackByKind = [...byKind].map(([kind, count]) => ({ kind, count })).sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind));
    result.set(session, {
      pending: row?.pending ?? 0,
      sending: row?.sending ?? 0,
      heldBack: heldBackByKind.reduce((sum, h) => sum + h.count, 0),
      heldBackByKind,
    });
  }
  return result;
}
