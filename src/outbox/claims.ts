/**
 * What a claim reads: a claimed row as the dispatcher sees it, a document's bytes just before its send,
 * whether a session has messages waiting, when to look next, and the lease renewal of held rows. The
 * claim itself changes the row's status and lives with the other status changes (row-status.ts).
 */
import type { Queryable } from '../db/pool.js';
import { priorityName, priorityValue, type OutboxPriority } from './priority.js';
import { HELD_BY_OWNER, WAITING_STATUSES, sqlList, type PartState } from './vocabulary.js';

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

export interface ClaimedRecord {
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
  done_parts: Array<{ part: number; outcome: PartState['outcome']; reason: string | null }> | null;
  waited_ms: number;
  has_document: boolean;
  document_name: string | null;
  document_mime: string | null;
  document_sha256: string | null;
  document_size: number | null;
}

/**
 * "Not held back", for a row `w`: a row that follows another (`follows_id`) waits while that one is
 * waiting (pending or being sent); once it is sent, failed or cancelled (or gone: retention) it no longer
 * holds the follower back. A scalar look-up by primary key, made only for a row that follows another (a
 * NOT EXISTS may be planned as one hashed scan of every pending row per claim).
 */
export const NOT_HELD_BACK = `(w.follows_id IS NULL OR coalesce((SELECT leader.status FROM wa_outbox leader WHERE leader.id = w.follows_id), 'gone') NOT IN ${sqlList(WAITING_STATUSES)})`;

/** Claimed rows as the dispatcher reads them, in the order they are sent: replies first, then by id. */
export function toClaimedRows(rows: ClaimedRecord[]): ClaimedRow[] {
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
 * later that was never tried is not waiting, nor one waiting for its digest), or being sent.
 */
export async function hasWaitingRows(db: Queryable, session: string): Promise<boolean> {
  const { rows } = await db.query<{ waiting: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM wa_outbox
                     WHERE session = $1 AND digest_key IS NULL
                       AND (status = 'sending' OR (status = 'pending' AND (next_attempt_at <= now() OR attempts > 0)))) AS waiting`,
    [session],
  );
  return rows[0]?.waiting === true;
}

/** Pushes the lease of rows still held by `owner` forward. */
export async function extendLeases(db: Queryable, owner: string, ids: number[], leaseMs: number): Promise<void> {
  await db.query(
    `UPDATE wa_outbox SET lease_until = now() + $3 * interval '1 millisecond'
      WHERE id = ANY($1::int[]) AND ${HELD_BY_OWNER}`,
    [ids, owner, leaseMs],
  );
}

/**
 * When the dispatcher should next look, though nothing is due now: the earliest retry or scheduled time
 * of a pending row. Null when there is none. A row waiting for its digest is not counted (it is never claimed). A row held back by the row it follows is not counted: that
 * row's own time (or its sender's next claim) brings the follower along. A row whose holder died is put
 * back by the outbox maintenance, which then wakes every dispatcher.
 */
export async function nextWakeUp(db: Queryable, session: string): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>(
    `SELECT min(w.next_attempt_at) AS at FROM wa_outbox w WHERE w.status = 'pending' AND w.session = $1 AND w.digest_key IS NULL AND ${NOT_HELD_BACK}`,
    [session],
  );
  return rows[0]?.at ?? null;
}
