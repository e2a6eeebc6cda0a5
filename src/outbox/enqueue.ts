/**
 * The one way the service writes messages to wa_outbox.
 *
 * `enqueue` inserts one or many messages in a single statement, inside the caller's transaction when
 * given a client that is in one. A message may carry a dedup key: a key already in the outbox (or
 * repeated within the batch) enqueues nothing, and the result says which messages were new. Invalid
 * messages are refused before anything of the batch is written.
 *
 * A message may carry a document (its `content` is then the caption): the bytes are stored in the row,
 * with their sha256, so the row and its file are written, shared and removed together. A message may
 * follow another (`follows`, the other's dedup key): it is not sent before that one.
 *
 * A message has a priority: `reply` (an answer to someone who just wrote), `normal` (the default, and
 * what rows written by other programs get) or `bulk` (recaps), claimed in that order, oldest due first.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../db/pool.js';
import { OperatorError } from '../lib/errors.js';
import { DEFAULT_DOCUMENT_MAX_BYTES, DIGEST_KEY } from '../config/types.js';
import { OUTBOX_PRIORITIES, priorityValue, type OutboxPriority } from './priority.js';
import { EXPLICIT_ROUTE } from './routing.js';

export { OUTBOX_PRIORITIES, type OutboxPriority } from './priority.js';

/** A file sent as a WhatsApp document (a recap workbook). */
export interface OutboxDocument {
  /** The name WhatsApp shows, e.g. rekap-mingguan-2026-11-23.xlsx: no folders. */
  fileName: string;
  /** `type/subtype`, e.g. application/vnd.openxmlformats-officedocument.spreadsheetml.sheet. */
  mimeType: string;
  bytes: Buffer;
}

export interface OutboxMessage {
  /** Phone number or WhatsApp id (e.g. 0812…, 62812…@c.us, 1203…@g.us). */
  recipient: string;
  /** The text; for a document its caption, which may be empty. */
  content: string;
  /** What kind of message this is, e.g. daily_report, complaint_reply. */
  type: string;
  /** Same key, same message: enqueued once. */
  dedupKey?: string | null;
  /** The WhatsApp session (number) that sends it; none: the router chooses (delivery/routing.ts). */
  session?: string;
  /** Not before this time (default: now). */
  sendAt?: Date | null;
  /** Sent as a document, with `content` as its caption. */
  document?: OutboxDocument | null;
  /**
   * The dedup key of a message this one must not go before (earlier in the batch, or already in the
   * outbox, in the same session): it is not sent while that one is pending or being sent.
   */
  follows?: string | null;
  /**
   * `reply` for answers to someone who just wrote (complaint replies, format replies, opt-in answers),
   * `bulk` for recaps; default `normal`.
   */
  priority?: OutboxPriority | null;
  /**
   * Not sent on its own: folded with the recipient's other messages of this key into one digest when
   * the key's window closes (digests.ts). 1 to 100 of A-Z a-z 0-9 . _ : -; not with a document,
   * `follows` or `sendAt`.
   */
  digestKey?: string | null;
}

export interface EnqueueOptions {
  /** WA_DOCUMENT_MAX_BYTES (default 16 MiB). */
  documentMaxBytes?: number;
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
    public readonly field: 'recipient' | 'content' | 'type' | 'dedupKey' | 'session' | 'sendAt' | 'document' | 'follows' | 'priority' | 'digestKey',
    public readonly index: number,
    reason: string,
  ) {
    super(`outbox message ${index}: ${field} ${reason}; nothing of this batch was written`);
  }
}

const NUL = '\u0000';

/** The service's own WhatsApp number: every row goes there while no session is registered (only_number). */
export const DEFAULT_SESSION = 'default';

/**
 * The longest text a message may have: WhatsApp's own limit on one message is 65,536 characters; the
 * dispatcher sends longer rows written by other programs nowhere (they fail alone, `content_too_large`).
 */
export const MAX_CONTENT_CHARS = 65_536;

