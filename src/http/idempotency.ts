/**
 * Idempotency-Key for `POST /api/messages` (the IETF httpapi Idempotency-Key draft): the key is the
 * outbox's dedup key. The same key with the same request answers the first message (200); the same key
 * with a different request is refused, 422 `idempotency_key_reused`, naming the key and the first
 * message. There is no 409 "still being processed": a second request with the key waits on the outbox's
 * unique index until the first one's transaction has ended, and then sees its message.
 *
 * "The same request" is the request as the service understands it, after validation and defaults:
 * - `recipient`: the WhatsApp chat it names (`0812-3456-7890`, `+62 812 3456 7890` and
 *   `6281234567890@c.us` are one recipient);
 * - `text`: character for character, spaces and line breaks included;
 * - `type`, `session`, `priority`: with their defaults filled in (`api`, the gateway's session, `normal`);
 * - `sendAt`: the instant (the same moment in another zone is the same; given and left out differ);
 * - `document`: its `fileName` and `mimeType` exactly, and its bytes (spaces and line breaks in the
 *   base64 do not count);
 * - `digestKey`: exactly (given and left out differ; a request without one fingerprints as it did before
 *   digests existed).
 * Whether the key came as the header or as `dedupKey`, the order of the fields and the JSON's spacing do
 * not count. The request's sha256 over these is stored with the row (`wa_outbox.request_sha256`).
 *
 * A key held by a row written otherwise (a recap, a complaint reply, another program, or this API before
 * the fingerprint was kept) is compared on what that row keeps: every field above but `sendAt`.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_SESSION, documentSha256, type OutboxPriority } from '../outbox/enqueue.js';
import type { KeyedRow } from '../outbox/keyed-row.js';
import { normaliseRecipient } from '../whatsapp/recipient.js';
import { HttpError } from './deps.js';

/** A message request reduced to what makes it the same or another. */
export interface MessageRequest {
  /** The chat id (normalised recipient). */
  chatId: string;
  text: string;
  type: string;
  /** Null: the gateway routes it (the same request as one naming the service's own session, as before routing). */
  session: string | null;
  priority: OutboxPriority;
  sendAt: Date | null;
  document: { fileName: string; mimeType: string; bytes: Buffer } | null;
  digestKey: string | null;
}

interface Canonical {
  chatId: string;
  text: string;
  type: string;
  session: string;
  priority: string;
  sendAt: string | null;
  document: { fileName: string | null; mimeType: string | null; sha256: string | null } | null;
  digestKey: string | null;
}

function sha256(canonical: Canonical): string {
  // A fixed order of fields, so that equal requests give equal text.
  const ordered = [canonical.chatId, canonical.text, canonical.type, canonical.session, canonical.priority, canonical.sendAt,
    canonical.document && [canonical.document.fileName, canonical.document.mimeType, canonical.document.sha256],
    ...(canonical.digestKey === null ? [] : [canonical.digestKey])];
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex');
}

function canonicalOf(request: MessageRequest): Canonical {
  return {
    chatId: request.chatId,
    text: request.text,
    type: request.type,
    session: request.session ?? DEFAULT_SESSION,
    priority: request.priority,
    sendAt: request.sendAt?.toISOString() ?? null,
    document: request.document && { fileName: request.document.fileName, mimeType: request.document.mimeType, sha256: documentSha256(request.document.bytes) },
    digestKey: request.digestKey,
  };
}

/** The sha256 stored with a key: what the key's request was. */
export function requestSha256(request: MessageRequest): string {
  return sha256(canonicalOf(request));
}

/** Whether `request` repeats the one that wrote `row` (see the module's comment). */
function repeats(row: KeyedRow, request: MessageRequest, defaultCountryCode: string): boolean {
  if (row.requestSha256 !== null) return row.requestSha256 === requestSha256(request);
  const recipient = normaliseRecipient(row.recipient, defaultCountryCode);
  const kept: Canonical = {
    chatId: recipient.ok ? recipient.chatId : row.recipient,
    text: row.content,
    type: row.type,
    session: row.session ?? DEFAULT_SESSION, // a row that named no session, as a request naming none
    priority: row.priority,
    sendAt: null,
    document: row.document,
    digestKey: row.digestKey,
  };
  return sha256(kept) === sha256({ ...canonicalOf(request), sendAt: null });
}

/** Refuses (422) a key that `row` already holds for a different request. */
export function checkRepeat(key: string, row: KeyedRow, request: MessageRequest, defaultCountryCode: string): void {
  if (repeats(row, request, defaultCountryCode)) return;
  throw new HttpError(
    422,
    'idempotency_key_reused',
    `Idempotency-Key "${key}" was already used for message ${row.id} with a different request ` +
      '(recipient, text, type, session, priority, sendAt, document or digestKey); send that request again to get message ' +
      `${row.id}, or use a new key for a new message`,
    undefined,
    { messageId: row.id },
  );
}
