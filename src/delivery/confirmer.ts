/**
 * Confirmation after the fact. A send whose outcome is unknown (WhatsApp Web took the message but gave
 * no id back) is never sent again on its own; this module confirms it from what WhatsApp reports:
 *
 * - Own-message events (`message_create`, and `message_ack` events, which carry the message) are kept
 *   for the confirmation window and matched to unknown hand-overs by chat, exact text (a fingerprint)
 *   and time, each part of a split message on its own. An event is matched once it is `settleMs` old,
 *   so the id of a send confirmed directly is recorded first and never taken for another.
 * - Settled from the chat itself (chat-settlement.ts), when the connection is back and once a
 *   hand-over has waited a while: found there, confirmed; surely not there, not delivered and sent again.
 * - Still unknown after `confirmTimeoutMs`: flagged `unconfirmed` with its reason, for an operator, when
 *   this session's oldest unknown hand-over reaches that age (the outbox maintenance does the same once a
 *   minute for every session, whether its confirmer runs or not).
 * - Receipts are recorded; an ack of -1 (WhatsApp's send error) puts the row back on the retry path.
 * - What says WhatsApp may be unhappy with the number (an ack -1, an unconfirmed send) goes to the
 *   governor, charged to the session of the row it concerns.
 *
 * Built beside the session's dispatcher (session-delivery.ts), not inside it.
 */
import type pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { SingleFlight } from '../lib/single-flight.js';
import type { OwnMessage, Transport } from '../whatsapp/transport.js';
import { withTransaction } from '../db/pool.js';
import type { Governor } from '../governor/governor.js';
import type { OutcomeHooks } from '../outbox/outcomes.js';
import {
  bodyFingerprint,
  confirmSend,
  findOpenSends,
  isKnownMessage,
  oldestUnknown,
  recordAck,
  rejectSend,
  requeueRejected,
  type RetryPolicy,
} from '../outbox/hand-overs.js';
import { ChatSettlement } from './chat-settlement.js';
import { expireUnconfirmed } from './unconfirmed.js';

export interface ConfirmerOptions {
  pool: pg.Pool;
  transport: Transport;
  /** The session whose hand-overs this confirmer settles (its transport's events are that number's). */
  session: string;
  logger: Logger;
  /** WA_CONFIRM_TIMEOUT_MS: how long an unknown outcome waits for confirmation before it is flagged. */
  confirmTimeoutMs: number;
  /** WA_SETTLE_GRACE_MS: how long a message must be missing from its chat, after the hand-over and after the connection came back. */
  settleGraceMs: number;
  /** WA_RESEND_CHECKED: a message found missing from its chat is sent again once (false: an operator decides). */
  resendChecked: boolean;
  retry: RetryPolicy;
  /** How old an own-message event must be before it is matched (default 1.5 s). */
  settleMs?: number;
  /** Row fates changed here (an ack -1 made a row pending or failed): wake the dispatcher. */
  onRequeue?: () => void;
  /** The ban-risk governor, told of ack errors and unconfirmed sends (none: not told). */
  governor?: Governor | null;
  /** A hand-over whose send is still running in this process (its answer came too late): not settled from the chat. */
  isInFlight?: (sendId: number) => boolean;
  /** The process's hooks; its receipt hooks run in the transaction that records a receipt (none: one statement). */
  hooks?: OutcomeHooks;
}

interface HeardMessage extends OwnMessage {
  heardAt: number;
  fingerprint: string;
}

/** Events kept at most (the oldest are dropped first). */
const MAX_HEARD = 5000;

export class Confirmer {
  private heard: HeardMessage[] = [];
  /**
   * Ids the dispatcher recorded itself, each with its hand-over when known: never a candidate for another
   * hand-over, but the very one for its own (a late answer names it before its confirmation is written).
   */
  private readonly ownIds = new Map<string, number | null>();
  private readonly settlement: ChatSettlement;
  private unsubscribe: Array<() => void> = [];
  private matchTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweepAt = 0;
  private readonly passes = new SingleFlight(
    () => this.pass(),
    (err) => this.options.logger.warn({ err: err.message }, 'confirming sends failed (database unreachable?); will retry'),
  );
  private stopped = false;
  /** An ack -1 arrived for a row still being sent: look again for rows left with a rejected part. */
  private rejectedWaiting = false;
  private readonly settleMs: number;

