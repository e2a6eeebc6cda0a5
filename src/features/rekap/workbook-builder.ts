/**
 * Unit workbooks built in a worker thread, one at a time, so that a build (exceljs: some tens of
 * milliseconds for a unit of 100 personnel over a month, more for larger units) never holds the event
 * loop: delivery, leases and the API carry on while the report job makes its workbooks. The thread is
 * started on the first build and ended by `close()`; it keeps the process alive only while a build is
 * under way.
 *
 * The thread's heap is bounded (THREAD_HEAP_MB), so its memory stays flat however many units it builds
 * (an unbounded heap grows between collections by what each build leaves behind). A unit whose workbook
 * does not fit is built again, alone, in a thread with a large heap.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../lib/logger.js';
import type { UnitNumbers } from './recap-numbers.js';
import type { RecapPeriod, RecapWorkbook } from './unit-workbook.js';

export type WorkbookKind = 'weekly' | 'monthly';

export interface WorkbookBuilder {
  /** The unit's workbook (unit-workbook.ts). Builds run one at a time, in the order asked. */
  build(period: RecapPeriod, unit: UnitNumbers, kind: WorkbookKind): Promise<RecapWorkbook>;
  /** Ends the thread; a build still under way fails. */
  close(): Promise<void>;
}

/** What the job sends the thread, and what the thread answers (workbook-builder-thread.ts). */
export interface BuildRequest {
  period: RecapPeriod;
  unit: UnitNumbers;
  kind: WorkbookKind;
}
export type BuildAnswer = { ok: true; fileName: string; mimeType: string; bytes: ArrayBuffer } | { ok: false; error: string };

/**
 * The thread's heap, in MB. Old generation: a month of a unit of 100 personnel keeps under 24 MB alive
 * while it is built (less since workbooks are streamed), so this leaves room for units about four times
 * that size. Young generation: smaller than V8 would give the thread. Measured when the whole workbook
 * model was kept: at 32 MB builds took about 15% less time, but the job's peak RSS grew from about 110
 * to 200 MB over the text-only job at 800 units (npm run bench -- recap).
 */
export const THREAD_HEAP_MB = { old: 96, young: 24 } as const;
/** The old generation of the thread that builds, alone, a workbook that did not fit (its young one V8's). */
export const LARGE_THREAD_HEAP_MB = 2048;

/**
 * A worker thread of the workbook code with a bounded heap, answering one request at a time: the
 * compiled file beside this one or, from the sources under tsx (tests), the TypeScript file with tsx
 * registered first (tsx registers itself in the main thread only).
 */
class BuildThread {
  private readonly worker: Worker;
  private pending: { resolve: (answer: BuildAnswer) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(heap: { old: number; young?: number }) {
    const options = { resourceLimits: { maxOldGenerationSizeMb: heap.old, ...(heap.young ? { maxYoungGenerationSizeMb: heap.young } : {}) } };
    const fromSources = import.meta.url.endsWith('.ts');
    const entry = new URL(`./workbook-builder-thread.${fromSources ? 'ts' : 'js'}`, import.meta.url);
    if (fromSources) {
      const code = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(entry.href)});`;
      this.worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), options);
    } else {
      this.worker = new Worker(entry, options);
    }
    this.worker.unref();
    this.worker.on('message', (answer: BuildAnswer) => {
      this.worker.unref();
      this.pending?.resolve(answer);
      this.pending = null;
    });
    // An error (ERR_WORKER_OUT_OF_MEMORY among them) ends the thread; the exit follows it.
    this.worker.on('error', (error) => this.stop(error));
    this.worker.on('exit', (code) => this.stop(new Error(`workbook thread ended (exit code ${code})`)));
  }

  get alive(): boolean {
    return this.failure === null;
  }

  request(request: BuildRequest): Promise<BuildAnswer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<BuildAnswer>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage(request);
    });
  }

  async end(): Promise<void> {
    this.stop(new Error('workbook thread closed'));
    await this.worker.terminate();
  }

  private stop(error: Error): void {
    this.failure ??= error;
    this.pending?.reject(error);
    this.pending = null;
  }
}

const outOfMemory = (error: unknown) => (error as { code?: string } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';

/** A builder on a worker thread of its own (`heap`: THREAD_HEAP_MB but in tests). */
export function workbookThread(logger?: Logger, heap: { old: number; young?: number } = THREAD_HEAP_MB): WorkbookBuilder {
  let thread: BuildThread | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  const answerFor = async (request: BuildRequest): Promise<BuildAnswer> => {
    try {
      if (!thread?.alive) thread = new BuildThread(heap);
      return await thread.request(request);
    } catch (error) {
      if (!outOfMemory(error)) throw error;
      logger?.warn({ clientId: request.unit.clientId, people: request.unit.people.length, heapMb: LARGE_THREAD_HEAP_MB }, 'recap workbook too large for the workbook thread: built again in a larger one');
      const large = new BuildThread({ old: LARGE_THREAD_HEAP_MB });
      try {
        return await large.request(request);
      } finally {
        await large.end();
      }
    }
  };

  const buildOne = async (period: RecapPeriod, unit: UnitNumbers, kind: WorkbookKind): Promise<RecapWorkbook> => {
    let answer: BuildAnswer;
    try {
      answer = await answerFor({ period: { from: period.from, to: period.to, days: period.days }, unit, kind });
    } catch (error) {
      throw new Error(`workbook of ${unit.clientId}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!answer.ok) throw new Error(`workbook of ${unit.clientId}: ${answer.error}`);
    return { fileName: answer.fileName, mimeType: answer.mimeType, bytes: Buffer.from(answer.bytes), from: period.from, to: period.to, units: 1 };
  };

  return {
    build(period, unit, kind) {
      const built = queue.then(() => buildOne(period, unit, kind));
      queue = built.catch(() => undefined);
      return built;
    },
    async close() {
      const ending = thread;
      thread = null;
      await ending?.end();
    },
  };
}
