/**
 * The dispatcher's statements on wa_outbox: claim due rows under a lease, prove the claim and record
 * the hand-over just before each send, and mark each row's outcome. Every statement checks that this
 * dispatcher still holds the row (`locked_by` and status `sending`), so a row whose lease expired and
 * was taken over by another dispatcher is never sent or marked by its former holder.
 *
 * `attempts` counts tries: a claim costs none; the first hand-over of a claim, or a failure before any
 * hand-over, counts one. A process that dies right after claiming leaves its rows as they were.
 */
import type { Queryable } from '../db/pool.js';
import { withTransaction } from '../db/pool.js';
import type pg from 'pg';
import { priorityName, priorityValue, type OutboxPriority } from './priority.js';

export type PartOutcome = 'handing_over' | 'confirmed' | 'unknown' | 'unconfirmed';

export interface PartState {
  outcome: PartOutcome;
  reason: string | null;
}

/**
 * A sent row's confirmation from its parts' outcomes (what cicero_wa_outbox_confirmation computes in
 * SQL), and the `last_error` that says why it is not confirmed.
 */
export function summariseParts(parts: Iterable<PartState>): { confirmation: 'confirmed' | 'awaiting' | 'unconfirmed'; lastError: string | null } {
  const all = [...parts];
  const unconfirmed = all.find((p) => p.outcome === 'unconfirmed');
  if (unconfirmed) return { confirmation: 'unconfirmed', lastError: unconfirmed.reason };
  const open = all.find((p) => p.outcome === 'unknown' || p.outcome === 'handing_over');
  if (open) return { confirmation: 'awaiting', lastError: `awaiting confirmation: ${open.reason ?? 'no message id'}` };
  return { confirmation: 'confirmed', lastError: null };
}

/** A row the lease recovery marked sent (its last hand-over was under way when its holder stopped). */
export interface RecoveredRow {
  id: number;
  type: string;
  recipient: string;
  sentAt: Date;
}

export interface ClaimedRow {
  id: number;
  recipient: string;
  /** The text; null when it is longer than the claim's limit (it is not even read). */
  content: string | null;
  /** Length of the text in characters; null when it is too long to be worth counting (see contentBytes). */
  contentLength: number | null;
  contentBytes: number;
  type: string;
  /** reply, normal or bulk: the order rows are claimed in (see claimDueRows). */
  priority: OutboxPriority;
  /** Tries before this claim. */
  attempts: number;
  partsSent: number;
  waMessageId: string | null;
  /** Parts already handed over (by an earlier claim), with their outcome: they are never sent again. */
  doneParts: Map<number, PartState>;
  /** How long the row had been due when it was claimed (pickup latency). */
  waitedMs: number;
  /**
   * The document's description when any document column is set (its bytes are read just before the
   * send, see loadDocument); null for a text row. Each field is as stored, null where missing.
   */
  document: ClaimedDocument | null;
}

export interface ClaimedDocument {
  /** At most 201 characters of the stored name (enough to tell it is too long). */
  fileName: string | null;
  mimeType: string | null;
  sha256: string | null;
  /** The stored size, read without reading the bytes; null when there are none. */
  size: number | null;
}

interface ClaimedRecord {
  id: number;
  recipient: string;
  content: string | null;
  content_length: number | null;
  content_bytes: number;
  type: string;
  priority: number;
  attempts: number;
  parts_sent: number;
  wa_message_id: string | null;
  done_parts: Array<{ part: number; outcome: PartOutcome; reason: string | null }> | null;
  waited_ms: number;
  has_document: boolean;
  document_name: string | null;
  document_mime: string | null;
  document_sha256: string | null;
  document_size: number | null;
}

/**
 * "Held by the owner in $2": the row is `sending` and locked by it. Written `(status = 'sending') IS TRUE`
 * on purpose: with a plain `status = 'sending'` the planner may read the row through the lease index (a
 * partial index on exactly that predicate) instead of its primary key, and under a fast drain that
 * index fills with dead entries, making every statement slower than the last.
 */
const HELD_BY_OWNER = "locked_by = $2 AND (status = 'sending') IS TRUE";

/** Hand-over outcomes that count as "this part went to WhatsApp". */
export const HANDED_OVER = ['handing_over', 'confirmed', 'unknown', 'unconfirmed'] as const;

/**
 * "Not held back": a row that follows another (`follows_id`) waits while that one is pending or being
 * sent; once it is sent, failed or cancelled (or gone) it no longer holds the follower back. A lookup by
 * primary key, made only for rows that follow one.
 */
