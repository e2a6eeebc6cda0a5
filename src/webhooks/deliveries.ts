/**
 * The statements on webhook_deliveries: recording an event (in the caller's transaction), the sender's
 * claims and marks, and what operators list and retry. A receiver's deliveries of one chat go in
 * order: a delivery is claimable only when no earlier one for the same receiver and chat is pending.
 */
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/pool.js';
import { isoZoned } from '../lib/zoned-time.js';

export const WEBHOOK_CHANNEL = 'webhook_deliveries_pending';

export interface DueDelivery {
  id: number;
  eventId: string;
  event: string;
  url: string;
  payload: unknown;
  attempts: number;
  createdAt: Date;
}

/** One row per receiver, in the caller's transaction; every receiver gets the same event id. */
export async function recordDeliveries(db: Queryable, urls: string[], event: string, payload: unknown, orderingKey: string, retryForMs: number): Promise<string> {
  const eventId = randomUUID();
  await db.query(
    `INSERT INTO webhook_deliveries (event_id, event, url, ordering_key, payload, retry_until)
     SELECT $1::uuid, $2, url, $4, $5::jsonb, now() + $6 * interval '1 millisecond' FROM unnest($3::text[]) AS url`,
    [eventId, event, urls, orderingKey, JSON.stringify(payload), retryForMs],
  );
  return eventId;
}

/** Due deliveries that are first in their receiver's chat, leased to `owner`. */
export async function claimDueDeliveries(db: Queryable, owner: string, limit: number, leaseMs: number): Promise<DueDelivery[]> {
  const { rows } = await db.query(
    `UPDATE webhook_deliveries d SET locked_by = $2, lease_until = now() + $3 * interval '1 millisecond'
       FROM (SELECT w.id FROM webhook_deliveries w
              WHERE w.status = 'pending' AND w.next_attempt_at <= now() AND (w.lease_until IS NULL OR w.lease_until < now())
                AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                                 WHERE e.status = 'pending' AND e.url = w.url AND e.ordering_key = w.ordering_key AND e.id < w.id)
              ORDER BY w.next_attempt_at, w.id
              LIMIT $1
              FOR UPDATE SKIP LOCKED) due
      WHERE d.id = due.id
      RETURNING d.id, d.event_id, d.event, d.url, d.payload, d.attempts, d.created_at`,
    [limit, owner, leaseMs],
  );
  return rows.map((r) => ({ id: Number(r.id), eventId: r.event_id, event: r.event, url: r.url, payload: r.payload, attempts: r.attempts, createdAt: r.created_at }));
}

export async function markDelivered(db: Queryable, id: number, owner: string, status: number): Promise<void> {
  await db.query(
    `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), attempts = attempts + 1, last_status = $3, last_error = NULL, locked_by = NULL, lease_until = NULL
      WHERE id = $1 AND locked_by = $2 AND status = 'pending'`,
    [id, owner, status],
  );
}

/** A failed attempt: retried after `delayMs`, or dead-lettered once the retry window has passed. */
export async function markAttemptFailed(db: Queryable, id: number, owner: string, status: number | null, error: string, delayMs: number): Promise<'retry' | 'failed'> {
  const { rows } = await db.query<{ status: string }>(
    `UPDATE webhook_deliveries
        SET attempts = attempts + 1, last_status = $3, last_error = $4, locked_by = NULL, lease_until = NULL,
            status = CASE WHEN now() + $5 * interval '1 millisecond' > retry_until THEN 'failed' ELSE 'pending' END,
            next_attempt_at = now() + $5 * interval '1 millisecond'
      WHERE id = $1 AND locked_by = $2
      RETURNING status`,
    [id, owner, status, error.slice(0, 500), delayMs],
  );
  return rows[0]?.status === 'failed' ? 'failed' : 'retry';
}

/** When the next delivery is due, if any is pending. */
export async function nextDue(db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>(`SELECT min(next_attempt_at) AS at FROM webhook_deliveries WHERE status = 'pending'`);
  return rows[0]?.at ?? null;
}

export interface DeliveryRow {
  id: number;
  eventId: string;
  event: string;
  url: string;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  nextAttemptAt: Date;
  deliveredAt: Date | null;
}

export async function listDeliveries(db: Queryable, options: { status?: string; limit: number }): Promise<DeliveryRow[]> {
  const { rows } = await db.query(
    `SELECT id, event_id, event, url, status, attempts, last_status, last_error, created_at, next_attempt_at, delivered_at
       FROM webhook_deliveries WHERE ($1::text IS NULL OR status = $1) ORDER BY id DESC LIMIT $2`,
    [options.status ?? null, options.limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    eventId: r.event_id,
    event: r.event,
    url: r.url,
    status: r.status,
    attempts: r.attempts,
    lastStatus: r.last_status,
    lastError: r.last_error,
    createdAt: r.created_at,
    nextAttemptAt: r.next_attempt_at,
    deliveredAt: r.delivered_at,
  }));
}

/** Dead-lettered deliveries go again, due now, with a new retry window. */
export async function retryDeliveries(db: Queryable, ids: number[], retryForMs: number): Promise<Array<{ id: number; done: boolean; detail: string }>> {
  const { rows } = await db.query<{ id: string; status: string }>(
    `WITH found AS (SELECT id, status FROM webhook_deliveries WHERE id = ANY($1::bigint[]) FOR UPDATE),
          retried AS (UPDATE webhook_deliveries w SET status = 'pending', next_attempt_at = now(), retry_until = now() + $2 * interval '1 millisecond', last_error = NULL
                        FROM found WHERE w.id = found.id AND found.status = 'failed' RETURNING w.id)
     SELECT found.id, found.status FROM found`,
    [ids, retryForMs],
  );
  const found = new Map(rows.map((r) => [Number(r.id), r.status]));
  return ids.map((id) => {
    const status = found.get(id);
    if (status === undefined) return { id, done: false, detail: 'no such delivery' };
    if (status !== 'failed') return { id, done: false, detail: `is ${status}; only failed (dead-lettered) deliveries can be retried` };
    return { id, done: true, detail: 'pending again' };
  });
}

/** A delivery as a program reads it (`--json`, the API): times as ISO 8601 with the zone's offset. */
export function deliveryJson(r: DeliveryRow, timeZone: string): Record<string, unknown> {
  return { ...r, createdAt: isoZoned(r.createdAt, timeZone), nextAttemptAt: isoZoned(r.nextAttemptAt, timeZone), deliveredAt: isoZoned(r.deliveredAt, timeZone) };
}
