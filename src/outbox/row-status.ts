/**
 * Every statement that changes a row's status (wa_outbox.status), named by the change it makes: claimed
 * (`sending`, leased), handed back, held back, retried later, failed, marked sent, recovered from a
 * stopped holder, normalised from another program's spelling, put back on the retry path after WhatsApp
 * rejected a part, and the operator's retry, resend and cancel.
 *
 * The dispatcher's statements check that it still holds the row (`locked_by` and status `sending`), so a
 * row whose lease expired and was taken over by another dispatcher is never sent or marked by its
 * former holder. `attempts` counts tries: a claim costs none; the first hand-over of a claim, or a
 * failure before any hand-over, counts one.
 */
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.js';
import { toClaimedRows, NOT_HELD_BACK, type ClaimedRecord, type ClaimedRow } from './claims.js';
import { markInterrupted, SETTLE_LAST_PART } from './part-outcomes.js';
import {
  HELD_BY_OWNER,
  OUTBOX_STATUSES,
  UNKNOWN_STATUS_SQL,
  failureCode,
  handedOverSql,
  heldSessionSql,
  partsHandedOverSql,
  partsOfSql,
  retryOrFail,
  sqlList,
  type Settlement,
} from './vocabulary.js';

/**
 * Claims up to `limit` due pending rows of `session` (by priority: replies, then normal rows, then bulk;
 * within a priority oldest due first, then by id), skipping rows another dispatcher has locked and rows
 * held back by the row they follow, and leases them to `owner` for `leaseMs`. Attempts are not counted
 * here. The text of a row longer than `maxContentChars` is not read (a 100 MB row costs nothing but its
 * failure), and a document's bytes are not read at all (loadDocument reads them).
 *
 * A row with a digest key is never claimed: it goes out in its digest (digests.ts).
 *
 * A follower is never claimed together with the row it follows (that one is pending at the time), so it
 * goes out after it: the drain that marks the leader claims again, and finds the follower. The order is
 * wa_outbox_claim_idx's (session, priority, next_attempt_at, id, pending rows only): the claim reads due
 * rows in that order and stops at its limit, without sorting every due row.
 */
export async function claimDueRows(db: Queryable, owner: string, session: string, limit: number, leaseMs: number, maxContentChars: number, fence: number | null = null): Promise<ClaimedRow[]> {
  const { rows } = await db.query<ClaimedRecord>(
    `UPDATE wa_outbox o
        SET status = 'sending', locked_by = $2, lease_until = now() + $3 * interval '1 millisecond', updated_at = now()
       FROM (SELECT w.id FROM wa_outbox w
              WHERE w.status = 'pending' AND w.session = $5 AND w.next_attempt_at <= now() AND w.digest_key IS NULL AND ${NOT_HELD_BACK}
                AND ${heldSessionSql('$5', '$2', '$6')}
              ORDER BY w.priority, w.next_attempt_at, w.id
              LIMIT $1
              FOR UPDATE SKIP LOCKED) due
      WHERE o.id = due.id
      RETURNING o.id, o.recipient,
                -- A text too long is not read: its stored size says so without unpacking it.
                CASE WHEN octet_length(o.content) <= 4 * $4 AND length(o.content) <= $4 THEN o.content END AS content,
                CASE WHEN octet_length(o.content) <= 4 * $4 THEN length(o.content) END AS content_length,
                octet_length(o.content) AS content_bytes,
                o.type, o.priority, o.attempts, o.parts_sent, o.wa_message_id,
                greatest(0, extract(epoch FROM now() - o.next_attempt_at) * 1000)::float8 AS waited_ms,
                (SELECT json_agg(json_build_object('part', s.part, 'outcome', s.outcome, 'reason', s.reason) ORDER BY s.part)
                   FROM wa_outbox_sends s WHERE s.outbox_id = o.id AND ${handedOverSql('s')}) AS done_parts,
                (o.document_name IS NOT NULL OR o.document_mime IS NOT NULL OR o.document IS NOT NULL OR o.document_sha256 IS NOT NULL) AS has_document,
                left(o.document_name, 201) AS document_name, left(o.document_mime, 256) AS document_mime,
                left(o.document_sha256, 65) AS document_sha256, octet_length(o.document)::float8 AS document_size`,
    [limit, owner, leaseMs, maxContentChars, session, fence],
  );
  return toClaimedRows(rows);
}

