/**
 * Every statement that writes a hand-over's outcome (wa_outbox_sends.outcome), named by the change it
 * makes: recorded before the send (`handing_over`), settled by the send, confirmed after the fact,
 * rejected (ack -1, or missing from its chat), flagged unconfirmed, interrupted by a stopped service,
 * superseded by an operator's retry or resend. Callers that also change the row hold its lock first
 * (see hand-overs.ts for the order).
 */
import type pg from 'pg';
import type { Queryable } from '../db/pool.js';
import { HELD_BY_OWNER, OPEN_OUTCOMES, heldSessionSql, REJECTABLE_OUTCOMES, handedOverSql, receiptAssignments, sqlList, type ChatCheck, type Settlement } from './vocabulary.js';

const OPEN = sqlList(OPEN_OUTCOMES);

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
  /** The session's fence this process holds (null: a dispatcher outside the service's sessions). */
  fence: number | null;
}

/**
 * The proof before a send: if `owner` still holds the row and the session (its fence, see
 * heldSessionSql), extends the row's lease and records the hand-over (outcome `handing_over`) in one
 * statement, and returns the hand-over's id; null when either is no longer held (nothing may be sent).
 */
export async function recordHandOver(db: Queryable, h: HandOver): Promise<number | null> {
  const { rows } = await db.query<{ id: string }>(
    `WITH held AS (
       UPDATE wa_outbox
          SET lease_until = now() + $3 * interval '1 millisecond', attempts = attempts + $4, updated_at = now()
        WHERE id = $1 AND ${HELD_BY_OWNER} AND ${heldSessionSql('$9', '$2', '$10')}
        RETURNING id)
     INSERT INTO wa_outbox_sends (outbox_id, part, parts, chat_id, body_sha256, instance, session, outcome)
     SELECT id, $5, $6, $7, $8, $2, $9, 'handing_over' FROM held
     RETURNING id`,
    [h.rowId, h.owner, h.leaseMs, h.countAttempt ? 1 : 0, h.part, h.parts, h.chatId, h.bodySha256, h.session, h.fence],
  );
  return rows[0] ? Number(rows[0].id) : null;
}

/**
 * A hand-over settled by its send, as a statement a caller makes part of its own (a CTE named
 * `settled`): $4 the hand-over, $5 the outcome, $6 WhatsApp's id, $7 the reason. The row's final mark
 * (row-status.ts, markSent) settles its last part this way, in the statement that marks it sent.
 */
export const SETTLE_LAST_PART = `settled AS (
       UPDATE wa_outbox_sends
          SET outcome = $5, wa_message_id = $6, reason = $7, settled_at = now()
        WHERE id = $4 AND outcome = 'handing_over'
        RETURNING id)`;

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

/** Settles a hand-over as failed (the send was refused before WhatsApp took it), apart from the row. */
export async function settleFailedHandOver(db: Queryable, sendId: number, reason: string): Promise<void> {
  await db.query(
    `UPDATE wa_outbox_sends SET outcome = 'failed', reason = $2, settled_at = now() WHERE id = $1 AND outcome = 'handing_over'`,
    [sendId, reason],
  );
}

/** Hand-overs under way when the service holding their rows stopped: their outcome is unknown. */
export async function markInterrupted(tx: pg.PoolClient, rowIds: number[]): Promise<void> {
  await tx.query(
    `UPDATE wa_outbox_sends s
        SET outcome = 'unknown', settled_at = now(),
            reason = 'the service holding it stopped during the hand-over (' || s.instance || ')'
      WHERE s.outbox_id = ANY($1::int[]) AND s.outcome = 'handing_over'`,
    [rowIds],
  );
}

/**
 * An open hand-over confirmed with WhatsApp's id (and the ack the event carried, if any). False when it
 * was settled meanwhile or the id already belongs to another hand-over.
 */