/** The longest text (in bytes, so in characters too) a message with a digest key may have: one entry of a digest. */
export const DIGEST_ENTRY_MAX_BYTES = 60_000;

/** WhatsApp's limit on a caption. */
export const MAX_CAPTION_CHARS = 1024;
/** The longest file name a document may have. */
export const MAX_FILE_NAME_CHARS = 200;
/** A MIME type as `type/subtype` (RFC 6838 names), without parameters. */
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** What is wrong with a document's name, or null. Shared with the dispatcher's check of rows others wrote. */
export function fileNameProblem(name: string): string | null {
  if (name.trim() === '') return 'must not be empty';
  if (/[/\\\u0000]/.test(name)) return 'must be a file name without folders: no "/", "\\" or NUL character';
  if (name.length > MAX_FILE_NAME_CHARS) return `is ${name.length} characters long; the limit is ${MAX_FILE_NAME_CHARS}`;
  return null;
}

/** What is wrong with a document's MIME type, or null. */
export function mimeTypeProblem(mime: string): string | null {
  return MIME_TYPE.test(mime) ? null : `"${mime.slice(0, 60)}" is not a MIME type: expected type/subtype, e.g. application/pdf`;
}

/** sha256 of a document's bytes, lowercase hex (what `document_sha256` holds). */
export function documentSha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function validate(message: OutboxMessage, index: number, documentMaxBytes: number): void {
  const text = (field: OutboxValidationError['field'], value: unknown, optional = false) => {
    if (optional && (value === undefined || value === null)) return;
    if (typeof value !== 'string') throw new OutboxValidationError(field, index, 'must be a string');
    if (value.trim() === '') throw new OutboxValidationError(field, index, 'must not be empty');
    if (value.includes(NUL)) throw new OutboxValidationError(field, index, 'must not contain a NUL character');
  };
  text('recipient', message.recipient);
  const document = message.document ?? null;
  if (document === null) {
    text('content', message.content);
    if (message.content.length > MAX_CONTENT_CHARS) {
      throw new OutboxValidationError('content', index, `is ${message.content.length.toLocaleString('en')} characters long; the limit is ${MAX_CONTENT_CHARS.toLocaleString('en')}`);
    }
  } else {
    validateDocument(document, index, documentMaxBytes);
    // A caption: may be empty; WhatsApp shows at most 1,024 characters.
    if (typeof message.content !== 'string') throw new OutboxValidationError('content', index, 'must be a string (the caption; empty for none)');
    if (message.content.includes(NUL)) throw new OutboxValidationError('content', index, 'must not contain a NUL character');
    if (message.content.length > MAX_CAPTION_CHARS) {
      throw new OutboxValidationError('content', index, `is a document's caption of ${message.content.length.toLocaleString('en')} characters; the limit is ${MAX_CAPTION_CHARS.toLocaleString('en')}`);
    }
  }
  text('type', message.type);
  text('dedupKey', message.dedupKey, true);
  text('session', message.session, true);
  text('follows', message.follows, true);
  if (message.follows !== undefined && message.follows !== null && message.follows === message.dedupKey) {
    throw new OutboxValidationError('follows', index, 'must name another message than this one');
  }
  if (message.sendAt !== undefined && message.sendAt !== null && !(message.sendAt instanceof Date && Number.isFinite(message.sendAt.getTime()))) {
    throw new OutboxValidationError('sendAt', index, 'must be a valid time');
  }
  if (message.priority !== undefined && message.priority !== null && !(OUTBOX_PRIORITIES as readonly unknown[]).includes(message.priority)) {
    throw new OutboxValidationError('priority', index, `must be one of ${OUTBOX_PRIORITIES.join(', ')} (got ${JSON.stringify(message.priority)?.slice(0, 40)})`);
  }
  if (message.digestKey !== undefined && message.digestKey !== null) validateDigestKey(message, index);
}

