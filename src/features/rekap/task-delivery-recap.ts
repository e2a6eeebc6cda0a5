/**
 * The task delivery recap: the deliveries in task_delivery_recap_view since the last run, one message
 * per recipient (the unit's operator). The watermark (cicero_wa_watermarks) moves in the transaction
 * that enqueues, and is locked for that transaction, so across crashes and instances every delivery is
 * recapped exactly once.
 *
 * Deliveries are grouped by minute. A run takes the minutes from the watermark up to, not including,
 * the minute before the current one: only complete minutes, and a whole minute's grace for writes
 * still committing.
 *
 * The view is the operator's contract and is read as it is, unless it is the service's own (migration
 * 013 marks it): then the run reads cicero_wa_task_deliveries(from, upTo), the function that view is
 * made of, so the window is a range on tasks.created_at that an index serves instead of a read of every
 * task ever delivered. Same rows, same wording, same order.
 */
import type pg from 'pg';
import type { JobHandler } from '../../jobs.js';
import { withTransaction, type Queryable } from '../../db/pool.js';
import { enqueue, type OutboxMessage } from '../../outbox/enqueue.js';
import { localTimestamp } from './periods.js';
import { REPORT_VIEWS, checkView, missingSourceReason } from './report-views.js';

export const TASK_RECAP_JOB = 'task-delivery-recap';
/** A first run looks back this far. */
const FIRST_RUN_LOOKBACK_MS = 24 * 60 * 60 * 1000;

export interface TaskRecapOptions {
  pool: pg.Pool;
  timeZone: string;
}

/** The statement that reads a window's deliveries ($1 from, $2 up to), from the service's own view's function or from the view. */
export function taskDeliveriesQuery(ownView: boolean): string {
  const source = ownView
    ? 'cicero_wa_task_deliveries($1::timestamp, $2::timestamp)'
    : `${REPORT_VIEWS.taskDelivery.view} WHERE delivered_at >= $1::timestamp AND delivered_at < $2::timestamp`;
  return `SELECT recipient::text AS recipient, summary::text AS summary FROM ${source} ORDER BY delivered_at, summary`;
}

/** Whether task_delivery_recap_view is the service's own, unchanged since it was marked (migration 013). */
export async function isOwnTaskView(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ own: boolean | null }>('SELECT cicero_wa_task_view_is_own() AS own');
  return rows[0]?.own === true;
}

/** Whether Cicero_V2's tasks table has a usable index whose first column is created_at (null: no tasks table). */
export async function tasksCreatedAtIndexed(db: Queryable): Promise<boolean | null> {
  const { rows } = await db.query<{ indexed: boolean | null }>(
    `SELECT CASE WHEN to_regclass('tasks') IS NULL THEN NULL ELSE EXISTS (
              SELECT 1 FROM pg_index i
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
               WHERE i.indrelid = to_regclass('tasks') AND a.attname = 'created_at' AND i.indisvalid AND i.indpred IS NULL)
            END AS indexed`,
  );
  return rows[0]?.indexed ?? null;
}

function header(from: string, to: string): string {
  return `Mohon ijin Komandan,\n\n*Rekap Pengiriman Tugas*\n${from.slice(0, 16)} s.d. ${to.slice(0, 16)}\n\n`;
}

export function taskDeliveryRecapJob(options: TaskRecapOptions): JobHandler {
  const contract = REPORT_VIEWS.taskDelivery;
  return async ({ clock }) => {
    const { pool, timeZone } = options;
    const missing = await missingSourceReason(pool, contract);
    if (missing) return { skipped: missing };
    await checkView(pool, contract);
    const ownView = await isOwnTaskView(pool);
    const now = clock.now();
    const upTo = localTimestamp(new Date(Math.floor(now.getTime() / 60_000) * 60_000 - 60_000), timeZone);
    const firstFrom = localTimestamp(new Date(now.getTime() - FIRST_RUN_LOOKBACK_MS), timeZone);

    return withTransaction(pool, async (tx) => {
      await tx.query(
        `INSERT INTO cicero_wa_watermarks (job, position) VALUES ($1, $2::timestamp) ON CONFLICT (job) DO NOTHING`,
        [TASK_RECAP_JOB, firstFrom],
      );
      const { rows: marks } = await tx.query<{ position: string }>(
        `SELECT to_char(position, 'YYYY-MM-DD HH24:MI:SS') AS position FROM cicero_wa_watermarks WHERE job = $1 FOR UPDATE`,
        [TASK_RECAP_JOB],
      );
      const from = marks[0]!.position;
      if (from >= upTo) return { enqueued: 0, detail: `nothing new since ${from}` };

      const { rows } = await tx.query<{ recipient: string | null; summary: string | null }>(taskDeliveriesQuery(ownView), [from, upTo]);
      const byRecipient = new Map<string, string[]>();
      for (const row of rows) {
        if (!row.recipient?.trim() || !row.summary?.trim()) continue;
        const key = row.recipient.trim();
        byRecipient.set(key, [...(byRecipient.get(key) ?? []), row.summary]);
      }
      const messages: OutboxMessage[] = [...byRecipient].map(([recipient, lines]) => ({
        recipient,
        content: `${header(from, upTo)}${lines.join('\n')}\n\n_Pesan otomatis Cicero_`,
        type: TASK_RECAP_JOB,
        dedupKey: `${TASK_RECAP_JOB}:${from}:${upTo}:${recipient}`,
        priority: 'bulk',
      }));
      const results = await enqueue(tx, messages);
      await tx.query('UPDATE cicero_wa_watermarks SET position = $2::timestamp, updated_at = now() WHERE job = $1', [TASK_RECAP_JOB, upTo]);
      const enqueued = results.filter((r) => r.inserted).length;
      return { enqueued, detail: `deliveries from ${from} to before ${upTo}: ${rows.length}` };
    });
  };
}
