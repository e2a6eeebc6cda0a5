/**
 * The report views the jobs read, and their contract (docs/report-views.md): the columns each view must
 * have. A view that is missing, or lacks a needed column, fails that run with an error naming both.
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

/** Cicero_V2's tables the service's report views are made from. */
export const CICERO_TABLES = ['clients', 'user', 'insta_post', 'insta_like', 'tiktok_post', 'tiktok_comment', 'tasks'] as const;

export const NO_SOURCE_REMEDY =
  'point DATABASE_URL at the Cicero_V2 database (the service then installs the report views), or run "npm run demo" to see recaps made from demo data';

export interface ReportSource {
  /** Cicero_V2 tables this database lacks (empty on a Cicero_V2 database). */
  missingTables: string[];
  /** Report views that do not exist. */
  missingViews: string[];
}

/** What the recaps are made from, and what of it is missing here. */
export async function reportSource(db: Queryable): Promise<ReportSource> {
  const views = Object.values(REPORT_VIEWS).map((c) => c.view);
  const { rows } = await db.query<{ name: string; present: boolean }>(
    `SELECT name, to_regclass(format('%I', name)) IS NOT NULL AS present FROM unnest($1::text[]) AS name`,
    [[...CICERO_TABLES, ...views]],
  );
  const missing = new Set(rows.filter((r) => !r.present).map((r) => r.name));
  return { missingTables: CICERO_TABLES.filter((t) => missing.has(t)), missingViews: views.filter((v) => missing.has(v)) };
}

/**
 * Why a report job cannot run on this database at all (no Cicero_V2 tables, and no view of an
 * operator's own), in one sentence with the remedy; null when the view is there.
 */
export async function missingSourceReason(db: Queryable, contract: ViewContract): Promise<string | null> {
  const source = await reportSource(db);
  if (!source.missingViews.includes(contract.view) || source.missingTables.length === 0) return null;
  return `no recap can be made: this database has no Cicero_V2 tables (missing: ${source.missingTables.map((t) => (t === 'user' ? '"user"' : t)).join(', ')}), so ${contract.view} does not exist; ${NO_SOURCE_REMEDY}`;
}

/**
 * Installs the service's views where Cicero_V2's tables exist and no object has their name, then makes
 * the service's own task_delivery_recap_view the one the recap can read by window (migration 013).
 */
export async function installReportViews(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ installed: string[] }>('SELECT cicero_wa_install_report_views() AS installed');
  await db.query('SELECT cicero_wa_adopt_task_view()');
  return rows[0]?.installed ?? [];
}