/** Hands claimed rows that were not tried back to pending at once (their attempts were never counted). */
export async function releaseRows(db: Queryable, owner: string, ids: number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET status = 'pending', locked_by = NULL, lease_until = NULL, next_attempt_at = now(), updated_at = now()
      WHERE id = ANY($1::int[]) AND ${HELD_BY_OWNER}`,
    [ids, owner],
  );
  return rowCount ?? 0;
}

/**
 * A claimed row the governor holds back: pending again, due at `until` (unchanged when the wait has no
 * end: the session is paused until an operator resumes it), with the reason; its attempts are not touched.
 */
export async function deferRow(db: Queryable, owner: string, id: number, until: Date | null, reason: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET status = 'pending', locked_by = NULL, lease_until = NULL,
            next_attempt_at = coalesce($3::timestamptz, next_attempt_at), deferred_until = $3::timestamptz, deferred_reason = $4,
            updated_at = now()
      WHERE id = $1 AND ${HELD_BY_OWNER}`,
    [id, owner, until, reason.slice(0, 500)],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * `sent`, with the send time; the row's last hand-over (if this claim made one) is settled in the same
 * statement, and `confirmation` (worked out by the caller from the parts' outcomes) says whether every
 * part is confirmed. Returns whether the row was still ours.
 */
export async function markSent(
  db: Queryable,
  owner: string,
  rowId: number,
  partsSent: number,
  last: { sendId: number; settlement: Settlement } | null,
  summary: { confirmation: string; lastError: string | null },
): Promise<{ held: boolean; sentAt: Date | null }> {
  const { rows } = await db.query<{ sent_at: Date }>(
    `WITH ${SETTLE_LAST_PART}
     UPDATE wa_outbox
        SET status = 'sent', sent_at = date_trunc('milliseconds', now()), parts_sent = $3,
            wa_message_id = coalesce($6, wa_message_id), confirmation = $8,
            confirmed_at = CASE WHEN $8 = 'confirmed' THEN now() END, last_error = $9,
            locked_by = NULL, lease_until = NULL, updated_at = now()
      WHERE id = $1 AND ${HELD_BY_OWNER}
      RETURNING sent_at`,
    [
      rowId, owner, partsSent, last?.sendId ?? null, last?.settlement.outcome ?? null, last?.settlement.messageId ?? null, last?.settlement.reason ?? null,
      summary.confirmation, summary.lastError,
    ],
  );
  return { held: rows.length === 1, sentAt: rows[0]?.sent_at ?? null };
}

/** Back to pending after a transient error, due again after `delayMs`; counts the try if no hand-over did. */
export async function markRetry(db: Queryable, owner: string, id: number, error: string, delayMs: number, countAttempt: boolean): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET status = 'pending', last_error = $3, next_attempt_at = now() + $4 * interval '1 millisecond',
            attempts = attempts + $5, locked_by = NULL, lease_until = NULL, updated_at = now()
      WHERE id = $1 AND ${HELD_BY_OWNER}`,
    [id, owner, error, delayMs, countAttempt ? 1 : 0],
  );
  return rowCount === 1;
}

/** `failed`: the dead letter, kept with its reason and its code; counts the try if no hand-over did. */
export async function markFailed(db: Queryable, owner: string, id: number, reason: string, countAttempt: boolean): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET status = 'failed', last_error = $3, failure_code = $5, attempts = attempts + $4, locked_by = NULL, lease_until = NULL, updated_at = now()
      WHERE id = $1 AND ${HELD_BY_OWNER}`,
    [id, owner, reason, countAttempt ? 1 : 0, failureCode(reason)],
  );
  return rowCount === 1;
}

