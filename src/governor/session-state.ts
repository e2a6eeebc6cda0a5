/**
 * Each session's state, kept in wa_session_guard and wa_risk_events: its warm-up, pause and risk
 * score, and the risk signals it saw (what operators are shown, with the budgets counted, is
 * `SessionStatus` in governor.ts). Operators pause and resume here (`cicero-wa sessions pause|resume`,
 * the API); a resume wakes every dispatcher (the table's trigger notifies wa_outbox_pending).
 */
import type { Queryable } from '../db/pool.js';
import { OperatorError } from '../lib/errors.js';
import type { RiskLevel } from './policy.js';

export type PauseKind = 'cooling' | 'critical' | 'operator';

export interface SessionState {
  session: string;
  /** The number seen paired, when known. */
  number: string | null;
  firstPairedAt: Date | null;
  warmupStartedAt: Date | null;
  lastSendAt: Date | null;
  pauseKind: PauseKind | null;
  pausedAt: Date | null;
  /** A cooling pause ends then; an operator's or a critical one has no end (null). */
  pausedUntil: Date | null;
  pauseReason: string | null;
  resumedAt: Date | null;
  riskScore: number;
  riskLevel: RiskLevel;
}

interface SessionStateRow {
  session: string;
  number: string | null;
  first_paired_at: Date | null;
  warmup_started_at: Date | null;
  last_send_at: Date | null;
  pause_kind: PauseKind | null;
  paused_at: Date | null;
  paused_until: Date | null;
  pause_reason: string | null;
  resumed_at: Date | null;
  risk_score: number;
  risk_level: RiskLevel;
}

const COLUMNS = 'session, number, first_paired_at, warmup_started_at, last_send_at, pause_kind, paused_at, paused_until, pause_reason, resumed_at, risk_score, risk_level';

function toSessionState(row: SessionStateRow): SessionState {
  return {
    session: row.session,
    number: row.number,
    firstPairedAt: row.first_paired_at,
    warmupStartedAt: row.warmup_started_at,
    lastSendAt: row.last_send_at,
    pauseKind: row.pause_kind,
    pausedAt: row.paused_at,
    pausedUntil: row.paused_until,
    pauseReason: row.pause_reason,
    resumedAt: row.resumed_at,
    riskScore: row.risk_score,
    riskLevel: row.risk_level,
  };
}

/** The session's state, its row made if missing (its warm-up starting at `warmupStart`, its last send at `lastSend`). */
export async function ensureSessionState(db: Queryable, session: string, warmupStart: Date, lastSend: Date | null = null): Promise<SessionState> {
  const { rows } = await db.query<SessionStateRow>(
    `INSERT INTO wa_session_guard (session, warmup_started_at, last_send_at) VALUES ($1, $2, $3)
     ON CONFLICT (session) DO UPDATE SET session = EXCLUDED.session
     RETURNING ${COLUMNS}`,
    [session, warmupStart, lastSend],
  );
  return toSessionState(rows[0]!);
}

export async function readSessionState(db: Queryable, session: string): Promise<SessionState | null> {
  const { rows } = await db.query<SessionStateRow>(`SELECT ${COLUMNS} FROM wa_session_guard WHERE session = $1`, [session]);
  return rows[0] ? toSessionState(rows[0]) : null;
}

export async function listSessionStates(db: Queryable): Promise<SessionState[]> {
  const { rows } = await db.query<SessionStateRow>(`SELECT ${COLUMNS} FROM wa_session_guard ORDER BY session`);
  return rows.map(toSessionState);
}

export async function restartWarmup(db: Queryable, session: string, at: Date): Promise<void> {
  await db.query('UPDATE wa_session_guard SET warmup_started_at = $2, updated_at = now() WHERE session = $1', [session, at]);
}

export async function noteSend(db: Queryable, session: string, at: Date): Promise<void> {
  await db.query('UPDATE wa_session_guard SET last_send_at = greatest(last_send_at, $2) WHERE session = $1', [session, at]);
}

