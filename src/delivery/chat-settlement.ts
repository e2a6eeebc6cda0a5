/**
 * Settling open hand-overs from the chat itself, where the transport can read it
 * (`Transport.readOwnMessages`): every hand-over of this session whose outcome is unknown or unconfirmed
 * (of the last 24 hours, not already found missing, not still being sent by this process, not from an
 * earlier pairing) is looked for among the chat's own recent messages, each chat read once per pass,
 * when the connection is back and once the hand-over has waited a while.
 *
 * - **Found**, in any ack state (same text, after the hand-over, an id no other hand-over has): the
 *   hand-over is confirmed with its WhatsApp id.
 * - **Not found**, the history read reaching back past the hand-over, and the grace period
 *   (`settleGraceMs`) gone since the hand-over and since the connection came back: not delivered. With
 *   `resendChecked` the hand-over is `rejected` and the row goes back to the retry path for that part:
 *   sent again once; otherwise, or when that part was already sent again once, it is `unconfirmed`,
 *   for an operator.
 * - **The chat cannot be read**, or its history does not show that it reaches back past the hand-over:
 *   the outcome stays open, read again later.
 *
 * Every decision is kept on the hand-over (`chat_check`) with what was looked at.
 */
import type pg from 'pg';
import type { Logger } from '../lib/logger.js';
import type { Transport } from '../whatsapp/transport.js';
import {
  bodyFingerprint,
  confirmSend,
  isKnownMessage,
  recordChatCheck,
  settleCandidates,
  settleNotDelivered,
  type ChatCheck,
  type OpenSend,
  type RetryPolicy,
} from '../outbox/hand-overs.js';

export interface ChatSettlementOptions {
  pool: pg.Pool;
  transport: Transport;
  session: string;
  logger: Logger;
  /** WA_SETTLE_GRACE_MS: how long a message must be missing from its chat, after the hand-over and after the connection came back. */
  settleGraceMs: number;
  /** WA_RESEND_CHECKED: a message found missing from its chat is sent again once (false: an operator decides). */
  resendChecked: boolean;
  retry: RetryPolicy;
  /** How old a hand-over must be before it is first looked for (its own events usually confirm it sooner). */
  lookAfterMs(): number;
  /** An id the dispatcher recorded itself for a hand-over other than `sendId`: never taken for this one. */
  isOwnId(messageId: string, sendId: number): boolean;
  /** Records a receipt (an ack -1 found on a message puts it back on the retry path). */
  receipt(messageId: string, ack: number): Promise<void>;
  /** Asks for another pass in this many milliseconds. */
  wakeIn(ms: number): void;
  /** A row went back to the retry path: wake the dispatcher. */
  onRequeue?: () => void;
  /** A part was found missing while a dispatcher holds its row: look for rows left with it once marked. */
  onRejectedWhileSending(): void;
  /** A hand-over whose send is still running in this process (a timeout after the hand-over): not looked at. */
  isInFlight(sendId: number): boolean;
}

/** A chat that could not be read, or not far enough, is read again after this long. */
const RECHECK_MS = 30_000;
/** Open hand-overs looked at in one pass. */
const BATCH = 50;
/** WhatsApp Web's clock (a message's timestamp) and the database's may differ by this much. */
const CLOCK_SLACK_MS = 60_000;
/** Hand-overs remembered as looked at, at most. */
const MAX_REMEMBERED = 5000;
/** A pass stops reading chats after this long (the rest wait for the next pass). */
const PASS_MS = 60_000;

export class ChatSettlement {
  /** When each open hand-over was last looked for in its chat (a new connection forgets them all). */
  private readonly checkedAt = new Map<number, number>();

  constructor(private readonly options: ChatSettlementOptions) {}

  /** The connection is back: every open hand-over is looked for again. */
  reconnected(): void {
    this.checkedAt.clear();
    this.options.wakeIn(this.options.settleGraceMs + 50); // when the grace period after reconnecting is over
  }

