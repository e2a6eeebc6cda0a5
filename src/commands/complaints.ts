/**
 * `cicero-wa complaints list [--status S] [--limit N]` and `cicero-wa complaints retry <id...>`.
 */
import type pg from 'pg';
import { COMPLAINT_STATUS_FILTERS, listComplaints, type ComplaintRow, type ComplaintStatusFilter } from '../features/complaints/complaint-queue.js';
import { retryComplaints } from '../features/complaints/retry.js';
import { formatZoned, isoZoned, zoneName } from '../lib/zoned-time.js';
import { print, withDatabase, type CommandContext } from './context.js';
import { json, preview, renderTable } from './table.js';
import { UsageError, parseIds, parseListOptions } from './usage.js';

export interface ComplaintsCommand {
  action: 'list' | 'retry';
  status?: ComplaintStatusFilter;
  limit: number;
  ids: number[];
  json: boolean;
}

export function parseComplaintsCommand(positionals: string[], options: { status?: string; limit?: string; json?: boolean }): ComplaintsCommand {
  const [action, ...rest] = positionals;
  const asJson = options.json === true;
  if (action === 'list') return { action, ...parseListOptions('complaints', rest, COMPLAINT_STATUS_FILTERS, options), ids: [], json: asJson };
  if (asJson) throw new UsageError('--json belongs to "complaints list"');
  if (action === 'retry') return { action, limit: 0, ids: parseIds('complaints', action, rest, options), json: false };
  throw new UsageError(`unknown complaints action "${action ?? ''}": expected list or retry`);
}

function listLines(rows: ComplaintRow[], timeZone: string, asJson: boolean): string[] {
  if (asJson) {
    return json(rows.map((r) => ({ ...r, createdAt: isoZoned(r.createdAt, timeZone), respondedAt: isoZoned(r.respondedAt, timeZone) })));
  }
  if (rows.length === 0) return ['(no complaints)'];
  const zone = zoneName(timeZone);
  return renderTable(rows, [
    { header: 'ID', cell: (r) => String(r.id), right: true },
    { header: 'STATUS', cell: (r) => r.status ?? '(none)' },
    { header: 'COMPLAINANT', cell: (r) => r.complainant },
    { header: 'SESSION', cell: (r) => r.session },
    { header: 'TEMPLATE', cell: (r) => preview(r.responseTemplate, 30) },
    { header: `CREATED (${zone})`, cell: (r) => formatZoned(r.createdAt, timeZone, { zone: false }) },
    { header: `RESPONDED (${zone})`, cell: (r) => formatZoned(r.respondedAt, timeZone, { zone: false }) },
    { header: 'REPLY', cell: (r) => (r.outboxId === null ? '-' : String(r.outboxId)) },
    { header: 'REASON', cell: (r) => r.failureReason ?? '' },
  ]);
}

export async function runComplaintsCommand(pool: pg.Pool, command: ComplaintsCommand, timeZone: string): Promise<{ lines: string[]; code: number }> {
  if (command.action === 'list') {
    const rows = await listComplaints(pool, { ...(command.status ? { status: command.status } : {}), limit: command.limit });
    return { lines: listLines(rows, timeZone, command.json), code: 0 };
  }
  const results = await retryComplaints(pool, command.ids);
  const lines = results.map((r) => `${r.done ? 'ok  ' : 'skip'} ${r.id}: ${r.detail}`);
  return { lines, code: results.every((r) => r.done) ? 0 : 1 };
}

/** `cicero-wa complaints …`. */
export async function commandComplaints(context: CommandContext): Promise<number> {
  const command = parseComplaintsCommand(context.args, context.options as { status?: string; limit?: string; json?: boolean });
  return withDatabase(context, async (pool) => {
    const { lines, code } = await runComplaintsCommand(pool, command, context.config.cron.timezone);
    print(lines);
    return code;
  });
}
