/**
 * Which process drives which WhatsApp number: the lease columns of wa_sessions (migration 027). A
 * process runs a session only while it holds the session's lease, so each number is driven by exactly
 * one process of the cluster, on any number of machines sharing the database.
 *
 * - **Taking.** A session that is enabled, free (nobody holds it, or its holder let it go) or whose
 *   lease ended more than the takeover margin ago, and not pinned to another host label, is taken in one
 *   statement (`FOR UPDATE SKIP LOCKED`): the taker becomes `owner` and the fence grows by one.
 * - **Renewing.** The holder renews every lease it holds, proving its fence; a lease not renewed (taken
 *   over, disabled, removed, pinned elsewhere) is lost, and the holder stops the session at once.
 * - **Fencing.** Every claim of the session's messages and every hand-over proves the holder's fence
 *   (`HELD_SESSION`), so a process that lost the session can never send for it, even one that was
 *   frozen and comes back believing it still holds it.
 * - **Stopping in time.** A holder that cannot renew stops the session's browser by its own clock,
 *   `stopAllowanceMs` before the lease ends; a new owner waits out the lease plus TAKEOVER_MARGIN_MS. So
 *   the old browser is gone before the new one starts.
 * - **Handing over.** On shutdown the holder stops the session, then lets go of the lease: the others
 *   are told (the table's trigger) and take it at once.
 */
import { performance } from 'node:perf_hooks';
import type { Queryable } from '../db/pool.js';
import { SESSION_COLUMNS, sessionFromRow, type SessionRecord, type SessionRow } from './registry.js';

/** A new owner waits this long past the end of the old lease before it takes a session. */
export const TAKEOVER_MARGIN_MS = 5000;

/** How this process holds sessions: its id, its host label, the lease length. */
export interface LeaseTerms {
  /** The process (instanceId(): `host:pid:random`). */
  owner: string;
  /** WA_HOST_LABEL: the host label sessions may be pinned to. */
  hostLabel: string;
  leaseMs: number;
  /** The id of this process's data directory (DATA_DIR/instance-home, see dataHome). */
  home: string;
}

/** A session this process won, with the fence it proves. */
export interface WonSession {
  session: SessionRecord;
  fence: number;
}

/** How often a holder renews its leases: three times per lease, so one slow renewal loses nothing. */
export function renewEveryMs(leaseMs: number): number {
  return Math.max(500, Math.floor(leaseMs / 3));
}

/**
 * How long before its lease ends a holder that could not renew stops the session by its own clock: a
 * third of the lease, at most 10 s. With the takeover margin this leaves the browser at least
 * TAKEOVER_MARGIN_MS + this long to close before a new owner may start it.
 */
export function stopAllowanceMs(leaseMs: number): number {
  return Math.min(10_000, Math.floor(leaseMs / 3));
}

/**
 * A session as this process holds it: its fence, and until when (by this process's monotonic clock) the
 * lease surely holds. Each renewal is timed from before its statement was sent, so the deadline is never
 * later than the lease the database granted.
 */
export class Tenure {
  private deadline: number;

  constructor(
    readonly session: string,
    readonly fence: number,
    /** performance.now() just before the statement that granted or renewed the lease. */
    grantedAt: number,
    private readonly leaseMs: number,
  ) {
    this.deadline = grantedAt + leaseMs - stopAllowanceMs(leaseMs);
  }

  /** The lease was renewed by a statement sent at `sentAt` (performance.now()). */
  renewed(sentAt: number): void {
    this.deadline = Math.max(this.deadline, sentAt + this.leaseMs - stopAllowanceMs(this.leaseMs));
  }

  /** False once this process must stop the session (its lease may end soon, or did). */
  live(now: number = performance.now()): boolean {
    return now < this.deadline;
  }

  /** Milliseconds until the session must be stopped (negative: overdue). */
  remainingMs(now: number = performance.now()): number {
    return this.deadline - now;
  }
}

/** The session's columns as `s.<column>` (statements that join or update wa_sessions as `s`). */
const HELD_COLUMNS = SESSION_COLUMNS.split(', ').map((c) => `s.${c}`).join(', ');

/** `$host` may take a session: it is pinned to no host, or to this one. */
const PLACEABLE = `(pinned_host IS NULL OR pinned_host = $2)`;

/**
 * Takes up to `limit` sessions nobody may be running: enabled, placeable here, and free or with a lease
 * that ended more than TAKEOVER_MARGIN_MS ago. Free sessions first (a handed-over one needs no wait),
 * then the oldest. Each taken session's fence grows by one.
 */
export async function takeSessions(db: Queryable, terms: LeaseTerms, limit: number, deadOwners: readonly string[] = []): Promise<WonSession[]> {
  if (limit <= 0) return [];
  const { rows } = await db.query<SessionRow & { fence: string }>(
    `UPDATE wa_sessions s
        SET owner = $1, owner_host = $2, lease_until = now() + $3 * interval '1 millisecond', heartbeat_at = now(),
            owned_since = now(), fence = s.fence + 1, owner_home = $7
       FROM (SELECT name FROM wa_sessions
              WHERE enabled AND ${PLACEABLE}
                AND (owner IS NULL OR lease_until IS NULL OR lease_until + $4 * interval '1 millisecond' < now() OR owner = ANY($6::text[]))
              ORDER BY owner IS NULL DESC, created_at, name
              LIMIT $5
              FOR UPDATE SKIP LOCKED) free
      WHERE s.name = free.name
      RETURNING ${HELD_COLUMNS}, s.fence`,
    [terms.owner, terms.hostLabel, terms.leaseMs, TAKEOVER_MARGIN_MS, limit, deadOwners, terms.home],
  );
  return rows.map((r) => ({ session: sessionFromRow(r), fence: Number(r.fence) }));
}

