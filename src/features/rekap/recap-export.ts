/**
 * Workbooks on demand, as Cicero_V2's operator menu gives them (`cicero-wa export`, `GET
 * /api/v1/recaps/{kind}.xlsx`): the weekly or monthly engagement workbook, or the ranking of the units,
 * for the period holding a date (by default the last complete one), one unit or every active unit, one
 * platform or both. Made from the same numbers, by the same code, as the workbook a unit's group gets
 * after its weekly or monthly recap.
 */
import type { Queryable } from '../../db/pool.js';
import { OperatorError } from '../../lib/errors.js';
import { reportDateProblem, reportPeriod, type ReportKind } from './periods.js';
import { rankingWorkbook } from './ranking-workbook.js';
import { PLATFORMS, recapNumbers, type Platform } from './recap-numbers.js';
import { engagementWorkbook, workbookFileName, XLSX_MIME } from './recap-workbook.js';
import { unitWorkbook, type RecapWorkbook } from './unit-workbook.js';

export const EXPORT_KINDS = ['weekly', 'monthly', 'ranking'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

export interface ExportRequest {
  kind: ExportKind;
  /** A day in the period (YYYY-MM-DD); null: the last complete period. */
  date: string | null;
  /** One unit (client id); null: every active unit. */
  unit: string | null;
  /** One platform; null: both (one sheet per unit and platform). */
  platform: Platform | null;
}

/** A request that cannot be served, naming the field and what is allowed. */
export class ExportRequestError extends OperatorError {
  constructor(
    public readonly field: 'kind' | 'date' | 'unit' | 'platform',
    message: string,
  ) {
    super(message);
  }
}

/** Checks what a caller asked for (command line or HTTP): each problem names the field. */
export function parseExportRequest(input: { kind?: unknown; date?: unknown; unit?: unknown; platform?: unknown }): ExportRequest {
  const { kind, date, unit, platform } = input;
  if (typeof kind !== 'string' || !(EXPORT_KINDS as readonly string[]).includes(kind)) {
    throw new ExportRequestError('kind', `export kind ${JSON.stringify(kind ?? null)} is unknown: expected one of ${EXPORT_KINDS.join(', ')}`);
  }
  const dateProblem = typeof date === 'string' ? reportDateProblem(date) : date === undefined || date === null ? null : 'is not a calendar date (YYYY-MM-DD)';
  if (dateProblem) {
    throw new ExportRequestError('date', `date ${JSON.stringify(date)} is invalid: ${dateProblem === 'is not a calendar date (YYYY-MM-DD)' ? 'expected a calendar date YYYY-MM-DD' : dateProblem.replace(/^is /, 'it is ')}`);
  }
  if (unit !== undefined && unit !== null && (typeof unit !== 'string' || unit.trim() === '' || unit.length > 100)) {
    throw new ExportRequestError('unit', 'unit must be a client id (clients.client_id), 1 to 100 characters');
  }
  if (platform !== undefined && platform !== null && (typeof platform !== 'string' || !(PLATFORMS as readonly string[]).includes(platform))) {
    throw new ExportRequestError('platform', `platform ${JSON.stringify(platform)} is unknown: expected one of ${PLATFORMS.join(', ')}`);
  }
  return {
    kind: kind as ExportKind,
    date: (date as string | undefined) ?? null,
    unit: (unit as string | undefined)?.trim() ?? null,
    platform: (platform as Platform | undefined) ?? null,
  };
}

/** How many valid unit ids an error about an unknown unit names before "and N more". */
const UNITS_NAMED = 10;

/** An unknown unit is refused with the ids that would do (active units first, then by id). */
async function checkUnit(db: Queryable, unit: string): Promise<void> {
  const { rows } = await db.query<{ client_id: string; known: boolean; total: number }>(
    `SELECT client_id, client_id = $1 AS known, count(*) OVER ()::int AS total FROM clients
      ORDER BY client_id = $1 DESC, (client_status IS DISTINCT FROM false) DESC, client_id LIMIT $2`,
    [unit, UNITS_NAMED],
  );
  if (rows[0]?.known) return;
  const total = rows[0]?.total ?? 0;
  const valid = total === 0 ? 'clients has no units' : `valid: ${rows.map((r) => r.client_id).join(', ')}${total > rows.length ? ` and ${total - rows.length} more` : ''}`;
  throw new ExportRequestError('unit', `unit ${JSON.stringify(unit)} is not in clients (expected a clients.client_id; ${valid})`);
}

/** The period kind behind an export: the ranking covers a month. */
const periodKind = (kind: ExportKind): ReportKind => (kind === 'ranking' ? 'monthly' : kind);

/** The workbook asked for. `now` and `timeZone` pick the last complete period when no date is given. */
export async function exportWorkbook(db: Queryable, request: ExportRequest, now: Date, timeZone: string): Promise<RecapWorkbook> {
  const period = reportPeriod(periodKind(request.kind), now, timeZone, request.date);
  if (request.unit !== null) await checkUnit(db, request.unit);
  const numbers = await recapNumbers(db, { from: period.start, to: period.end, ...(request.unit !== null ? { clientIds: [request.unit] } : {}) });
  const scope = request.unit !== null ? numbers.units[0]!.name : 'Semua Satker';
  if (request.kind === 'ranking') {
    return {
      fileName: workbookFileName(`Ranking Engagement ${scope}`, numbers),
      mimeType: XLSX_MIME,
      bytes: await rankingWorkbook(numbers, { kind: 'monthly' }),
      from: numbers.from,
      to: numbers.to,
      units: numbers.units.length,
    };
  }
  if (request.unit !== null && request.platform === null) return unitWorkbook(numbers, numbers.units[0]!, request.kind);
  const platforms = request.platform ? [request.platform] : PLATFORMS;
  const platformWords = request.platform === 'instagram' ? ' Instagram' : request.platform === 'tiktok' ? ' TikTok' : '';
  return {
    fileName: workbookFileName(`Rekap Engagement${platformWords} ${scope}`, numbers),
    mimeType: XLSX_MIME,
    bytes: await engagementWorkbook(numbers, { platforms, kind: request.kind }),
    from: numbers.from,
    to: numbers.to,
    units: numbers.units.length,
  };
}
