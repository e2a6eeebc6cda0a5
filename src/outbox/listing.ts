/**
 * The outbox as operators and modules read it: rows listed and shown whole (with every hand-over), a
 * row as a program reads it (JSON), the backlog, counts, what waits and why, the delivery state of some
 * rows. Nothing here changes a row (operator-actions.ts does).
 */
import type { Queryable } from '../db/pool.js';
import { isoZoned } from '../lib/zoned-time.js';
import { priorityName, type OutboxPriority } from './priority.js';
import { UNKNOWN_STATUS_SQL, WAITING_STATUSES, sqlList, type ChatCheck, type FailureCode, type OutboxStatusFilter } from './vocabulary.js';

export { OUTBOX_STATUSES, OUTBOX_STATUS_FILTERS, type OutboxStatus, type OutboxStatusFilter } from './vocabulary.js';

export interface OutboxListRow {
  id: number;
  status: string | null;
  type: string;
  recipient: string;
  attempts: number;
  createdAt: Date | null;
  sentAt: Date | null;
  nextAttemptAt: Date;
  lastError: string | null;
  /** For a failed row: why, as a code of the catalogue (FAILURE_CODES); null otherwise. */
  failureCode: FailureCode | null;
  /** For sent rows: confirmed, awaiting (an outcome not known yet) or unconfirmed; null otherwise. */
  confirmation: string | null;
  waMessageId: string | null;
  ack: number | null;
  deliveredAt: Date | null;
  readAt: Date | null;
  dedupKey: string | null;
  /** The number that sends it; null while it waits to be routed. */
  session: string | null;
  /** Why this session (routing): explicit, wrote_last, home, group_member, failover: …, menunggu: …; null on a row written with a session by another program (explicit). */
  routeReason: string | null;
  /** Every move from one session to another (failover). */
  routeMoves: Array<{ from: string; to: string; at: string; why: string }>;
  /** The text; for a document its caption. */
  content: string;
  /** A document's name, type and size (never its bytes); null for text. */
  document: { fileName: string | null; mimeType: string | null; size: number | null } | null;
  /** The row this one is sent after, if any. */
  followsId: number | null;
  /** reply, normal or bulk: the order due rows are claimed in. */
  priority: OutboxPriority;
  /** The governor's last hold on the row: until when (none: until a pause ends) and why. */
  deferredUntil: Date | null;
  deferredReason: string | null;
  /** The digest key it waits under (digests.ts); null for a message sent on its own. */
  digestKey: string | null;
  /** For a message folded into a digest: that digest's row. */
  digestId: number | null;
  /** For a digest row: how many messages it folds. */
  digestCount: number | null;
}

export interface ListOptions {
  status?: OutboxStatusFilter;
  /** Only sent rows whose delivery is not confirmed (awaiting or unconfirmed). */
  unconfirmed?: boolean;
  /** Created at or after / before these instants. */
  since?: Date;
  until?: Date;
  type?: string;
  /** Part of the recipient (a number's digits, a group id). */
  recipient?: string;
  /** Only rows with a smaller id (the next page after a row). */
  beforeId?: number;
  limit: number;
}

/**
 * `created_at` and `sent_at` are the seed's TIMESTAMP columns, written in the database session's zone:
 * read as instants in that zone.
 */
const ROW_COLUMNS = `id, status, type, recipient, attempts,
       created_at AT TIME ZONE current_setting('TimeZone') AS created_at,
       sent_at AT TIME ZONE current_setting('TimeZone') AS sent_at,
       next_attempt_at, last_error, failure_code, confirmation, wa_message_id, ack, delivered_at, read_at, dedup_key, session, route_reason, route_moves, content,
       document_name, document_mime, octet_length(document)::float8 AS document_size, follows_id, priority, deferred_until, deferred_reason, digest_key, digest_id, digest_count,
       (document_name IS NOT NULL OR document_mime IS NOT NULL OR document IS NOT NULL) AS has_document`;

