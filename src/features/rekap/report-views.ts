/**
 * The report views and their contract (docs/report-views.md): the columns each view must have. The
 * daily, weekly and monthly recaps are made by the service from Cicero_V2's tables unless an operator
 * has created a view of that name: then its rows are sent as they are. The task delivery recap reads
 * its view, which the service installs. A view that lacks a needed column fails that run with an error
 * naming both.
 */
import type { Queryable } from '../../db/pool.js';
import { OperatorError } from '../../lib/errors.js';

export interface ViewContract {
  view: string;
  /** Columns the job reads. */
  required: string[];
  /** Columns the job uses when present. */
  optional: string[];
}

export const REPORT_VIEWS = {
  daily: { view: 'daily_report_view', required: ['recipient', 'summary', 'report_date'], optional: ['client_id', 'post_count'] },
  weekly: { view: 'weekly_report_view', required: ['recipient', 'summary', 'week_start'], optional: ['client_id', 'post_count'] },
  monthly: { view: 'monthly_report_view', required: ['recipient', 'summary', 'month_start'], optional: ['client_id', 'post_count'] },
  taskDelivery: { view: 'task_delivery_recap_view', required: ['recipient', 'summary', 'delivered_at'], optional: ['client_id'] },
} satisfies Record<string, ViewContract>;

export class ReportViewError extends OperatorError {
  constructor(message: string) {
    super(message);
  }
}

/** Checks the view against its contract; returns the optional columns it has. */
export async function checkView(db: Queryable, contract: ViewContract): Promise<Set<string>> {
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT a.attname AS column_name
       FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    [contract.view],
  );
  if (rows.length === 0) {
    const exists = await db.query('SELECT to_regclass($1) IS NOT NULL AS ok', [contract.view]);
    if (!exists.rows[0]?.ok) {
      throw new ReportViewError(
        `report view ${contract.view} does not exist: create it (docs/report-views.md), or give the database Cicero_V2's tables so the service installs its own`,
      );
    }
  }
  const columns = new Set(rows.map((r) => r.column_name));
  const missing = contract.required.filter((c) => !columns.has(c));
  if (missing.length > 0) {
    throw new ReportViewError(`report view ${contract.view} has no column ${missing.join(', ')} (needed: ${contract.required.join(', ')}; see docs/report-views.md)`);
  }
  return new Set(contract.optional.filter((c) => columns.has(c)));
}

/** Cicero_V2's tables the recaps are made from. */
export const CICERO_TABLES = ['clients', 'user', 'insta_post', 'insta_like', 'tiktok_post', 'tiktok_comment', 'tasks'] as const;

export const NO_SOURCE_REMEDY =
  'point DATABASE_URL at the Cicero_V2 database (the service then installs the report views), or run "npm run demo" to see recaps made from demo data';

/** The views an operator may create to send recaps of their own wording (the service makes them otherwise). */
export const OPERATOR_VIEWS = [REPORT_VIEWS.daily.view, REPORT_VIEWS.weekly.view, REPORT_VIEWS.monthly.view];

export interface ReportSource {
  /** Cicero_V2 tables this database lacks (empty on a Cicero_V2 database). */
  missingTables: string[];
  /** Views the service installs (the task delivery recap's) that do not exist. */
  missingViews: string[];
  /** Daily, weekly or monthly views of an operator's own: their rows are sent as they are. */
  operatorViews: string[];
}

/** What the recaps are made from, and what of it is missing here. */
export async function reportSource(db: Queryable): Promise<ReportSource> {
  const installed = [REPORT_VIEWS.taskDelivery.view];
  const { rows } = await db.query<{ name: string; present: boolean }>(
    `SELECT name, to_regclass(format('%I', name)) IS NOT NULL AS present FROM unnest($1::text[]) AS name`,
    [[...CICERO_TABLES, ...installed, ...OPERATOR_VIEWS]],
  );
  const present = new Set(rows.filter((r) => r.present).map((r) => r.name));
  return {
    missingTables: CICERO_TABLES.filter((t) => !present.has(t)),
    missingViews: installed.filter((v) => !present.has(v)),
    operatorViews: OPERATOR_VIEWS.filter((v) => present.has(v)),
  };
}

/** Where a daily, weekly or monthly recap comes from: an operator's view, Cicero_V2's tables, or nowhere (why). */
export async function engagementSource(db: Queryable, contract: ViewContract): Promise<{ from: 'view' | 'tables'; tables: boolean } | { skipped: string }> {
  const source = await reportSource(db);
  const tables = source.missingTables.length === 0;
  if (source.operatorViews.includes(contract.view)) return { from: 'view', tables };
  if (tables) return { from: 'tables', tables };
  return { skipped: noTablesReason(source.missingTables) };
}

function noTablesReason(missingTables: string[]): string {
  return `no recap can be made: this database has no Cicero_V2 tables (missing: ${missingTables.map((t) => (t === 'user' ? '"user"' : t)).join(', ')}); ${NO_SOURCE_REMEDY}`;
}

/**
 * Why the task delivery recap cannot run on this database at all (no Cicero_V2 tables, and no view of
 * an operator's own), in one sentence with the remedy; null when the view is there.
 */
export async function missingSourceReason(db: Queryable, contract: ViewContract): Promise<string | null> {
  const source = await reportSource(db);
  if (!source.missingViews.includes(contract.view) || source.missingTables.length === 0) return null;
  return noTablesReason(source.missingTables);
}

/**
 * Installs the service's view where Cicero_V2's tables exist and no object has its name, then makes the
 * service's own task_delivery_recap_view the one the recap can read by window (migration 013).
 */
export async function installReportViews(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ installed: string[] }>('SELECT cicero_wa_install_report_views() AS installed');
  await db.query('SELECT cicero_wa_adopt_task_view()');
  return rows[0]?.installed ?? [];
}