/**
 * Rows no number can send fail at once (the router: a group no number is in, an admins-only group where
 * no number is an admin). Only rows still unrouted and pending (locked by the caller) fail; the reason
 * starts with its failure code and is also the route reason. Returns the rows failed.
 */
export async function failUnroutable(db: Queryable, fails: ReadonlyArray<{ id: number; reason: string }>): Promise<Array<{ id: number; type: string; recipient: string; reason: string }>> {
  if (fails.length === 0) return [];
  const { rows } = await db.query<{ id: number; type: string; recipient: string; last_error: string }>(
    `UPDATE wa_outbox o
        SET status = 'failed', last_error = f.reason, failure_code = f.code, route_reason = f.reason, routed_at = now(), updated_at = now()
       FROM unnest($1::int[], $2::text[], $3::text[]) AS f(id, reason, code)
      WHERE o.id = f.id AND o.session IS NULL AND (o.status = 'pending' OR ${UNKNOWN_STATUS_SQL.replace(/status/g, 'o.status')})
      RETURNING o.id, o.type, o.recipient, o.last_error`,
    [fails.map((f) => f.id), fails.map((f) => f.reason.slice(0, 500)), fails.map((f) => failureCode(f.reason))],
  );
  return rows.map((r) => ({ id: r.id, type: r.type, recipient: r.recipient, reason: r.last_error }));
}

/** A row the lease recovery marked sent (its last hand-over was under way when its holder stopped). */
export interface RecoveredRow {
  id: number;
  type: string;
  recipient: string;
  sentAt: Date;
}

/**
 * Rows of `session` whose lease expired (their dispatcher died or froze while holding them). A
 * hand-over that was under way has an unknown outcome: it is never repeated. A row whose every part went
 * to WhatsApp is `sent` (awaiting confirmation); any other row is pending again, due now, its attempts
 * unchanged. `onSent` runs in the same transaction (the outcome hooks). Rows in `heldHere` are left to their holder.
 *
 * With `takenBy` (the process that just took the session's lease), rows any other process holds are
 * recovered too, whatever their lease says: that process lost the session, and without its fence it can
 * neither hand them over nor mark them.
 */
export async function recoverExpiredLeases(
  pool: pg.Pool,
  session: string,
  onSent: (tx: pg.PoolClient, rows: RecoveredRow[]) => Promise<void> = async () => undefined,
  heldHere: readonly number[] = [],
  takenBy: string | null = null,
): Promise<{ pending: number; sent: number }> {
  return withTransaction(pool, async (tx) => {
    // A `sending` row without a lease was written so by another program: nobody holds it. A row a
    // dispatcher of the calling process holds right now (`heldHere`) is its holder's, whatever a stall of
    // the event loop did to its lease; a row that process let go of is recovered like any other.
    const { rows } = await tx.query<{ id: number }>(
      `SELECT id FROM wa_outbox
        WHERE status = 'sending' AND session = $1 AND NOT (id = ANY($2::int[]))
          AND (lease_until IS NULL OR lease_until < now() OR ($3::text IS NOT NULL AND locked_by IS DISTINCT FROM $3))
        ORDER BY id FOR UPDATE SKIP LOCKED`,
      [session, heldHere, takenBy],
    );
    if (rows.length === 0) return { pending: 0, sent: 0 };
    const ids = rows.map((r) => r.id);
    await markInterrupted(tx, ids);
    const allHandedOver = 'done.parts IS NOT NULL AND done.handed_over >= done.parts';
    const { rows: marked } = await tx.query<{ id: number; type: string; recipient: string; status: string; sent_at: Date | null }>(
      `UPDATE wa_outbox o
          SET status = CASE WHEN ${allHandedOver} THEN 'sent' ELSE 'pending' END,
              sent_at = CASE WHEN ${allHandedOver} THEN date_trunc('milliseconds', now()) ELSE o.sent_at END,
              confirmation = CASE WHEN ${allHandedOver} THEN cicero_wa_outbox_confirmation(o.id) ELSE NULL END,
              parts_sent = coalesce(done.handed_over, o.parts_sent),
              last_error = CASE WHEN ${allHandedOver}
                                THEN 'outcome unknown: the dispatcher holding it stopped during the hand-over (' || coalesce(o.locked_by, '?') || ')'
                                ELSE 'lease expired: the dispatcher holding it stopped (' || coalesce(o.locked_by, '?') || ')' END,
              locked_by = NULL, lease_until = NULL, next_attempt_at = now(), updated_at = now()
         FROM (SELECT w.id, ${partsOfSql('w.id')} AS parts, ${partsHandedOverSql('w.id')} AS handed_over
                 FROM wa_outbox w WHERE w.id = ANY($1::int[])) done
        WHERE o.id = done.id
        RETURNING o.id, o.type, o.recipient, o.status, o.sent_at`,
      [ids],
    );
    const sent = marked.filter((r) => r.status === 'sent').map((r) => ({ id: r.id, type: r.type, recipient: r.recipient, sentAt: r.sent_at! }));
    if (sent.length > 0) await onSent(tx, sent);
    return { pending: marked.length - sent.length, sent: sent.length };
  });
}

