/**
 * The complaints module's statements on complaint_queue (the only module that writes it).
 * Lifecycle: pending → queued (reply in the outbox, outbox_id set) → responded (reply sent;
 * responded_at is the send time) or failed (failure_reason). A complaint's `session` is the WhatsApp
 * number that heard it (its wa_inbox row's), and its reply goes out from that number.
 */
import type { Queryable } from '../../db/pool.js';
import type { RetentionKeepRule } from '../../outbox/retention.js';

export const COMPLAINT_CHANNEL = 'complaint_queue_pending';

/** The outbox keeps a reply a complaint still waits on (queued), however old (outbox-retention). */
export const COMPLAINT_RETENTION_RULE: RetentionKeepRule = {
  keepWhile: "EXISTS (SELECT 1 FROM complaint_queue q WHERE q.outbox_id = r.id AND q.status = 'queued')",
};
export const COMPLAINT_STATUSES = ['pending', 'queued', 'responded', 'failed'] as const;
export type ComplaintStatus = (typeof COMPLAINT_STATUSES)[number];
/** What `--status` takes: a status, or `other` for the complaints whose status is none of them. */
export const COMPLAINT_STATUS_FILTERS = [...COMPLAINT_STATUSES, 'other'] as const;
export type ComplaintStatusFilter = (typeof COMPLAINT_STATUS_FILTERS)[number];

/**
 * Statuses written by other programs: NULL and the spellings of pending become `pending`, a `queued`
 * without a reply of ours too, other case variants of a status become it; what is left is counted by
 * status (for the log; `complaints list --status other` shows them and `complaints retry` takes them).
 */
export async function normaliseStatuses(db: Queryable): Promise<Array<{ status: string | null; rows: number }>> {
  await db.query(
    `UPDATE complaint_queue
        SET status = CASE
                       WHEN status IS NULL OR lower(btrim(status)) IN ('pending', 'new', 'waiting', 'queued') THEN 'pending'
                       WHEN lower(btrim(status)) IN ('responded', 'replied', 'done', 'answered') THEN 'responded'
                       ELSE lower(btrim(status))
                     END,
            failure_reason = 'status was ' || coalesce('"' || status || '"', 'NULL') || ': normalised', updated_at = now()
      WHERE (status IS NULL OR status NOT IN ('pending', 'queued', 'responded', 'failed') OR (status = 'queued' AND outbox_id IS NULL))
        AND (status IS NULL OR lower(btrim(status)) IN ('pending', 'new', 'waiting', 'queued', 'responded', 'replied', 'done', 'answered', 'failed'))`,
  );
  const { rows } = await db.query<{ status: string | null; rows: number }>(
    `SELECT status, count(*)::int AS rows FROM complaint_queue
      WHERE status IS NULL OR status NOT IN ('pending', 'queued', 'responded', 'failed')
      GROUP BY status ORDER BY status`,
  );
  return rows;
}

export interface PendingComplaint {
  id: number;
  complainant: string;
  responseTemplate: string;
  /** The session (WhatsApp number) that heard it, which answers it; `default` for complaints other programs wrote. */
  session: string;
  /** For a complaint that arrived by WhatsApp: the chat to answer in, and what was read from it. */
  replyChat: string | null;
  parsed: { nrp?: string; name?: string | null; unit?: string | null } | null;
}

/** The oldest pending complaints, locked for this transaction; others' locked rows are skipped. */
export async function claimPending(tx: Queryable, limit: number): Promise<PendingComplaint[]> {
  const { rows } = await tx.query<{ id: number; complainant: string; response_template: string; session: string; reply_chat: string | null; parsed: PendingComplaint['parsed'] }>(
    `SELECT id, complainant, response_template, session, reply_chat, parsed FROM complaint_queue
      WHERE status = 'pending' ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    complainant: r.complainant,
    responseTemplate: r.response_template,
    session: r.session,
    replyChat: r.reply_chat,
    parsed: r.parsed && typeof r.parsed === 'object' ? r.parsed : null,
  }));
}

export async function markQueued(tx: Queryable, links: Array<{ id: number; outboxId: number }>): Promise<void> {
  if (links.length === 0) return;
  await tx.query(
    `UPDATE complaint_queue c SET status = 'queued', outbox_id = l.outbox_id, failure_reason = NULL, updated_at = now()
       FROM unnest($1::int[], $2::int[]) AS l(id, outbox_id) WHERE c.id = l.id`,
    [links.map((l) => l.id), links.map((l) => l.outboxId)],
  );
}

export async function markFailed(db: Queryable, ids: number[], reason: string): Promise<void> {
  if (ids.length === 0) return;
  await db.query(`UPDATE complaint_queue SET status = 'failed', failure_reason = $2, updated_at = now() WHERE id = ANY($1::int[])`, [ids, reason]);
}

/** The reply was sent: responded, at the send time. */
export async function markRespondedByOutbox(db: Queryable, outboxId: number, sentAt: Date): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE complaint_queue SET status = 'responded', responded_at = $2, failure_reason = NULL, updated_at = now()
      WHERE outbox_id = $1 AND status IN ('queued', 'failed')`,
    [outboxId, sentAt],
  );
  return rowCount ?? 0;
}

