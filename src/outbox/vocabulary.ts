/**
 * The outbox's words, each written once: a row's statuses, a hand-over's outcomes, what a settled part
 * is, which outcomes count as "handed over", the retry-or-fail rule, the receipt arithmetic, the
 * catalogue of failure codes, and the SQL fragments the statements share. The statements that change
 * wa_outbox.status live in row-status.ts, those that change wa_outbox_sends.outcome in part-outcomes.ts;
 * both speak in these words.
 */

/** A row's statuses. Other programs may write others (the seed's `queued`): see normaliseStatuses. */
export const OUTBOX_STATUSES = ['pending', 'sending', 'sent', 'failed', 'cancelled'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];
/** What `--status` takes: a status, or `other` for the rows whose status is none of them. */
export const OUTBOX_STATUS_FILTERS = [...OUTBOX_STATUSES, 'other'] as const;
export type OutboxStatusFilter = (typeof OUTBOX_STATUS_FILTERS)[number];
/** Statuses of a row not sent yet: it waits for WhatsApp. */
export const WAITING_STATUSES = ['pending', 'sending'] as const satisfies readonly OutboxStatus[];

export function isKnownStatus(status: string | null): status is OutboxStatus {
  return (OUTBOX_STATUSES as readonly (string | null)[]).includes(status);
}

/**
 * A hand-over's outcomes: `handing_over` while the send runs; `confirmed` (WhatsApp's id), `unknown`
 * (handed over, no id yet), `unconfirmed` (never confirmed: an operator decides); `failed` (refused
 * before WhatsApp took it, or superseded), `rejected` (WhatsApp's ack -1, or found missing from its chat).
 */
export const PART_OUTCOMES = ['handing_over', 'confirmed', 'unknown', 'unconfirmed', 'failed', 'rejected'] as const;
export type PartOutcome = (typeof PART_OUTCOMES)[number];
/** Outcomes that count as "this part went to WhatsApp": a part with one is never sent again on its own. */
export const HANDED_OVER = ['handing_over', 'confirmed', 'unknown', 'unconfirmed'] as const satisfies readonly PartOutcome[];
export type HandedOverOutcome = (typeof HANDED_OVER)[number];
/** Outcomes still open: confirmation after the fact may settle them. */
export const OPEN_OUTCOMES = ['unknown', 'unconfirmed'] as const satisfies readonly PartOutcome[];
/** Outcomes of a part whose confirmation is awaited: its row's confirmation is `awaiting`. */
export const AWAITING_OUTCOMES = ['handing_over', 'unknown'] as const satisfies readonly PartOutcome[];
/** Outcomes WhatsApp's ack -1 may still turn into `rejected` (a part that went to WhatsApp and was settled). */
export const REJECTABLE_OUTCOMES = ['confirmed', 'unknown', 'unconfirmed'] as const satisfies readonly PartOutcome[];

/** A handed-over part as a claim reads it. */
export interface PartState {
  outcome: HandedOverOutcome;
  reason: string | null;
}

/**
 * What was looked at in a chat to settle a hand-over, and what was decided (`wa_outbox_sends.chat_check`).
 * `found`: the message is there (confirmed); `not_found`: not there, the history read reaching back past
 * the hand-over (not delivered); `not_far_enough`: not among what was read, which does not reach back
 * that far; `unreadable`: the chat could not be read. The last two leave the outcome open.
 */
export interface ChatCheck {
  result: 'found' | 'not_found' | 'not_far_enough' | 'unreadable';
  at: string;
  chatId: string;
  /** Own messages read from the chat, and the oldest one's time. */
  fetched?: number;
  oldestAt?: string | null;
  messageId?: string;
  ack?: number | null;
  /** For not_found: sent again automatically (WA_RESEND_CHECKED), or left to an operator. */
  resent?: boolean;
  error?: string;
}

/** What one part's send came to, as it is written on its hand-over. */
export type Settlement =
  | { outcome: 'confirmed'; messageId: string; reason?: null }
  | { outcome: 'unknown'; reason: string; messageId?: null }
  | { outcome: 'failed'; reason: string; messageId?: null };

/** A sent row's confirmation: every part confirmed, some still awaited, or some never confirmed. */
export type Confirmation = 'confirmed' | 'awaiting' | 'unconfirmed';

/**
 * A sent row's confirmation from its parts' outcomes, and the `last_error` that says why it is not
 * confirmed. The database computes the same in cicero_wa_outbox_confirmation() (a test holds them equal).
 */
export function summariseParts(parts: Iterable<PartState>): { confirmation: Confirmation; lastError: string | null } {
  const all = [...parts];
  const unconfirmed = all.find((p) => p.outcome === 'unconfirmed');
  if (unconfirmed) return { confirmation: 'unconfirmed', lastError: unconfirmed.reason };
  const open = all.find((p) => (AWAITING_OUTCOMES as readonly string[]).includes(p.outcome));
  if (open) return { confirmation: 'awaiting', lastError: `awaiting confirmation: ${open.reason ?? 'no message id'}` };
  return { confirmation: 'confirmed', lastError: null };
}

/**
 * The retry-or-fail rule, for every path that puts a row back after a try that did not reach WhatsApp:
 * a permanent error, or the attempts used up, fails it; otherwise it is due again after the backoff.
 */