  /** One pass over the open hand-overs due for a look. */
  async pass(): Promise<void> {
    const { transport, pool, session } = this.options;
    if (!transport.readOwnMessages || !transport.isReady()) return;
    const started = Date.now();
    // Hand-overs made before this pairing went out on another pairing (maybe another number): not looked for.
    const pairedSince = transport.pairedSince?.()?.getTime() ?? 0;
    const open = (await settleCandidates(pool, session, this.options.lookAfterMs(), BATCH * 4))
      .filter((send) => started - (this.checkedAt.get(send.id) ?? 0) >= RECHECK_MS && !this.options.isInFlight(send.id) && send.handedOverAt.getTime() >= pairedSince)
      .slice(0, BATCH);
    const byChat = new Map<string, OpenSend[]>();
    for (const send of open) byChat.set(send.chatId, [...(byChat.get(send.chatId) ?? []), send]);
    for (const [chatId, sends] of byChat) {
      if (!transport.isReady()) return;
      if (Date.now() - started > PASS_MS) {
        this.options.wakeIn(1000);
        return;
      }
      for (const send of sends) this.checkedAt.set(send.id, Date.now());
      await this.settleChat(chatId, sends);
    }
    if (this.checkedAt.size > MAX_REMEMBERED) this.checkedAt.clear();
  }

  private async settleChat(chatId: string, sends: OpenSend[]): Promise<void> {
    const { transport, pool, logger } = this.options;
    const since = new Date(Math.min(...sends.map((s) => s.handedOverAt.getTime())) - CLOCK_SLACK_MS);
    const at = new Date().toISOString();
    let history;
    try {
      history = await transport.readOwnMessages!(chatId, since);
    } catch (err) {
      const error = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 300);
      logger.info({ chatId, sends: sends.length, err: error }, 'could not read the chat to settle unknown outcomes; they stay unknown');
      for (const send of sends) await recordChatCheck(pool, send.id, { result: 'unreadable', at, chatId, error });
      this.options.wakeIn(RECHECK_MS + 50);
      return;
    }
    const looked = { at, chatId: history.looked.chatId, fetched: history.looked.fetched, oldestAt: history.looked.oldestAt };
    const used = new Set<string>();
    // The grace period runs from the hand-over and from the moment the connection came back.
    const connectedSince = transport.status().since.getTime();
    for (const send of sends) {
      const fingerprint = send.bodySha256;
      const candidates = history.messages.filter(
        (m) => !used.has(m.messageId) && bodyFingerprint(m.body) === fingerprint && m.at.getTime() >= send.handedOverAt.getTime() - CLOCK_SLACK_MS,
      );
      let confirmed = false;
      for (const message of candidates) {
        used.add(message.messageId);
        if (this.options.isOwnId(message.messageId, send.id) || (await isKnownMessage(pool, message.messageId))) continue;
        const check: ChatCheck = { result: 'found', ...looked, messageId: message.messageId, ack: message.ack };
        if (await confirmSend(pool, send, message.messageId, message.ack !== null && message.ack >= 0 ? message.ack : null, check)) {
          logger.info({ id: send.outboxId, part: send.part + 1, parts: send.parts, messageId: message.messageId, ack: message.ack }, 'unknown outcome settled: the message is in the chat (confirmed)');
          if (message.ack === -1) await this.options.receipt(message.messageId, -1);
          confirmed = true;
          break;
        }
      }
      if (confirmed) continue;
      if (!history.complete) {
        await recordChatCheck(pool, send.id, { result: 'not_far_enough', ...looked });
        this.options.wakeIn(RECHECK_MS + 50);
        continue;
      }
      const waitedFrom = Math.max(send.handedOverAt.getTime(), connectedSince);
      if (Date.now() - waitedFrom < this.options.settleGraceMs) {
        this.options.wakeIn(waitedFrom + this.options.settleGraceMs - Date.now() + 50);
        this.checkedAt.delete(send.id);
        continue;
      }
      const settled = await settleNotDelivered(pool, send, { result: 'not_found', ...looked }, this.options.resendChecked, this.options.retry);
      if (settled === null) continue;
      const what = !settled.resent
        ? 'left to an operator (unconfirmed)'
        : settled.status === 'failed'
          ? 'its tries are used up: failed'
          : 'it is sent again';
      logger.warn({ id: send.outboxId, part: send.part + 1, parts: send.parts, chatId, status: settled.status }, `unknown outcome settled: the message is not in the chat (not delivered); ${what}`);
      if (settled.resent && settled.status === 'sending') this.options.onRejectedWhileSending();
      else if (settled.resent) this.options.onRequeue?.();
    }
  }
}