export async function markFailedByOutbox(db: Queryable, outboxId: number, reason: string): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE complaint_queue SET status = 'failed', failure_reason = $2, updated_at = now() WHERE outbox_id = $1 AND status = 'queued'`,
    [outboxId, reason],
  );
  return rowCount ?? 0;
}

/** Queued complaints and their reply rows, for reconciling with the outbox. */
export async function queuedComplaints(db: Queryable): Promise<Array<{ id: number; outboxId: number | null }>> {
  const { rows } = await db.query<{ id: number; outbox_id: number | null }>(`SELECT id, outbox_id FROM complaint_queue WHERE status = 'queued'`);
  return rows.map((r) => ({ id: r.id, outboxId: r.outbox_id }));
}

/** What a listing shows. The seed's TIMESTAMP columns hold the database session's wall time: read as instants in that zone. */
const LISTED_COLUMNS = `id, complainant, response_template, session, status,
       created_at AT TIME ZONE current_setting('TimeZone') AS created_at,
       responded_at AT TIME ZONE current_setting('TimeZone') AS responded_at,
       outbox_id, failure_reason`;

export interface ComplaintRow {
  id: number;
  complainant: string;
  responseTemplate: string;
  /** The session (WhatsApp number) that heard it and answers it. */
  session: string;
  status: string | null;
  createdAt: Date | null;
  respondedAt: Date | null;
  outboxId: number | null;
  failureReason: string | null;
}

function toComplaintRow(r: Record<string, unknown>): ComplaintRow {
  return {
    id: r.id as number,
    complainant: r.complainant as string,
    responseTemplate: r.response_template as string,
    session: r.session as string,
    status: r.status as string | null,
    createdAt: r.created_at as Date | null,
    respondedAt: r.responded_at as Date | null,
    outboxId: r.outbox_id as number | null,
    failureReason: r.failure_reason as string | null,
  };
}

export async function listComplaints(db: Queryable, options: { status?: ComplaintStatusFilter; limit: number }): Promise<ComplaintRow[]> {
  const { rows } = await db.query(
    `SELECT ${LISTED_COLUMNS}
       FROM complaint_queue
      WHERE ($1::text IS NULL OR status = $1
             OR ($1 = 'other' AND (status IS NULL OR status NOT IN ('pending', 'queued', 'responded', 'failed'))))
      ORDER BY id DESC LIMIT $2`,
    [options.status ?? null, options.limit],
  );
  return rows.map(toComplaintRow);
}

export async function complaintsByIds(db: Queryable, ids: number[]): Promise<Map<number, ComplaintRow>> {
  const { rows } = await db.query(`SELECT ${LISTED_COLUMNS} FROM complaint_queue WHERE id = ANY($1::int[]) FOR UPDATE`, [ids]);
  return new Map(rows.map((r) => [r.id as number, toComplaintRow(r)]));
}

export async function setStatus(db: Queryable, ids: number[], status: ComplaintStatus, clearOutbox: boolean): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE complaint_queue SET status = $2, failure_reason = NULL, updated_at = now()${clearOutbox ? ', outbox_id = NULL' : ''} WHERE id = ANY($1::int[])`,
    [ids, status],
  );
}

export interface NewComplaint {
  complainant: string;
  responseTemplate: string;
  inboxId: number;
  /** The session that heard the message (its wa_inbox row's). */
  session: string;
  parsed: unknown;
  replyChat: string;
}

/** Complaints that arrived by WhatsApp, pending, in the caller's transaction; returns their ids in order. */
export async function insertComplaints(tx: Queryable, complaints: NewComplaint[]): Promise<number[]> {
  if (complaints.length === 0) return [];
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO complaint_queue (complainant, response_template, status, inbox_id, session, parsed, reply_chat)
     SELECT complainant, template, 'pending', inbox_id, session, parsed, reply_chat
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::jsonb[], $6::text[])
            WITH ORDINALITY AS c(complainant, template, inbox_id, session, parsed, reply_chat, ord)
      ORDER BY ord
     RETURNING id`,
    [
      complaints.map((c) => c.complainant),
      complaints.map((c) => c.responseTemplate),
      complaints.map((c) => c.inboxId),
      complaints.map((c) => c.session),
      complaints.map((c) => JSON.stringify(c.parsed)),
      complaints.map((c) => c.replyChat),
    ],
  );
  return rows.map((r) => r.id).sort((a, b) => a - b);
}

/** How many complaints this complainant made within the last `withinMs` (a sender's hourly limit). */
export async function complaintsFromSince(db: Queryable, complainant: string, withinMs: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM complaint_queue
      WHERE complainant = $1 AND inbox_id IS NOT NULL AND created_at > (now() - $2 * interval '1 millisecond')::timestamp`,
    [complainant, withinMs],
  );
  return rows[0]?.n ?? 0;
}
