/**
 * One monthly report job in a process of its own, for the recap bench's memory and event-loop figures
 * (bench/recap-job.ts): the compiled service (dist/, as `npm start` runs it, no tsx) on an empty outbox,
 * with each unit's workbook (REKAP_ATTACH_EXCEL=true) or text only. Prints one JSON line: the job's time
 * and result, the process's RSS before the job and at its peak (VmHWM: the workbook thread included),
 * the longest event-loop stall during the job (monitorEventLoopDelay), and how long each workbook took
 * to build.
 *
 *   node bench/recap-job-child.mjs <database url> <workbooks|text> <date in the month>
 */
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const dist = (file) => new URL(`../dist/${file}`, import.meta.url).href;
const { createPool } = await import(dist('db/pool.js'));
const { fixedClock } = await import(dist('lib/clock.js'));
const { silentLogger } = await import(dist('lib/logger.js'));
const { reportJob } = await import(dist('features/rekap/report-job.js'));
const { workbookThread } = await import(dist('features/rekap/workbook-builder.js'));

const [url, mode, date] = process.argv.slice(2);
if (!url || (mode !== 'workbooks' && mode !== 'text') || !date) throw new Error('usage: recap-job-child.mjs <database url> <workbooks|text> <date>');

/** Resident set size now (VmRSS) and at its peak (VmHWM), in MB. */
function rss() {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const buildMs = [];
const sizes = [];
/**
 * The service's builder (a worker thread), with each workbook's build time: from when the thread could
 * start it (asked for, and the one before it done: the builder builds one at a time, in order) to when
 * its bytes are back.
 */
const timedBuilder = (logger) => {
  const real = workbookThread(logger);
  let previousDone = 0;
  return {
    async build(period, unit, kind) {
      const asked = performance.now();
      const book = await real.build(period, unit, kind);
      const done = performance.now();
      buildMs.push(done - Math.max(asked, previousDone));
      previousDone = done;
      sizes.push(book.bytes.length);
      return book;
    },
    close: () => real.close(),
  };
};

const pool = createPool(url, 10, silentLogger(), 60_000);
await pool.query('DELETE FROM wa_outbox');
const job = reportJob('monthly', 'monthly-report', { pool, timeZone: 'Asia/Jakarta', sendEmpty: false, attachExcel: mode === 'workbooks', workbookBuilder: timedBuilder });
const before = rss();
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
await sleep(30); // the histogram's timer runs from the next turn of the loop
const started = performance.now();
const result = await job({ job: 'monthly-report', slot: new Date(`${date}T00:00:00Z`), trigger: 'manual', date, clock: fixedClock(`${date}T00:00:00Z`), logger: silentLogger() });
const ms = performance.now() - started;
delay.disable();
const after = rss();
await pool.end();
const sorted = [...buildMs].sort((a, b) => a - b);
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
process.stdout.write(`${JSON.stringify({
  mode,
  ms,
  result,
  rssBeforeMb: before.now,
  peakRssMb: after.peak,
  maxStallMs: delay.max / 1e6,
  workbooks: buildMs.length,
  buildMsMedian: sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0,
  buildMsMean: mean(buildMs),
  buildMsFirst: buildMs[0] ?? 0,
  buildMsMax: sorted.at(-1) ?? 0,
  workbookKbMean: mean(sizes) / 1024,
})}\n`);
