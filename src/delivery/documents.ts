/**
 * The dispatcher's checks of a claimed document row. Rows written through `enqueue` pass them; a row
 * written by another program may not (a missing name, a size over WA_DOCUMENT_MAX_BYTES, bytes that do
 * not match their checksum), and then it fails alone with the reason while the rows behind it go on.
 */
import type { ClaimedDocument } from '../outbox/claims.js';
import { MAX_CAPTION_CHARS, documentSha256, fileNameProblem, mimeTypeProblem } from '../outbox/enqueue.js';

/** Why a document row cannot be sent, judged before its bytes are read; null when it can. */
export function documentProblem(document: ClaimedDocument, caption: string, maxBytes: number): string | null {
  if (document.fileName === null) return 'document_invalid: the row has no document_name';
  const name = fileNameProblem(document.fileName);
  if (name) return `document_invalid: document_name ${name}`;
  if (document.mimeType === null) return 'document_invalid: the row has no document_mime';
  const mime = mimeTypeProblem(document.mimeType);
  if (mime) return `document_invalid: document_mime ${mime}`;
  if (document.size === null || document.size === 0) return 'document_invalid: the row has no document bytes';
  if (document.size > maxBytes) {
    return `document_too_large: ${document.size.toLocaleString('en')} bytes; the limit is ${maxBytes.toLocaleString('en')} (WA_DOCUMENT_MAX_BYTES)`;
  }
  if (document.sha256 === null || !/^[0-9a-fA-F]{64}$/.test(document.sha256)) return 'document_invalid: the row has no document_sha256 (64 hex digits)';
  if (caption.length > MAX_CAPTION_CHARS) {
    return `caption_too_long: ${caption.length.toLocaleString('en')} characters; a document's caption may have at most ${MAX_CAPTION_CHARS.toLocaleString('en')}`;
  }
  return null;
}

/** Why the bytes read are not the document the row describes; null when they are. */
export function checksumProblem(bytes: Buffer, expectedSha256: string): string | null {
  return documentSha256(bytes) === expectedSha256.toLowerCase() ? null : 'document_invalid: checksum does not match (document_sha256 is not the sha256 of document)';
}
