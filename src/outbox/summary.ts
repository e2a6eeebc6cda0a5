/**
 * The outbox at a glance, for the dashboard's "Hari ini" (and `GET /api/summary`): today's messages per
 * type (a recap job's messages carry its name) by fate, the backlog and its oldest due message, and the
 * failures of the last 24 hours by reason. Each is one statement on an index.
 */
import type { Queryable } from '../db/pool.js';

export interface TypeSummary {
  type: string;
  enqueued: number;
  sent: number;
  confirmed: number;
  failed: number;
  /** Pending or being sent. */
  waiting: number;
}

export interface OutboxSummary {
  today: TypeSummary[];
  backlog: { pending: number; sending: number; oldestDueSeconds: number | null };
  failures24h: Array<{ reason: string; count: number }>;
}

/** `timeZone` decides where "today" begins. */
export async function outboxSummary(db: Queryable, timeZone: string): Promise<OutboxSummary> {
  // created_at is the seed's TIMESTAMP in the database session's zone: the day's start is converted to it.
  const today = await db.query<TypeSummary>(
    `SELECT type,
            count(*)::int AS enqueued,
            count(*) FILTER (WHERE status = 'sent')::int AS sent,
            count(*) FILTER (WHERE status = 'sent' AND confirmation = 'confirmed')::int AS confirmed,
            count(*) FILTER (WHERE status = 'failed')::int AS failed,
            count(*) FILTER (WHERE status IN ('pending', 'sending'))::int AS waiting
       FROM wa_outbox
      WHERE created_at >= (date_trunc('day', now() AT TIME ZONE $1) AT TIME ZONE $1) AT TIME ZONE current_setting('TimeZone')
      GROUP BY type ORDER BY type`,
    [timeZone],
  );
  const backlog = await db.query<{ pending: number; sending: number; oldest: number | null }>(
    `SELECT (SELECT count(*)::int FROM wa_outbox WHERE status = 'pending') AS pending,
            (SELECT count(*)::int FROM wa_outbox WHERE status = 'sending') AS sending,
            (SELECT extract(epoch FROM now() - min(next_attempt_at))::float8 FROM wa_outbox WHERE status = 'pending' AND next_attempt_at <= now()) AS oldest`,
  );
  const failures = await db.query<{ reason: string; count: number }>(
    `SELECT coalesce(nullif(split_part(last_error, ':', 1), ''), 'unknown') AS reason, count(*)::int AS count
       FROM wa_outbox WHERE status = 'failed' AND updated_at > now() - interval '24 hours'
      GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20`,
  );
  const b = backlog.rows[0]!;
  return { today: today.rows, backlog: { pending: b.pending, sending: b.sending, oldestDueSeconds: b.oldest }, failures24h: failures.rows };
}
