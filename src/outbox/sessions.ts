/**
 * Which sessions the outbox has maintenance work for: rows held by a holder whose lease ran out, rows of
 * a status the service does not know, hand-overs unknown for longer than the confirmation timeout, sent
 * rows whose summary may be behind their hand-overs, rows left with a rejected part. Each is read
 * through a partial index; the maintenance then works session by session.
 */
import type { Queryable } from '../db/pool.js';
import { UNKNOWN_STATUS_SQL } from './vocabulary.js';

export async function sessionsToMaintain(db: Queryable, confirmTimeoutMs: number): Promise<string[]> {
  const { rows } = await db.query<{ session: string }>(
    `SELECT session FROM (
     SELECT session FROM wa_outbox WHERE status = 'sending' AND (lease_until IS NULL OR lease_until < now())
     UNION SELECT session FROM wa_outbox WHERE ${UNKNOWN_STATUS_SQL}
     UNION SELECT session FROM wa_outbox_sends WHERE outcome = 'unknown' AND handed_over_at < now() - $1 * interval '1 millisecond'
     UNION SELECT session FROM wa_outbox WHERE confirmation IN ('awaiting', 'unconfirmed') AND status = 'sent'
     UNION SELECT s.session FROM wa_outbox_sends s JOIN wa_outbox o ON o.id = s.outbox_id
            WHERE s.outcome = 'rejected' AND o.status = 'sent' AND s.settled_at > now() - interval '1 day'
     ) work WHERE session IS NOT NULL -- a row not routed yet is the router's
     ORDER BY 1`,
    [confirmTimeoutMs],
  );
  return rows.map((r) => r.session);
}
