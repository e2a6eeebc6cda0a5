/**
 * The protocol for handing one part of a message to WhatsApp. The transport calls back just before the
 * hand-over, and the proof is written then (the row still held, its lease extended, the hand-over
 * recorded as `handing_over`, in one statement); a proof refused means nothing is sent. A timeout before
 * that point is a failure; after it, an unknown outcome, never sent again on its own (a late answer with
 * WhatsApp's id still confirms it).
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import { sleep } from '../lib/sleep.js';
import type { ClaimedRow } from '../outbox/claims.js';
import { bodyFingerprint, confirmSend } from '../outbox/hand-overs.js';
import { recordHandOver, settleFailedHandOver } from '../outbox/part-outcomes.js';
import type { Settlement } from '../outbox/vocabulary.js';
import { HandOverRefused, SendError, type OutgoingDocument, type SendResult, type Transport } from '../whatsapp/transport.js';
import type { Persist } from './persist.js';

/** What one part's send came to. */
export type PartResult =
  | { kind: 'handed-over'; sendId: number; settlement: Settlement }
  | { kind: 'failed'; error: SendError; sendId: number | null }
  | { kind: 'lost'; reason: string };

/** Where confirmations after the fact are made (the session's confirmer). */
export interface ConfirmationFeed {
  /** An id the dispatcher recorded itself (for hand-over `sendId`): never taken for another hand-over. */
  noteOwnId(messageId: string, sendId?: number | null): void;
  /** Unknown outcomes were recorded: look for their confirmation. */
  trigger(): void;
}

export interface HandOverOptions {
  pool: pg.Pool;
  transport: Transport;
  logger: Logger;
  dispatch: Config['dispatch'];
  owner: string;
  session: string;
  persist: Persist;
  confirmations: ConfirmationFeed;
  /** Hand-overs whose send has not answered yet (shared with the confirmer, which leaves them alone). */
  inFlightSends: Set<number>;
  stopping: () => boolean;
  /** The session's lease as this process holds it (null: a dispatcher outside the service's sessions). */
  tenure: SessionTenure | null;
}

/** A session's lease as its holder sees it (src/sessions/leases.ts, Tenure). */
export interface SessionTenure {
  /** The fence every claim and hand-over proves. */
  readonly fence: number;
  /** False once the holder must stop the session (its lease may end): nothing more is handed over. */
  live(): boolean;
}

export interface PartToSend {
  row: ClaimedRow;
  chatId: string;
  parts: string[];
  index: number;
  /** The first hand-over of this claim counts the attempt. */
  countAttempt: boolean;
  document: Omit<OutgoingDocument, 'caption'> | null;
  /** Called once the proof is written: from now on the row has a part with WhatsApp. */
  onHandedOver(): void;
}

const LEASE_ENDING = "this process's lease on the session is ending: the session is stopped here and its new holder sends";