/**
 * The number seen paired. The first pairing starts the warm-up; a different number paired on the same
 * session starts it again (a new number is a cold one).
 */
export async function recordPairing(db: Queryable, session: string, number: string | null, at: Date): Promise<void> {
  await db.query(
    `INSERT INTO wa_session_guard (session, number, first_paired_at, warmup_started_at) VALUES ($1, $2, $3, $3)
     ON CONFLICT (session) DO UPDATE SET
       first_paired_at = coalesce(wa_session_guard.first_paired_at, EXCLUDED.first_paired_at),
       warmup_started_at = CASE WHEN EXCLUDED.number IS NOT NULL AND wa_session_guard.number IS NOT NULL
                                     AND EXCLUDED.number <> wa_session_guard.number
                                THEN EXCLUDED.warmup_started_at ELSE wa_session_guard.warmup_started_at END,
       number = coalesce(EXCLUDED.number, wa_session_guard.number),
       updated_at = now()`,
    [session, number, at],
  );
}

export async function setPause(db: Queryable, session: string, pause: { kind: PauseKind; at: Date; until: Date | null; reason: string }): Promise<void> {
  await db.query(
    `INSERT INTO wa_session_guard (session, warmup_started_at, pause_kind, paused_at, paused_until, pause_reason) VALUES ($1, $3, $2, $3, $4, $5)
     ON CONFLICT (session) DO UPDATE SET pause_kind = $2, paused_at = $3, paused_until = $4, pause_reason = $5, updated_at = now()`,
    [session, pause.kind, pause.at, pause.until, pause.reason],
  );
}

/** Ends a pause; `byOperator` also starts the risk score afresh (signals before it no longer count). */
export async function clearPause(db: Queryable, session: string, at: Date, byOperator: boolean): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE wa_session_guard
        SET pause_kind = NULL, paused_until = NULL,
            resumed_at = CASE WHEN $3 THEN $2 ELSE resumed_at END,
            risk_score = CASE WHEN $3 THEN 0 ELSE risk_score END,
            risk_level = CASE WHEN $3 THEN 'low' ELSE risk_level END,
            updated_at = now()
      WHERE session = $1 AND pause_kind IS NOT NULL`,
    [session, at, byOperator],
  );
  return (rowCount ?? 0) > 0;
}

export async function setRisk(db: Queryable, session: string, score: number, level: RiskLevel): Promise<void> {
  await db.query('UPDATE wa_session_guard SET risk_score = $2, risk_level = $3, updated_at = now() WHERE session = $1', [session, score, level]);
}

export async function recordRiskEvent(db: Queryable, event: { session: string; at: Date; kind: string; weight: number; detail: string | null }): Promise<void> {
  await db.query('INSERT INTO wa_risk_events (session, at, kind, weight, detail) VALUES ($1, $2, $3, $4, $5)', [
    event.session,
    event.at,
    event.kind,
    event.weight,
    event.detail?.slice(0, 300) ?? null,
  ]);
}

/** The signals since `since`, per kind: their count and weight. */
export async function riskSince(db: Queryable, session: string, since: Date, until: Date): Promise<{ kind: string; count: number; weight: number }[]> {
  const { rows } = await db.query<{ kind: string; count: number; weight: number }>(
    `SELECT kind, count(*)::int AS count, sum(weight)::int AS weight FROM wa_risk_events
      WHERE session = $1 AND at > $2 AND at <= $3 GROUP BY kind ORDER BY sum(weight) DESC, kind`,
    [session, since, until],
  );
  return rows;
}

/** An operator's pause or resume of a session that does not exist here. */
export class UnknownSessionError extends OperatorError {}

/** The sessions the outbox or wa_session_guard knows. */
export async function knownSessions(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ session: string }>(
    `SELECT session FROM wa_session_guard UNION SELECT DISTINCT session FROM wa_outbox WHERE status IN ('pending', 'sending') AND session IS NOT NULL ORDER BY 1`,
  );
  return rows.map((r) => r.session);
}