function toListRow(r: Record<string, unknown>): OutboxListRow {
  return {
    id: r.id as number,
    status: r.status as string | null,
    type: r.type as string,
    recipient: r.recipient as string,
    attempts: r.attempts as number,
    createdAt: r.created_at as Date | null,
    sentAt: r.sent_at as Date | null,
    nextAttemptAt: r.next_attempt_at as Date,
    lastError: r.last_error as string | null,
    failureCode: (r.failure_code as FailureCode | null) ?? null,
    confirmation: r.confirmation as string | null,
    waMessageId: r.wa_message_id as string | null,
    ack: r.ack as number | null,
    deliveredAt: r.delivered_at as Date | null,
    readAt: r.read_at as Date | null,
    dedupKey: r.dedup_key as string | null,
    session: (r.session as string | null) ?? null,
    routeReason: (r.route_reason as string | null) ?? (r.session ? 'explicit' : null),
    routeMoves: (r.route_moves as OutboxListRow['routeMoves'] | null) ?? [],
    content: r.content as string,
    document: r.has_document
      ? { fileName: r.document_name as string | null, mimeType: r.document_mime as string | null, size: r.document_size as number | null }
      : null,
    followsId: r.follows_id === null || r.follows_id === undefined ? null : Number(r.follows_id),
    priority: priorityName(r.priority as number | null),
    deferredUntil: (r.deferred_until as Date | null) ?? null,
    deferredReason: (r.deferred_reason as string | null) ?? null,
    digestKey: (r.digest_key as string | null) ?? null,
    digestId: (r.digest_id as number | null) ?? null,
    digestCount: (r.digest_count as number | null) ?? null,
  };
}

/**
 * A row as a program reads it (`--json`, the HTTP API): every field but the text, times as ISO 8601 with
 * the offset of `timeZone`; the due time only while the row waits.
 */
export function rowJson(row: OutboxListRow, timeZone: string): Record<string, unknown> {
  return {
    id: row.id,
    status: row.status,
    type: row.type,
    recipient: row.recipient,
    session: row.session,
    routeReason: row.routeReason,
    routeMoves: row.routeMoves,
    priority: row.priority,
    attempts: row.attempts,
    lastError: row.lastError,
    failureCode: row.status === 'failed' ? row.failureCode : null,
    confirmation: row.confirmation,
    confirmed: row.confirmation === 'confirmed',
    waMessageId: row.waMessageId,
    ack: row.ack,
    dedupKey: row.dedupKey,
    createdAt: isoZoned(row.createdAt, timeZone),
    nextAttemptAt: row.status === 'pending' ? isoZoned(row.nextAttemptAt, timeZone) : null,
    sentAt: isoZoned(row.sentAt, timeZone),
    deliveredAt: isoZoned(row.deliveredAt, timeZone),
    readAt: isoZoned(row.readAt, timeZone),
    document: row.document,
    followsId: row.followsId,
    digestKey: row.digestKey,
    digestId: row.digestId,
    digestCount: row.digestCount,
    // While it waits: the governor's hold, if any (until when, and why).
    heldBack: row.status === 'pending' && row.deferredReason ? { until: isoZoned(row.deferredUntil, timeZone), reason: row.deferredReason } : null,
  };
}

export async function listOutbox(db: Queryable, options: ListOptions): Promise<OutboxListRow[]> {
  const { rows } = await db.query(
    `SELECT ${ROW_COLUMNS}
       FROM wa_outbox
      WHERE ($1::text IS NULL OR status = $1
             OR ($1 = 'other' AND ${UNKNOWN_STATUS_SQL}))
        AND (NOT $3 OR confirmation IN ('awaiting', 'unconfirmed'))
        AND ($4::timestamptz IS NULL OR created_at AT TIME ZONE current_setting('TimeZone') >= $4)
        AND ($5::timestamptz IS NULL OR created_at AT TIME ZONE current_setting('TimeZone') < $5)
        AND ($6::text IS NULL OR type = $6)
        AND ($7::text IS NULL OR strpos(recipient, $7) > 0)
        AND ($8::int IS NULL OR id < $8)
      ORDER BY id DESC
      LIMIT $2`,
    [options.status ?? null, options.limit, options.unconfirmed ?? false, options.since ?? null, options.until ?? null, options.type ?? null, options.recipient ?? null, options.beforeId ?? null],
  );
  return rows.map(toListRow);
}

export interface HandOverRecord {
  part: number;
  parts: number;
  chatId: string;
  instance: string;
  handedOverAt: Date;
  outcome: string;
  reason: string | null;
  waMessageId: string | null;
  settledAt: Date | null;
  ack: number | null;
  deliveredAt: Date | null;
  readAt: Date | null;
  /** What a look into the chat found, for an outcome settled (or left open) that way. */
  chatCheck: ChatCheck | null;
}

/** One row as listed; null when there is none. */
export async function outboxRow(db: Queryable, id: number): Promise<OutboxListRow | null> {
  const { rows } = await db.query(`SELECT ${ROW_COLUMNS} FROM wa_outbox WHERE id = $1`, [id]);
  return rows[0] ? toListRow(rows[0]) : null;
}