/** The spellings of pending the seed era used, and of cancelled. */
const PENDING_SPELLINGS = sqlList(['pending', 'queued', 'retry', 'new', 'waiting']);
const CANCELLED_SPELLINGS = sqlList(['canceled', 'cancelled']);

/**
 * Statuses of `session`'s rows the service does not use, written by other programs (the seed's code, a
 * hand-made INSERT): NULL and the spellings of pending the seed era used become `pending`, other case
 * variants of a known status become that status (each noting what it was in `last_error`). Whatever is
 * left is counted by status, for the log; `outbox list --status other` shows those rows and `outbox
 * retry` takes them.
 */
export async function normaliseStatuses(db: Queryable, session: string): Promise<{ normalised: number; odd: Array<{ status: string | null; rows: number }> }> {
  const readAs = `CASE WHEN lower(btrim(status)) IN ${PENDING_SPELLINGS} THEN 'pending'
                       WHEN lower(btrim(status)) IN ${CANCELLED_SPELLINGS} THEN 'cancelled'
                       ELSE lower(btrim(status)) END`;
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET status = CASE WHEN status IS NULL THEN 'pending' ELSE ${readAs} END,
            last_error = CASE WHEN status IS NULL THEN 'status was NULL: read as pending'
                              ELSE 'status was "' || status || '": read as ' || ${readAs} END,
            failure_code = CASE WHEN status IS NOT NULL AND ${readAs} = 'failed' THEN 'other' ELSE failure_code END,
            next_attempt_at = now(), updated_at = now()
      WHERE session = $1 AND ${UNKNOWN_STATUS_SQL}
        AND (status IS NULL OR lower(btrim(status)) IN ${sqlList([...OUTBOX_STATUSES, 'queued', 'retry', 'new', 'waiting', 'canceled'])})`,
    [session],
  );
  const { rows } = await db.query<{ status: string | null; rows: number }>(
    `SELECT status, count(*)::int AS rows FROM wa_outbox WHERE session = $1 AND ${UNKNOWN_STATUS_SQL} GROUP BY status ORDER BY status`,
    [session],
  );
  return { normalised: rowCount ?? 0, odd: rows };
}

/** How a row that goes back to the retry path is retried (the dispatch settings). */
export interface RetryPolicy {
  maxAttempts: number;
  /** Delay before the next try after `attempts` tries. */
  delayMs(attempts: number): number;
  /** A row that failed for good here (its tries used up): runs in the transaction that fails it. */
  onFailed?(tx: pg.PoolClient, row: { id: number; type: string; recipient: string }, reason: string): Promise<void>;
}

/**
 * A sent row with a part that no longer has a good hand-over (its send was rejected) goes back to the
 * retry path: pending after the backoff, or failed when its attempts are used up. The caller's
 * transaction must hold the row lock. Returns the new status, or null when the row is not such a row.
 */
export async function requeueIncomplete(tx: pg.PoolClient, outboxId: number, policy: RetryPolicy, cause: string): Promise<'pending' | 'failed' | null> {
  const { rows } = await tx.query<{ status: string | null; type: string; recipient: string; attempts: number; parts: number | null; good: number }>(
    `SELECT o.status, o.type, o.recipient, o.attempts, ${partsOfSql('o.id')} AS parts, ${partsHandedOverSql('o.id')} AS good
       FROM wa_outbox o WHERE o.id = $1`,
    [outboxId],
  );
  const row = rows[0];
  if (!row || row.status !== 'sent' || row.parts === null || row.good >= row.parts) return null;
  const next = retryOrFail(row.attempts, policy, cause);
  await tx.query(
    `UPDATE wa_outbox
        SET status = $2, last_error = $3, next_attempt_at = now() + $4 * interval '1 millisecond', parts_sent = $5,
            confirmation = NULL, confirmed_at = NULL, sent_at = CASE WHEN $2 = 'failed' THEN sent_at END,
            failure_code = CASE WHEN $2 = 'failed' THEN $6 END, updated_at = now()
      WHERE id = $1`,
    [outboxId, next.status, next.reason, next.status === 'pending' ? next.delayMs : 0, row.good, failureCode(next.reason)],
  );
  if (next.status === 'failed') await policy.onFailed?.(tx, { id: outboxId, type: row.type, recipient: row.recipient }, next.reason);
  return next.status;
}

/**
 * An operator's retry: back to pending, due now, attempts reset (a dry run's rows start their parts
 * over). The rows are locked by the caller's transaction.
 */
export async function reopenRows(tx: pg.PoolClient, ids: number[]): Promise<void> {
  await tx.query(
    `UPDATE wa_outbox
        SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, failure_code = NULL, locked_by = NULL, lease_until = NULL,
            confirmation = NULL, confirmed_at = NULL, parts_sent = CASE WHEN confirmation = 'dry_run' THEN 0 ELSE parts_sent END, updated_at = now()
      WHERE id = ANY($1::int[])`,
    [ids],
  );
}

/** Rows a dry run marked sent go back to pending, their parts to be sent from the first. */
export async function reopenDryRuns(tx: pg.PoolClient, ids: number[]): Promise<void> {
  await tx.query(
    `UPDATE wa_outbox SET status = 'pending', attempts = 0, next_attempt_at = now(), parts_sent = 0, wa_message_id = NULL, sent_at = NULL,
            confirmation = NULL, confirmed_at = NULL, last_error = 'put back after a dry run', updated_at = now()
      WHERE id = ANY($1::int[])`,
    [ids],
  );
}

/** An operator resends unconfirmed rows: pending, the parts without a confirmed hand-over to go out again. */
export async function reopenForResend(tx: pg.PoolClient, ids: number[]): Promise<void> {
  await tx.query(
    `UPDATE wa_outbox o
        SET status = 'pending', attempts = 0, next_attempt_at = now(), confirmation = NULL, confirmed_at = NULL,
            last_error = 'resent by an operator: ' || coalesce(o.last_error, 'unconfirmed'), locked_by = NULL, lease_until = NULL,
            parts_sent = (SELECT count(DISTINCT part)::int FROM wa_outbox_sends s WHERE s.outbox_id = o.id AND s.outcome = 'confirmed'),
            updated_at = now()
      WHERE o.id = ANY($1::int[])`,
    [ids],
  );
}

/** An operator cancels rows: never sent. */
export async function markCancelled(tx: pg.PoolClient, ids: number[]): Promise<void> {
  await tx.query(`UPDATE wa_outbox SET status = 'cancelled', updated_at = now() WHERE id = ANY($1::int[])`, [ids]);
}
