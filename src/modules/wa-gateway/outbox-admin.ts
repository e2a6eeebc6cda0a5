/**
 * Operator actions on wa_outbox: list rows, retry failed or cancelled ones, cancel pending or failed
 * ones, resend sent ones whose delivery WhatsApp never confirmed. Each action reports, per id, what
 * happened and why not when nothing did.
 */
import type pg from 'pg';
import { inTransaction, type Queryable } from '../../db/pool.js';
import { OUTBOX_CHANNEL } from './outbox-listener.js';

export const OUTBOX_STATUSES = ['pending', 'sending', 'sent', 'failed', 'cancelled'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];
/** What `--status` takes: a status, or `other` for the rows whose status is none of them. */
export const OUTBOX_STATUS_FILTERS = [...OUTBOX_STATUSES, 'other'] as const;
export type OutboxStatusFilter = (typeof OUTBOX_STATUS_FILTERS)[number];

const isKnownStatus = (status: string | null) => (OUTBOX_STATUSES as readonly (string | null)[]).includes(status);

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
  /** For sent rows: confirmed, awaiting (an outcome not known yet) or unconfirmed; null otherwise. */
  confirmation: string | null;
  preview: string;
}

export interface ListOptions {
  status?: OutboxStatusFilter;
  /** Only sent rows whose delivery is not confirmed (awaiting or unconfirmed). */
  unconfirmed?: boolean;
  limit: number;
}

export async function listOutbox(pool: pg.Pool, options: ListOptions): Promise<OutboxListRow[]> {
  const { rows } = await pool.query(
    `SELECT id, status, type, recipient, attempts, created_at, sent_at, next_attempt_at, last_error, confirmation,
            left(regexp_replace(content, '\\s+', ' ', 'g'), 60) AS preview
       FROM wa_outbox
      WHERE ($1::text IS NULL OR status = $1
             OR ($1 = 'other' AND (status IS NULL OR status NOT IN ('pending', 'sending', 'sent', 'failed', 'cancelled'))))
        AND (NOT $3 OR confirmation IN ('awaiting', 'unconfirmed'))
      ORDER BY id DESC
      LIMIT $2`,
    [options.status ?? null, options.limit, options.unconfirmed ?? false],
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
    confirmation: r.confirmation,
    preview: r.preview,
  }));
}

export interface ActionResult {
  id: number;
  done: boolean;
  /** What happened, or why nothing did. */
  detail: string;
}

interface ActionRow {
  id: number;
  status: string | null;
  confirmation: string | null;
}

/** Locks the rows, keeps those `eligible` says yes to (else its reason), updates them, reports per id. */
async function applyAction(
  db: pg.Pool | pg.PoolClient,
  ids: number[],
  eligible: (row: ActionRow) => true | string,
  update: (tx: pg.PoolClient, ids: number[]) => Promise<void>,
  doneDetail: string,
  wakeDispatchers: boolean,
): Promise<ActionResult[]> {
  return inTransaction(db, async (tx) => {
    const { rows } = await tx.query<ActionRow>('SELECT id, status, confirmation FROM wa_outbox WHERE id = ANY($1::int[]) FOR UPDATE', [ids]);
    const verdicts = new Map(rows.map((r) => [r.id, eligible(r)]));
    const chosen = rows.filter((r) => verdicts.get(r.id) === true).map((r) => r.id);
    if (chosen.length > 0) {
      await update(tx, chosen);
      if (wakeDispatchers) await tx.query(`NOTIFY ${OUTBOX_CHANNEL}`);
    }
    return ids.map((id) => {
      const verdict = verdicts.get(id);
      if (verdict === undefined) return { id, done: false, detail: 'no such row' };
      return verdict === true ? { id, done: true, detail: doneDetail } : { id, done: false, detail: verdict };
    });
  });
}

/** Rows in one of `allowed`, and with `orUnknown` also rows whose status the service does not know. */
function statusIn(allowed: OutboxStatus[], orUnknown = false): (row: ActionRow) => true | string {
  return (row) => {
    if (allowed.includes(row.status as OutboxStatus) || (orUnknown && !isKnownStatus(row.status))) return true;
    return `is ${row.status ?? 'without status'}; only ${allowed.join(' or ')} rows${orUnknown ? ' (or rows with a status the service does not know)' : ''} can be`;
  };
}

function setColumns(assignments: string): (tx: pg.PoolClient, ids: number[]) => Promise<void> {
  return async (tx, ids) => {
    await tx.query(`UPDATE wa_outbox SET ${assignments}, updated_at = now() WHERE id = ANY($1::int[])`, [ids]);
  };
}

/**
 * Failed or cancelled rows, and rows with a status the service does not know, go back to pending, due
 * now, with their attempts reset (in the caller's transaction, if given one).
 */
export function retryRows(db: pg.Pool | pg.PoolClient, ids: number[]): Promise<ActionResult[]> {
  return applyAction(
    db,
    ids,
    statusIn(['failed', 'cancelled'], true),
    setColumns("status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, locked_by = NULL, lease_until = NULL"),
    'pending again',
    true,
  );
}

/**
 * A sent row that WhatsApp never confirmed (`unconfirmed`) is sent again, by an operator's decision:
 * the parts without a confirmed hand-over go out once more (the person may get them twice).
 */
export function resendRows(db: pg.Pool | pg.PoolClient, ids: number[]): Promise<ActionResult[]> {
  return applyAction(
    db,
    ids,
    (row) => {
      if (row.status === 'sent' && row.confirmation === 'unconfirmed') return true;
      if (row.status === 'sent' && row.confirmation === 'awaiting') return 'is sent and still awaiting confirmation from WhatsApp; it can be resent once it is flagged unconfirmed';
      if (row.status === 'sent') return 'is sent and confirmed by WhatsApp; nothing to resend';
      return `is ${row.status ?? 'without status'}; only sent rows that are unconfirmed can be resent (outbox retry takes failed and cancelled rows)`;
    },
    async (tx, chosen) => {
      await tx.query(
        `UPDATE wa_outbox_sends SET outcome = 'failed', reason = 'superseded: resent by an operator (' || coalesce(reason, 'unconfirmed') || ')', settled_at = now()
          WHERE outbox_id = ANY($1::int[]) AND outcome IN ('unknown', 'unconfirmed')`,
        [chosen],
      );
      await tx.query(
        `UPDATE wa_outbox o
            SET status = 'pending', attempts = 0, next_attempt_at = now(), confirmation = NULL, confirmed_at = NULL,
                last_error = 'resent by an operator: ' || coalesce(o.last_error, 'unconfirmed'), locked_by = NULL, lease_until = NULL,
                parts_sent = (SELECT count(DISTINCT part)::int FROM wa_outbox_sends s WHERE s.outbox_id = o.id AND s.outcome = 'confirmed'),
                updated_at = now()
          WHERE o.id = ANY($1::int[])`,
        [chosen],
      );
    },
    'pending again: its unconfirmed parts will be sent once more',
    true,
  );
}

/** Pending or failed rows are cancelled: never sent. A row being sent right now cannot be. */
export function cancelRows(db: pg.Pool | pg.PoolClient, ids: number[]): Promise<ActionResult[]> {
  return applyAction(db, ids, statusIn(['pending', 'failed']), setColumns("status = 'cancelled'"), 'cancelled', false);
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
