/**
 * The engagement recap as an Excel workbook, laid out as Cicero_V2's weekly and monthly likes (Instagram)
 * and comments (TikTok) recaps: one sheet per unit and platform; a title and a period row; per person
 * (by rank, then name) and per day of the period the unit's posts, how many the person liked or commented
 * on (green) and how many not (red); a TOTAL row of SUM formulas; frozen names and headers; a filter
 * on the header row.
 *
 * Beyond Cicero_V2's layout, each sheet ends with the period's totals per person and a "Keterangan"
 * column with the person's verdict, the one the text recap counts. A person without a handle on file
 * has no likes or comments to count: sudah 0 and belum the day's posts, as Cicero_V2 shows them, with
 * the name in grey italics and "Username … belum diisi" in Keterangan.
 */
import type ExcelJS from 'exceljs';
import type { ReportKind } from './periods.js';
import type { PersonNumbers, Platform, RecapNumbers, UnitNumbers, Verdict } from './recap-numbers.js';
import { tally } from './recap-tally.js';
import { periodWords } from './recap-text.js';
import {
  BORDER,
  CENTER,
  FILL,
  columnLetter,
  dayHeader,
  formula,
  sheetNamer,
  slashDate,
  newStreamingWorkbook,
  titleRow,
} from './workbook-common.js';

export interface EngagementWorkbookOptions {
  /** One sheet per unit for each; with both, sheets are named "<unit> IG" and "<unit> TikTok". */
  platforms: readonly Platform[];
  /** The kind of period (the workbook's title); the days are those of the numbers. */
  kind: ReportKind;
}

interface PlatformWords {
  name: string;
  suffix: string;
  period: string;
  sudah: string;
  belum: string;
}

const WORDS: Record<Platform, PlatformWords> = {
  instagram: { name: 'Instagram', suffix: ' IG', period: 'Rekap Likes Instagram', sudah: 'Sudah Likes', belum: 'Belum Likes' },
  tiktok: { name: 'TikTok', suffix: ' TikTok', period: 'Rekap Komentar TikTok', sudah: 'Sudah Komentar', belum: 'Belum Komentar' },
};

const KIND_TITLE: Record<ReportKind, string> = {
  daily: 'Rekap Harian Engagement',
  weekly: 'Rekap Mingguan Engagement',
  monthly: 'Rekap Bulanan Engagement',
};

/** First row of people, and the fixed columns before the days. */
const FIRST_ROW = 5;
const FIXED_COLUMNS = 4;

const BOLD: Partial<ExcelJS.Font> = { bold: true };
const MIDDLE_CENTER: Partial<ExcelJS.Alignment> = { horizontal: 'center', vertical: 'middle' };
/** Frozen: a style is shared by many cells, so changing it on one would change it on all. */
const style = (s: Partial<ExcelJS.Style>): Partial<ExcelJS.Style> => Object.freeze(s);
const identity = (font?: Partial<ExcelJS.Font>) => [
  style({ border: BORDER.thin, alignment: { vertical: 'middle', horizontal: 'center' }, ...(font ? { font } : {}) }),
  style({ border: BORDER.thin, alignment: { vertical: 'middle', horizontal: 'left' }, ...(font ? { font } : {}) }),
];
/** A number of a day group by its position (posts, sudah in green, belum in red); in the TOTAL row bold. */
const numbers = (font?: Partial<ExcelJS.Font>) =>
  [undefined, FILL.sudah, FILL.belum].map((fill) => style({ border: BORDER.thin, alignment: MIDDLE_CENTER, ...(fill ? { fill } : {}), ...(font ? { font } : {}) }));

/**
 * Every style of a sheet's cells, each one object for all the cells that have it: exceljs then
 * resolves a style once per workbook instead of once per cell (most of a workbook's time otherwise).
 */
const STYLE = {
  header: style({ font: BOLD, alignment: CENTER, fill: FILL.header, border: BORDER.thin }),
  /** No (centred), Pangkat, Nama, Divisi (left); a person without a handle in grey italics. */
  identity: identity(),
  identityWithoutHandle: identity({ italic: true, color: { argb: 'FF808080' } }),
  number: numbers(),
  note: style({ border: BORDER.thin }),
  totalLabel: style({ border: BORDER.thin, font: BOLD, alignment: CENTER }),
  totalNumber: numbers(BOLD),
  totalNote: style({ border: BORDER.thin, font: BOLD, alignment: { wrapText: true, vertical: 'middle' } }),
};

