/**
 * Report periods in CRON_TIMEZONE. A scheduled run reports the period before the slot: daily the
 * previous day, weekly the previous Monday–Sunday, monthly the previous calendar month. A run with
 * `--date D` reports the period holding D.
 */
import { zonedParts } from '../../lib/zoned-time.js';

export type ReportKind = 'daily' | 'weekly' | 'monthly';

export interface ReportPeriod {
  kind: ReportKind;
  /** The view's period column: report_date, week_start or month_start. */
  column: 'report_date' | 'week_start' | 'month_start';
  /** Its value, YYYY-MM-DD. */
  start: string;
  /** Last day of the period, YYYY-MM-DD. */
  end: string;
}

const COLUMN: Record<ReportKind, ReportPeriod['column']> = { daily: 'report_date', weekly: 'week_start', monthly: 'month_start' };

function iso(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Calendar arithmetic on UTC-midnight dates standing for local dates. */
function day(y: number, m: number, d: number): Date {
  return new Date(Date.UTC(y, m - 1, d));
}

function periodHolding(kind: ReportKind, date: Date): ReportPeriod {
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth() + 1;
  const d = date.getUTCDate();
  if (kind === 'daily') return { kind, column: COLUMN[kind], start: iso(date), end: iso(date) };
  if (kind === 'weekly') {
    const mondayOffset = (date.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
    const monday = day(y, m, d - mondayOffset);
    return { kind, column: COLUMN[kind], start: iso(monday), end: iso(day(y, m, d - mondayOffset + 6)) };
  }
  return { kind, column: COLUMN[kind], start: iso(day(y, m, 1)), end: iso(day(y, m + 1, 0)) };
}

/** The period a run reports: the one holding `date` (YYYY-MM-DD) if given, else the one before `slot`'s. */
export function reportPeriod(kind: ReportKind, slot: Date, timeZone: string, date: string | null = null): ReportPeriod {
  if (date) return periodHolding(kind, new Date(`${date}T00:00:00Z`));
  const local = zonedParts(slot, timeZone);
  if (kind === 'daily') return periodHolding(kind, day(local.year, local.month, local.day - 1));
  if (kind === 'weekly') return periodHolding(kind, day(local.year, local.month, local.day - 7));
  return periodHolding(kind, day(local.year, local.month - 1, 1));
}

/** Local wall time of an instant in the zone, as "YYYY-MM-DD HH:MM:SS" (Cicero_V2's timestamps are local). */
export function localTimestamp(instant: Date, timeZone: string): string {
  const p = zonedParts(instant, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}:${two(p.second)}`;
}

/** The report dates a run accepts (a period is worked out in the database's time; far dates overflow it). */
export const REPORT_DATE_RANGE = { from: '2000-01-01', to: '2099-12-31' } as const;

/** What is wrong with a report date given by an operator (`--date`, `date`), or null. */
export function reportDateProblem(value: string): string | null {
  if (!isCalendarDate(value)) return 'is not a calendar date (YYYY-MM-DD)';
  if (value < REPORT_DATE_RANGE.from || value > REPORT_DATE_RANGE.to) return `is outside the dates a report covers: ${REPORT_DATE_RANGE.from} to ${REPORT_DATE_RANGE.to}`;
  return null;
}

export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}
