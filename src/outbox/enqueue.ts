/**
 * The one way the service writes messages to wa_outbox.
 *
 * `enqueue` inserts one or many messages in a single statement, inside the caller's transaction when
 * given a client that is in one. A message may carry a dedup key: a key already in the outbox (or
 * repeated within the batch) enqueues nothing, and the result says which messages were new. Invalid
 * messages are refused before anything of the batch is written.
 */
import type { Queryable } from '../db/pool.js';
import { OperatorError } from '../lib/errors.js';

export interface OutboxMessage {
  /** Phone number or WhatsApp id (e.g. 0812…, 62812…@c.us, 1203…@g.us). */
  recipient: string;
  content: string;
  /** What kind of message this is, e.g. daily_report, complaint_reply. */
  type: string;
  /** Same key, same message: enqueued once. */
  dedupKey?: string | null;
  /** The WhatsApp session (number) that sends it; default `default`, the service's own. */
  session?: string;
  /** Not before this time (default: now). */
  sendAt?: Date | null;
}

export interface EnqueueResult {
  /** The outbox row holding this message (the earlier row when deduplicated). */
  id: number;
  /** False when the dedup key already existed, so nothing new was written. */
  inserted: boolean;
  dedupKey: string | null;
}

export class OutboxValidationError extends OperatorError {
  constructor(
    public readonly field: 'recipient' | 'content' | 'type' | 'dedupKey' | 'session' | 'sendAt',
    public readonly index: number,
    reason: string,
  ) {
    super(`outbox message ${index}: ${field} ${reason}; nothing of this batch was written`);
  }
}

const NUL = '\u0000';

/** The session of rows written without one (the seed's INSERT): the service's own WhatsApp number. */
export const DEFAULT_SESSION = 'default';

/**
 * The longest text a message may have: WhatsApp's own limit on one message is 65,536 characters; the
 * dispatcher sends longer rows written by other programs nowhere (they fail alone, `content_too_large`).
 */
export const MAX_CONTENT_CHARS = 65_536;

function validate(message: OutboxMessage, index: number): void {
  const text = (field: OutboxValidationError['field'], value: unknown, optional = false) => {
    if (optional && (value === undefined || value === null)) return;
    if (typeof value !== 'string') throw new OutboxValidationError(field, index, 'must be a string');
    if (value.trim() === '') throw new OutboxValidationError(field, index, 'must not be empty');
    if (value.includes(NUL)) throw new OutboxValidationError(field, index, 'must not contain a NUL character');
  };
  text('recipient', message.recipient);
  text('content', message.content);
  if (message.content.length > MAX_CONTENT_CHARS) {
    throw new OutboxValidationError('content', index, `is ${message.content.length.toLocaleString('en')} characters long; the limit is ${MAX_CONTENT_CHARS.toLocaleString('en')}`);
  }
  text('type', message.type);
  text('dedupKey', message.dedupKey, true);
  text('session', message.session, true);
  if (message.sendAt !== undefined && message.sendAt !== null && !(message.sendAt instanceof Date && Number.isFinite(message.sendAt.getTime()))) {
    throw new OutboxValidationError('sendAt', index, 'must be a valid time');
  }
}

export async function enqueue(db: Queryable, messages: readonly OutboxMessage[]): Promise<EnqueueResult[]> {
  messages.forEach(validate);
  if (messages.length === 0) return [];

  const recipients = messages.map((m) => m.recipient.trim());
  const contents = messages.map((m) => m.content);
  const types = messages.map((m) => m.type.trim());
  const keys = messages.map((m) => m.dedupKey ?? null);
  const sessions = messages.map((m) => m.session?.trim() ?? DEFAULT_SESSION);
  const sendAts = messages.map((m) => m.sendAt?.toISOString() ?? null);

  // Rows are inserted in input order, so their serial ids ascend in input order.
  const { rows } = await db.query<{ id: number; dedup_key: string | null }>(
    `INSERT INTO wa_outbox (recipient, content, type, dedup_key, session, next_attempt_at)
     SELECT recipient, content, type, dedup_key, session, coalesce(send_at, now())
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) WITH ORDINALITY
            AS input(recipient, content, type, dedup_key, session, send_at, ord)
      ORDER BY ord
     ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
     RETURNING id, dedup_key`,
    [recipients, contents, types, keys, sessions, sendAts],
  );
  rows.sort((a, b) => a.id - b.id);

  const idByKey = new Map<string, number>();
  const unkeyedIds: number[] = [];
  for (const row of rows) {
    if (row.dedup_key === null) unkeyedIds.push(row.id);
    else idByKey.set(row.dedup_key, row.id);
  }
  const newKeys = new Set(idByKey.keys());

  const missingKeys = keys.filter((k): k is string => k !== null && !idByKey.has(k));
  if (missingKeys.length > 0) {
    const existing = await db.query<{ id: number; dedup_key: string }>(
      'SELECT id, dedup_key FROM wa_outbox WHERE dedup_key = ANY($1::text[])',
      [missingKeys],
    );
    for (const row of existing.rows) idByKey.set(row.dedup_key, row.id);
  }

  let nextUnkeyed = 0;
  return keys.map((key) => {
    if (key === null) return { id: unkeyedIds[nextUnkeyed++]!, inserted: true, dedupKey: null };
    const inserted = newKeys.delete(key); // the first message with a key is the one inserted
    const id = idByKey.get(key);
    if (id === undefined) throw new Error(`outbox row for dedup key ${key} vanished during enqueue`);
    return { id, inserted, dedupKey: key };
  });
}

export async function enqueueOne(db: Queryable, message: OutboxMessage): Promise<EnqueueResult> {
  const [result] = await enqueue(db, [message]);
  return result!;
}