/** One row, whole, with every hand-over of it to WhatsApp (its history); null when there is none. */
export async function showOutbox(db: Queryable, id: number): Promise<{ row: OutboxListRow; handOvers: HandOverRecord[] } | null> {
  const row = await outboxRow(db, id);
  if (!row) return null;
  const { rows: sends } = await db.query(
    `SELECT part, parts, chat_id, instance, handed_over_at, outcome, reason, wa_message_id, settled_at, ack, delivered_at, read_at, chat_check
       FROM wa_outbox_sends WHERE outbox_id = $1 ORDER BY handed_over_at, id`,
    [id],
  );
  return {
    row,
    handOvers: sends.map((s) => ({
      part: s.part,
      parts: s.parts,
      chatId: s.chat_id,
      instance: s.instance,
      handedOverAt: s.handed_over_at,
      outcome: s.outcome,
      reason: s.reason,
      waMessageId: s.wa_message_id,
      settledAt: s.settled_at,
      ack: s.ack,
      deliveredAt: s.delivered_at,
      readAt: s.read_at,
      chatCheck: s.chat_check ?? null,
    })),
  };
}

/** A message folded into a digest, as its digest lists it. */
export interface DigestEntry { id: number; status: string | null; createdAt: Date | null; content: string }

/** The messages folded into the digest row `digestId`, in the order it lists them. */
export async function digestEntries(db: Queryable, digestId: number): Promise<DigestEntry[]> {
  const { rows } = await db.query<{ id: number; status: string | null; created_at: Date | null; content: string }>(
    `SELECT id, status, created_at AT TIME ZONE current_setting('TimeZone') AS created_at, content
       FROM wa_outbox WHERE digest_id = $1 ORDER BY created_at, id`,
    [digestId],
  );
  return rows.map((r) => ({ id: r.id, status: r.status, createdAt: r.created_at, content: r.content }));
}

/** Messages waiting for WhatsApp: pending, or being sent. */
export async function backlogSize(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM wa_outbox WHERE status IN ${sqlList(WAITING_STATUSES)}`);
  return rows[0]?.n ?? 0;
}

/** How many rows there are, by status and type. */
export async function countsByStatusAndType(db: Queryable): Promise<Array<{ status: string; type: string; count: number }>> {
  const { rows } = await db.query<{ status: string; type: string; count: number }>(
    `SELECT status, type, count(*)::int AS count FROM wa_outbox GROUP BY status, type ORDER BY status, type`,
  );
  return rows;
}

/** A message not sent yet, and what the governor last said of it. */
export interface WaitingRow {
  id: number;
  type: string;
  status: string;
  nextAttemptAt: Date;
  /** The message it goes out after (a workbook after its text). */
  followsId: number | null;
  /** Held back by the governor until then (null with a reason: until an operator resumes the session). */
  deferredUntil: Date | null;
  deferredReason: string | null;
}

/** The messages not sent yet (pending or being sent), in the order they are claimed; at most `limit`. */
export async function waitingRows(db: Queryable, limit = 1000): Promise<WaitingRow[]> {
  const { rows } = await db.query<WaitingRow>(
    `SELECT id, type, status, next_attempt_at AS "nextAttemptAt", follows_id::int AS "followsId", deferred_until AS "deferredUntil", deferred_reason AS "deferredReason"
       FROM wa_outbox WHERE status IN ${sqlList(WAITING_STATUSES)} ORDER BY priority, next_attempt_at, id LIMIT $1`,
    [limit],
  );
  return rows;
}

export interface OutboxRowState {
  id: number;
  status: string | null;
  sentAt: Date | null;
  lastError: string | null;
}

/** The delivery state of some rows (for modules that follow their messages' fate). */
export async function outboxStates(db: Queryable, ids: number[]): Promise<Map<number, OutboxRowState>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ id: number; status: string | null; sent_at: Date | null; last_error: string | null }>(
    'SELECT id, status, sent_at, last_error FROM wa_outbox WHERE id = ANY($1::int[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, { id: r.id, status: r.status, sentAt: r.sent_at, lastError: r.last_error }]));
}

/** How many of a session's rows are being sent now (status 'sending'): a session with any is busy. */
export async function sendingCount(db: Queryable, session: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM wa_outbox WHERE session = $1 AND status = 'sending'`, [session]);
  return rows[0]?.n ?? 0;
}