/** A digest key: its form, and only on a text that can be one entry of a digest. */
function validateDigestKey(message: OutboxMessage, index: number): void {
  const key = message.digestKey;
  if (typeof key !== 'string' || !DIGEST_KEY.test(key)) {
    throw new OutboxValidationError('digestKey', index, `must be 1 to 100 characters of A-Z, a-z, 0-9, ".", "_", ":" or "-", e.g. cicero-log (got ${JSON.stringify(key)?.slice(0, 40)})`);
  }
  if (message.document) throw new OutboxValidationError('digestKey', index, 'cannot be set on a document: a digest folds texts');
  if (message.follows !== undefined && message.follows !== null) throw new OutboxValidationError('digestKey', index, 'cannot be combined with follows: a digest entry goes out in its digest');
  if (message.sendAt !== undefined && message.sendAt !== null) throw new OutboxValidationError('digestKey', index, "cannot be combined with sendAt: the digest's window decides when it goes");
  if (Buffer.byteLength(message.content) > DIGEST_ENTRY_MAX_BYTES) {
    throw new OutboxValidationError('digestKey', index, `cannot be set on a text over ${DIGEST_ENTRY_MAX_BYTES.toLocaleString('en')} bytes (one entry of a digest)`);
  }
}

function validateDocument(document: OutboxDocument, index: number, maxBytes: number): void {
  const refuse = (reason: string): never => {
    throw new OutboxValidationError('document', index, reason);
  };
  if (typeof document !== 'object') refuse('must be { fileName, mimeType, bytes }');
  if (typeof document.fileName !== 'string') refuse('fileName must be a string');
  const nameProblem = fileNameProblem(document.fileName);
  if (nameProblem) refuse(`fileName ${nameProblem}`);
  if (typeof document.mimeType !== 'string') refuse('mimeType must be a string');
  const mimeProblem = mimeTypeProblem(document.mimeType);
  if (mimeProblem) refuse(`mimeType ${mimeProblem}`);
  if (!Buffer.isBuffer(document.bytes)) refuse('bytes must be a Buffer');
  if (document.bytes.length === 0) refuse('bytes must not be empty');
  if (document.bytes.length > maxBytes) {
    refuse(`is ${document.bytes.length.toLocaleString('en')} bytes; the limit is ${maxBytes.toLocaleString('en')} (WA_DOCUMENT_MAX_BYTES)`);
  }
}

/**
 * The row each `follows` names: a row already in the outbox with that dedup key, else an earlier message
 * of the batch (by its index), in the same session unless either has none (routed later; it still waits).
 */
async function resolveFollows(db: Queryable, messages: readonly OutboxMessage[], sessions: Array<string | null>): Promise<Array<{ id: number } | { index: number } | null>> {
  const wanted = [...new Set(messages.map((m) => m.follows ?? null).filter((k): k is string => k !== null))];
  if (wanted.length === 0) return messages.map(() => null);
  const { rows } = await db.query<{ id: number; dedup_key: string; session: string | null }>(
    'SELECT id, dedup_key, session FROM wa_outbox WHERE dedup_key = ANY($1::text[])',
    [wanted],
  );
  const existing = new Map(rows.map((r) => [r.dedup_key, r]));
  return messages.map((m, index) => {
    const key = m.follows ?? null;
    if (key === null) return null;
    const found = existing.get(key);
    if (found) {
      if (found.session !== null && sessions[index] !== null && found.session !== sessions[index]) {
        throw new OutboxValidationError('follows', index, `names message ${found.id} of session "${found.session}"; a message can follow only one of its own session ("${sessions[index]}")`);
      }
      return { id: found.id };
    }
    const leader = messages.findIndex((other, i) => i < index && other.dedupKey === key);
    if (leader < 0) throw new OutboxValidationError('follows', index, `names no message: no earlier message of this batch and no outbox row has the dedup key "${key}"`);
    if (sessions[leader] !== null && sessions[index] !== null && sessions[leader] !== sessions[index]) {
      throw new OutboxValidationError('follows', index, `names message ${leader} of this batch, in session "${sessions[leader]}"; a message can follow only one of its own session ("${sessions[index]}")`);
    }
    return { index: leader };
  });
}

