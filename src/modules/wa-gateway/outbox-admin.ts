/**
 * Operator actions on wa_outbox: list rows, retry failed or cancelled ones, cancel pending or failed
 * ones. Each action reports, per id, what happened and why not when nothing did.
 */
import type pg from 'pg';
import { withTransaction, type Queryable } from '../../db/pool.js';
import { OUTBOX_CHANNEL } from './outbox-listener.js';

export const OUTBOX_STATUSES = ['pending', 'sending', 'sent', 'failed', 'cancelled'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export interface OutboxListRow {
  id: number;
  status: string | null;
  type: string;
  recipient: string;
  attempts: number;
  createdAt: Date | null;
  sentAt: Date | null;
  nextAttemptAt: Date;
  lastError: string | null;
  preview: string;
}

export async function listOutbox(pool: pg.Pool, options: { status?: OutboxStatus; limit: number }): Promise<OutboxListRow[]> {
  const { rows } = await pool.query(
    `SELECT id, status, type, recipient, attempts, created_at, sent_at, next_attempt_at, last_error,
            left(regexp_replace(content, '\\s+', ' ', 'g'), 60) AS preview
       FROM wa_outbox
      WHERE ($1::text IS NULL OR status = $1)
      ORDER BY id DESC
      LIMIT $2`,
    [options.status ?? null, options.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    type: r.type,
    recipient: r.recipient,
    attempts: r.attempts,
    createdAt: r.created_at,
    sentAt: r.sent_at,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    preview: r.preview,
  }));
}

export interface ActionResult {
  id: number;
  done: boolean;
  /** What happened, or why nothing did. */
  detail: string;
}

async function applyAction(
  pool: pg.Pool,
  ids: number[],
  allowedFrom: OutboxStatus[],
  update: string,
  doneDetail: string,
  wakeDispatchers: boolean,
): Promise<ActionResult[]> {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<{ id: number; status: string | null }>(
      'SELECT id, status FROM wa_outbox WHERE id = ANY($1::int[]) FOR UPDATE',
      [ids],
    );
    const statusById = new Map(rows.map((r) => [r.id, r.status]));
    const eligible = rows.filter((r) => allowedFrom.includes(r.status as OutboxStatus)).map((r) => r.id);
    if (eligible.length > 0) {
      await tx.query(`UPDATE wa_outbox SET ${update}, updated_at = now() WHERE id = ANY($1::int[])`, [eligible]);
      if (wakeDispatchers) await tx.query(`NOTIFY ${OUTBOX_CHANNEL}`);
    }
    return ids.map((id) => {
      if (!statusById.has(id)) return { id, done: false, detail: 'no such row' };
      if (eligible.includes(id)) return { id, done: true, detail: doneDetail };
      return { id, done: false, detail: `is ${statusById.get(id) ?? 'without status'}; only ${allowedFrom.join(' or ')} rows can be` };
    });
  });
}

/** Failed or cancelled rows go back to pending, due now, with their attempts reset. */
export function retryRows(pool: pg.Pool, ids: number[]): Promise<ActionResult[]> {
  return applyAction(
    pool,
    ids,
    ['failed', 'cancelled'],
    "status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, locked_by = NULL, lease_until = NULL",
    'pending again',
    true,
  );
}

/** Pending or failed rows are cancelled: never sent. A row being sent right now cannot be. */
export function cancelRows(pool: pg.Pool, ids: number[]): Promise<ActionResult[]> {
  return applyAction(pool, ids, ['pending', 'failed'], "status = 'cancelled'", 'cancelled', false);
}

export interface OutboxRowState {
  id: number;
  status: string | null;
  sentAt: Date | null;
  lastError: string | null;
}

/** The delivery state of some rows (for modules that follow their messages' fate). */
export async function outboxStates(db: Queryable, ids: number[]): Promise<Map<number, OutboxRowState>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ id: number; status: string | null; sent_at: Date | null; last_error: string | null }>(
    'SELECT id, status, sent_at, last_error FROM wa_outbox WHERE id = ANY($1::int[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, { id: r.id, status: r.status, sentAt: r.sent_at, lastError: r.last_error }]));
}
