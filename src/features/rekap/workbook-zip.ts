/**
 * A workbook's zip, packed with Node's own zlib. exceljs compresses through JSZip, whose deflate is
 * JavaScript (pako): a fifth of a unit workbook's build when profiled. So exceljs writes the parts uncompressed
 * (STORE), and yazl packs the same parts again, deflated by Node's zlib, every entry dated by the
 * workbook's time, in exceljs's order: the same numbers give the same bytes.
 */
import type ExcelJS from 'exceljs';
import yazl from 'yazl';

/** The parts of an uncompressed (STORE) zip, in the order of its central directory. */
function storedEntries(zip: Buffer): { name: string; data: Buffer }[] {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error('workbook: no zip directory');
  const entries: { name: string; data: Buffer }[] = [];
  let at = zip.readUInt32LE(end + 16);
  for (let i = zip.readUInt16LE(end + 10); i > 0; i--) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('workbook: unexpected zip directory entry');
    if (zip.readUInt16LE(at + 10) !== 0) throw new Error('workbook: a zip part is compressed, expected STORE');
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const local = zip.readUInt32LE(at + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    entries.push({ name, data: zip.subarray(start, start + size) });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

/**
 * The workbook's bytes: its parts deflated by Node's zlib, each dated `at` as read on the clock of
 * wherever the file is opened (a zip's date has no time zone; this writes `at`'s UTC wall time).
 */
export async function packWorkbook(book: ExcelJS.Workbook, at: Date): Promise<Buffer> {
  const stored = Buffer.from(await book.xlsx.writeBuffer({ zip: { compression: 'STORE' } }));
  const wallTime = new Date(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), at.getUTCHours(), at.getUTCMinutes(), at.getUTCSeconds());
  const zip = new yazl.ZipFile();
  for (const { name, data } of storedEntries(stored)) {
    const options = { mtime: wallTime, forceDosTimestamp: true };
    if (name.endsWith('/')) zip.addEmptyDirectory(name, options);
    else zip.addBuffer(data, name, { ...options, compress: true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
