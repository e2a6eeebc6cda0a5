/**
 * The daily, weekly and monthly report jobs: one recap per unit with a WhatsApp group, enqueued with a
 * dedup key of job, period, unit and group, so running a period again enqueues nothing new.
 *
 * The recap is made from Cicero_V2's tables (recap-numbers.ts, recap-text.ts), unless an operator has
 * created the period's view (daily_report_view, …): then its `recipient, summary` rows are sent as they
 * are (docs/report-views.md).
 *
 * Weekly and monthly, each unit's text is followed by its workbook (REKAP_ATTACH_EXCEL): a second
 * outbox message with its own dedup key (the text's and `:xlsx`) that is sent only after the text. A
 * workbook already in the outbox is not built again. Units are handled one batch at a time, so memory
 * holds one batch's workbooks.
 */
import type pg from 'pg';
import type { JobHandler, JobResult } from '../../jobs.js';
import type { Logger } from '../../lib/logger.js';
import { enqueue, existingDedupKeys, type OutboxMessage } from '../../outbox/enqueue.js';
import { reportPeriod, type ReportKind, type ReportPeriod } from './periods.js';
import { unitWorkbook } from './recap-export.js';
import { recapNumbers, UNITS_PER_STATEMENT, type RecapNumbers, type UnitNumbers } from './recap-numbers.js';
import { periodWords, recapText } from './recap-text.js';
import { REPORT_VIEWS, checkView, engagementSource } from './report-views.js';

export interface ReportJobOptions {
  pool: pg.Pool;
  timeZone: string;
  /** Send a recap for a period with nothing in it (REKAP_SEND_EMPTY). */
  sendEmpty: boolean;
  /** Each unit's workbook after its weekly and monthly text (REKAP_ATTACH_EXCEL). */
  attachExcel: boolean;
  /** WA_DOCUMENT_MAX_BYTES: a workbook larger than this is refused by the outbox. */
  documentMaxBytes?: number;
}

interface Recap {
  /** The text message. */
  text: OutboxMessage;
  /** The unit whose workbook follows it (weekly and monthly, when asked for). */
  unit: UnitNumbers | null;
}

const CAPTION_TITLES = { weekly: 'Rekap Mingguan Engagement', monthly: 'Rekap Bulanan Engagement' } as const;

/**
 * Enqueues the recaps a batch at a time: the texts, and after each the unit's workbook (built only when
 * its dedup key is not in the outbox yet).
 */
async function enqueueRecaps(kind: ReportKind, recaps: Recap[], numbers: RecapNumbers | null, options: ReportJobOptions): Promise<number> {
  const { pool } = options;
  let enqueued = 0;
  for (let i = 0; i < recaps.length; i += UNITS_PER_STATEMENT) {
    const batch = recaps.slice(i, i + UNITS_PER_STATEMENT);
    // Recaps are bulk: a reply to someone who just wrote goes out before them.
    const messages: OutboxMessage[] = batch.map((r) => ({ ...r.text, priority: 'bulk' }));
    if (numbers && kind !== 'daily') {
      const existing = await existingDedupKeys(pool, batch.filter((r) => r.unit).map((r) => `${r.text.dedupKey}:xlsx`));
      for (const { text, unit } of batch) {
        const key = `${text.dedupKey}:xlsx`;
        if (!unit || existing.has(key)) continue;
        const book = await unitWorkbook(numbers, unit, kind);
        messages.push({
          recipient: text.recipient,
          content: `*${CAPTION_TITLES[kind]}*\n*${unit.name}*\n${periodWords(kind, numbers.from, numbers.to)}\nRincian per personil dan per hari (Instagram dan TikTok).`,
          type: text.type,
          dedupKey: key,
          follows: text.dedupKey!,
          priority: 'bulk',
          document: { fileName: book.fileName, mimeType: book.mimeType, bytes: book.bytes },
        });
      }
    }
    enqueued += (await enqueue(pool, messages, { ...(options.documentMaxBytes ? { documentMaxBytes: options.documentMaxBytes } : {}) })).filter((r) => r.inserted).length;
  }
  return enqueued;
}

const dedupKey = (job: string, period: ReportPeriod, clientId: string | null, recipient: string) =>
  `${job}:${period.start}:${clientId ?? '-'}:${recipient.trim()}`;

/** The recaps made by the service: every active unit whose group is a WhatsApp group. */
async function fromTables(kind: ReportKind, job: string, period: ReportPeriod, options: ReportJobOptions): Promise<{ recaps: Recap[]; numbers: RecapNumbers; detail: string }> {
  // Each person's numbers only for a workbook; the text needs the counts.
  const numbers = await recapNumbers(options.pool, { from: period.start, to: period.end, withPeople: options.attachExcel && kind !== 'daily' });
  const recaps: Recap[] = [];
  for (const unit of numbers.units) {
    const group = unit.group?.trim();
    if (!group?.endsWith('@g.us')) continue;
    if (!options.sendEmpty && unit.posts.instagram + unit.posts.tiktok === 0) continue;
    recaps.push({ text: { recipient: group, content: recapText(kind, unit, period.start, period.end), type: job, dedupKey: dedupKey(job, period, unit.clientId, group) }, unit });
  }
  const workbooks = options.attachExcel && kind !== 'daily' ? ' with workbook' : '';
  return { recaps, numbers, detail: `${period.column} ${period.start}: ${numbers.units.length} unit(s), ${recaps.length} recap(s)${workbooks}` };
}

/**
 * The rows of an operator's own view, sent as they are; a row naming its unit (client_id) gets that
 * unit's workbook after it, where Cicero_V2's tables are there to make one.
 */
async function fromView(kind: ReportKind, job: string, period: ReportPeriod, options: ReportJobOptions, logger: Logger, tables: boolean): Promise<{ recaps: Recap[]; numbers: RecapNumbers | null; detail: string }> {
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
  const wanted = [...new Set(rows.map((r) => r.client_id).filter((id): id is string => !!id))];
  const numbers = tables && wanted.length > 0 && options.attachExcel && kind !== 'daily' ? await recapNumbers(options.pool, { from: period.start, to: period.end, clientIds: wanted }) : null;
  const units = new Map((numbers?.units ?? []).map((u) => [u.clientId, u]));
  const recaps: Recap[] = [];
  for (const row of rows) {
    if (!row.recipient?.trim() || !row.summary?.trim()) {
      logger.warn({ view: contract.view, clientId: row.client_id ?? null, recipient: row.recipient }, 'report row without recipient or summary skipped');
      continue;
    }
    const text = { recipient: row.recipient, content: row.summary.replaceAll('\u0000', ''), type: job, dedupKey: dedupKey(job, period, row.client_id ?? null, row.recipient) };
    recaps.push({ text, unit: (row.client_id && units.get(row.client_id)) || null });
  }
  return { recaps, numbers, detail: `${period.column} ${period.start} from ${contract.view}: ${rows.length} row(s)` };
}

export function reportJob(kind: ReportKind, jobName: string, options: ReportJobOptions): JobHandler {
  return async ({ slot, date, logger }): Promise<JobResult> => {
    const period = reportPeriod(kind, slot, options.timeZone, date);
    const source = await engagementSource(options.pool, REPORT_VIEWS[kind]);
    if ('skipped' in source) return { skipped: source.skipped };
    const made = source.from === 'view' ? await fromView(kind, jobName, period, options, logger, source.tables) : await fromTables(kind, jobName, period, options);
    const enqueued = await enqueueRecaps(kind, made.recaps, options.attachExcel ? made.numbers : null, options);
    return { enqueued, detail: `${made.detail}, ${enqueued} new` };
  };
}