/** Hands one part over and says what came of it. */
export async function handOverPart(options: HandOverOptions, part: PartToSend): Promise<PartResult> {
  const { transport, dispatch, pool, persist } = options;
  const { row, chatId, parts, index } = part;
  const text = parts[index]!;
  let abandoned = false;
  let handOverWrite: Promise<number | null> | null = null;
  let sendId: number | null = null;
  const hooks = {
    handOver: async () => {
      if (abandoned) throw new HandOverRefused('the send was abandoned before the hand-over');
      if (options.tenure && !options.tenure.live()) throw new HandOverRefused(LEASE_ENDING);
      handOverWrite = persist(() =>
        recordHandOver(pool, {
          rowId: row.id,
          owner: options.owner,
          session: options.session,
          part: index,
          parts: parts.length,
          chatId,
          // A document's own-message event carries its caption as its text ('' without one).
          bodySha256: bodyFingerprint(text),
          leaseMs: dispatch.leaseMs,
          countAttempt: part.countAttempt,
          fence: options.tenure?.fence ?? null,
        }),
      );
      const id = await handOverWrite;
      if (id === null) throw new HandOverRefused('the row or its session is no longer held by this process');
      if (options.tenure && !options.tenure.live()) {
        // Proved, then the lease ran short (the process was frozen or slow in between): nothing is sent.
        await persist(() => settleFailedHandOver(pool, id, LEASE_ENDING));
        throw new HandOverRefused(LEASE_ENDING);
      }
      if (abandoned) throw new HandOverRefused('the send was abandoned before the hand-over');
      sendId = id;
      options.inFlightSends.add(id);
      part.onHandedOver();
    },
  };
  const sending = part.document
    ? transport.sendDocument(chatId, { ...part.document, caption: text.trim() === '' ? null : text }, hooks)
    : transport.sendText(chatId, text, hooks);
  // Until the transport answers, the chat is not read to settle this hand-over (the send may still land).
  const answered = () => sendId !== null && options.inFlightSends.delete(sendId);
  void sending.then(answered, answered);
  let result: SendResult;
  try {
    result = await withTimeout(sending, dispatch.sendTimeoutMs);
  } catch (err) {
    if (err instanceof HandOverRefused) return { kind: 'lost', reason: err.message };
    if (err instanceof SendTimeout) {
      if (sendId !== null) {
        const id = sendId;
        // The late answer may still carry WhatsApp's id: confirm with it once the unknown is recorded.
        void sending.then(
          (late) => (late.outcome === 'confirmed' ? confirmLate(options, row.id, id, late.messageId) : undefined),
          () => undefined,
        );
        return { kind: 'handed-over', sendId: id, settlement: { outcome: 'unknown', reason: `timeout after hand-over: no answer from WhatsApp within ${dispatch.sendTimeoutMs} ms` } };
      }
      abandoned = true;
      // A proof being written right now: its hand-over record is settled as failed (nothing is sent).
      const pending = handOverWrite as Promise<number | null> | null;
      const written = pending ? await pending.catch(() => null) : null;
      sending.catch(() => undefined);
      return { kind: 'failed', error: new SendError('transient', 'timeout', err.message), sendId: written };
    }
    const error = err instanceof SendError ? err : new SendError('transient', 'send_error', (err as Error)?.message ?? String(err));
    return { kind: 'failed', error, sendId };
  }
  if (sendId === null) {
    // A transport that answered without handing over: nothing went to WhatsApp.
    return { kind: 'failed', error: new SendError('transient', 'no_hand_over', 'the transport did not hand the message over'), sendId: null };
  }
  if (result.outcome === 'confirmed' && result.messageId) {
    options.confirmations.noteOwnId(result.messageId, sendId);
    return { kind: 'handed-over', sendId, settlement: { outcome: 'confirmed', messageId: result.messageId } };
  }
  const reason = result.outcome === 'unknown' ? result.reason : 'no_message_id: the transport returned no message id';
  return { kind: 'handed-over', sendId, settlement: { outcome: 'unknown', reason } };
}

/** A send that timed out after its hand-over answered later with WhatsApp's id. */
async function confirmLate(options: HandOverOptions, rowId: number, sendId: number, messageId: string): Promise<void> {
  // Its own id: the chat check may take it for this hand-over (in the moment before the confirmation
  // below is written), never for another one.
  options.confirmations.noteOwnId(messageId, sendId);
  // The unknown outcome is recorded by the drain; give it a moment, then confirm.
  for (let tries = 0; tries < 20 && !options.stopping(); tries++) {
    await sleep(250);
    if (await confirmSend(options.pool, { id: sendId, outboxId: rowId }, messageId, null).catch(() => false)) {
      options.logger.info({ id: rowId, messageId }, 'a send that timed out after its hand-over was confirmed by WhatsApp');
      return;
    }
  }
}

class SendTimeout extends Error {}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SendTimeout(`no answer from WhatsApp within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
