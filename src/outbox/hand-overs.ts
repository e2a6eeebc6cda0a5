/**
 * After the hand-over: finding open hand-overs (from WhatsApp's own events, by chat), and the
 * transactions that settle them: confirming an unknown outcome, flagging what stays unconfirmed,
 * receipts, a message missing from its chat, and ack -1 (WhatsApp's send error) putting a row back on
 * the retry path. The outcomes are written by part-outcomes.ts and the row's status by row-status.ts;
 * this file holds the order they are taken in.
 *
 * Lock order: a statement that changes a hand-over of a row and the row itself locks the row first;
 * the row's `confirmation` is then recomputed in a later statement of the same transaction, so it
 * reflects every hand-over committed before the lock was granted.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.js';
import { confirmHandOver, flagUnconfirmed, rejectHandOver, settleMissing } from './part-outcomes.js';
import { requeueIncomplete, type RetryPolicy } from './row-status.js';
import { ACK_ERROR_REASON, AWAITING_OUTCOMES, NOT_DELIVERED_REASON, OPEN_OUTCOMES, REJECTABLE_OUTCOMES, receiptAssignments, sqlList, type ChatCheck } from './vocabulary.js';

export { ACK_ERROR_REASON, NOT_DELIVERED_REASON, type ChatCheck, type RetryPolicy };

const OPEN = sqlList(OPEN_OUTCOMES);

/** What a hand-over is matched on: the text with line breaks and outer white space normalised. */
export function bodyFingerprint(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n?/g, '\n').trim()).digest('hex');
}

export interface OpenSend {
  id: number;
  outboxId: number;
  part: number;
  parts: number;
  chatId: string;
  handedOverAt: Date;
  outcome: 'unknown' | 'unconfirmed';
  bodySha256: string;
}

interface OpenSendRecord {
  id: string;
  outbox_id: number;
  part: number;
  parts: number;
  chat_id: string;
  handed_over_at: Date;
  outcome: 'unknown' | 'unconfirmed';
  body_sha256: string;
}

const OPEN_SEND_COLUMNS = 'id, outbox_id, part, parts, chat_id, handed_over_at, outcome, body_sha256';

function toOpenSend(r: OpenSendRecord): OpenSend {
  return {
    id: Number(r.id), outboxId: r.outbox_id, part: r.part, parts: r.parts, chatId: r.chat_id, handedOverAt: r.handed_over_at, outcome: r.outcome, bodySha256: r.body_sha256,
  };
}

/** Hand-overs settled from the chat are at most this old: an older message is not sent again on its own. */
export const SETTLE_MAX_AGE_HOURS = 24;

/**
 * Open hand-overs (unknown or unconfirmed) of the last SETTLE_MAX_AGE_HOURS handed over at least
 * `olderThanMs` ago and not already found missing (an unconfirmed one an operator decides on): those
 * never looked at first, then the longest unlooked-at, then the oldest.
 */
export async function settleCandidates(db: Queryable, session: string, olderThanMs: number, limit: number): Promise<OpenSend[]> {
  const { rows } = await db.query<OpenSendRecord>(
    `SELECT ${OPEN_SEND_COLUMNS} FROM wa_outbox_sends
      WHERE outcome IN ${OPEN} AND session = $1
        AND handed_over_at > now() - $4 * interval '1 hour'
        AND handed_over_at < now() - $2 * interval '1 millisecond'
        AND (chat_check IS NULL OR chat_check->>'result' <> 'not_found')
      ORDER BY chat_check->>'at' NULLS FIRST, handed_over_at, id LIMIT $3`,
    [session, olderThanMs, limit, SETTLE_MAX_AGE_HOURS],
  );
  return rows.map(toOpenSend);
}

/** Keeps what a look into the chat found on a hand-over that stays open (not far enough, unreadable). */
export async function recordChatCheck(db: Queryable, sendId: number, check: ChatCheck): Promise<void> {
  await db.query(`UPDATE wa_outbox_sends SET chat_check = $2 WHERE id = $1 AND outcome IN ${OPEN}`, [sendId, JSON.stringify(check)]);
}

