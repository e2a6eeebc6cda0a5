/**
 * The units ranked by engagement, as Cicero_V2's engagement ranking workbook lays it out: title lines,
 * then per unit its personnel and, for Instagram and TikTok, how many are sudah, belum and without a
 * username, and a TOTAL row of SUM formulas.
 *
 * As in Cicero_V2, SUDAH counts everyone who engaged with at least one of the unit's posts: the text
 * recap's sudah and kurang together (row 5 of the sheet says so). The order is Cicero_V2's too: most
 * likes and comments first, then most likes, most comments, the mean share of sudah over both
 * platforms, the Instagram share, the TikTok share, most personnel, and the name.
 */
import type ExcelJS from 'exceljs';
import type { ReportKind } from './periods.js';
import { compareText } from './personnel-order.js';
import type { Platform, RecapNumbers, UnitNumbers } from './recap-numbers.js';
import { tally } from './recap-tally.js';
import { periodWords } from './recap-text.js';
import { BORDER, CENTER, FILL, columnLetter, formula, newWorkbook, titleRow, workbookBytes } from './workbook-common.js';

export interface RankingWorkbookOptions {
  kind: ReportKind;
  /** Whose ranking it is, e.g. "Ditbinmas" (printed in capitals in the title); none by default. */
  title?: string;
}

/** Sheet rows: the two header rows, then the units. */
export const RANKING_HEADER_ROWS = [7, 8] as const;
export const RANKING_FIRST_ROW = 9;
const WIDTH = 8;

export interface RankingEntry {
  unit: UnitNumbers;
  personnel: number;
  /** Per platform: sudah (sudah + kurang), belum, without a username. */
  counts: Record<Platform, { sudah: number; belum: number; kosong: number }>;
  engaged: Record<Platform, number>;
}

/** The units with their counts, in the ranking's order. */
export function rankingEntries(numbers: RecapNumbers): RankingEntry[] {
  const entries = numbers.units.map((unit): RankingEntry => {
    const t = tally(unit.people);
    const count = (p: Platform) => ({ sudah: t[p].sudah + t[p].kurang, belum: t[p].belum, kosong: t[p].tanpa_username });
    const engaged = (p: Platform) => unit.people.reduce((sum, person) => sum + person.engaged[p], 0);
    return {
      unit,
      personnel: t.people,
      counts: { instagram: count('instagram'), tiktok: count('tiktok') },
      engaged: { instagram: engaged('instagram'), tiktok: engaged('tiktok') },
    };
  });
  const share = (e: RankingEntry, p: Platform) => (e.personnel ? e.counts[p].sudah / e.personnel : 0);
  const keys = (e: RankingEntry) => [
    e.engaged.instagram + e.engaged.tiktok,
    e.engaged.instagram,
    e.engaged.tiktok,
    (share(e, 'instagram') + share(e, 'tiktok')) / 2,
    share(e, 'instagram'),
    share(e, 'tiktok'),
    e.personnel,
  ];
  return entries
    .map((e) => ({ e, k: keys(e) }))
    .sort((a, b) => a.k.reduce((d, v, i) => d || b.k[i]! - v, 0) || compareText(a.e.unit.name, b.e.unit.name))
    .map(({ e }) => e);
}

