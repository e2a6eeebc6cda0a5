/**
 * A claimed row judged before anything is sent: a text too large is failed before anything else looks
 * at it, then the recipient, the document's description or an empty text. A row that passes is cut
 * into its parts (a document is one message, its caption never split), with the parts an earlier claim
 * already handed over, which are never sent again.
 */
import type { ClaimedRow } from '../outbox/claims.js';
import { MAX_CONTENT_CHARS } from '../outbox/enqueue.js';
import type { PartState } from '../outbox/vocabulary.js';
import { normaliseRecipient } from '../whatsapp/recipient.js';
import { documentProblem } from './documents.js';
import { splitText } from './split-text.js';

export type CheckedRow = { ok: false; reason: string } | { ok: true; chatId: string; parts: string[]; done: Map<number, PartState> };

export function checkRow(row: ClaimedRow, defaultCountryCode: string, documentMaxBytes: number): CheckedRow {
  if (row.content === null) {
    const limit = MAX_CONTENT_CHARS.toLocaleString('en');
    const size = row.contentLength === null ? `${row.contentBytes.toLocaleString('en')} bytes` : `${row.contentLength.toLocaleString('en')} characters`;
    return { ok: false, reason: `content_too_large: ${size}; the limit is ${limit} characters` };
  }
  const recipient = normaliseRecipient(row.recipient, defaultCountryCode);
  if (!recipient.ok) return { ok: false, reason: `invalid_recipient: ${recipient.reason}` };
  if (row.document) {
    const problem = documentProblem(row.document, row.content, documentMaxBytes);
    if (problem) return { ok: false, reason: problem };
  } else if (row.content.trim() === '') {
    return { ok: false, reason: 'empty_content: the row has no text to send' };
  }
  const parts = row.document ? [row.content] : splitText(row.content);
  // Rows from before hand-overs were recorded count their first `parts_sent` parts as done.
  const done = new Map<number, PartState>(
    row.doneParts.size > 0 || row.partsSent === 0 ? row.doneParts : Array.from({ length: row.partsSent }, (_, i) => [i, { outcome: 'confirmed' as const, reason: null }]),
  );
  return { ok: true, chatId: recipient.chatId, parts, done };
}