/**
 * A hand-over whose message is not in its chat (the history read reaching back past it, the grace
 * period gone): WhatsApp never took it. With `resend`, it is `rejected` and its row goes back to the
 * retry path for that part (failed when out of attempts); without, or when that part was already sent
 * again once for the same reason, `unconfirmed`, for an operator. The check is kept on the hand-over.
 * Returns the row's status after it (`sending`: a dispatcher holds the row, which is looked at again
 * once it is marked) and whether it is sent again; null when the hand-over was settled meanwhile.
 */
export async function settleNotDelivered(
  pool: pg.Pool,
  send: { id: number; outboxId: number; part: number },
  check: ChatCheck,
  resend: boolean,
  policy: RetryPolicy,
): Promise<{ status: string; resent: boolean } | null> {
  return withTransaction(pool, async (tx) => {
    const row = await lockRow(tx, send.outboxId);
    // Sent again once: a part already found missing and sent again is not sent a third time on its own.
    const { rows: before } = await tx.query(
      `SELECT 1 FROM wa_outbox_sends WHERE outbox_id = $1 AND part = $2 AND id <> $3 AND outcome = 'rejected' AND reason LIKE $4 LIMIT 1`,
      [send.outboxId, send.part, send.id, `${NOT_DELIVERED_REASON}%`],
    );
    const again = before.length > 0;
    const resent = resend && !again;
    const reason = resent
      ? `${NOT_DELIVERED_REASON}: not among this number's messages in ${check.chatId}; sent again`
      : again
        ? `${NOT_DELIVERED_REASON}: not among this number's messages in ${check.chatId}, after it was already sent again once: an operator decides (cicero-wa outbox resend)`
        : `${NOT_DELIVERED_REASON}: not among this number's messages in ${check.chatId}; WA_RESEND_CHECKED=false: an operator decides (cicero-wa outbox resend)`;
    if (!(await settleMissing(tx, send.id, resent, reason, check))) return null;
    if (!resent) {
      await refreshRow(tx, send.outboxId);
      return { status: row?.status ?? 'deleted', resent };
    }
    const status = await requeueIncomplete(tx, send.outboxId, policy, reason);
    return { status: status ?? row?.status ?? 'deleted', resent };
  });
}

/**
 * The open hand-overs an own message may confirm: same text, handed over in the window before it was
 * seen, in one of its chats; oldest first. With `anyPhoneChat`, the chat is not compared among
 * phone-number chats (a message WhatsApp filed under the recipient's LID).
 */
export async function findOpenSends(
  db: Queryable,
  match: { session: string; bodySha256: string; chatIds: string[]; seenAt: Date; windowMs: number; anyPhoneChat?: boolean },
): Promise<OpenSend[]> {
  const { rows } = await db.query<OpenSendRecord>(
    `SELECT ${OPEN_SEND_COLUMNS} FROM wa_outbox_sends
      WHERE outcome IN ${OPEN} AND body_sha256 = $1 AND session = $6
        AND handed_over_at >= $3::timestamptz - $4 * interval '1 millisecond'
        AND handed_over_at <= $3::timestamptz + interval '30 seconds'
        AND (chat_id = ANY($2::text[]) OR ($5 AND chat_id LIKE '%@c.us'))
      ORDER BY handed_over_at, id
      LIMIT 5`,
    [match.bodySha256, match.chatIds, match.seenAt, match.windowMs, match.anyPhoneChat ?? false, match.session],
  );
  return rows.map(toOpenSend);
}

/** When the oldest hand-over still unknown was made; null when there is none. */
export async function oldestUnknown(db: Queryable, session: string): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>(
    `SELECT min(handed_over_at) AS at FROM wa_outbox_sends WHERE outcome = 'unknown' AND session = $1`,
    [session],
  );
  return rows[0]?.at ?? null;
}

/**
 * Recomputes a row's confirmation summary from its hand-overs (the row must be locked by the caller's
 * transaction): `confirmation`, `confirmed_at`, the last part's WhatsApp id, and `last_error` saying
 * why a sent row is not confirmed.
 */
