/**
 * What the recap workbooks share: the MIME type and file names, Cicero_V2's fills and borders, safe
 * sheet names, dates as its workbooks print them, and writing a workbook so that the same numbers give
 * the same bytes (fixed document times, fixed times inside the zip).
 */
import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import { dateWords } from './recap-text.js';

export const XLSX_MIME = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** Cicero_V2's fills: sudah green, belum red, headers grey, every other ranking row light grey. */
export const FILL = {
  sudah: solid('C6EFCE'),
  belum: solid('F8CBAD'),
  header: solid('D9D9D9'),
  zebra: solid('F5F5F5'),
} as const;

function solid(argb: string): ExcelJS.Fill {
  return { type: 'pattern', pattern: 'solid', fgColor: { argb: `FF${argb}` } };
}

const edge = (style: ExcelJS.BorderStyle): Partial<ExcelJS.Borders> => {
  const line = { style, color: { argb: 'FF000000' } };
  return { top: line, left: line, bottom: line, right: line };
};
export const BORDER = { thin: edge('thin'), medium: edge('medium') } as const;

export const CENTER: Partial<ExcelJS.Alignment> = { horizontal: 'center', vertical: 'middle', wrapText: true };

/** "23/11/2026". */
export function slashDate(day: string): string {
  return `${day.slice(8, 10)}/${day.slice(5, 7)}/${day.slice(0, 4)}`;
}

/** "Senin, 23/11/2026": the day's header in the per-day recaps. */
export function dayHeader(day: string): string {
  return `${dateWords(day).split(',')[0]}, ${slashDate(day)}`;
}

/** A file name for a workbook: "Rekap Engagement Polres A 2026-11-23 s.d. 2026-11-29.xlsx", safe on every system. */
export function workbookFileName(title: string, period: { from: string; to: string }): string {
  const days = period.from === period.to ? period.from : `${period.from} s.d. ${period.to}`;
  const safe = `${title} ${days}`
    .normalize('NFKC')
    .replace(/[\\/:*?"<>|\p{Cc}\p{Cf}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\.+/, '');
  return `${safe.slice(0, 180).trim() || 'Rekap'}.xlsx`;
}

/**
 * Sheet names as Excel takes them: at most 31 characters, none of []:*?/\, not starting or ending with
 * an apostrophe, unique without regard to case ("Polres A", "Polres A (2)").
 */
export function sheetNamer(): (name: string, suffix?: string) => string {
  const used = new Set<string>();
  return (name, suffix = '') => {
    const base = name.replace(/[[\]:*?/\\]+/g, ' ').replace(/\s+/g, ' ').trim().replace(/^'+|'+$/g, '') || 'Satker';
    for (let n = 1; ; n++) {
      const tail = `${suffix}${n > 1 ? ` (${n})` : ''}`;
      const candidate = `${base.slice(0, 31 - tail.length).trim()}${tail}`;
      if (!used.has(candidate.toLowerCase())) {
        used.add(candidate.toLowerCase());
        return candidate;
      }
    }
  };
}

/** The column letters of a 1-based column number. */
export function columnLetter(column: number): string {
  let letters = '';
  for (let n = column; n > 0; n = Math.floor((n - 1) / 26)) letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return letters;
}

/** A formula cell that also carries its value, for readers that do not recalculate. */
export const formula = (text: string, result: number): ExcelJS.CellFormulaValue => ({ formula: text, result });

/** A row of title text merged over the table's width. */
export function titleRow(sheet: ExcelJS.Worksheet, row: number, text: string, width: number, size = 11): void {
  sheet.mergeCells(row, 1, row, width);
  const cell = sheet.getCell(row, 1);
  cell.value = text;
  cell.font = { bold: true, size };
  cell.alignment = { horizontal: 'center', vertical: 'middle' };
}

/** The fixed time a period's workbook is dated: the end of its last day. */
export const periodTime = (to: string): Date => new Date(`${to}T23:59:59Z`);

/** A workbook's properties: made by Cicero, titled, dated by the period. */
function dated<T extends ExcelJS.Workbook>(book: T, title: string, to: string): T {
  book.creator = 'Cicero';
  book.lastModifiedBy = 'Cicero';
  book.title = title;
  book.created = book.modified = periodTime(to);
  return book;
}

/** A new workbook dated by the period. */
export function newWorkbook(title: string, to: string): ExcelJS.Workbook {
  return dated(new ExcelJS.Workbook(), title, to);
}

/** The workbook's bytes; every entry of the zip carries the workbook's time, so the bytes repeat. */
export async function workbookBytes(book: ExcelJS.Workbook): Promise<Buffer> {
  const bytes = Buffer.from(await book.xlsx.writeBuffer());
  stampZipTimes(bytes, book.modified);
  return bytes;
}

/**
 * A workbook written as it is made (exceljs's streaming writer): each row goes out as XML once it is
 * committed, and the zip is deflated by Node's zlib, instead of a whole model kept and written at the
 * end. Dated by the period, like `newWorkbook`; `bytes()` after `commit()`.
 */
export function newStreamingWorkbook(title: string, to: string): { book: ExcelJS.stream.xlsx.WorkbookWriter; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const book = dated(new ExcelJS.stream.xlsx.WorkbookWriter({ stream, useStyles: true, useSharedStrings: true }), title, to);
  return {
    book,
    bytes: () => {
      const bytes = Buffer.concat(chunks);
      stampZipTimes(bytes, book.modified);
      return bytes;
    },
  };
}

/** Sets the DOS time and date of every entry (local header and central directory) of a zip, in place. */
function stampZipTimes(zip: Buffer, at: Date): void {
  const time = (at.getUTCHours() << 11) | (at.getUTCMinutes() << 5) | Math.floor(at.getUTCSeconds() / 2);
  const date = ((at.getUTCFullYear() - 1980) << 9) | ((at.getUTCMonth() + 1) << 5) | at.getUTCDate();
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error('workbook: no zip directory');
  let entry = zip.readUInt32LE(end + 16);
  for (let i = zip.readUInt16LE(end + 10); i > 0; i--) {
    if (zip.readUInt32LE(entry) !== 0x02014b50) throw new Error('workbook: unexpected zip directory entry');
    zip.writeUInt16LE(time, entry + 12);
    zip.writeUInt16LE(date, entry + 14);
    const local = zip.readUInt32LE(entry + 42);
    zip.writeUInt16LE(time, local + 10);
    zip.writeUInt16LE(date, local + 12);
    entry += 46 + zip.readUInt16LE(entry + 28) + zip.readUInt16LE(entry + 30) + zip.readUInt16LE(entry + 32);
  }
}
