/**
 * The dispatcher's statements on wa_outbox: claim due rows under a lease, record progress, and mark
 * each row's outcome. Every mark checks that this dispatcher still holds the row (`locked_by` and
 * status `sending`), so a row whose lease expired and was claimed by another dispatcher is never
 * marked twice.
 */
import type { Queryable } from '../../db/pool.js';

export interface ClaimedRow {
  id: number;
  recipient: string;
  content: string;
  type: string;
  /** Including the attempt this claim starts. */
  attempts: number;
  partsSent: number;
  waMessageId: string | null;
}

interface ClaimedRecord {
  id: number;
  recipient: string;
  content: string;
  type: string;
  attempts: number;
  parts_sent: number;
  wa_message_id: string | null;
}

/**
 * Claims up to `limit` due pending rows (oldest due first), skipping rows another dispatcher has
 * locked, and leases them to `owner` for `leaseMs`. Counts the attempt.
 */
export async function claimDueRows(db: Queryable, owner: string, limit: number, leaseMs: number): Promise<ClaimedRow[]> {
  const { rows } = await db.query<ClaimedRecord>(
    `UPDATE wa_outbox o
        SET status = 'sending', locked_by = $2, lease_until = now() + $3 * interval '1 millisecond',
            attempts = o.attempts + 1, updated_at = now()
       FROM (SELECT id FROM wa_outbox
              WHERE status = 'pending' AND next_attempt_at <= now()
              ORDER BY next_attempt_at, id
              LIMIT $1
              FOR UPDATE SKIP LOCKED) due
      WHERE o.id = due.id
      RETURNING o.id, o.recipient, o.content, o.type, o.attempts, o.parts_sent, o.wa_message_id`,
    [limit, owner, leaseMs],
  );
  return rows
    .map((r) => ({ id: r.id, recipient: r.recipient, content: r.content, type: r.type, attempts: r.attempts, partsSent: r.parts_sent, waMessageId: r.wa_message_id }))
    .sort((a, b) => a.id - b.id);
}

/**
 * Rows whose lease expired (their dispatcher died while holding them) become pending again, due now.
 * The attempt they were on counts: a message that was perhaps sent is not retried forever.
 */
export async function recoverExpiredLeases(db: Queryable, maxAttempts: number): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET status = CASE WHEN attempts >= $1 THEN 'failed' ELSE 'pending' END,
            last_error = 'lease expired: the dispatcher holding it stopped (' || coalesce(locked_by, '?') || ')'
                         || CASE WHEN attempts >= $1 THEN '; attempts exhausted' ELSE '' END,
            locked_by = NULL, lease_until = NULL, next_attempt_at = now(), updated_at = now()
      WHERE status = 'sending' AND lease_until < now()`,
    [maxAttempts],
  );
  return rowCount ?? 0;
}

/** Pushes the lease of rows still held by `owner` forward. */
export async function extendLeases(db: Queryable, owner: string, ids: number[], leaseMs: number): Promise<void> {
  await db.query(
    `UPDATE wa_outbox SET lease_until = now() + $3 * interval '1 millisecond'
      WHERE id = ANY($1::int[]) AND locked_by = $2 AND status = 'sending'`,
    [ids, owner, leaseMs],
  );
}

/** Hands claimed rows that were not attempted back to pending at once, undoing their attempt count. */
export async function releaseRows(db: Queryable, owner: string, ids: number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET status = 'pending', attempts = greatest(attempts - 1, 0), locked_by = NULL, lease_until = NULL,
            next_attempt_at = now(), updated_at = now()
      WHERE id = ANY($1::int[]) AND locked_by = $2 AND status = 'sending'`,
    [ids, owner],
  );
  return rowCount ?? 0;
}

/** Records the parts of a split message sent so far, so a retry resumes after them. */
export async function recordPartsSent(db: Queryable, owner: string, id: number, partsSent: number, waMessageId: string): Promise<void> {
  await db.query(
    `UPDATE wa_outbox SET parts_sent = $3, wa_message_id = $4, updated_at = now()
      WHERE id = $1 AND locked_by = $2 AND status = 'sending'`,
    [id, owner, partsSent, waMessageId],
  );
}

/** `sent`, with the send time and WhatsApp's message id. Returns false if the row was no longer ours. */
export async function markSent(db: Queryable, owner: string, id: number, partsSent: number, waMessageId: string): Promise<{ held: boolean; sentAt: Date | null }> {
  const { rows } = await db.query<{ sent_at: Date }>(
    `UPDATE wa_outbox
        SET status = 'sent', sent_at = date_trunc('milliseconds', now()), parts_sent = $3, wa_message_id = $4, last_error = NULL,
            locked_by = NULL, lease_until = NULL, updated_at = now()
      WHERE id = $1 AND locked_by = $2 AND status = 'sending'
      RETURNING sent_at`,
    [id, owner, partsSent, waMessageId],
  );
  return { held: rows.length === 1, sentAt: rows[0]?.sent_at ?? null };
}

/** Back to pending after a transient error, due again after `delayMs`. */
export async function markRetry(db: Queryable, owner: string, id: number, error: string, delayMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET status = 'pending', last_error = $3, next_attempt_at = now() + $4 * interval '1 millisecond',
            locked_by = NULL, lease_until = NULL, updated_at = now()
      WHERE id = $1 AND locked_by = $2 AND status = 'sending'`,
    [id, owner, error, delayMs],
  );
  return rowCount === 1;
}

/** `failed`: the dead letter, kept with its reason. */
export async function markFailed(db: Queryable, owner: string, id: number, reason: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET status = 'failed', last_error = $3, locked_by = NULL, lease_until = NULL, updated_at = now()
      WHERE id = $1 AND locked_by = $2 AND status = 'sending'`,
    [id, owner, reason],
  );
  return rowCount === 1;
}

/**
 * When the dispatcher should next look, though nothing is due now: the earliest retry of a pending
 * row, or the earliest lease of another dispatcher that may expire. Null when there is none.
 */
export async function nextWakeUp(db: Queryable, owner: string): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>(
    `SELECT least(
              (SELECT min(next_attempt_at) FROM wa_outbox WHERE status = 'pending'),
              (SELECT min(lease_until) FROM wa_outbox WHERE status = 'sending' AND locked_by IS DISTINCT FROM $1)
            ) AS at`,
    [owner],
  );
  return rows[0]?.at ?? null;
}

/**
 * Records a delivery receipt for the row that has this WhatsApp message id: the highest ack seen,
 * and the first time it was delivered (ack ≥ 2) and read (ack ≥ 3).
 */
export async function recordAck(db: Queryable, waMessageId: string, ack: number): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET ack = greatest(coalesce(ack, $2), $2),
            delivered_at = CASE WHEN $2 >= 2 THEN coalesce(delivered_at, now()) ELSE delivered_at END,
            read_at = CASE WHEN $2 >= 3 THEN coalesce(read_at, now()) ELSE read_at END,
            updated_at = now()
      WHERE wa_message_id = $1`,
    [waMessageId, ack],
  );
  return rowCount ?? 0;
}