// A scalar look-up by primary key, made only for a row that follows another (a NOT EXISTS may be planned
// as one hashed scan of every pending row per claim); a leader gone (retention) no longer holds it back.
const NOT_HELD_BACK = `(w.follows_id IS NULL OR coalesce((SELECT leader.status FROM wa_outbox leader WHERE leader.id = w.follows_id), 'gone') NOT IN ('pending', 'sending'))`;

/**
 * Claims up to `limit` due pending rows (by priority: replies, then normal rows, then bulk; within a
 * priority oldest due first, then by id), skipping rows another dispatcher has locked and rows held
 * back by the row they follow, and leases them to `owner` for `leaseMs`; returns them replies first,
 * then by id. Attempts
 * are not counted here. The text of a row longer than `maxContentChars` is not read (a 100 MB row costs
 * nothing but its failure), and a document's bytes are not read at all (loadDocument reads them).
 *
 * A follower is never claimed together with the row it follows (that one is pending at the time), so
 * it goes out after it: the drain that marks the leader claims again, and finds the follower.
 *
 * The order is wa_outbox_claim_idx's (session, priority, next_attempt_at, id, pending rows only): the
 * claim reads due rows in that order and stops at its limit, without sorting every due row.
 */
export async function claimDueRows(
  db: Queryable,
  owner: string,
  session: string,
  limit: number,
  leaseMs: number,
  maxContentChars: number,
): Promise<ClaimedRow[]> {
  const { rows } = await db.query<ClaimedRecord>(
    `UPDATE wa_outbox o
        SET status = 'sending', locked_by = $2, lease_until = now() + $3 * interval '1 millisecond', updated_at = now()
       FROM (SELECT w.id FROM wa_outbox w
              WHERE w.status = 'pending' AND w.session = $5 AND w.next_attempt_at <= now() AND ${NOT_HELD_BACK}
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
                   FROM wa_outbox_sends s
                  WHERE s.outbox_id = o.id AND s.outcome IN ('handing_over', 'confirmed', 'unknown', 'unconfirmed')) AS done_parts,
                (o.document_name IS NOT NULL OR o.document_mime IS NOT NULL OR o.document IS NOT NULL OR o.document_sha256 IS NOT NULL) AS has_document,
                left(o.document_name, 201) AS document_name, left(o.document_mime, 256) AS document_mime,
                left(o.document_sha256, 65) AS document_sha256, octet_length(o.document)::float8 AS document_size`,
    [limit, owner, leaseMs, maxContentChars, session],
  );
  return rows
    .map((r) => ({
      id: r.id,
      recipient: r.recipient,
      content: r.content,
      contentLength: r.content_length,
      contentBytes: r.content_bytes,
      type: r.type,
      priority: priorityName(r.priority),
      attempts: r.attempts,
      partsSent: r.parts_sent,
      waMessageId: r.wa_message_id,
      doneParts: new Map((r.done_parts ?? []).map((d) => [d.part, { outcome: d.outcome, reason: d.reason }])),
      waitedMs: r.waited_ms,
      document: r.has_document ? { fileName: r.document_name, mimeType: r.document_mime, sha256: r.document_sha256, size: r.document_size } : null,
    }))
    // Sent in this order: replies first, then by id (the order rows of one priority were written in).
    .sort((a, b) => priorityValue(a.priority) - priorityValue(b.priority) || a.id - b.id);
}

/**
 * A claimed row's document bytes, read just before its send (one document in memory at a time); null
 * when the row is no longer held by `owner` or its bytes are gone or over `maxBytes`.
 */
export async function loadDocument(db: Queryable, owner: string, id: number, maxBytes: number): Promise<Buffer | null> {
  const { rows } = await db.query<{ document: Buffer }>(
    `SELECT document FROM wa_outbox WHERE id = $1 AND ${HELD_BY_OWNER} AND octet_length(document) <= $3`,
    [id, owner, maxBytes],
  );
  return rows[0]?.document ?? null;
}

/**
 * Whether a session has messages waiting to go: due now, or retrying after a failure (a row scheduled for
 * later that was never tried is not waiting), or being sent.
 */
