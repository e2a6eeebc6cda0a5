/**
 * The workbook a unit's group gets after its weekly or monthly recap: both platforms, its unit only, with
 * its file name. The report job builds it in a worker thread (workbook-builder.ts); `cicero-wa export`
 * and the API build the very same bytes on demand (recap-export.ts).
 */
import type { RecapNumbers, UnitNumbers } from './recap-numbers.js';
import { PLATFORMS } from './recap-statements.js';
import { engagementWorkbook } from './recap-workbook.js';
import { workbookFileName, XLSX_MIME } from './workbook-common.js';

export interface RecapWorkbook {
  fileName: string;
  mimeType: string;
  bytes: Buffer;
  /** The period, YYYY-MM-DD. */
  from: string;
  to: string;
  /** Units in the workbook. */
  units: number;
}

/** The period a unit workbook covers: the numbers without their units. */
export type RecapPeriod = Pick<RecapNumbers, 'from' | 'to' | 'days'>;

export async function unitWorkbook(period: RecapPeriod, unit: UnitNumbers, kind: 'weekly' | 'monthly'): Promise<RecapWorkbook> {
  const own: RecapNumbers = { from: period.from, to: period.to, days: period.days, units: [unit] };
  return {
    fileName: workbookFileName(`Rekap Engagement ${unit.name}`, period),
    mimeType: XLSX_MIME,
    bytes: await engagementWorkbook(own, { platforms: PLATFORMS, kind }),
    from: period.from,
    to: period.to,
    units: 1,
  };
}