/**
 * Holders that are surely dead: processes that held sessions on this same data directory and host (so in
 * this machine's or container's process table) whose pid is gone, e.g. the service before a crash or an
 * out-of-memory kill. Their sessions are taken at once rather than after their leases end. A pid that is
 * running (reused, or another container's namespace) counts as alive: then the lease is waited out.
 * The owner id is `host:pid:random` (instanceId()).
 */
export async function deadPredecessors(db: Queryable, terms: LeaseTerms, hostName: string, isRunning: (pid: number) => boolean): Promise<string[]> {
  const { rows } = await db.query<{ owner: string }>(
    `SELECT DISTINCT owner FROM wa_sessions WHERE owner_home = $1 AND owner <> $2 AND lease_until > now()`,
    [terms.home, terms.owner],
  );
  return rows
    .map((r) => r.owner)
    .filter((owner) => {
      const parts = owner.split(':');
      const pid = Number(parts[parts.length - 2]);
      return parts.slice(0, -2).join(':') === hostName && Number.isInteger(pid) && pid > 0 && !isRunning(pid);
    });
}


/**
 * Renews the leases this process holds, each proving its fence: returns the sessions still held (as they
 * are now: a changed auth profile or pairing restarts the session). A session missing from the answer
 * is lost: taken over, disabled, removed, or pinned to another host.
 */
export async function renewLeases(db: Queryable, terms: LeaseTerms, held: ReadonlyArray<{ session: string; fence: number }>): Promise<SessionRecord[]> {
  if (held.length === 0) return [];
  const { rows } = await db.query<SessionRow>(
    `UPDATE wa_sessions s
        SET lease_until = now() + $3 * interval '1 millisecond', heartbeat_at = now()
       FROM unnest($4::text[], $5::bigint[]) AS held(name, fence)
      WHERE s.name = held.name AND s.fence = held.fence AND s.owner = $1 AND s.enabled AND (s.pinned_host IS NULL OR s.pinned_host = $2)
      RETURNING ${HELD_COLUMNS}`,
    [terms.owner, terms.hostLabel, terms.leaseMs, held.map((h) => h.session), held.map((h) => h.fence)],
  );
  return rows.map(sessionFromRow);
}

/**
 * Lets go of a session once its browser is stopped: nobody holds it, and its state says it was handed
 * over. Only the holder with this fence can; the trigger tells the other processes, which take it at once.
 */
export async function releaseSession(db: Queryable, owner: string, session: string, fence: number, reason: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE wa_sessions
        SET owner = NULL, owner_host = NULL, lease_until = NULL, owned_since = NULL,
            state = 'stopped', state_reason = $4, state_since = now(), updated_at = now()
      WHERE name = $1 AND owner = $2 AND fence = $3`,
    [session, owner, fence, reason],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Milliseconds until the first session held elsewhere may be taken here (its lease plus the margin
 * ended); null when there is none. What a process with room waits for before it looks again.
 */
export async function nextTakeoverInMs(db: Queryable, terms: LeaseTerms): Promise<number | null> {
  const { rows } = await db.query<{ ms: number | null }>(
    `SELECT (extract(epoch FROM min(lease_until) + $3 * interval '1 millisecond' - now()) * 1000)::float8 AS ms
       FROM wa_sessions
      WHERE enabled AND ${PLACEABLE} AND owner IS NOT NULL AND owner <> $1 AND lease_until IS NOT NULL`,
    [terms.owner, terms.hostLabel, TAKEOVER_MARGIN_MS],
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? null : Math.max(0, ms);
}

/** Who holds each session now (null: nobody, or a lease that ended), for views and `doctor`. */
export interface SessionHolder {
  session: string;
  owner: string | null;
  ownerHost: string | null;
  leaseUntil: Date | null;
  heartbeatAt: Date | null;
  ownedSince: Date | null;
  fence: number;
  pinnedHost: string | null;
  /** The lease is in force (it ends in the future). */
  live: boolean;
}

export async function sessionHolders(db: Queryable): Promise<SessionHolder[]> {
  const { rows } = await db.query<{
    name: string; owner: string | null; owner_host: string | null; lease_until: Date | null; heartbeat_at: Date | null;
    owned_since: Date | null; fence: string; pinned_host: string | null; live: boolean;
  }>(
    `SELECT name, owner, owner_host, lease_until, heartbeat_at, owned_since, fence, pinned_host,
            coalesce(owner IS NOT NULL AND lease_until > now(), false) AS live
       FROM wa_sessions ORDER BY created_at, name`,
  );
  return rows.map((r) => ({
    session: r.name, owner: r.owner, ownerHost: r.owner_host, leaseUntil: r.lease_until, heartbeatAt: r.heartbeat_at,
    ownedSince: r.owned_since, fence: Number(r.fence), pinnedHost: r.pinned_host, live: r.live,
  }));
}
