/**
 * What runs in the workbook thread (workbook-builder.ts): each request is one unit's workbook, built and
 * handed back as bytes (transferred, not copied). Nothing else of the service is loaded here.
 */
import { parentPort } from 'node:worker_threads';
import type { BuildAnswer, BuildRequest } from './workbook-builder.js';
import { unitWorkbook } from './unit-workbook.js';

const port = parentPort;
if (!port) throw new Error('workbook-builder-thread.ts runs only as a worker thread (workbook-builder.ts starts it)');

port.on('message', (request: BuildRequest) => {
  void (async () => {
    let answer: BuildAnswer;
    try {
      const book = await unitWorkbook(request.period, request.unit, request.kind);
      const bytes = new ArrayBuffer(book.bytes.length);
      new Uint8Array(bytes).set(book.bytes);
      answer = { ok: true, fileName: book.fileName, mimeType: book.mimeType, bytes };
      port.postMessage(answer, [bytes]);
    } catch (error) {
      answer = { ok: false, error: error instanceof Error ? error.message : String(error) };
      port.postMessage(answer);
    }
  })();
});
