/**
 * Operator actions on wa_outbox (the CLI, the HTTP API, a complaint's retry): retry failed or cancelled
 * rows, cancel pending or failed ones, resend sent ones whose delivery WhatsApp never confirmed, put a
 * dry run's rows back. Each locks the rows, says per id what happened or why nothing did, and wakes the
 * dispatchers; the status changes themselves are row-status.ts's. A message folded into a digest is
 * acted on through its digest (the originals follow it: migration 033's trigger).
 */
import type pg from 'pg';
import { inTransaction } from '../db/pool.js';
import { wakeDispatchers } from './channel.js';
import { supersedeDryRuns, supersedeOpen } from './part-outcomes.js';
import { markCancelled, reopenDryRuns, reopenForResend, reopenRows } from './row-status.js';
import { isKnownStatus, type OutboxStatus } from './vocabulary.js';

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
  /** The digest this row went into (digests.ts): it is acted on through its digest only. */
  digest_id: number | null;
}

/** Locks the rows, keeps those `eligible` says yes to (else its reason), updates them, reports per id. */
async function applyAction(
  db: pg.Pool | pg.PoolClient,
  ids: number[],
  eligible: (row: ActionRow) => true | string,
  update: (tx: pg.PoolClient, ids: number[]) => Promise<void>,
  doneDetail: string,
  wake: boolean,
): Promise<ActionResult[]> {
  return inTransaction(db, async (tx) => {
    const { rows } = await tx.query<ActionRow>('SELECT id, status, confirmation, digest_id FROM wa_outbox WHERE id = ANY($1::int[]) FOR UPDATE', [ids]);
    const verdicts = new Map(rows.map((r) => [r.id, r.digest_id === null ? eligible(r) : inDigest(r.digest_id)]));
    const chosen = rows.filter((r) => verdicts.get(r.id) === true).map((r) => r.id);
    if (chosen.length > 0) {
      await update(tx, chosen);
      if (wake) await wakeDispatchers(tx);
    }
    return ids.map((id) => {
      const verdict = verdicts.get(id);
      if (verdict === undefined) return { id, done: false, detail: 'no such row' };
      return verdict === true ? { id, done: true, detail: doneDetail } : { id, done: false, detail: verdict };
    });
  });
}

/** An original folded into a digest ends with it: the operator acts on the digest (its trigger carries the originals along). */
function inDigest(digestId: number): string {
  return `went into digest ${digestId} and ends with it; act on the digest instead (outbox show ${digestId})`;
}

/** Rows in one of `allowed`, and with `orUnknown` also rows whose status the service does not know. */
function statusIn(allowed: OutboxStatus[], orUnknown = false): (row: ActionRow) => true | string {
  return (row) => {
    if (allowed.includes(row.status as OutboxStatus) || (orUnknown && !isKnownStatus(row.status))) return true;
    return `is ${row.status ?? 'without status'}; only ${allowed.join(' or ')} rows${orUnknown ? ' (or rows with a status the service does not know)' : ''} can be`;
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
    (row) => (row.status === 'sent' && row.confirmation === 'dry_run' ? true : statusIn(['failed', 'cancelled'], true)(row)),
    async (tx, chosen) => {
      await supersedeDryRuns(tx, chosen);
      await reopenRows(tx, chosen);
    },
    'pending again',
    true,
  );
}

/** Every row a dry run marked as sent goes back to pending, in one transaction. Returns how many. */
export async function retryDryRun(db: pg.Pool | pg.PoolClient): Promise<number> {
  return inTransaction(db, async (tx) => {
    const { rows } = await tx.query<{ id: number }>(`SELECT id FROM wa_outbox WHERE status = 'sent' AND confirmation = 'dry_run' FOR UPDATE`);
    const ids = rows.map((r) => r.id);
    if (ids.length === 0) return 0;
    await supersedeDryRuns(tx, ids);
    await reopenDryRuns(tx, ids);
    await wakeDispatchers(tx);
    return ids.length;
  });
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
      await supersedeOpen(tx, chosen);
      await reopenForResend(tx, chosen);
    },
    'pending again: its unconfirmed parts will be sent once more',
    true,
  );
}

/** Pending or failed rows are cancelled: never sent. A row being sent right now cannot be. */
export function cancelRows(db: pg.Pool | pg.PoolClient, ids: number[]): Promise<ActionResult[]> {
  // Wakes the dispatchers: a row that follows a cancelled one is no longer held back.
  return applyAction(db, ids, statusIn(['pending', 'failed']), markCancelled, 'cancelled', true);
}
