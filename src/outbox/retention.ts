/**
 * Outbox retention: sent and cancelled rows older than OUTBOX_RETENTION_DAYS are deleted, in batches of
 * at most `batchSize` rows, each batch one statement in its own short transaction, until none is left
 * or the run's time budget is used (the next run goes on). Their hand-over records (wa_outbox_sends) go
 * with them (the delete trigger of migration 007); a module row that pointed at a deleted message (a complaint's reply) keeps its
 * status with no reply row (the foreign key sets it NULL).
 *
 * Kept, whatever their age: pending and sending rows; failed rows (the dead letter) and rows of a status
 * the service does not know, until an operator acts; sent rows whose delivery WhatsApp never confirmed
 * (awaiting, unconfirmed: an operator decides on those with `outbox resend`); and whatever a module's
 * keep rule says it still needs (the complaints module: a reply a complaint still waits on). A row counts as old when it was both created and last changed before the cutoff.
 * Each batch reads wa_outbox_retention_idx (sent and cancelled rows by created_at, migration 013) and
 * skips rows another transaction holds, so it never waits on the dispatcher.
 */
import type pg from 'pg';
import type { JobHandler } from '../jobs.js';

/**
 * What a module that follows its messages still needs from the outbox: an SQL condition on the
 * candidate row `r` (a wa_outbox row), true while the row must be kept. The module registers it with the
 * retention job (the composition root hands it over); the outbox does not know the module's tables.
 */
export interface RetentionKeepRule {
  keepWhile: string;
}

export interface RetentionOptions {
  pool: pg.Pool;
  /** OUTBOX_RETENTION_DAYS. */
  days: number;
  /** The modules' rules: a row any of them keeps is not deleted. */
  keep?: readonly RetentionKeepRule[];
  /** Rows per statement. */
  batchSize?: number;
  /** A run stops starting batches after this long. */
  budgetMs?: number;
}

export interface RetentionResult {
  deleted: number;
  /** DELETE statements run (the last one deleted fewer than a batch, or the budget ran out). */
  statements: number;
  /** The budget ran out with rows possibly left. */
  more: boolean;
}

export const RETENTION_BATCH_SIZE = 1000;
export const RETENTION_BUDGET_MS = 60_000;

/** One batch, keeping what `keep` says: $1 now, $2 days, $3 rows at most. */
export function retentionDelete(keep: readonly RetentionKeepRule[] = []): string {
  return `
  DELETE FROM wa_outbox o
   WHERE o.id IN (
     SELECT r.id FROM wa_outbox r
      WHERE r.status IN ('sent', 'cancelled')
        AND r.created_at < ($1::timestamptz - make_interval(days => $2::int))::timestamp
        AND r.updated_at < $1::timestamptz - make_interval(days => $2::int)
        AND r.confirmation IS DISTINCT FROM 'awaiting' AND r.confirmation IS DISTINCT FROM 'unconfirmed'
        ${keep.map((rule) => `AND NOT (${rule.keepWhile})`).join('\n        ')}
      ORDER BY r.created_at, r.id
      LIMIT $3
      FOR UPDATE SKIP LOCKED)`;
}

/** Deletes what retention allows as of `now`, batch by batch. */
export async function deleteExpiredOutbox(options: RetentionOptions, now: Date): Promise<RetentionResult> {
  const batchSize = options.batchSize ?? RETENTION_BATCH_SIZE;
  const budgetMs = options.budgetMs ?? RETENTION_BUDGET_MS;
  const started = performance.now();
  const statement = retentionDelete(options.keep);
  let deleted = 0;
  let statements = 0;
  for (;;) {
    // One statement is its own transaction: each batch commits (and releases its locks) at once.
    const { rowCount } = await options.pool.query(statement, [now, options.days, batchSize]);
    statements++;
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < batchSize) return { deleted, statements, more: false };
    if (performance.now() - started >= budgetMs) return { deleted, statements, more: true };
  }
}

/** The outbox-retention job. */
export function outboxRetentionJob(options: RetentionOptions): JobHandler {
  return async ({ clock }) => {
    const result = await deleteExpiredOutbox(options, clock.now());
    const more = result.more ? '; the time budget ran out, the next run goes on' : '';
    return {
      detail: `deleted ${result.deleted} sent or cancelled message(s) older than ${options.days} day(s) in ${result.statements} statement(s)${more}`,
    };
  };
}