export function retryOrFail(
  attempts: number,
  policy: { maxAttempts: number; delayMs(attempts: number): number },
  cause: string,
  permanent = false,
): { status: 'failed'; reason: string } | { status: 'pending'; reason: string; delayMs: number } {
  if (permanent) return { status: 'failed', reason: cause };
  if (attempts >= policy.maxAttempts) return { status: 'failed', reason: `attempts exhausted (${attempts}): ${cause}` };
  return { status: 'pending', reason: cause, delayMs: policy.delayMs(attempts) };
}

/**
 * Why a message failed, as a code (wa_outbox.failure_code): "failures by reason" counts these, the API
 * returns them, the dashboard words them. A reason's text starts with its code (`timeout: …`).
 */
export const FAILURE_CODES = [
  'not_on_whatsapp', 'invalid_recipient', 'rejected', 'ack_error', 'not_delivered', 'timeout', 'not_ready', 'not_taken',
  'connection_lost', 'send_error', 'no_hand_over', 'content_too_large', 'caption_too_long', 'document_invalid',
  'document_too_large', 'empty_content', 'not_in_group', 'not_group_admin', 'processing_error', 'other',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

/** The code a failure reason starts with (`attempts exhausted (n): ` looked past); `other` when none is known. */
export function failureCode(reason: string): FailureCode {
  const cause = reason.replace(/^attempts exhausted \(\d+\): /, '');
  if (cause.startsWith(NOT_DELIVERED_REASON)) return 'not_delivered';
  const code = cause.split(':', 1)[0]!.trim();
  return (FAILURE_CODES as readonly string[]).includes(code) ? (code as FailureCode) : 'other';
}

/** The reason of a hand-over found missing from its chat. */
export const NOT_DELIVERED_REASON = 'not delivered (checked in the chat)';
/** The reason of a hand-over WhatsApp answered with ack -1. */
export const ACK_ERROR_REASON = 'ack_error: WhatsApp reported an error for the message (ack -1): it did not reach WhatsApp';

/** `('a', 'b')`: a list of the words above for SQL (they are constants, never input). */
export function sqlList(words: readonly string[]): string {
  return `(${words.map((w) => `'${w}'`).join(', ')})`;
}

/** "A hand-over that went to WhatsApp": `<alias>.outcome IN (…HANDED_OVER)`. */
export function handedOverSql(alias: string): string {
  return `${alias}.outcome IN ${sqlList(HANDED_OVER)}`;
}

/** How many distinct parts of the row `rowId` (an SQL expression) went to WhatsApp. */
export function partsHandedOverSql(rowId: string): string {
  return `(SELECT count(DISTINCT hs.part)::int FROM wa_outbox_sends hs WHERE hs.outbox_id = ${rowId} AND ${handedOverSql('hs')})`;
}

/** How many parts the row `rowId` has (as its hand-overs recorded it); null before any hand-over. */
export function partsOfSql(rowId: string): string {
  return `(SELECT max(ps.parts) FROM wa_outbox_sends ps WHERE ps.outbox_id = ${rowId})`;
}

/** A status the service does not know (NULL included), for `status` of wa_outbox. */
export const UNKNOWN_STATUS_SQL = `(status IS NULL OR status NOT IN ${sqlList(OUTBOX_STATUSES)})`;

/**
 * "Held by the owner in $2": the row is `sending` and locked by it. Written `(status = 'sending') IS TRUE`
 * on purpose: with a plain `status = 'sending'` the planner may read the row through the lease index (a
 * partial index on exactly that predicate) instead of its primary key, and under a fast drain that
 * index fills with dead entries, making every statement slower than the last.
 */
export const HELD_BY_OWNER = "locked_by = $2 AND (status = 'sending') IS TRUE";

/**
 * The receipt arithmetic, for the columns ack, delivered_at and read_at of either table: the highest
 * ack seen, and the first time it was delivered (ack ≥ 2) and read (ack ≥ 3). `ack` is an SQL
 * expression (a parameter); a negative ack changes nothing.
 */
export function receiptAssignments(ack: string): string {
  return `ack = CASE WHEN ${ack} >= 0 THEN greatest(coalesce(ack, ${ack}), ${ack}) ELSE ack END,
          delivered_at = CASE WHEN ${ack} >= 2 THEN coalesce(delivered_at, now()) ELSE delivered_at END,
          read_at = CASE WHEN ${ack} >= 3 THEN coalesce(read_at, now()) ELSE read_at END`;
}

/**
 * "The session is held by the owner": the fencing proof every claim and hand-over makes. For the session
 * named by the SQL expression `session`, the owner `owner` (an expression too) proves the fence in
 * `fence`: for a session of wa_sessions, only its holder with the current fence and a lease in force
 * passes; a process that lost the session (taken over while it was frozen or cut off) never does. A
 * session wa_sessions does not know is not one this gateway runs: only a caller without a fence (a
 * dispatcher built alone, outside the service's sessions) passes for it.
 */
export function heldSessionSql(session: string, owner: string, fence: string): string {
  return `(CASE WHEN ${fence}::bigint IS NULL THEN NOT EXISTS (SELECT 1 FROM wa_sessions fs WHERE fs.name = ${session})
               ELSE EXISTS (SELECT 1 FROM wa_sessions fs
                             WHERE fs.name = ${session} AND fs.owner = ${owner} AND fs.fence = ${fence}::bigint AND fs.lease_until > now()) END)`;
}