export async function enqueue(db: Queryable, messages: readonly OutboxMessage[], options: EnqueueOptions = {}): Promise<EnqueueResult[]> {
  const documentMaxBytes = options.documentMaxBytes ?? DEFAULT_DOCUMENT_MAX_BYTES;
  messages.forEach((m, i) => validate(m, i, documentMaxBytes));
  if (messages.length === 0) return [];

  const recipients = messages.map((m) => m.recipient.trim());
  const contents = messages.map((m) => m.content);
  const types = messages.map((m) => m.type.trim());
  const keys = messages.map((m) => m.dedupKey ?? null);
  const sessions = messages.map((m) => m.session?.trim() ?? null);
  const sendAts = messages.map((m) => m.sendAt?.toISOString() ?? null);
  const documents = messages.map((m) => m.document ?? null);
  const priorities = messages.map((m) => priorityValue(m.priority ?? 'normal'));
  const digestKeys = messages.map((m) => m.digestKey ?? null);
  const follows = await resolveFollows(db, messages, sessions);

  // A message following an earlier one of the batch needs that one's id in the same statement (a row
  // must never be claimable without its follows_id): the batch's ids are then taken first, in order.
  let ids: Array<number | null> = messages.map(() => null);
  if (follows.some((f) => f !== null && 'index' in f)) {
    const { rows } = await db.query<{ id: string }>(
      "SELECT nextval(pg_get_serial_sequence('wa_outbox', 'id')) AS id FROM generate_series(1, $1) ORDER BY 1",
      [messages.length],
    );
    ids = rows.map((r) => Number(r.id));
  }
  const followsIds = follows.map((f) => (f === null ? null : 'id' in f ? f.id : ids[f.index]!));

  // Rows are inserted in input order, so their serial ids ascend in input order (taken ids ascend too).
  const taken = ids.some((id) => id !== null);
  const { rows } = await db.query<{ id: number; dedup_key: string | null }>(
    `INSERT INTO wa_outbox (${taken ? 'id, ' : ''}recipient, content, type, dedup_key, session, route_reason, next_attempt_at,
                           document_name, document_mime, document, document_sha256, follows_id, priority, digest_key)
     SELECT ${taken ? 'id, ' : ''}recipient, content, type, dedup_key, session, CASE WHEN session IS NOT NULL THEN '${EXPLICIT_ROUTE}' END, coalesce(send_at, now()),
            document_name, document_mime, substring($14::bytea FROM (sum(size) OVER (ORDER BY ord) - size + 1)::int FOR size), document_sha256, follows_id, priority, digest_key
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                   $7::text[], $8::text[], $9::int[], $10::text[], $11::bigint[], $12::int[], $13::smallint[], $15::text[]) WITH ORDINALITY
            AS input(recipient, content, type, dedup_key, session, send_at,
                     document_name, document_mime, size, document_sha256, follows_id, id, priority, digest_key, ord)
      ORDER BY ord
     ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
     RETURNING id, dedup_key`,
    [
      recipients, contents, types, keys, sessions, sendAts,
      documents.map((d) => d?.fileName ?? null),
      documents.map((d) => d?.mimeType ?? null),
      documents.map((d) => d?.bytes.length ?? null), // sizes: the documents go as one binary parameter, $14
      documents.map((d) => (d ? documentSha256(d.bytes) : null)),
      followsIds,
      ids,
      priorities,
      Buffer.concat(documents.flatMap((d) => (d ? [d.bytes] : []))), // a bytea[] would go as hex text, twice the size
      digestKeys,
    ],
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

export async function enqueueOne(db: Queryable, message: OutboxMessage, options: EnqueueOptions = {}): Promise<EnqueueResult> {
  const [result] = await enqueue(db, [message], options);
  return result!;
}

/** Which of these dedup keys are already in the outbox (so a caller need not build those messages again). */
export async function existingDedupKeys(db: Queryable, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const { rows } = await db.query<{ dedup_key: string }>('SELECT dedup_key FROM wa_outbox WHERE dedup_key = ANY($1::text[])', [keys]);
  return new Set(rows.map((r) => r.dedup_key));
}
