/**
 * The monthly report job at scale, each run in a process of its own (bench/recap-job-child.mjs: the
 * compiled service, as `npm start` runs it): with each unit's workbook, and text only. Per size: the
 * job's time, the process's peak RSS and the longest event-loop stall during the job, for both; the
 * difference in peak RSS; how long the job waited for each workbook.
 *
 * The bench fails when the job's output is wrong, not when a target is missed: one text per unit with a
 * group and posts in the month (counted here in SQL), one workbook after each (its dedup key the text's
 * and `:xlsx`, following it), the texts the same with and without workbooks, and three workbooks byte
 * for byte those `cicero-wa export` makes from the same numbers.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { recapNumbers } from '../src/features/rekap/recap-numbers.js';
import { unitWorkbook } from '../src/features/rekap/unit-workbook.js';
import { ROOT, log, median } from './common.js';

/** The targets the figures are compared with (a miss is reported, not failed). */
export const JOB_TARGETS = { peakRssDifferenceMb: 150, workbookMs: 100, stallMs: 100 } as const;

interface ChildRun {
  mode: 'workbooks' | 'text';
  ms: number;
  result: { enqueued: number; detail: string };
  rssBeforeMb: number;
  peakRssMb: number;
  maxStallMs: number;
  workbooks: number;
  buildMsMedian: number;
  buildMsMean: number;
  buildMsFirst: number;
  buildMsMax: number;
  workbookKbMean: number;
}

export interface JobFigures {
  runs: number;
  recaps: number;
  /** Medians of the runs for times, the highest of the runs for peak RSS and stalls. */
  text: { ms: number; peakRssMb: number; maxStallMs: number };
  workbooks: { ms: number; peakRssMb: number; maxStallMs: number; buildMsMedian: number; buildMsFirst: number; workbookKb: number };
  peakRssDifferenceMb: number;
  /** Job time with workbooks over text only. */
  jobTimeRatio: number;
  /** (job with workbooks − text only) / workbooks. */
  addedMsPerWorkbook: number;
  targets: { peakRssDifference: boolean; workbookMs: boolean; stall: boolean };
}

const round = (x: number, digits = 0) => Number(x.toFixed(digits));

/** Builds dist/ when the sources are newer (what `npm run bench` does first), so the child runs this code. */
export function buildService(): void {
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build-if-stale.mjs')], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('recap job bench: building dist/ failed');
}

