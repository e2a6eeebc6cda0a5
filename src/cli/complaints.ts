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
  type ComplaintStatusFilter,
} from '../modules/complaints/complaint-queue.js';
import { retryRows } from '../modules/wa-gateway/outbox-admin.js';
import { UsageError, parseIds, parseListOptions } from './usage.js';

export interface ComplaintsCommand {
  action: 'list' | 'retry';
  status?: ComplaintStatusFilter;
  limit: number;
  ids: number[];
}

export function parseComplaintsCommand(positionals: string[], options: { status?: string; limit?: string }): ComplaintsCommand {
  const [action, ...rest] = positionals;
  if (action === 'list') return { action, ...parseListOptions('complaints', rest, COMPLAINT_STATUS_FILTERS, options), ids: [] };
  if (action === 'retry') return { action, limit: 0, ids: parseIds('complaints', action, rest, options) };
  throw new UsageError(`unknown complaints action "${action ?? ''}": expected list or retry`);
}

const time = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '-');

/**
 * Retry: a failed complaint whose reply exists goes back to `queued` with its reply sent again; one
 * without a reply (e.g. the number was invalid and has been corrected) goes back to `pending`.
 */
export async function runComplaintsCommand(pool: pg.Pool, command: ComplaintsCommand): Promise<{ lines: string[]; code: number }> {
  if (command.action === 'list') {
    const rows = await listComplaints(pool, { ...(command.status ? { status: command.status } : {}), limit: command.limit });
    const lines = rows.map((r) =>
      [
        String(r.id).padStart(7),
        (r.status ?? '-').padEnd(9),
        r.complainant.padEnd(20),
        `template=${JSON.stringify(r.responseTemplate.length > 40 ? `${r.responseTemplate.slice(0, 40)}…` : r.responseTemplate)}`,
        `created=${time(r.createdAt)}`,
        r.respondedAt ? `responded=${time(r.respondedAt)}` : '',
        r.outboxId ? `reply=${r.outboxId}` : '',
        r.failureReason ? `reason="${r.failureReason}"` : '',
      ]
        .filter(Boolean)
        .join('  '),
    );
    return { lines: rows.length ? lines : ['(no complaints)'], code: 0 };
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
