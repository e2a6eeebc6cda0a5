/**
 * exceljs writes each part of a workbook (a sheet, its shared strings) as an array of small strings,
 * then joins them in one `Array.prototype.join`. V8 joins an array of more than some tens of thousands
 * of strings several times slower per string than a short one, and a sheet of a month of 100 personnel
 * is about 150,000 strings: a quarter of a workbook's build went there. `joinXmlInChunks` makes
 * exceljs join the same strings 4,096 at a time, then the chunks: the same text, so the same bytes.
 *
 * It replaces exceljs's own getter (`XmlStream.prototype.xml`, exceljs 4.4) and leaves it as it is when
 * that class does not look as expected.
 */
import { createRequire } from 'node:module';

interface XmlStreamInternals {
  _xml: unknown;
  closeAll(): void;
}

const CHUNK = 4096;

let installed = false;

export function joinXmlInChunks(): void {
  if (installed) return;
  installed = true;
  const { prototype } = createRequire(import.meta.url)('exceljs/lib/utils/xml-stream.js') as { prototype: XmlStreamInternals };
  const original = Object.getOwnPropertyDescriptor(prototype, 'xml');
  if (!original?.get || !original.configurable || typeof prototype.closeAll !== 'function') return;
  const originalGet = original.get;
  Object.defineProperty(prototype, 'xml', {
    ...original,
    get(this: XmlStreamInternals): string {
      const pieces = this._xml;
      if (!Array.isArray(pieces) || pieces.length <= CHUNK) return originalGet.call(this) as string;
      this.closeAll();
      const chunks: string[] = [];
      for (let i = 0; i < pieces.length; i += CHUNK) chunks.push(pieces.slice(i, i + CHUNK).join(''));
      return chunks.join('');
    },
  });
}
