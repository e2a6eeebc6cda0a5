/**
 * What the routing rules read of the numbers: each session as the router sees it (wa_sessions with the
 * governor's pause in force), and which sessions have a listing of their groups.
 */
import type { Queryable } from '../db/pool.js';

/** A session as the router sees it. */
export interface SessionInfo {
  name: string;
  enabled: boolean;
  state: string;
  stateSince: Date;
  homeTypes: string[];
  createdAt: Date;
  /** The governor's pause in force: its kind (cooling, critical, operator). */
  paused: string | null;
}

/**
 * wa_sessions with each one's pause in force (read only: sessions/ writes wa_sessions, governor/ the
 * pauses). A session whose holder's lease ended (it crashed, or was cut off, and nobody took it yet) is
 * not ready since its lease ended, whatever state its holder last wrote.
 */
export async function readSessions(db: Queryable): Promise<SessionInfo[]> {
  const { rows } = await db.query<{ name: string; enabled: boolean; state: string; state_since: Date; home_types: string[]; created_at: Date; pause_kind: string | null }>(
    `SELECT s.name, s.enabled,
            CASE WHEN s.lease_until < now() AND s.state IN ('ready', 'authenticated') THEN 'disconnected' ELSE s.state END AS state,
            CASE WHEN s.lease_until < now() AND s.state IN ('ready', 'authenticated') THEN s.lease_until ELSE s.state_since END AS state_since,
            s.home_types, s.created_at,
            CASE WHEN g.pause_kind IS NOT NULL AND (g.paused_until IS NULL OR g.paused_until > now()) THEN g.pause_kind END AS pause_kind
       FROM wa_sessions s LEFT JOIN wa_session_guard g ON g.session = s.name
      ORDER BY s.created_at, s.name`,
  );
  return rows.map((r) => ({ name: r.name, enabled: r.enabled, state: r.state, stateSince: r.state_since, homeTypes: r.home_types, createdAt: r.created_at, paused: r.pause_kind }));
}

/** The sessions whose groups were listed (a number without a listing makes a group unknown). */
export async function listedSessions(db: Queryable): Promise<Set<string>> {
  const { rows } = await db.query<{ session: string }>('SELECT DISTINCT session FROM wa_group_members');
  return new Set(rows.map((r) => r.session));
}
