/**
 * The outbox's side of routing (delivery/routing.ts decides): the rows to route, locked, and the
 * statements that give a row its session. A row written without a session (session NULL) is given one
 * with the reason; a row the router placed (not an explicit one) that was never handed over may move to
 * another session, each move appended to `route_moves`. A row with a hand-over never moves, and a row a
 * dispatcher holds (`sending`) is never touched: only `pending` rows are locked, FOR UPDATE SKIP LOCKED.
 *
 * A row the router cannot place fails at once: that status change lives with the others (row-status.ts,
 * failUnroutable).
 */
import type { Queryable } from '../db/pool.js';
import { UNKNOWN_STATUS_SQL, partsHandedOverSql } from './vocabulary.js';

/** Why the producer's session stands: the producer named it. NULL on a row another program wrote with one. */
export const EXPLICIT_ROUTE = 'explicit';
/** How the reason of a row that waits on a number that cannot send begins (then why, for an operator). */
export const WAITING_ROUTE = 'menunggu: ';

/** A row to route or to move, as the router reads it. */
export interface RoutableRow {
  id: number;
  recipient: string;
  type: string;
  /** Its session now (null: not routed yet). */
  session: string | null;
  routeReason: string | null;
  /** The row it follows (sent only after that one), if any. */
  followsId: number | null;
}

/**
 * "Waiting to be routed": no session, and not finished (odd statuses of other programs are normalised
 * after routing); a row with a digest key is never routed (its digest is). wa_outbox_unrouted_plain_idx
 * (migration 033) has this predicate word for word.
 */
export const UNROUTED = `session IS NULL AND digest_key IS NULL AND (status = 'pending' OR ${UNKNOWN_STATUS_SQL})`;

/** Whether any row waits to be routed: one look at wa_outbox_unrouted_plain_idx. */
export async function hasUnroutedRows(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM wa_outbox WHERE ${UNROUTED}) AS any`);
  return rows[0]!.any;
}

/** Up to `limit` rows without a session, oldest first, locked for the caller's transaction (rows another router holds are skipped). */
export async function lockUnroutedRows(db: Queryable, limit: number): Promise<RoutableRow[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT id, recipient, type, session, route_reason, follows_id FROM wa_outbox WHERE ${UNROUTED} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows.map(toRoutable);
}

/**
 * The row's session is no number of the gateway (removed, or never registered while others are): what
 * its producer named cannot be honoured, so even an explicit row is left to the routing.
 */
const UNREGISTERED = `(EXISTS (SELECT 1 FROM wa_sessions) AND NOT EXISTS (SELECT 1 FROM wa_sessions ws WHERE ws.name = wa_outbox.session))`;

/** "May move": pending, nothing of it ever handed over, placed by the router (not explicit) or in a session that is no number. */
const MOVABLE = `status = 'pending' AND ${partsHandedOverSql('wa_outbox.id')} = 0
  AND ((route_reason IS NOT NULL AND route_reason <> '${EXPLICIT_ROUTE}') OR ${UNREGISTERED})`;

/** The sessions holding rows that may move: failover looks at those that cannot send. */
export async function sessionsWithMovableRows(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ session: string }>(
    `SELECT DISTINCT session FROM wa_outbox WHERE session IS NOT NULL AND status = 'pending' AND route_reason IS NOT NULL AND route_reason <> '${EXPLICIT_ROUTE}'
     UNION SELECT DISTINCT session FROM wa_outbox WHERE session IS NOT NULL AND status = 'pending' AND ${UNREGISTERED}
     ORDER BY 1`,
  );
  return rows.map((r) => r.session);
}

/**
 * Up to `limit` rows of `session` that may move, after `afterId`, locked for the caller's transaction;
 * `waitingOnly`: only those whose reason says they wait (WAITING_ROUTE).
 */
export async function lockMovableRows(db: Queryable, session: string, afterId: number, limit: number, waitingOnly = false): Promise<RoutableRow[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT id, recipient, type, session, route_reason, follows_id FROM wa_outbox
      WHERE session = $1 AND id > $2 AND ${MOVABLE} AND (NOT $4 OR starts_with(route_reason, '${WAITING_ROUTE}'))
      ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
    [session, afterId, limit, waitingOnly],
  );
  return rows.map(toRoutable);
}

/** A session given to an unrouted row, and why. */
export interface RouteAssignment {
  id: number;
  session: string;
  reason: string;
}

/** Gives unrouted rows their session (rows the caller locked; a row routed meanwhile is left as it is). */
export async function assignRoutes(db: Queryable, assignments: readonly RouteAssignment[]): Promise<number> {
  if (assignments.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE wa_outbox o
        SET session = a.session, route_reason = a.reason, routed_at = now(), updated_at = now()
       FROM unnest($1::int[], $2::text[], $3::text[]) AS a(id, session, reason)
      WHERE o.id = a.id AND o.session IS NULL`,
    [assignments.map((a) => a.id), assignments.map((a) => a.session), assignments.map((a) => a.reason.slice(0, 500))],
  );
  return rowCount ?? 0;
}

