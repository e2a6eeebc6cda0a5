/** The rekap module: the report jobs and the task delivery recap, over the report views. */
import type pg from 'pg';
import type { JobSources } from '../../jobs.js';
import { reportJob } from './report-job.js';
import { taskDeliveryRecapJob } from './task-delivery-recap.js';

export interface RekapOptions {
  pool: pg.Pool;
  timeZone: string;
  sendEmpty: boolean;
  /** Each unit's workbook after its weekly and monthly text (REKAP_ATTACH_EXCEL). */
  attachExcel: boolean;
  /** WA_DOCUMENT_MAX_BYTES. */
  documentMaxBytes?: number;
}

export function rekapHandlers(options: RekapOptions): JobSources['rekap'] {
  return {
    'daily-report': reportJob('daily', 'daily-report', options),
    'weekly-report': reportJob('weekly', 'weekly-report', options),
    'monthly-report': reportJob('monthly', 'monthly-report', options),
    'task-delivery-recap': taskDeliveryRecapJob(options),
  };
}

export { installReportViews, ReportViewError } from './report-views.js';
export { reportPeriod } from './periods.js';
export { engagementWorkbook, XLSX_MIME, workbookFileName, type EngagementWorkbookOptions } from './recap-workbook.js';
export { rankingWorkbook, type RankingWorkbookOptions } from './ranking-workbook.js';