export async function confirmHandOver(tx: pg.PoolClient, sendId: number, messageId: string, ack: number | null, check: ChatCheck | null): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE wa_outbox_sends
        SET outcome = 'confirmed', wa_message_id = $2, settled_at = now(), chat_check = coalesce($4::jsonb, chat_check),
            ${receiptAssignments('coalesce($3::int, -1)')}
      WHERE id = $1 AND outcome IN ${OPEN}
        AND NOT EXISTS (SELECT 1 FROM wa_outbox_sends WHERE wa_message_id = $2)`,
    [sendId, messageId, ack, check ? JSON.stringify(check) : null],
  );
  return rowCount === 1;
}

/** WhatsApp's ack -1 on a hand-over that had not arrived: `rejected`. False when it was not one to reject. */
export async function rejectHandOver(tx: pg.PoolClient, sendId: number, reason: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE wa_outbox_sends SET outcome = 'rejected', reason = $2, ack = -1, settled_at = now()
      WHERE id = $1 AND outcome IN ${sqlList(REJECTABLE_OUTCOMES)} AND coalesce(ack, 0) < 1`,
    [sendId, reason],
  );
  return rowCount === 1;
}

/**
 * An open hand-over found missing from its chat: `rejected` when it is sent again, `unconfirmed` when an
 * operator decides; the check is kept. False when it was settled meanwhile.
 */
export async function settleMissing(tx: pg.PoolClient, sendId: number, resent: boolean, reason: string, check: ChatCheck): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE wa_outbox_sends SET outcome = $2, reason = $3, chat_check = $4, settled_at = now()
      WHERE id = $1 AND outcome IN ${OPEN}`,
    [sendId, resent ? 'rejected' : 'unconfirmed', reason, JSON.stringify({ ...check, resent })],
  );
  return rowCount === 1;
}

/**
 * The row's hand-overs unknown for longer than `timeoutMs` become `unconfirmed` (never sent again on
 * their own), with `describe(reason)` as their reason; the row's lock is held by the caller. Returns
 * the reasons written.
 */
export async function flagUnconfirmed(tx: pg.PoolClient, outboxId: number, timeoutMs: number, describe: (reason: string | null) => string): Promise<string[]> {
  const { rows } = await tx.query<{ id: string; reason: string | null }>(
    `SELECT id, reason FROM wa_outbox_sends
      WHERE outbox_id = $1 AND outcome = 'unknown' AND handed_over_at < now() - $2 * interval '1 millisecond' FOR UPDATE`,
    [outboxId, timeoutMs],
  );
  const reasons: string[] = [];
  for (const send of rows) {
    const reason = describe(send.reason);
    await tx.query(`UPDATE wa_outbox_sends SET outcome = 'unconfirmed', reason = $2, settled_at = now() WHERE id = $1`, [send.id, reason]);
    reasons.push(reason);
  }
  return reasons;
}

/** A dry run's hand-overs of these rows never reached WhatsApp: they stop counting as sent parts. */
export async function supersedeDryRuns(tx: pg.PoolClient, rowIds: number[]): Promise<void> {
  await tx.query(
    `UPDATE wa_outbox_sends s SET outcome = 'failed', reason = 'dry run: logged, not sent to WhatsApp', settled_at = now()
       FROM wa_outbox o
      WHERE s.outbox_id = o.id AND o.id = ANY($1::int[]) AND o.confirmation = 'dry_run' AND ${handedOverSql('s')}`,
    [rowIds],
  );
}

/** An operator resends these rows: their open hand-overs are superseded (their parts go out once more). */
export async function supersedeOpen(tx: pg.PoolClient, rowIds: number[]): Promise<void> {
  await tx.query(
    `UPDATE wa_outbox_sends SET outcome = 'failed', reason = 'superseded: resent by an operator (' || coalesce(reason, 'unconfirmed') || ')', settled_at = now()
      WHERE outbox_id = ANY($1::int[]) AND outcome IN ${OPEN}`,
    [rowIds],
  );
}