  constructor(private readonly options: ConfirmerOptions) {
    this.settleMs = options.settleMs ?? 1500;
    this.settlement = new ChatSettlement({
      ...options,
      lookAfterMs: () => this.lookupAfterMs(),
      isOwnId: (id, sendId) => this.ownIds.has(id) && this.ownIds.get(id) !== sendId,
      receipt: (id, ack) => this.receipt(id, ack),
      wakeIn: (ms) => this.scheduleSweep(ms),
      isInFlight: (id) => options.isInFlight?.(id) ?? false,
      onRejectedWhileSending: () => {
        this.rejectedWaiting = true;
        this.scheduleSweep(1000);
      },
    });
  }

  start(): void {
    const { transport, logger } = this.options;
    const off = transport.onOwnMessage?.((message) => this.hear(message));
    if (off) this.unsubscribe.push(off);
    const offAck = transport.onAck?.((messageId, ack) => {
      void this.receipt(messageId, ack).catch((err: Error) => logger.warn({ err: err.message, messageId, ack }, 'could not record a delivery receipt'));
    });
    if (offAck) this.unsubscribe.push(offAck);
    // The connection is back: every open hand-over is looked for in its chat again.
    this.unsubscribe.push(
      transport.onStateChange((status) => {
        if (status.state !== 'ready') return;
        this.settlement.reconnected();
        this.trigger();
        this.scheduleSweep(this.options.settleGraceMs + 50); // when the grace period after reconnecting is over
      }),
    );
    this.rejectedWaiting = true; // rows left with a rejected part by an earlier run
    this.trigger();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.matchTimer) clearTimeout(this.matchTimer);
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.passes.stop();
    await this.passes.idle();
  }

  /** The dispatcher recorded this id itself (a confirmed send; `sendId`: the hand-over it belongs to). */
  noteOwnId(messageId: string, sendId: number | null = null): void {
    this.ownIds.set(messageId, sendId);
    if (this.ownIds.size > MAX_HEARD) this.ownIds.delete(this.ownIds.keys().next().value!);
  }

  /** Looks for matches soon (an unknown outcome was just recorded, or an event arrived). */
  trigger(): void {
    if (this.stopped) return;
    this.passes.trigger();
  }

  /** Resolves when no pass is running (tests). */
  idle(): Promise<void> {
    return this.passes.idle();
  }

  private hear(message: OwnMessage): void {
    if (this.stopped) return;
    this.heard.push({ ...message, heardAt: Date.now(), fingerprint: bodyFingerprint(message.body) });
    if (this.heard.length > MAX_HEARD) this.heard.splice(0, this.heard.length - MAX_HEARD);
    this.scheduleMatch(this.settleMs);
  }

  private scheduleMatch(delayMs: number): void {
    if (this.matchTimer || this.stopped) return;
    this.matchTimer = setTimeout(() => {
      this.matchTimer = null;
      this.trigger();
    }, delayMs);
    this.matchTimer.unref();
  }

  private async receipt(messageId: string, ack: number): Promise<void> {
    const { pool, logger, retry } = this.options;
    if (ack === -1) {
      const result = await rejectSend(pool, messageId, retry);
      if (result) await this.options.governor?.signal(result.session, 'ack_error', `message ${result.outboxId}`);
      if (result?.status === 'sending') {
        this.rejectedWaiting = true;
        this.scheduleSweep(1000);
      } else if (result && result.status !== 'sent') {
        logger.warn({ id: result.outboxId, messageId, status: result.status }, 'WhatsApp reported a send error (ack -1): the message goes back to the retry path');
        this.options.onRequeue?.();
      }
      return;
    }
    const hooks = this.options.hooks?.receiptHooks() ?? [];
    if (hooks.length === 0) {
      await recordAck(pool, messageId, ack);
      return;
    }
    await withTransaction(pool, async (tx) => {
      const { rowIds } = await recordAck(tx, messageId, ack);
      if (rowIds.length === 0) return;
      for (const hook of hooks) await hook(tx, { rowIds, messageId, ack });
    });
  }

  /**
   * One pass: match what was heard, look into chats, flag what expired (when the oldest unknown
   * hand-over has), retry rejected parts an ack -1 left while their row was being sent; then sleep until
   * the oldest open hand-over needs a look or expires (an idle gateway asks nothing).
   */
  private async pass(): Promise<void> {
    const { pool, session, confirmTimeoutMs } = this.options;
    await this.matchHeard();
    if (this.options.transport.isReady()) await this.settlement.pass();
    let oldest = await oldestUnknown(pool, session);
    if (oldest && oldest.getTime() + confirmTimeoutMs <= Date.now()) {
      await expireUnconfirmed({ pool, session, confirmTimeoutMs, logger: this.options.logger, governor: this.options.governor ?? null });
      oldest = await oldestUnknown(pool, session);
    }
    if (this.rejectedWaiting) {
      this.rejectedWaiting = false;
      const requeued = await requeueRejected(pool, session, this.options.retry);
      if (requeued > 0) this.options.onRequeue?.();
    }
    if (oldest) {
      const now = Date.now();
      const expiresIn = oldest.getTime() + confirmTimeoutMs - now;
      const lookIn = this.options.transport.readOwnMessages ? oldest.getTime() + this.lookupAfterMs() - now : Infinity;
      this.scheduleSweep(Math.max(500, Math.min(expiresIn, lookIn > 0 ? lookIn : expiresIn) + 50));
    }
  }

  /** An open hand-over is first looked for in its chat this long after it (its own events usually confirm it sooner). */
  private lookupAfterMs(): number {
    return Math.min(this.options.settleGraceMs, 60_000, Math.floor(this.options.confirmTimeoutMs / 2));
  }

  /** Another pass in `delayMs` (the earliest asked for wins). */
  private scheduleSweep(delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + Math.min(delayMs, 2 ** 31 - 1);
    if (this.sweepTimer && this.sweepAt <= at) return;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = null;
      this.trigger();
    }, at - Date.now());
    this.sweepTimer.unref();
  }


  /** Matches settled events to open hand-overs; unmatched ones wait for a later pass until the window ends. */
  private async matchHeard(): Promise<void> {
    const now = Date.now();
    const window = this.options.confirmTimeoutMs;
    this.heard = this.heard.filter((m) => now - m.heardAt < window + 60_000);
    const ready = this.heard.filter((m) => now - m.heardAt >= this.settleMs);
    for (const message of ready) {
      if (await this.match(message)) this.heard.splice(this.heard.indexOf(message), 1);
    }
    const waiting = this.heard.filter((m) => now - m.heardAt < this.settleMs);
    if (waiting.length > 0) this.scheduleMatch(Math.max(10, this.settleMs - (now - Math.max(...waiting.map((m) => m.heardAt)))));
  }

  /** True when the event is used up: it confirmed a hand-over, or its id is already recorded. */
  private async match(message: HeardMessage): Promise<boolean> {
    const { pool, logger } = this.options;
    if (this.ownIds.has(message.messageId) || (await isKnownMessage(pool, message.messageId))) {
      if (message.ack !== null) await this.receipt(message.messageId, message.ack);
      return true;
    }
    const criteria = { session: this.options.session, bodySha256: message.fingerprint, chatIds: message.chatIds, seenAt: new Date(message.heardAt), windowMs: this.options.confirmTimeoutMs + 60_000 };
    let candidates = await findOpenSends(pool, criteria);
    // Filed under the recipient's LID with no phone number known: the text and time must be unique.
    if (candidates.length === 0 && message.chatIds.every((c) => c.endsWith('@lid'))) {
      const loose = await findOpenSends(pool, { ...criteria, anyPhoneChat: true });
      if (loose.length === 1) candidates = loose;
    }
    for (const send of candidates) {
      if (await confirmSend(pool, send, message.messageId, message.ack !== null && message.ack >= 0 ? message.ack : null)) {
        logger.info({ id: send.outboxId, part: send.part + 1, parts: send.parts, messageId: message.messageId }, 'send confirmed by WhatsApp after the fact');
        if (message.ack === -1) await this.receipt(message.messageId, -1);
        return true;
      }
    }
    return false;
  }
}