/** The ranking workbook: one sheet, "Ranking Engagement". */
export async function rankingWorkbook(numbers: RecapNumbers, options: RankingWorkbookOptions): Promise<Buffer> {
  const entries = rankingEntries(numbers);
  const title = `Rekap Ranking Engagement${options.title ? ` ${options.title.toUpperCase()}` : ''}`;
  const book = newWorkbook(title, numbers.to);
  const sheet = book.addWorksheet('Ranking Engagement');
  const posts = (p: Platform) => numbers.units.reduce((sum, unit) => sum + unit.posts[p], 0);

  titleRow(sheet, 1, title, WIDTH, 14);
  titleRow(sheet, 2, `Periode: ${periodWords(options.kind, numbers.from, numbers.to)}`, WIDTH);
  titleRow(sheet, 3, `Jumlah Satker: ${entries.length}`, WIDTH);
  titleRow(sheet, 4, `Jumlah Post Instagram: ${posts('instagram')} · Jumlah Post TikTok: ${posts('tiktok')}`, WIDTH);
  titleRow(sheet, 5, 'SUDAH: personil yang memberi likes / komentar pada minimal satu konten satkernya', WIDTH);
  sheet.getCell(5, 1).font = { italic: true };

  const [top, bottom] = RANKING_HEADER_ROWS;
  sheet.mergeCells(top, 1, bottom, 1);
  sheet.mergeCells(top, 2, bottom, 2);
  sheet.mergeCells(top, 3, top, 5);
  sheet.mergeCells(top, 6, top, 8);
  sheet.getCell(top, 1).value = 'NAMA SATKER';
  sheet.getCell(top, 2).value = 'JUMLAH PERSONIL';
  sheet.getCell(top, 3).value = 'INSTAGRAM';
  sheet.getCell(top, 6).value = 'TIKTOK';
  ['SUDAH', 'BELUM', 'USERNAME KOSONG', 'SUDAH', 'BELUM', 'USERNAME KOSONG'].forEach((text, i) => (sheet.getCell(bottom, 3 + i).value = text));
  for (const row of RANKING_HEADER_ROWS) {
    for (let c = 1; c <= WIDTH; c++) {
      const cell = sheet.getCell(row, c);
      cell.font = { bold: true };
      cell.alignment = CENTER;
      cell.fill = FILL.header;
      cell.border = BORDER.medium;
    }
  }

  entries.forEach((entry, i) => {
    const row = RANKING_FIRST_ROW + i;
    const { instagram: ig, tiktok: tt } = entry.counts;
    const values = [`${i + 1}. ${entry.unit.name.toUpperCase()}`, entry.personnel, ig.sudah, ig.belum, ig.kosong, tt.sudah, tt.belum, tt.kosong];
    values.forEach((value, c) => {
      const cell = sheet.getCell(row, c + 1);
      cell.value = value;
      styleCell(cell, c + 1, i % 2 === 1);
    });
  });

  const totalRow = RANKING_FIRST_ROW + entries.length;
  const lastRow = totalRow - 1;
  sheet.getCell(totalRow, 1).value = 'TOTAL';
  styleCell(sheet.getCell(totalRow, 1), 1, false);
  for (let c = 2; c <= WIDTH; c++) {
    const letter = columnLetter(c);
    let sum = 0;
    for (let row = RANKING_FIRST_ROW; row <= lastRow; row++) sum += sheet.getCell(row, c).value as number;
    const cell = sheet.getCell(totalRow, c);
    cell.value = entries.length ? formula(`SUM(${letter}${RANKING_FIRST_ROW}:${letter}${lastRow})`, sum) : 0;
    styleCell(cell, c, false);
  }
  sheet.getRow(totalRow).font = { bold: true };

  sheet.getColumn(1).width = Math.min(40, Math.max(24, ...entries.map((e, i) => `${i + 1}. ${e.unit.name}`.length + 2)));
  for (let c = 2; c <= WIDTH; c++) sheet.getColumn(c).width = 13;
  sheet.getRow(bottom).height = 30;
  sheet.views = [{ state: 'frozen', xSplit: 0, ySplit: bottom, topLeftCell: `A${RANKING_FIRST_ROW}`, activeCell: `A${RANKING_FIRST_ROW}` }];
  sheet.autoFilter = `A${bottom}:${columnLetter(WIDTH)}${Math.max(bottom, lastRow)}`;
  sheet.pageSetup = { orientation: 'portrait', paperSize: 9, fitToPage: true, fitToWidth: 1, fitToHeight: 0, printTitlesRow: `${top}:${bottom}` };
  return workbookBytes(book);
}

/** Medium borders as Cicero_V2's ranking; sudah green, belum red, other cells zebra-striped. */
function styleCell(cell: ExcelJS.Cell, column: number, zebra: boolean): void {
  cell.border = BORDER.medium;
  cell.alignment = { vertical: 'middle', horizontal: column === 1 ? 'left' : 'center' };
  if (column === 3 || column === 6) cell.fill = FILL.sudah;
  else if (column === 4 || column === 7) cell.fill = FILL.belum;
  else if (zebra) cell.fill = FILL.zebra;
}