/** Why a row has its session: it follows a row of that session (a message after another, in one chat, from one number). */
export const FOLLOWS_ROUTE = 'follows';

/** Rows among `ids` that follow a row with a session take that session (the rest keep none); returns those given one. */
export async function inheritFollowedSessions(db: Queryable, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const { rows } = await db.query<{ id: number }>(
    `UPDATE wa_outbox f SET session = l.session, route_reason = '${FOLLOWS_ROUTE}', routed_at = now(), updated_at = now()
       FROM wa_outbox l
      WHERE f.id = ANY($1::int[]) AND f.session IS NULL AND l.id = f.follows_id AND l.session IS NOT NULL
     RETURNING f.id`,
    [ids],
  );
  return new Set(rows.map((r) => r.id));
}

/** A routed row moved from one session to another: `reason` becomes its route_reason, `why` is kept in the move. */
export interface RouteMove {
  id: number;
  from: string;
  to: string;
  reason: string;
  why: string;
}

/**
 * Moves rows (locked by the caller) to another session, appending each move to route_moves. Only a row
 * still in `from`, pending and never handed over moves. A hold the old session's governor put on it
 * (deferred_until) is its old number's, not the new one's: the row is due now.
 */
export async function moveRoutes(db: Queryable, moves: readonly RouteMove[]): Promise<number> {
  if (moves.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET session = m.to_session, route_reason = m.reason, routed_at = now(),
            route_moves = route_moves || jsonb_build_array(jsonb_build_object('from', m.from_session, 'to', m.to_session, 'at', now(), 'why', m.why)),
            next_attempt_at = CASE WHEN deferred_until IS NOT NULL THEN least(next_attempt_at, now()) ELSE next_attempt_at END,
            deferred_until = NULL, deferred_reason = NULL, updated_at = now()
       FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[]) AS m(id, from_session, to_session, reason, why)
      WHERE wa_outbox.id = m.id AND wa_outbox.session = m.from_session AND ${MOVABLE}`,
    [moves.map((m) => m.id), moves.map((m) => m.from), moves.map((m) => m.to), moves.map((m) => m.reason.slice(0, 500)), moves.map((m) => m.why.slice(0, 500))],
  );
  return rowCount ?? 0;
}

/** Rows (locked by the caller) that stay where they are, and why they wait; a reason already there is not written again. */
export async function noteWaiting(db: Queryable, waits: ReadonlyArray<{ id: number; reason: string }>): Promise<number> {
  if (waits.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE wa_outbox o
        SET route_reason = w.reason, updated_at = now()
       FROM unnest($1::int[], $2::text[]) AS w(id, reason)
      WHERE o.id = w.id AND o.status = 'pending' AND o.route_reason IS DISTINCT FROM w.reason`,
    [waits.map((w) => w.id), waits.map((w) => w.reason.slice(0, 500))],
  );
  return rowCount ?? 0;
}

/** Pending rows per session (the router spreads group rows over members by it). */
export async function waitingPerSession(db: Queryable): Promise<Map<string, number>> {
  const { rows } = await db.query<{ session: string; n: number }>(
    `SELECT session, count(*)::int AS n FROM wa_outbox WHERE status = 'pending' AND session IS NOT NULL GROUP BY session`,
  );
  return new Map(rows.map((r) => [r.session, r.n]));
}

function toRoutable(r: Record<string, unknown>): RoutableRow {
  return {
    id: Number(r.id), recipient: r.recipient as string, type: r.type as string, session: r.session as string | null,
    routeReason: r.route_reason as string | null, followsId: r.follows_id === null || r.follows_id === undefined ? null : Number(r.follows_id),
  };
}
