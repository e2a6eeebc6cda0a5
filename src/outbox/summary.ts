/**
 * The outbox at a glance, for the dashboard's "Hari ini" (and `GET /api/summary`): today's messages per
 * type (a recap job's messages carry its name) by fate, the backlog and its oldest due message, and the
 * failures of the last 24 hours by reason, and the pending rows the governor holds back. Each is one
 * statement on an index.
 *
 * Digests (digests.ts): today's counts show the originals under their own type and the digests under
 * `digest`; the originals waiting for a digest are in the backlog's pending count but not its oldest due
 * message, nor the governor's holds or a session's queue (they are never claimed); a failed digest is one
 * failure (its originals, failed with it, are not counted again).
 */
import type { Queryable } from '../db/pool.js';
import { WAITING_STATUSES, sqlList, type FailureCode } from './vocabulary.js';

export interface TypeSummary {
  type: string;
  enqueued: number;
  /** Sent to WhatsApp (a dry run's rows are not: see dryRun). */
  sent: number;
  confirmed: number;
  failed: number;
  /** Pending or being sent. */
  waiting: number;
  /** Only logged by a dry run (WA_TRANSPORT=log), never sent. */
  dryRun: number;
}

export interface OutboxSummary {
  today: TypeSummary[];
  backlog: { pending: number; sending: number; oldestDueSeconds: number | null };
  /** Failed in the last 24 hours, by failure code (FAILURE_CODES; `other` for a reason outside the catalogue). */
  failures24h: Array<{ reason: FailureCode; count: number }>;
  held: {
    /** Pending rows under a hold the governor wrote on them that has not ended, by session and reason (its latest end). */
    holds: Array<{ session: string; reason: string; until: Date; count: number }>;
    /** Due pending rows under no such hold, per session: they wait for their session (its pause or budget) or for WhatsApp. */
    waitingOnSession: Array<{ session: string; count: number }>;
  };
}

/** `timeZone` decides where "today" begins. */
export async function outboxSummary(db: Queryable, timeZone: string): Promise<OutboxSummary> {
  // created_at is the seed's TIMESTAMP in the database session's zone: the day's start is converted to it.
  const today = await db.query<TypeSummary>(
    `SELECT type,
            count(*)::int AS enqueued,
            count(*) FILTER (WHERE status = 'sent' AND confirmation IS DISTINCT FROM 'dry_run')::int AS sent,
            count(*) FILTER (WHERE status = 'sent' AND confirmation = 'confirmed')::int AS confirmed,
            count(*) FILTER (WHERE status = 'failed')::int AS failed,
            count(*) FILTER (WHERE status IN ${sqlList(WAITING_STATUSES)})::int AS waiting,
            count(*) FILTER (WHERE status = 'sent' AND confirmation = 'dry_run')::int AS "dryRun"
       FROM wa_outbox
      WHERE created_at >= (date_trunc('day', now() AT TIME ZONE $1) AT TIME ZONE $1) AT TIME ZONE current_setting('TimeZone')
      GROUP BY type ORDER BY type`,
    [timeZone],
  );
  const backlog = await db.query<{ pending: number; sending: number; oldest: number | null }>(
    `SELECT (SELECT count(*)::int FROM wa_outbox WHERE status = 'pending') AS pending,
            (SELECT count(*)::int FROM wa_outbox WHERE status = 'sending') AS sending,
            (SELECT extract(epoch FROM now() - min(next_attempt_at))::float8 FROM wa_outbox WHERE status = 'pending' AND next_attempt_at <= now() AND digest_key IS NULL) AS oldest`,
  );
  const failures = await db.query<{ reason: FailureCode; count: number }>(
    `SELECT coalesce(failure_code, 'other') AS reason, count(*)::int AS count
       FROM wa_outbox WHERE status = 'failed' AND updated_at > now() - interval '24 hours' AND digest_id IS NULL
      GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20`,
  );
  const holds = await db.query<{ session: string; reason: string; until: Date; count: number }>(
    `SELECT session, deferred_reason AS reason, max(deferred_until) AS until, count(*)::int AS count
       FROM wa_outbox WHERE status = 'pending' AND session IS NOT NULL AND digest_key IS NULL AND deferred_reason IS NOT NULL AND deferred_until > now()
      GROUP BY 1, 2 ORDER BY 4 DESC, 2 LIMIT 50`,
  );
  const waiting = await db.query<{ session: string; count: number }>(
    `SELECT session, count(*)::int AS count FROM wa_outbox
      WHERE status = 'pending' AND session IS NOT NULL AND digest_key IS NULL AND next_attempt_at <= now() AND (deferred_until IS NULL OR deferred_until <= now())
      GROUP BY 1 ORDER BY 1`,
  );
  const b = backlog.rows[0]!;
  return {
    today: today.rows,
    backlog: { pending: b.pending, sending: b.sending, oldestDueSeconds: b.oldest },
    failures24h: failures.rows,
    held: { holds: holds.rows, waitingOnSession: waiting.rows },
  };
}