function verdictWords(verdict: Verdict, platform: Platform): string {
  if (verdict === 'tanpa_username') return `Username ${WORDS[platform].name} belum diisi`;
  return verdict[0]!.toUpperCase() + verdict.slice(1);
}

/** "Sudah 2 · Kurang 1 · Belum 1 · Tanpa username 1": the verdicts of a sheet's people. */
function verdictSummary(people: readonly PersonNumbers[], platform: Platform): string {
  const c = tally(people)[platform];
  return `Sudah ${c.sudah} · Kurang ${c.kurang} · Belum ${c.belum} · Tanpa username ${c.tanpa_username}`;
}

/**
 * The engagement workbook of a period: per unit with personnel, one sheet per platform asked for.
 * Written as it is made (exceljs's streaming writer): each sheet's layout first, then each row as it
 * is filled, so a workbook never holds more than the row being written.
 */
export async function engagementWorkbook(numbers: RecapNumbers, options: EngagementWorkbookOptions): Promise<Buffer> {
  if (options.platforms.length === 0) throw new Error('engagementWorkbook: no platform asked for');
  const { book, bytes } = newStreamingWorkbook(`${KIND_TITLE[options.kind]} ${periodWords(options.kind, numbers.from, numbers.to)}`, numbers.to);
  const name = sheetNamer();
  let sheets = 0;
  for (const unit of numbers.units) {
    if (unit.people.length === 0) continue;
    for (const platform of options.platforms) {
      const layout = sheetLayout(unit, numbers.days.length);
      const sheet = book.addWorksheet(name(unit.name, options.platforms.length > 1 ? WORDS[platform].suffix : ''), { views: layout.views, pageSetup: layout.pageSetup });
      fillSheet(sheet, layout, unit, platform, numbers);
      sheet.commit();
      sheets++;
    }
  }
  if (sheets === 0) {
    const sheet = book.addWorksheet('Rekap');
    titleRow(sheet, 1, 'Rekap Engagement', 6, 14);
    titleRow(sheet, 2, `Periode ${slashDate(numbers.from)} - ${slashDate(numbers.to)}: tidak ada personil yang dinilai.`, 6);
    sheet.commit();
  }
  await book.commit();
  return bytes();
}

/** Where a sheet's parts go, and what the streaming writer needs before the first row: views, printing. */
function sheetLayout(unit: UnitNumbers, days: number) {
  const periodColumn = FIXED_COLUMNS + 3 * days + 1;
  const noteColumn = periodColumn + 3;
  const lastRow = FIRST_ROW + unit.people.length - 1;
  return {
    periodColumn,
    noteColumn,
    lastRow,
    totalRow: lastRow + 1,
    views: [{ state: 'frozen' as const, xSplit: FIXED_COLUMNS, ySplit: 4, topLeftCell: 'E5', activeCell: 'E5' }],
    pageSetup: {
      orientation: 'landscape' as const,
      paperSize: 9,
      fitToPage: true,
      fitToWidth: Math.max(1, Math.ceil(days / 8)),
      fitToHeight: 0,
      printTitlesRow: '3:4',
      margins: { left: 0.3, right: 0.3, top: 0.4, bottom: 0.4, header: 0.2, footer: 0.2 },
    },
  };
}