export async function hasWaitingRows(db: Queryable, session: string): Promise<boolean> {
  const { rows } = await db.query<{ waiting: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM wa_outbox
                     WHERE session = $1
                       AND (status = 'sending' OR (status = 'pending' AND (next_attempt_at <= now() OR attempts > 0)))) AS waiting`,
    [session],
  );
  return rows[0]?.waiting === true;
}

/**
 * Rows whose lease expired (their dispatcher died or froze while holding them). A hand-over that was
 * under way has an unknown outcome: it is never repeated. A row whose every part went to WhatsApp is
 * `sent` (awaiting confirmation); any other row is pending again, due now, its attempts unchanged.
 */
export async function recoverExpiredLeases(
  pool: pg.Pool,
  session: string,
  onSent: (tx: pg.PoolClient, rows: RecoveredRow[]) => Promise<void> = async () => undefined,
): Promise<{ pending: number; sent: number }> {
  return withTransaction(pool, async (tx) => {
    // A `sending` row without a lease was written so by another program: nobody holds it.
    const { rows } = await tx.query<{ id: number }>(
      `SELECT id FROM wa_outbox
        WHERE status = 'sending' AND session = $1 AND (lease_until IS NULL OR lease_until < now())
        ORDER BY id FOR UPDATE SKIP LOCKED`,
      [session],
    );
    if (rows.length === 0) return { pending: 0, sent: 0 };
    const ids = rows.map((r) => r.id);
    await tx.query(
      `UPDATE wa_outbox_sends s
          SET outcome = 'unknown', settled_at = now(),
              reason = 'the service holding it stopped during the hand-over (' || s.instance || ')'
        WHERE s.outbox_id = ANY($1::int[]) AND s.outcome = 'handing_over'`,
      [ids],
    );
    const { rows: marked } = await tx.query<{ id: number; type: string; recipient: string; status: string; sent_at: Date | null }>(
      `UPDATE wa_outbox o
          SET status = CASE WHEN done.parts IS NOT NULL AND done.handed_over >= done.parts THEN 'sent' ELSE 'pending' END,
              sent_at = CASE WHEN done.parts IS NOT NULL AND done.handed_over >= done.parts THEN date_trunc('milliseconds', now()) ELSE o.sent_at END,
              confirmation = CASE WHEN done.parts IS NOT NULL AND done.handed_over >= done.parts THEN cicero_wa_outbox_confirmation(o.id) ELSE NULL END,
              parts_sent = coalesce(done.handed_over, o.parts_sent),
              last_error = CASE WHEN done.parts IS NOT NULL AND done.handed_over >= done.parts
                                THEN 'outcome unknown: the dispatcher holding it stopped during the hand-over (' || coalesce(o.locked_by, '?') || ')'
                                ELSE 'lease expired: the dispatcher holding it stopped (' || coalesce(o.locked_by, '?') || ')' END,
              locked_by = NULL, lease_until = NULL, next_attempt_at = now(), updated_at = now()
         FROM (SELECT w.id,
                      (SELECT max(parts) FROM wa_outbox_sends s WHERE s.outbox_id = w.id) AS parts,
                      (SELECT count(DISTINCT part)::int FROM wa_outbox_sends s
                        WHERE s.outbox_id = w.id AND s.outcome IN ('handing_over', 'confirmed', 'unknown', 'unconfirmed')) AS handed_over
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

/**
 * Statuses the service does not use, written by other programs (the seed's code, a hand-made INSERT):
 * NULL and the spellings of pending the seed era used become `pending`, other case variants of a
 * known status become that status (each noting what it was in `last_error`). Whatever is left is
 * counted by status, for the log; `outbox list --status other` shows those rows and `outbox retry`
 * takes them.
 */
export async function normaliseStatuses(db: Queryable): Promise<Array<{ status: string | null; rows: number }>> {
  await db.query(
    `UPDATE wa_outbox
        SET status = CASE
                       WHEN status IS NULL OR lower(btrim(status)) IN ('pending', 'queued', 'retry', 'new', 'waiting') THEN 'pending'
                       WHEN lower(btrim(status)) IN ('canceled', 'cancelled') THEN 'cancelled'
                       ELSE lower(btrim(status))
                     END,
            last_error = CASE WHEN status IS NULL THEN 'status was NULL: read as pending'
                              ELSE 'status was "' || status || '": read as ' ||
                                   CASE WHEN lower(btrim(status)) IN ('pending', 'queued', 'retry', 'new', 'waiting') THEN 'pending'
                                        WHEN lower(btrim(status)) IN ('canceled', 'cancelled') THEN 'cancelled'
                                        ELSE lower(btrim(status)) END
                         END,
            next_attempt_at = now(), updated_at = now()
      WHERE (status IS NULL OR status NOT IN ('pending', 'sending', 'sent', 'failed', 'cancelled'))
        AND (status IS NULL OR lower(btrim(status)) IN ('pending', 'queued', 'retry', 'new', 'waiting', 'canceled', 'cancelled', 'sending', 'sent', 'failed'))`,
  );
  const { rows } = await db.query<{ status: string | null; rows: number }>(
    `SELECT status, count(*)::int AS rows FROM wa_outbox
      WHERE status IS NULL OR status NOT IN ('pending', 'sending', 'sent', 'failed', 'cancelled')
      GROUP BY status ORDER BY status`,
  );
  return rows;
}

/** Pushes the lease of rows still held by `owner` forward. */
export async function extendLeases(db: Queryable, owner: string, ids: number[], leaseMs: number): Promise<void> {
  await db.query(
    `UPDATE wa_outbox SET lease_until = now() + $3 * interval '1 millisecond'
      WHERE id = ANY($1::int[]) AND ${HELD_BY_OWNER}`,
    [ids, owner, leaseMs],
  );
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

export interface HandOver {
  rowId: number;
  owner: string;
  session: string;
  part: number;
  parts: number;
  chatId: string;
  bodySha256: string;
  leaseMs: number;
  /** True for the first hand-over of a claim: it counts the attempt. */
  countAttempt: boolean;
}

/**
 * The proof before a send: if `owner` still holds the row, extends its lease and records the hand-over
 * (outcome `handing_over`) in one statement, and returns the hand-over's id; null when the row is no
 * longer held (nothing may be sent).
 */
export async function recordHandOver(db: Queryable, h: HandOver): Promise<number | null> {
  const { rows } = await db.query<{ id: string }>(
    `WITH held AS (
       UPDATE wa_outbox
          SET lease_until = now() + $3 * interval '1 millisecond', attempts = attempts + $4, updated_at = now()
        WHERE id = $1 AND ${HELD_BY_OWNER}
        RETURNING id)
     INSERT INTO wa_outbox_sends (outbox_id, part, parts, chat_id, body_sha256, instance, session)
     SELECT id, $5, $6, $7, $8, $2, $9 FROM held
     RETURNING id`,
    [h.rowId, h.owner, h.leaseMs, h.countAttempt ? 1 : 0, h.part, h.parts, h.chatId, h.bodySha256, h.session],
  );
  return rows[0] ? Number(rows[0].id) : null;
}

export type Settlement =
  | { outcome: 'confirmed'; messageId: string; reason?: null }
  | { outcome: 'unknown'; reason: string; messageId?: null }
  | { outcome: 'failed'; reason: string; messageId?: null };

/**
 * Settles a hand-over that is not the row's last, and records the row's progress. The hand-over is
 * settled even if the row was taken over meanwhile (the message went to WhatsApp either way).
 */
export async function recordPartOutcome(db: Queryable, owner: string, rowId: number, sendId: number, settlement: Settlement, partsDone: number): Promise<void> {
  await db.query(
    `WITH progress AS (
       UPDATE wa_outbox SET parts_sent = $4, wa_message_id = coalesce($5, wa_message_id), updated_at = now()
        WHERE id = $1 AND ${HELD_BY_OWNER}
        RETURNING id)
     UPDATE wa_outbox_sends
        SET outcome = $6, wa_message_id = $5, reason = $7, settled_at = now()
      WHERE id = $3 AND outcome = 'handing_over'`,
    [rowId, owner, sendId, partsDone, settlement.messageId ?? null, settlement.outcome, settlement.reason ?? null],
  );
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
    `WITH settled AS (
       UPDATE wa_outbox_sends
          SET outcome = $5, wa_message_id = $6, reason = $7, settled_at = now()
        WHERE id = $4 AND outcome = 'handing_over'
        RETURNING id)
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

/** Settles a hand-over as failed (the send was refused before WhatsApp took it), apart from the row. */
export async function settleFailedHandOver(db: Queryable, sendId: number, reason: string): Promise<void> {
  await db.query(
    `UPDATE wa_outbox_sends SET outcome = 'failed', reason = $2, settled_at = now() WHERE id = $1 AND outcome = 'handing_over'`,
    [sendId, reason],
  );
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

/** `failed`: the dead letter, kept with its reason; counts the try if no hand-over did. */
export async function markFailed(db: Queryable, owner: string, id: number, reason: string, countAttempt: boolean): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE wa_outbox
        SET status = 'failed', last_error = $3, attempts = attempts + $4, locked_by = NULL, lease_until = NULL, updated_at = now()
      WHERE id = $1 AND ${HELD_BY_OWNER}`,
    [id, owner, reason, countAttempt ? 1 : 0],
  );
  return rowCount === 1;
}

/**
 * When the dispatcher should next look, though nothing is due now: the earliest retry of a pending
 * row, or the earliest lease of another dispatcher that may expire. Null when there is none. A row
 * held back by the row it follows is not counted: that row's own time (or its sender's next claim)
 * brings the follower along.
 */
export async function nextWakeUp(db: Queryable, owner: string, session: string): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>(
    `SELECT least(
              (SELECT min(w.next_attempt_at) FROM wa_outbox w WHERE w.status = 'pending' AND w.session = $2 AND ${NOT_HELD_BACK}),
              (SELECT min(lease_until) FROM wa_outbox WHERE status = 'sending' AND session = $2 AND locked_by IS DISTINCT FROM $1)
            ) AS at`,
    [owner, session],
  );
  return rows[0]?.at ?? null;
}
