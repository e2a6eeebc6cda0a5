/**
 * Hearing WhatsApp: every message people send to the number is stored once in wa_inbox (with the
 * `message.received` webhook event, in one transaction), and only then handled: in a second
 * transaction that locks the stored row, runs the handlers the composition root registered (complaints
 * by WhatsApp, notifwa opt-in) until one takes the message, and marks it handled with what was done.
 * An intake hears one session (one WhatsApp number): its rows carry that session, and the handlers
 * read it from the row, so whatever answers a message goes out from the number that heard it. So:
 *
 * - a message WhatsApp delivers again (after a reconnect or a restart) is neither stored nor handled
 *   twice (the unique WhatsApp id);
 * - a crash between storing and handling leaves the row unhandled, and it is handled at the next start
 *   (or the next sweep), exactly once (the handling and its mark commit together).
 *
 * Ignored, as Cicero_V2 does, and counted: status broadcasts, and group messages from a group that is
 * no active unit's `clients.client_group` (where Cicero_V2's tables exist). This number's own messages
 * never reach here (the transport reports them apart). Messages are taken one at a time, in the order
 * WhatsApp reported them.
 */
import type pg from 'pg';
import { isRetryableDatabaseError, withTransaction } from '../db/pool.js';
import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../lib/logger.js';
import { sleep } from '../lib/sleep.js';
import type { WebhookEvents } from '../webhooks/events.js';
import type { InboundMessage, Transport } from '../whatsapp/transport.js';
import { markHandled, storeInbound, takeUnhandled, unhandledIds, unitGroups, type InboxRow } from './inbox.js';
import { recordInbound } from '../sessions/affinity.js';
import { normaliseRecipient } from '../whatsapp/recipient.js';

/** Takes a message (returns what it did, e.g. `complaint`) or leaves it to the next handler (null). */
export type InboundHandler = (tx: pg.PoolClient, message: InboxRow) => Promise<string | null>;

export interface IntakeStats {
  stored: number;
  duplicates: number;
  ignoredStatus: number;
  ignoredGroup: number;
  handled: number;
}

export interface IntakeOptions {
  pool: pg.Pool;
  session: string;
  transport: Transport;
  webhooks: WebhookEvents;
  handlers: InboundHandler[];
  logger: Logger;
}

/** Unit groups are read again after this long. */
const GROUPS_TTL_MS = 60_000;
/** Messages left unhandled by a database outage are looked for this often. */
const SWEEP_MS = 30_000;
/** Storing is tried this many times while the database is away before the message is given up (logged). */
const STORE_TRIES = 12;

export class Intake {
  readonly stats: IntakeStats = { stored: 0, duplicates: 0, ignoredStatus: 0, ignoredGroup: 0, handled: 0 };
  private chain: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;
  private groups: { at: number; ids: Set<string> | null } | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: IntakeOptions) {}

  /** Listens to the transport, and handles what a crash left stored but unhandled. */
  async start(): Promise<void> {
    this.unsubscribe = this.options.transport.onInbound((message) => this.receive(message));
    this.queue(() => this.sweep());
    this.sweepTimer = setInterval(() => this.queue(() => this.sweep()), SWEEP_MS);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.chain;
  }

  /** Resolves when every message heard so far has been taken (tests). */
  idle(): Promise<void> {
    return this.chain;
  }

  private receive(message: InboundMessage): void {
    this.queue(() => this.take(message));
  }

  private queue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((err: Error) => this.options.logger.error({ err: err.message }, 'taking an incoming message failed'));
  }

  private async take(message: InboundMessage): Promise<void> {
    const { pool, session, webhooks, logger } = this.options;
    if (message.isStatus) {
      this.stats.ignoredStatus++;
      return;
    }
    if (message.isGroup && !(await this.isUnitGroup(message.chatId))) {
      this.stats.ignoredGroup++;
      logger.debug({ chat: message.chatId }, 'group message ignored: the group is no active unit\'s WhatsApp group');
      return;
    }
    let id: number | null = null;
    for (let attempt = 1; ; attempt++) {
      try {
        id = await withTransaction(pool, async (tx) => {
          const stored = await storeInbound(tx, session, message);
          if (stored !== null) await webhooks.record(tx, 'message.received', inboundPayload(stored, session, message), message.chatId);
          // The person wrote to this number: the router sends them this number's messages (chat affinity).
          const person = stored !== null && !message.isGroup ? personChat(message) : null;
          if (person) await recordInbound(tx, person, session, message.sentAt);
          return stored;
        });
        break;
      } catch (err) {
        if (!isRetryableDatabaseError(err) || attempt >= STORE_TRIES || this.stopped) {
          logger.error({ err: (err as Error).message, messageId: message.messageId }, 'an incoming message could not be stored; WhatsApp still holds it in the chat');
          return;
        }
        await sleep(backoffDelay(attempt, { baseMs: 500, maxMs: 10_000 }));
      }
    }
    if (id === null) {
      this.stats.duplicates++;
      return;
    }
    this.stats.stored++;
    await this.handle(id);
  }

  /** Handles one stored message exactly once: the handlers' writes and the mark commit together. */
  private async handle(id: number): Promise<void> {
    const { pool, handlers, logger } = this.options;
    try {
      const outcome = await withTransaction(pool, async (tx) => {
        const row = await takeUnhandled(tx, id);
        if (!row) return null;
        let outcome = 'none';
        for (const handler of handlers) {
          const taken = await handler(tx, row);
          if (taken) {
            outcome = taken;
            break;
          }
        }
        await markHandled(tx, id, outcome);
        return outcome;
      });
      if (outcome === null) return;
      this.stats.handled++;
      logger.info({ inbox: id, outcome }, 'incoming message handled');
    } catch (err) {
      if (isRetryableDatabaseError(err)) {
        logger.warn({ inbox: id, err: (err as Error).message }, 'handling an incoming message failed (database away); it is handled at the next sweep');
        return;
      }
      // A message no handler can take (a bug, bad data) must not be retried forever: it is marked with the reason.
      logger.error({ inbox: id, err: (err as Error).message }, 'an incoming message could not be handled; it is marked with the error');
      await markHandled(pool, id, `error: ${(err as Error).message}`.slice(0, 300)).catch(() => undefined);
    }
  }

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    for (const id of await unhandledIds(this.options.pool, this.options.session)) await this.handle(id);
  }

  private async isUnitGroup(chatId: string): Promise<boolean> {
    if (!this.groups || Date.now() - this.groups.at > GROUPS_TTL_MS) this.groups = { at: Date.now(), ids: await unitGroups(this.options.pool) };
    return this.groups.ids === null || this.groups.ids.has(chatId);
  }
}

/** The `message.received` event's data. */
function inboundPayload(inboxId: number, session: string, m: InboundMessage): Record<string, unknown> {
  return {
    inboxId,
    session,
    messageId: m.messageId,
    chatId: m.chatId,
    isGroup: m.isGroup,
    sender: { id: m.senderId, phone: m.senderPhone, lid: m.senderLid, name: m.senderName },
    body: m.body,
    media: m.media,
    sentAt: m.sentAt.toISOString(),
  };
}

/** The person's chat id as the outbox addresses them: their number (`…@c.us`) where known, else the chat's id. */
export function personChat(message: Pick<InboundMessage, 'chatId' | 'senderPhone'>): string | null {
  const id = normaliseRecipient(message.senderPhone ?? message.chatId, '');
  return id.ok ? id.chatId : null;
}