/** One job in its own process; run again once if something else ended that process (a signal). */
function runChild(url: string, mode: 'workbooks' | 'text', date: string, attempt = 1): ChildRun {
  const child = spawnSync(process.execPath, [path.join(ROOT, 'bench/recap-job-child.mjs'), url, mode, date], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
  if (child.signal && attempt === 1) {
    log(`  recap job child (${mode}) ended by ${child.signal}: run again`);
    return runChild(url, mode, date, 2);
  }
  if (child.status !== 0) throw new Error(`recap job child (${mode}) failed (${child.signal ?? `exit code ${child.status}`}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as ChildRun;
}

interface TextRow {
  id: number;
  dedup_key: string;
  text_md5: string;
}

/** The texts in the outbox, by dedup key. */
async function texts(pool: pg.Pool): Promise<Map<string, TextRow>> {
  const { rows } = await pool.query<TextRow>(`SELECT id::int AS id, dedup_key, md5(content) AS text_md5 FROM wa_outbox WHERE document IS NULL`);
  return new Map(rows.map((r) => [r.dedup_key, r]));
}

/** Units that get a monthly recap: active, a WhatsApp group, a post in the month (independent of the service). */
async function expectedRecaps(pool: pg.Pool, from: string, to: string): Promise<number> {
  const posted = (table: string) => `EXISTS (SELECT 1 FROM ${table} p WHERE p.client_id = c.client_id AND p.created_at >= $1::date AND p.created_at < $2::date + 1)`;
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM clients c
      WHERE c.client_status IS DISTINCT FROM false AND btrim(c.client_group) LIKE '%@g.us'
        AND (${posted('insta_post')} OR ${posted('tiktok_post')})`,
    [from, to],
  );
  return rows[0]!.n;
}

/** Fails the bench unless the run with workbooks enqueued what it must (see the top of this file). */
async function checkOutput(pool: pg.Pool, size: number, from: string, to: string, expected: number, textOnly: Map<string, TextRow>): Promise<void> {
  const fail = (why: string) => {
    throw new Error(`recap job at ${size} units: ${why}`);
  };
  const withBooks = await texts(pool);
  if (textOnly.size !== expected) fail(`the text-only job enqueued ${textOnly.size} texts, ${expected} units have a group and posts`);
  if (withBooks.size !== expected) fail(`the job with workbooks enqueued ${withBooks.size} texts, ${expected} units have a group and posts`);
  for (const [key, text] of textOnly) {
    if (withBooks.get(key)?.text_md5 !== text.text_md5) fail(`the text ${key} differs with and without workbooks`);
  }
  const { rows: books } = await pool.query<{ dedup_key: string; follows_id: number | null; document_sha256: string }>(
    `SELECT dedup_key, follows_id::int AS follows_id, document_sha256 FROM wa_outbox WHERE document IS NOT NULL ORDER BY dedup_key`,
  );
  if (books.length !== expected) fail(`${books.length} workbooks for ${expected} texts`);
  for (const book of books) {
    const text = withBooks.get(book.dedup_key.replace(/:xlsx$/, ''));
    if (!book.dedup_key.endsWith(':xlsx') || !text) fail(`workbook ${book.dedup_key} has no text`);
    if (book.follows_id !== text!.id) fail(`workbook ${book.dedup_key} does not follow its text`);
  }
  for (const book of [books[0]!, books[Math.floor(books.length / 2)]!, books.at(-1)!]) {
    const clientId = book.dedup_key.split(':')[2]!;
    const numbers = await recapNumbers(pool, { from, to, clientIds: [clientId] });
    const bytes = (await unitWorkbook(numbers, numbers.units[0]!, 'monthly')).bytes;
    if (createHash('sha256').update(bytes).digest('hex') !== book.document_sha256) fail(`the workbook of ${clientId} differs from the one export makes from the same numbers`);
  }
}

/** Both jobs, `runs` times each (alternating), checked; the figures of one size. */
export async function measureJob(pool: pg.Pool, url: string, size: number, runs: number, period: { start: string; end: string }): Promise<JobFigures> {
  const expected = await expectedRecaps(pool, period.start, period.end);
  const text: ChildRun[] = [];
  const books: ChildRun[] = [];
  for (let run = 0; run < runs; run++) {
    text.push(runChild(url, 'text', period.start));
    const textOnly = await texts(pool);
    books.push(runChild(url, 'workbooks', period.start));
    if (run === 0) await checkOutput(pool, size, period.start, period.end, expected, textOnly);
  }
  await pool.query('DELETE FROM wa_outbox');
  const worst = (rs: ChildRun[], key: 'peakRssMb' | 'maxStallMs') => Math.max(...rs.map((r) => r[key]));
  const mid = (rs: ChildRun[], key: keyof ChildRun) => median(rs.map((r) => r[key] as number));
  const figures: JobFigures = {
    runs,
    recaps: expected,
    text: { ms: round(mid(text, 'ms')), peakRssMb: round(worst(text, 'peakRssMb')), maxStallMs: round(worst(text, 'maxStallMs')) },
    workbooks: {
      ms: round(mid(books, 'ms')),
      peakRssMb: round(worst(books, 'peakRssMb')),
      maxStallMs: round(worst(books, 'maxStallMs')),
      buildMsMedian: round(mid(books, 'buildMsMedian')),
      buildMsFirst: round(mid(books, 'buildMsFirst')),
      workbookKb: round(mid(books, 'workbookKbMean')),
    },
    peakRssDifferenceMb: round(worst(books, 'peakRssMb') - worst(text, 'peakRssMb')),
    jobTimeRatio: round(mid(books, 'ms') / mid(text, 'ms'), 1),
    addedMsPerWorkbook: round((mid(books, 'ms') - mid(text, 'ms')) / expected),
    targets: { peakRssDifference: false, workbookMs: false, stall: false },
  };
  figures.targets = {
    peakRssDifference: figures.peakRssDifferenceMb <= JOB_TARGETS.peakRssDifferenceMb,
    workbookMs: figures.workbooks.buildMsMedian <= JOB_TARGETS.workbookMs,
    stall: figures.workbooks.maxStallMs <= JOB_TARGETS.stallMs,
  };
  log(`  monthly job, ${size} units (${expected} recaps, ${runs} run(s)): text only ${figures.text.ms} ms, peak ${figures.text.peakRssMb} MB, stall ${figures.text.maxStallMs} ms; with workbooks ${figures.workbooks.ms} ms, peak ${figures.workbooks.peakRssMb} MB (+${figures.peakRssDifferenceMb} MB), stall ${figures.workbooks.maxStallMs} ms, workbook ${figures.workbooks.buildMsMedian} ms (first ${figures.workbooks.buildMsFirst} ms)`);
  return figures;
}

/** The README's table of the job at each size. */
export function jobMarkdown(bySize: Record<string, JobFigures>): string {
  const s = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
  const mark = (met: boolean) => (met ? '' : ' (over target)');
  const rows = Object.entries(bySize).map(([size, f]) =>
    `| ${size} (${f.recaps}) | ${s(f.text.ms)} / ${f.text.peakRssMb} MB / ${s(f.text.maxStallMs)} | ${s(f.workbooks.ms)} / ${f.workbooks.peakRssMb} MB / ${s(f.workbooks.maxStallMs)}${mark(f.targets.stall)} | **+${f.peakRssDifferenceMb} MB**${mark(f.targets.peakRssDifference)} | ${s(f.workbooks.buildMsMedian)}${mark(f.targets.workbookMs)} (first ${s(f.workbooks.buildMsFirst)}) | ${f.jobTimeRatio}× (+${s(f.addedMsPerWorkbook)} a workbook) | ${f.runs} |`,
  );
  return `The monthly job with each unit's workbook, beside the same job text only, each run in a process of
its own (the compiled service; the workbook thread's memory counted in the process's peak RSS):

| units (recaps) | text only: job / peak RSS / longest stall | with workbooks: job / peak RSS / longest stall | peak RSS difference | a workbook (median; first, starting the thread) | job time, with / without | runs |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Targets: at most +${JOB_TARGETS.peakRssDifferenceMb} MB of peak RSS for the workbooks at any size, ${JOB_TARGETS.workbookMs} ms a workbook, no event-loop
stall over ${JOB_TARGETS.stallMs} ms. The job reads a batch of units (about 5,000 posts) at a time and builds one workbook at a time
in a worker thread whose heap is bounded, so the difference does not grow with the number of units. Peak
RSS and stalls are the highest of the runs; times their medians. The bench fails if a text or workbook
is missing, a text differs with and without workbooks, or a sampled workbook differs from the export's.
`;
}
