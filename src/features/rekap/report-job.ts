/**
 * The daily, weekly and monthly report jobs: read `recipient, summary` from the period's view (the
 * period passed as a parameter) and enqueue one message per row, deduplicated by job, period and row,
 * so running a period again enqueues nothing new.
 */
import type pg from 'pg';
import type { JobHandler } from '../../jobs.js';
import { enqueue, type OutboxMessage } from '../../outbox/enqueue.js';
import { reportPeriod, type ReportKind } from './periods.js';
import { REPORT_VIEWS, checkView, missingSourceReason } from './report-views.js';

export interface ReportJobOptions {
  pool: pg.Pool;
  timeZone: string;
  /** Send a recap for a period with nothing in it (REKAP_SEND_EMPTY). */
  sendEmpty: boolean;
}

export function reportJob(kind: ReportKind, jobName: string, options: ReportJobOptions): JobHandler {
  const contract = REPORT_VIEWS[kind];
  return async ({ slot, date, logger }) => {
    const { pool } = options;
    const period = reportPeriod(kind, slot, options.timeZone, date);
    const missing = await missingSourceReason(pool, contract);
    if (missing) return { skipped: missing };
    const optional = await checkView(pool, contract);
    const hasClient = optional.has('client_id');
    const emptyFilter = optional.has('post_count') && !options.sendEmpty ? 'AND coalesce(post_count, 0) > 0' : '';
    const { rows } = await pool.query<{ recipient: string | null; summary: string | null; client_id?: string | null }>(
      `SELECT recipient::text AS recipient, summary::text AS summary${hasClient ? ', client_id::text AS client_id' : ''}
         FROM ${contract.view}
        WHERE ${period.column} = $1::date ${emptyFilter}`,
      [period.start],
    );

    const messages: OutboxMessage[] = [];
    for (const row of rows) {
      if (!row.recipient?.trim() || !row.summary?.trim()) {
        logger.warn({ view: contract.view, clientId: row.client_id ?? null, recipient: row.recipient }, 'report row without recipient or summary skipped');
        continue;
      }
      messages.push({
        recipient: row.recipient,
        content: row.summary.replaceAll('\u0000', ''),
        type: jobName,
        dedupKey: `${jobName}:${period.start}:${row.client_id ?? '-'}:${row.recipient.trim()}`,
      });
    }
    const results = await enqueue(pool, messages);
    const enqueued = results.filter((r) => r.inserted).length;
    return { enqueued, detail: `${period.column} ${period.start}: ${rows.length} row(s), ${enqueued} new` };
  };
}