async function refreshRow(tx: pg.PoolClient, outboxId: number): Promise<void> {
  await tx.query(
    `UPDATE wa_outbox o
        SET confirmation = c.confirmation,
            confirmed_at = CASE WHEN c.confirmation = 'confirmed' THEN coalesce(o.confirmed_at, now()) END,
            wa_message_id = coalesce(c.last_id, o.wa_message_id),
            last_error = CASE c.confirmation
                           WHEN 'confirmed' THEN NULL
                           WHEN 'unconfirmed' THEN c.unconfirmed_reason
                           ELSE 'awaiting confirmation: ' || coalesce(c.open_reason, 'no message id')
                         END,
            updated_at = now()
       FROM (SELECT cicero_wa_outbox_confirmation($1) AS confirmation,
                    (SELECT wa_message_id FROM wa_outbox_sends WHERE outbox_id = $1 AND part = parts - 1 AND outcome = 'confirmed' ORDER BY id DESC LIMIT 1) AS last_id,
                    (SELECT reason FROM wa_outbox_sends WHERE outbox_id = $1 AND outcome = 'unconfirmed' ORDER BY part LIMIT 1) AS unconfirmed_reason,
                    (SELECT reason FROM wa_outbox_sends WHERE outbox_id = $1 AND outcome IN ${sqlList(AWAITING_OUTCOMES)} ORDER BY part LIMIT 1) AS open_reason) c
      WHERE o.id = $1 AND o.status = 'sent'`,
    [outboxId],
  );
}

async function lockRow(tx: pg.PoolClient, outboxId: number): Promise<{ status: string | null; attempts: number } | null> {
  const { rows } = await tx.query<{ status: string | null; attempts: number }>('SELECT status, attempts FROM wa_outbox WHERE id = $1 FOR UPDATE', [outboxId]);
  return rows[0] ?? null;
}

/**
 * Confirms an open hand-over with WhatsApp's message id (and the ack the event carried, if any).
 * False when it was settled meanwhile or the id already belongs to another hand-over.
 */
export async function confirmSend(
  pool: pg.Pool,
  send: { id: number; outboxId: number },
  messageId: string,
  ack: number | null,
  check: ChatCheck | null = null,
): Promise<boolean> {
  return withTransaction(pool, async (tx) => {
    await lockRow(tx, send.outboxId);
    if (!(await confirmHandOver(tx, send.id, messageId, ack, check))) return false;
    await refreshRow(tx, send.outboxId);
    await tx.query(
      `UPDATE wa_outbox o
          SET ack = s.ack, delivered_at = s.delivered_at, read_at = s.read_at
         FROM wa_outbox_sends s
        WHERE o.id = $1 AND s.id = $2 AND o.wa_message_id = s.wa_message_id AND s.ack IS NOT NULL`,
      [send.outboxId, send.id],
    );
    return true;
  });
}

/**
 * Sent rows of `session` whose summary is behind their hand-overs (a part was confirmed while the row
 * was still being sent, so its final mark did not see it): recomputed. Returns how many were.
 */
export async function healSummaries(pool: pg.Pool, session: string): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `SELECT id FROM wa_outbox
      WHERE confirmation IN ('awaiting', 'unconfirmed') AND status = 'sent' AND session = $1
        AND cicero_wa_outbox_confirmation(id) IS DISTINCT FROM confirmation
      LIMIT 200`,
    [session],
  );
  for (const { id } of rows) {
    await withTransaction(pool, async (tx) => {
      await lockRow(tx, id);
      await refreshRow(tx, id);
    });
  }
  return rows.length;
}

/** Whether any hand-over already has this WhatsApp id. */
export async function isKnownMessage(db: Queryable, messageId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM wa_outbox_sends WHERE wa_message_id = $1 UNION ALL SELECT 1 FROM wa_outbox WHERE wa_message_id = $1 LIMIT 1', [messageId]);
  return rows.length > 0;
}

/**
 * `session`'s hand-overs unknown for longer than `timeoutMs` become `unconfirmed` (never sent again on
 * their own: an operator decides), with `describe(reason)` as their reason. Returns the rows flagged.
 */
