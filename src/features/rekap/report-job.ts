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
 * workbook already in the outbox is not built again. The numbers are read a batch of units at a time
 * (recapNumberBatches): the batch's texts are enqueued, then its workbooks one unit at a time, each
 * built in a worker thread (workbook-builder.ts), enqueued and dropped before the next. Memory holds one
 * batch's personnel and one workbook whatever the number of units, and the event loop stays free while
 * a workbook is built.
 */
import type pg from 'pg';
import type { JobHandler, JobResult } from '../../jobs.js';
import type { Logger } from '../../lib/logger.js';
import { OutboxValidationError, enqueue, existingDedupKeys, type OutboxMessage } from '../../outbox/enqueue.js';
import { reportPeriod, type ReportKind, type ReportPeriod } from './periods.js';
import { recapNumberBatches, UNITS_PER_STATEMENT, type RecapBatch, type UnitNumbers } from './recap-numbers.js';
import { periodWords, recapText } from './recap-text.js';
import { REPORT_VIEWS, checkView, engagementSource } from './report-views.js';
import { workbookThread, type WorkbookBuilder, type WorkbookKind } from './workbook-builder.js';

export interface ReportJobOptions {
  pool: pg.Pool;
  timeZone: string;
  /** Send a recap for a period with nothing in it (REKAP_SEND_EMPTY). */
  sendEmpty: boolean;
  /** Each unit's workbook after its weekly and monthly text (REKAP_ATTACH_EXCEL). */
  attachExcel: boolean;
  /** WA_DOCUMENT_MAX_BYTES: a workbook larger than this is refused by the outbox. */
  documentMaxBytes?: number;
  /** Where a run's workbooks are built: by default a worker thread of its own (tests and the bench watch it). */
  workbookBuilder?: (logger: Logger) => WorkbookBuilder;
}

interface Recap {
  /** The text message. */
  text: OutboxMessage;
  /** The unit whose workbook follows it (weekly and monthly, when asked for). */
  unit: UnitNumbers | null;
}

interface Run {
  kind: ReportKind;
  job: string;
  period: ReportPeriod;
  options: ReportJobOptions;
  logger: Logger;
  /** Null when the run sends no workbook (daily, or REKAP_ATTACH_EXCEL=false). */
  workbooks: { kind: WorkbookKind; builder: WorkbookBuilder } | null;
  /** Texts the outbox refused (left out alone, with the reason): their workbooks are not made. */
  refused: Array<{ dedupKey: string; reason: string }>;
}

const isRefused = (run: Run, text: OutboxMessage) => run.refused.some((r) => r.dedupKey === text.dedupKey);

const CAPTION_TITLES = { weekly: 'Rekap Mingguan Engagement', monthly: 'Rekap Bulanan Engagement' } as const;

const enqueueOptions = (options: ReportJobOptions) => (options.documentMaxBytes ? { documentMaxBytes: options.documentMaxBytes } : {});

/**
 * Enqueues texts UNITS_PER_STATEMENT a statement. Recaps are bulk: a reply to someone who just wrote goes
 * out before them. A text the outbox refuses (an operator's view row with a recipient that is no number,
 * a summary over WhatsApp's limit) is left out alone, logged and counted; the others are enqueued.
 */
async function enqueueTexts(run: Run, texts: readonly OutboxMessage[]): Promise<number> {
  const { options, logger } = run;
  let enqueued = 0;
  for (let i = 0; i < texts.length; i += UNITS_PER_STATEMENT) {
    const messages = texts.slice(i, i + UNITS_PER_STATEMENT).map((text): OutboxMessage => ({ ...text, priority: 'bulk' }));
    try {
      enqueued += (await enqueue(options.pool, messages, enqueueOptions(options))).filter((r) => r.inserted).length;
    } catch (err) {
      if (!(err instanceof OutboxValidationError)) throw err;
      // One bad text: the batch again, one at a time (nothing of the refused statement was written).
      for (const message of messages) {
        try {
          enqueued += (await enqueue(options.pool, [message], enqueueOptions(options))).filter((r) => r.inserted).length;
        } catch (one) {
          if (!(one instanceof OutboxValidationError)) throw one;
          const reason = `${one.field} ${one.message.replace(/^outbox message 0: \w+ /, '').replace(/; nothing of this batch was written$/, '')}`;
          logger.warn({ recipient: message.recipient, dedupKey: message.dedupKey, reason }, 'recap left out: the outbox refuses it');
          run.refused.push({ dedupKey: message.dedupKey!, reason: `${message.recipient}: ${reason}` });
        }
      }
    }
  }
  return enqueued;
}

/**
 * The workbooks of some recaps whose texts are enqueued, one unit at a time: the unit's people made,
 * its workbook built (once per unit, when any of its recaps lacks its workbook in the outbox), enqueued
 * after each text, and both dropped before the next unit.
 */