function fillSheet(sheet: ExcelJS.Worksheet, layout: ReturnType<typeof sheetLayout>, unit: UnitNumbers, platform: Platform, numbers: RecapNumbers): void {
  const words = WORDS[platform];
  const days = numbers.days;
  const { periodColumn, noteColumn, lastRow, totalRow } = layout;

  // Widths and the filter before the first row is written.
  const longest = (values: string[], min: number, max: number) => Math.min(max, Math.max(min, ...values.map((v) => v.length + 2)));
  sheet.getColumn(1).width = 5;
  sheet.getColumn(2).width = longest(unit.people.map((p) => p.rank ?? ''), 10, 16);
  sheet.getColumn(3).width = longest(unit.people.map((p) => p.name), 16, 40);
  sheet.getColumn(4).width = longest(unit.people.map((p) => p.division), 16, 30);
  for (let column = FIXED_COLUMNS + 1; column < noteColumn; column++) sheet.getColumn(column).width = 8.5;
  sheet.getColumn(noteColumn).width = 30;
  sheet.autoFilter = `A4:${columnLetter(noteColumn)}${lastRow}`;

  titleRow(sheet, 1, `${unit.name} – Rekap Engagement ${words.name}`, noteColumn, 14);
  titleRow(sheet, 2, `${words.period} Periode ${slashDate(numbers.from)} - ${slashDate(numbers.to)}`, noteColumn);

  // Header rows 3-4.
  const fixedHeaders = ['No', 'Pangkat', 'Nama', 'Divisi / Satfung'];
  fixedHeaders.forEach((text, i) => mergedHeader(sheet, i + 1, 1, text));
  const groups = [...days.map(dayHeader), 'Jumlah Periode'];
  const labels = sheet.getRow(4);
  labels.height = 30;
  groups.forEach((text, i) => {
    const first = FIXED_COLUMNS + 1 + 3 * i;
    mergedHeader(sheet, first, 3, text);
    ['Jumlah Post', words.sudah, words.belum].forEach((label, j) => setCell(labels.getCell(first + j), label, STYLE.header));
  });
  mergedHeader(sheet, noteColumn, 1, 'Keterangan');
  labels.commit(); // rows 1-4 written

  // One row per person, written once filled; the sums of each numeric column for the TOTAL row.
  const columnSums = new Array<number>(noteColumn).fill(0);
  const dayLetters = [0, 1, 2].map((j) => days.map((_, d) => columnLetter(FIXED_COLUMNS + 1 + 3 * d + j)));
  unit.people.forEach((person, i) => {
    const rowNumber = FIRST_ROW + i;
    const row = sheet.getRow(rowNumber);
    const withoutHandle = person.verdict[platform] === 'tanpa_username';
    const identityStyles = withoutHandle ? STYLE.identityWithoutHandle : STYLE.identity;
    [i + 1, person.rank ?? '', person.name, person.division].forEach((value, c) => setCell(row.getCell(c + 1), value, identityStyles[c === 0 ? 0 : 1]!));
    const totals = [0, 0, 0];
    days.forEach((day, d) => {
      const posts = unit.postsByDay[platform][day] ?? 0;
      const sudah = withoutHandle ? 0 : (person.engagedByDay[platform][day] ?? 0);
      [posts, sudah, posts - sudah].forEach((value, j) => {
        const column = FIXED_COLUMNS + 1 + 3 * d + j;
        totals[j]! += value;
        columnSums[column - 1]! += value;
        setCell(row.getCell(column), value, STYLE.number[j]!);
      });
    });
    totals.forEach((total, j) => {
      const cells = dayLetters[j]!.map((letter) => `${letter}${rowNumber}`);
      columnSums[periodColumn + j - 1]! += total;
      setCell(row.getCell(periodColumn + j), formula(`SUM(${cells.join(',')})`, total), STYLE.number[j]!);
    });
    setCell(row.getCell(noteColumn), verdictWords(person.verdict[platform], platform), STYLE.note);
    row.commit();
  });

  // TOTAL: a SUM per numeric column, with its value; the row bold.
  const total = sheet.getRow(totalRow);
  total.font = BOLD; // the row's own style, set before it has cells: each cell's is set below
  total.height = 30;
  setCell(total.getCell(1), 'TOTAL', STYLE.totalLabel);
  sheet.mergeCells(totalRow, 1, totalRow, FIXED_COLUMNS);
  for (let column = FIXED_COLUMNS + 1; column < noteColumn; column++) {
    const letter = columnLetter(column);
    const sum = formula(`SUM(${letter}${FIRST_ROW}:${letter}${lastRow})`, columnSums[column - 1]!);
    setCell(total.getCell(column), sum, STYLE.totalNumber[(column - FIXED_COLUMNS - 1) % 3]!);
  }
  setCell(total.getCell(noteColumn), verdictSummary(unit.people, platform), STYLE.totalNote);
  total.commit();
}

/** A header over rows 3-4 (width 1) or over `width` columns of row 3: styled, then merged (the merged cells share its style). */
function mergedHeader(sheet: ExcelJS.Worksheet, column: number, width: number, text: string): void {
  setCell(sheet.getCell(3, column), text, STYLE.header);
  if (width === 1) sheet.mergeCells(3, column, 4, column);
  else sheet.mergeCells(3, column, 3, column + width - 1);
}

/** A cell's value and its style, one of STYLE's. */
function setCell(cell: ExcelJS.Cell, value: ExcelJS.CellValue, style: Partial<ExcelJS.Style>): void {
  cell.value = value;
  cell.style = style;
}

export { XLSX_MIME, workbookFileName } from './workbook-common.js';