export async function expireUnknown(
  pool: pg.Pool,
  session: string,
  timeoutMs: number,
  describe: (reason: string | null) => string,
): Promise<Array<{ outboxId: number; reason: string }>> {
  const { rows } = await pool.query<{ outbox_id: number }>(
    `SELECT DISTINCT outbox_id FROM wa_outbox_sends
      WHERE outcome = 'unknown' AND session = $2 AND handed_over_at < now() - $1 * interval '1 millisecond' LIMIT 500`,
    [timeoutMs, session],
  );
  const flagged: Array<{ outboxId: number; reason: string }> = [];
  for (const { outbox_id: outboxId } of rows) {
    await withTransaction(pool, async (tx) => {
      await lockRow(tx, outboxId);
      for (const reason of await flagUnconfirmed(tx, outboxId, timeoutMs, describe)) flagged.push({ outboxId, reason });
      await refreshRow(tx, outboxId);
    });
  }
  return flagged;
}

/** Records a receipt on the row and the hand-over with this WhatsApp id; returns the rows it concerned. */
export async function recordAck(db: Queryable, messageId: string, ack: number): Promise<{ sends: number; rowIds: number[] }> {
  const { rows } = await db.query<{ sends: number; row_ids: number[] | null }>(
    `WITH row_ack AS (
       UPDATE wa_outbox SET ${receiptAssignments('$2')}, updated_at = now()
        WHERE wa_message_id = $1 AND $2 >= 0
        RETURNING id),
     send_ack AS (
       UPDATE wa_outbox_sends SET ${receiptAssignments('$2')}
        WHERE wa_message_id = $1 AND $2 >= 0
        RETURNING id)
     SELECT (SELECT count(*)::int FROM send_ack) AS sends, (SELECT array_agg(id) FROM row_ack) AS row_ids`,
    [messageId, ack],
  );
  return { sends: rows[0]?.sends ?? 0, rowIds: rows[0]?.row_ids ?? [] };
}

/**
 * WhatsApp's ack -1 on a hand-over: the message never reached WhatsApp's server. The hand-over becomes
 * `rejected` (unless a receipt already showed it arrived), and a sent row goes back to the retry path
 * for that part: pending after the backoff, or failed when its attempts are used up. Returns the row's
 * status after it (`sending`: the row is still being sent, and is looked at again), or null when the
 * hand-over was not one to reject.
 */
export async function rejectSend(pool: pg.Pool, messageId: string, policy: RetryPolicy): Promise<{ outboxId: number; session: string; status: string } | null> {
  const { rows } = await pool.query<{ id: string; outbox_id: number; session: string }>(
    `SELECT id, outbox_id, session FROM wa_outbox_sends
      WHERE wa_message_id = $1 AND outcome IN ${sqlList(REJECTABLE_OUTCOMES)} AND coalesce(ack, 0) < 1`,
    [messageId],
  );
  const send = rows[0];
  if (!send) return null;
  return withTransaction(pool, async (tx) => {
    const row = await lockRow(tx, send.outbox_id);
    if (!(await rejectHandOver(tx, Number(send.id), ACK_ERROR_REASON))) return null;
    const status = await requeueIncomplete(tx, send.outbox_id, policy, ACK_ERROR_REASON);
    return { outboxId: send.outbox_id, session: send.session, status: status ?? row?.status ?? 'deleted' };
  });
}

/**
 * Sent rows of `session` left with a rejected part (the ack -1 came while the row was still being
 * sent): back on the retry path. Returns how many were.
 */
export async function requeueRejected(pool: pg.Pool, session: string, policy: RetryPolicy): Promise<number> {
  const { rows } = await pool.query<{ outbox_id: number }>(
    `SELECT DISTINCT s.outbox_id FROM wa_outbox_sends s JOIN wa_outbox o ON o.id = s.outbox_id
      WHERE s.outcome = 'rejected' AND o.status = 'sent' AND s.session = $1 AND s.settled_at > now() - interval '1 day'
      LIMIT 100`,
    [session],
  );
  let requeued = 0;
  for (const { outbox_id: outboxId } of rows) {
    const status = await withTransaction(pool, async (tx) => {
      await lockRow(tx, outboxId);
      const { rows: why } = await tx.query<{ reason: string | null }>(
        `SELECT reason FROM wa_outbox_sends WHERE outbox_id = $1 AND outcome = 'rejected' ORDER BY settled_at DESC LIMIT 1`,
        [outboxId],
      );
      return requeueIncomplete(tx, outboxId, policy, why[0]?.reason ?? ACK_ERROR_REASON);
    });
    if (status) requeued++;
  }
  return requeued;
}
