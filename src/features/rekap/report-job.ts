/**
 * The daily, weekly and monthly report jobs: one recap per unit with a WhatsApp group, enqueued with a
 * dedup key of job, period, unit and group, so running a period again enqueues nothing new.
 *
 * The recap is made from Cicero_V2's tables (recap-numbers.ts, recap-text.ts), unless an operator has
 * created the period's view (daily_report_view, …): then its `recipient, summary` rows are sent as they
 * are (docs/report-views.md).
 */
import type pg from 'pg';
import type { JobHandler, JobResult } from '../../jobs.js';
import type { Logger } from '../../lib/logger.js';
import { enqueue, type OutboxMessage } from '../../outbox/enqueue.js';
import { reportPeriod, type ReportKind, type ReportPeriod } from './periods.js';
import { recapNumbers } from './recap-numbers.js';
import { recapText } from './recap-text.js';
import { REPORT_VIEWS, checkView, engagementSource } from './report-views.js';

export interface ReportJobOptions {
  pool: pg.Pool;
  timeZone: string;
  /** Send a recap for a period with nothing in it (REKAP_SEND_EMPTY). */
  sendEmpty: boolean;
}

const dedupKey = (job: string, period: ReportPeriod, clientId: string | null, recipient: string) =>
  `${job}:${period.start}:${clientId ?? '-'}:${recipient.trim()}`;

/** The recaps made by the service: every active unit whose group is a WhatsApp group. */
async function fromTables(kind: ReportKind, job: string, period: ReportPeriod, options: ReportJobOptions): Promise<{ messages: OutboxMessage[]; detail: string }> {
  const numbers = await recapNumbers(options.pool, { from: period.start, to: period.end });
  const messages: OutboxMessage[] = [];
  for (const unit of numbers.units) {
    const group = unit.group?.trim();
    if (!group?.endsWith('@g.us')) continue;
    if (!options.sendEmpty && unit.posts.instagram + unit.posts.tiktok === 0) continue;
    messages.push({ recipient: group, content: recapText(kind, unit, period.start, period.end), type: job, dedupKey: dedupKey(job, period, unit.clientId, group) });
  }
  return { messages, detail: `${period.column} ${period.start}: ${numbers.units.length} unit(s), ${messages.length} recap(s)` };
}

/** The rows of an operator's own view, sent as they are. */
async function fromView(kind: ReportKind, job: string, period: ReportPeriod, options: ReportJobOptions, logger: Logger): Promise<{ messages: OutboxMessage[]; detail: string }> {
  const contract = REPORT_VIEWS[kind];
  const optional = await checkView(options.pool, contract);
  const hasClient = optional.has('client_id');
  const emptyFilter = optional.has('post_count') && !options.sendEmpty ? 'AND coalesce(post_count, 0) > 0' : '';
  const { rows } = await options.pool.query<{ recipient: string | null; summary: string | null; client_id?: string | null }>(
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
      type: job,
      dedupKey: dedupKey(job, period, row.client_id ?? null, row.recipient),
    });
  }
  return { messages, detail: `${period.column} ${period.start} from ${contract.view}: ${rows.length} row(s)` };
}

export function reportJob(kind: ReportKind, jobName: string, options: ReportJobOptions): JobHandler {
  return async ({ slot, date, logger }): Promise<JobResult> => {
    const period = reportPeriod(kind, slot, options.timeZone, date);
    const source = await engagementSource(options.pool, REPORT_VIEWS[kind]);
    if ('skipped' in source) return { skipped: source.skipped };
    const { messages, detail } = source.from === 'view' ? await fromView(kind, jobName, period, options, logger) : await fromTables(kind, jobName, period, options);
    const results = await enqueue(options.pool, messages);
    const enqueued = results.filter((r) => r.inserted).length;
    return { enqueued, detail: `${detail}, ${enqueued} new` };
  };
}
