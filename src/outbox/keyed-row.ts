/**
 * What a row with a dedup key was written with, read back when the key comes again: the HTTP API tells
 * a repeated request from a different one under the same Idempotency-Key (src/http/idempotency.ts).
 */
import type { Queryable } from '../db/pool.js';
import { priorityName, type OutboxPriority } from './priority.js';
import { EXPLICIT_ROUTE } from './routing.js';

/** What a row with a dedup key was written with: enough to tell whether a request repeats it. */
export interface KeyedRow {
  id: number;
  recipient: string;
  content: string;
  type: string;
  /** The session its producer named; null when it named none (the router chose, or has yet to). */
  session: string | null;
  priority: OutboxPriority;
  document: { fileName: string | null; mimeType: string | null; sha256: string | null } | null;
  /** The digest key it was written with (digests.ts); null for none. */
  digestKey: string | null;
  /** The request's sha256 when the HTTP API wrote it with an Idempotency-Key; null for rows written otherwise. */
  requestSha256: string | null;
}

/** The row holding this outbox id, as `KeyedRow`; null when there is none. */
export async function keyedRow(db: Queryable, id: number): Promise<KeyedRow | null> {
  const { rows } = await db.query(
    `SELECT id, recipient, content, type, CASE WHEN coalesce(route_reason, '${EXPLICIT_ROUTE}') = '${EXPLICIT_ROUTE}' THEN session END AS session, priority, document_name, document_mime, document_sha256, request_sha256, digest_key,
            (document_name IS NOT NULL OR document_mime IS NOT NULL OR document_sha256 IS NOT NULL) AS has_document
       FROM wa_outbox WHERE id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id,
    recipient: r.recipient,
    content: r.content,
    type: r.type,
    session: r.session,
    priority: priorityName(r.priority),
    document: r.has_document ? { fileName: r.document_name, mimeType: r.document_mime, sha256: r.document_sha256 } : null,
    digestKey: r.digest_key,
    requestSha256: r.request_sha256,
  };
}

/** Keeps the sha256 of the request that wrote row `id` with its key (in the writer's transaction). */
export async function keepRequestSha256(db: Queryable, id: number, sha256: string): Promise<void> {
  await db.query('UPDATE wa_outbox SET request_sha256 = $2 WHERE id = $1', [id, sha256]);
}