async function enqueueWorkbooks(run: Run, numbers: RecapBatch, recaps: readonly Recap[]): Promise<number> {
  const { options, workbooks } = run;
  if (!workbooks) return 0;
  const keyOf = (recap: Recap) => `${recap.text.dedupKey}:xlsx`;
  const existing = await existingDedupKeys(options.pool, recaps.filter((r) => r.unit).map(keyOf));
  const missing = new Map<UnitNumbers, Recap[]>();
  for (const recap of recaps) {
    if (recap.unit && !existing.has(keyOf(recap))) (missing.get(recap.unit) ?? missing.set(recap.unit, []).get(recap.unit)!).push(recap);
  }
  let enqueued = 0;
  for (const [unit, theirs] of missing) {
    const started = performance.now();
    const book = await workbooks.builder.build(numbers, { ...unit, people: numbers.peopleOf(unit) }, workbooks.kind);
    const messages = theirs.map(({ text }): OutboxMessage => ({
      recipient: text.recipient,
      content: `*${CAPTION_TITLES[workbooks.kind]}*\n*${unit.name}*\n${periodWords(workbooks.kind, numbers.from, numbers.to)}\nRincian per personil dan per hari (Instagram dan TikTok).`,
      type: text.type,
      dedupKey: keyOf({ text, unit }),
      follows: text.dedupKey!,
      priority: 'bulk',
      document: { fileName: book.fileName, mimeType: book.mimeType, bytes: book.bytes },
    }));
    enqueued += (await enqueue(options.pool, messages, enqueueOptions(options))).filter((r) => r.inserted).length;
    run.logger.debug({ clientId: unit.clientId, bytes: book.bytes.length, ms: Math.round(performance.now() - started) }, 'recap workbook enqueued');
  }
  return enqueued;
}

const dedupKey = (job: string, period: ReportPeriod, clientId: string | null, recipient: string) =>
  `${job}:${period.start}:${clientId ?? '-'}:${recipient.trim()}`;

/** The recaps made by the service: every active unit whose group is a WhatsApp group, a batch of units at a time. */
async function fromTables(run: Run): Promise<{ enqueued: number; detail: string }> {
  const { kind, job, period, options } = run;
  let units = 0;
  let recaps = 0;
  let enqueued = 0;
  // Each person's numbers only for a workbook; the text needs the counts.
  for await (const numbers of recapNumberBatches(options.pool, { from: period.start, to: period.end, withPeople: run.workbooks !== null })) {
    const batch: Recap[] = [];
    for (const unit of numbers.units) {
      const group = unit.group?.trim();
      if (!group?.endsWith('@g.us')) continue;
      if (!options.sendEmpty && unit.posts.instagram + unit.posts.tiktok === 0) continue;
      batch.push({ text: { recipient: group, content: recapText(kind, unit, period.start, period.end), type: job, dedupKey: dedupKey(job, period, unit.clientId, group) }, unit });
    }
    units += numbers.units.length;
    recaps += batch.length;
    enqueued += await enqueueTexts(run, batch.map((r) => r.text));
    enqueued += await enqueueWorkbooks(run, numbers, batch.filter((r) => !isRefused(run, r.text)));
  }
  return { enqueued, detail: `${period.column} ${period.start}: ${units} unit(s), ${recaps} recap(s)${run.workbooks ? ' with workbook' : ''}` };
}

/**
 * The rows of an operator's own view, sent as they are; a row naming its unit (client_id) gets that
 * unit's workbook after it, where Cicero_V2's tables are there to make one.
 */
async function fromView(run: Run, tables: boolean): Promise<{ enqueued: number; detail: string }> {
  const { kind, job, period, options, logger } = run;
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
  let texts: Array<{ text: OutboxMessage; clientId: string | null }> = [];
  for (const row of rows) {
    if (!row.recipient?.trim() || !row.summary?.trim()) {
      logger.warn({ view: contract.view, clientId: row.client_id ?? null, recipient: row.recipient }, 'report row without recipient or summary skipped');
      continue;
    }
    const text = { recipient: row.recipient, content: row.summary.replaceAll('\u0000', ''), type: job, dedupKey: dedupKey(job, period, row.client_id ?? null, row.recipient) };
    texts.push({ text, clientId: row.client_id ?? null });
  }
  let enqueued = await enqueueTexts(run, texts.map((t) => t.text));
  texts = texts.filter((t) => !isRefused(run, t.text));
  const wanted = [...new Set(texts.map((t) => t.clientId).filter((id): id is string => !!id))];
  if (tables && wanted.length > 0 && run.workbooks) {
    for await (const numbers of recapNumberBatches(options.pool, { from: period.start, to: period.end, clientIds: wanted })) {
      const units = new Map(numbers.units.map((u) => [u.clientId, u]));
      const batch = texts.flatMap(({ text, clientId }) => (clientId && units.has(clientId) ? [{ text, unit: units.get(clientId)! }] : []));
      enqueued += await enqueueWorkbooks(run, numbers, batch);
    }
  }
  return { enqueued, detail: `${period.column} ${period.start} from ${contract.view}: ${rows.length} row(s)` };
}

export function reportJob(kind: ReportKind, jobName: string, options: ReportJobOptions): JobHandler {
  return async ({ slot, date, logger }): Promise<JobResult> => {
    const period = reportPeriod(kind, slot, options.timeZone, date);
    const source = await engagementSource(options.pool, REPORT_VIEWS[kind]);
    if ('skipped' in source) return { skipped: source.skipped };
    const workbooks = options.attachExcel && kind !== 'daily' ? { kind, builder: (options.workbookBuilder ?? workbookThread)(logger) } : null;
    const run: Run = { kind, job: jobName, period, options, logger, workbooks, refused: [] };
    try {
      const made = source.from === 'view' ? await fromView(run, source.tables) : await fromTables(run);
      const left = run.refused.length > 0 ? `; ${run.refused.length} left out (${run.refused.slice(0, 3).map((r) => r.reason).join('; ')}${run.refused.length > 3 ? '; …' : ''})` : '';
      return { enqueued: made.enqueued, detail: `${made.detail}, ${made.enqueued} new${left}` };
    } finally {
      await workbooks?.builder.close();
    }
  };
}
