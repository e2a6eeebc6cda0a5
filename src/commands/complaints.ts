/**
 * `cicero-wa complaints list [--status S] [--limit N]` and `cicero-wa complaints retry <id...>`.
 */
import type pg from 'pg';
import { withTransaction } from '../db/pool.js';
import {
  COMPLAINT_STATUSES,
  COMPLAINT_STATUS_FILTERS,
  complaintsByIds,
  listComplaints,
  setStatus,
  type ComplaintRow,
  type ComplaintStatusFilter,
} from '../features/complaints/complaint-queue.js';
import { formatZoned, isoZoned, zoneName } from '../lib/zoned-time.js';
import { print, withDatabase, type CommandContext } from './context.js';
import { json, preview, renderTable } from './table.js';
import { retryRows } from '../outbox/admin.js';
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
    { header: 'TEMPLATE', cell: (r) => preview(r.responseTemplate, 30) },
    { header: `CREATED (${zone})`, cell: (r) => formatZoned(r.createdAt, timeZone, { zone: false }) },
    { header: `RESPONDED (${zone})`, cell: (r) => formatZoned(r.respondedAt, timeZone, { zone: false }) },
    { header: 'REPLY', cell: (r) => (r.outboxId === null ? '-' : String(r.outboxId)) },
    { header: 'REASON', cell: (r) => r.failureReason ?? '' },
  ]);
}

/**
 * Retry: a failed complaint whose reply exists goes back to `queued` with its reply sent again; one
 * without a reply (e.g. the number was invalid and has been corrected) goes back to `pending`.
 */
export async function runComplaintsCommand(pool: pg.Pool, command: ComplaintsCommand, timeZone: string): Promise<{ lines: string[]; code: number }> {
  if (command.action === 'list') {
    const rows = await listComplaints(pool, { ...(command.status ? { status: command.status } : {}), limit: command.limit });
    return { lines: listLines(rows, timeZone, command.json), code: 0 };
  }
  const lines = await withTransaction(pool, async (tx) => {
    const found = await complaintsByIds(tx, command.ids);
    const out: string[] = [];
    for (const id of command.ids) {
      const complaint = found.get(id);
      if (!complaint) {
        out.push(`skip ${id}: no such complaint`);
      } else if (complaint.status !== 'failed' && (COMPLAINT_STATUSES as readonly (string | null)[]).includes(complaint.status)) {
        out.push(`skip ${id}: is ${complaint.status}; only failed complaints (or ones with a status the service does not know) can be retried`);
      } else if (complaint.outboxId !== null && (await retryRows(tx, [complaint.outboxId]))[0]?.done) {
        await setStatus(tx, [id], 'queued', false);
        out.push(`ok   ${id}: reply ${complaint.outboxId} will be sent again`);
      } else {
        await setStatus(tx, [id], 'pending', true);
        out.push(`ok   ${id}: pending again; a new reply will be written`);
      }
    }
    return out;
  });
  return { lines, code: lines.every((l) => l.startsWith('ok')) ? 0 : 1 };
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
