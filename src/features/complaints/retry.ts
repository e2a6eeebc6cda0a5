/**
 * Retrying failed complaints (operators: `cicero-wa complaints retry`, `POST /api/complaints/{id}/retry`),
 * in one transaction with their replies' outbox rows: a failed complaint whose reply exists goes back
 * to `queued` with that reply sent again; one without a reply (e.g. the number was invalid and has been
 * corrected) goes back to `pending`, and a new reply is written.
 */
import type pg from 'pg';
import { withTransaction } from '../../db/pool.js';
import { retryRows } from '../../outbox/operator-actions.js';
import { COMPLAINT_STATUSES, complaintsByIds, setStatus } from './complaint-queue.js';

export interface ComplaintRetryResult {
  id: number;
  done: boolean;
  /** What happened, or why nothing did. */
  detail: string;
}

export function retryComplaints(pool: pg.Pool, ids: number[]): Promise<ComplaintRetryResult[]> {
  return withTransaction(pool, async (tx) => {
    const found = await complaintsByIds(tx, ids);
    const results: ComplaintRetryResult[] = [];
    for (const id of ids) {
      const complaint = found.get(id);
      if (!complaint) {
        results.push({ id, done: false, detail: 'no such complaint' });
      } else if (complaint.status !== 'failed' && (COMPLAINT_STATUSES as readonly (string | null)[]).includes(complaint.status)) {
        results.push({ id, done: false, detail: `is ${complaint.status}; only failed complaints (or ones with a status the service does not know) can be retried` });
      } else if (complaint.outboxId !== null && (await retryRows(tx, [complaint.outboxId]))[0]?.done) {
        await setStatus(tx, [id], 'queued', false);
        results.push({ id, done: true, detail: `reply ${complaint.outboxId} will be sent again` });
      } else {
        await setStatus(tx, [id], 'pending', true);
        results.push({ id, done: true, detail: 'pending again; a new reply will be written' });
      }
    }
    return results;
  });
}
