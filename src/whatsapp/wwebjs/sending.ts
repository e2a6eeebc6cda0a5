/**
 * Sending through whatsapp-web.js, with the hand-over made exact: anything that goes wrong before
 * `sendMessage` is called is a failure (SendError); once it is called the message is handed over, and
 * WhatsApp's id (whatever shape its key has, see messages.ts) confirms it, while no id is an unknown
 * outcome.
 *
 * An error thrown by `sendMessage` is settled from the chat itself: WhatsApp Web puts a message in the
 * chat before it sends it, so the chat's own recent messages are read (after the page fix,
 * msgkey-fix.ts). Not there, with the history read back past the hand-over: WhatsApp Web did not take
 * it (a page error before it did, such as `t: t` on a media send), a failure before the hand-over that
 * is retried as such. There: its event confirms it. The chat cannot be read: an unknown outcome, never
 * sent again on its own. An error WhatsApp Web raises before it takes any message (an invalid chat id)
 * is a permanent failure.
 *
 * `…@c.us` numbers are checked with getNumberId first (the answer cached 6 hours); not registered is a
 * permanent `not_on_whatsapp`. Sent without marking the chat seen (`sendSeen: false`, the markedUnread
 * crash) and without link previews; documents as documents, with their caption.
 */
import {
  HandOverRefused,
  SendError,
  type ChatHistory,
  type OutgoingDocument,
  type OwnMessage,
  type SendHooks,
  type SendResult,
  type TransportStatus,
} from '../transport.js';
import { sleep, within } from '../../lib/sleep.js';
import { describe, findChats } from './chats.js';
import { documentMedia, type WwebChatLike, type WwebClientLike } from './client.js';
import { messageIdOf } from './messages.js';

/** getNumberId answers are reused for this long. */
const NUMBER_CACHE_MS = 6 * 60 * 60 * 1000;
/** Own messages read from a chat at first, and at most when that does not reach back far enough. */
const HISTORY_LIMITS = [50, 500];
/** WhatsApp Web's clock (a message's timestamp) and the database's may differ by this much. */
export const CLOCK_SLACK_MS = 60_000;
/** After sendMessage threw, how long to let the page settle before its chat is read. */
const SETTLE_AFTER_THROW_MS = 1000;
/** The longest one read of a chat's messages may take. */
const CHAT_READ_MS = 15_000;
const TIMED_OUT = Symbol('timed out');

/** Errors WhatsApp Web raises before it takes a message: the send was not handed over. */
const REFUSED_BEFORE_HAND_OVER = /invalid wid|wid error|invalid (number|chat|id)|not a (valid )?(user|contact|participant)|no lid for user/i;

/** Classifies an error thrown by whatsapp-web.js before the hand-over. */
export function classifySendError(err: unknown): SendError {
  if (err instanceof SendError) return err;
  const message = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 300);
  if (/invalid wid|wid error|invalid (number|chat|id)|not a (valid )?(user|contact|participant)|chat not found|no lid for user/i.test(message)) {
    return new SendError('permanent', 'rejected', message);
  }
  if (/session closed|target closed|protocol error|detached frame|execution context was destroyed|not connected|timed? ?out/i.test(message)) {
    return new SendError('transient', 'connection_lost', message);
  }
  return new SendError('transient', 'send_error', message);
}

export interface SenderContext {
  /** The client, when ready; null otherwise. */
  readyClient(): WwebClientLike | null;
  status(): TransportStatus;
  ownMessage(message: unknown, ack: number | null): Promise<OwnMessage | null>;
  /** Reports an own message found in a chat, as WhatsApp's own-message event would. */
  reportOwn(message: OwnMessage): void;
  aliasOf(id: string): Promise<string | null>;
  /** Makes sure the page is fixed before it is used (msgkey-fix.ts); never throws. */
  preparePage(client: WwebClientLike): Promise<unknown>;
}

export class Sender {
  private readonly numbers = new Map<string, { wid: string | null; at: number }>();

  constructor(private readonly context: SenderContext) {}

  /** The auth profile cleared: what WhatsApp said about numbers may not hold for the next login. */
  forgetNumbers(): void {
    this.numbers.clear();
  }

  sendText(chatId: string, text: string, hooks: SendHooks): Promise<SendResult> {
    return this.send(chatId, text, hooks, (client, target) => client.sendMessage(target, text, { linkPreview: false, sendSeen: false }));
  }

  sendDocument(chatId: string, document: OutgoingDocument, hooks: SendHooks): Promise<SendResult> {
    const media = documentMedia(document);
    return this.send(chatId, document.caption ?? '', hooks, (client, target) =>
      client.sendMessage(target, media, { sendMediaAsDocument: true, sendSeen: false, ...(document.caption ? { caption: document.caption } : {}) }),
    );
  }

  async isRegistered(chatId: string): Promise<boolean> {
    return (await this.registeredId(this.client(), chatId)) !== null;
  }

  /**
   * This session's messages in a chat since a time, from WhatsApp Web's copy of the chat: every chat the
   * id stands for (its own id, its LID or phone number), each read with
   * `chat.fetchMessages({ limit, fromMe: true })` (50, then 500 messages back).
   *
   * Complete only on positive evidence, in every chat read: a message older than `since` was loaded (an
   * own one, else any, read without `fromMe`). A short read alone proves nothing: whatsapp-web.js stops
   * loading earlier messages whenever WhatsApp Web gives none at that moment (a load under way, a
   * history still syncing), and a chat WhatsApp Web did not hold is created empty. Throws when no chat
   * can be read; each read is bounded in time.
   */
  async readOwnMessages(chatId: string, since: Date): Promise<ChatHistory> {
    const client = this.client();
    await this.context.preparePage(client);
    const found = await findChats(client, chatId, (id) => this.context.aliasOf(id));
    if (found.chats.length === 0) throw new Error(`the chat could not be read (${found.problems.join('; ')})`);
    const messages: OwnMessage[] = [];
    let complete = true;
    let fetched = 0;
    let oldestAt: number | null = null;
    let limit = 0;
    for (const { chat } of found.chats) {
      const read = await this.readChat(chat, since);
      messages.push(...read.messages);
      complete &&= read.complete;
      fetched += read.fetched;
      limit = Math.max(limit, read.limit);
      if (read.oldest !== null) oldestAt = oldestAt === null ? read.oldest : Math.min(oldestAt, read.oldest);
    }
    return {
      messages,
      complete,
      looked: { chatId: found.chats.map((c) => c.id).join(', '), fetched, oldestAt: oldestAt === null ? null : new Date(oldestAt).toISOString(), limit },
    };
  }

  private async readChat(chat: WwebChatLike, since: Date): Promise<{ messages: OwnMessage[]; complete: boolean; fetched: number; oldest: number | null; limit: number }> {
    const fetch = async (options: { limit: number; fromMe?: boolean }) => {
      const read = await within(chat.fetchMessages(options), CHAT_READ_MS, TIMED_OUT);
      if (read === TIMED_OUT) throw new Error(`WhatsApp Web did not give the chat's messages within ${CHAT_READ_MS} ms`);
      const stamps = read.map((m) => Number((m as { timestamp?: unknown }).timestamp) * 1000).filter(Number.isFinite);
      return { read, oldest: stamps.length > 0 ? Math.min(...stamps) : null };
    };
    let own: Awaited<ReturnType<typeof fetch>> = { read: [], oldest: null };
    let limit = 0;
    for (const size of HISTORY_LIMITS) {
      limit = size;
      own = await fetch({ limit: size, fromMe: true });
      if ((own.oldest !== null && own.oldest <= since.getTime()) || own.read.length < size) break;
    }
    let complete = own.oldest !== null && own.oldest <= since.getTime();
    if (!complete) {
      // No own message that old: any message before the time (someone who wrote first) is evidence too.
      for (const size of HISTORY_LIMITS) {
        const any = await fetch({ limit: size });
        complete = any.oldest !== null && any.oldest <= since.getTime();
        if (complete || any.read.length < size) break;
      }
    }
    const messages: OwnMessage[] = [];
    for (const message of own.read) {
      const mine = await this.context.ownMessage(message, ackOf(message));
      const at = Number((message as { timestamp?: unknown }).timestamp) * 1000;
      if (mine && (!Number.isFinite(at) || at >= since.getTime())) messages.push({ ...mine, at: Number.isFinite(at) ? new Date(at) : mine.at });
    }
    return { messages, complete, fetched: own.read.length, oldest: own.oldest, limit };
  }

  private client(): WwebClientLike {
    const client = this.context.readyClient();
    if (!client) throw new SendError('transient', 'not_ready', `WhatsApp is ${this.context.status().state}`);
    return client;
  }

  private async send(chatId: string, expectedBody: string, hooks: SendHooks, handOver: (client: WwebClientLike, target: string) => Promise<unknown>): Promise<SendResult> {
    const client = this.client();
    let target = chatId;
    try {
      if (chatId.endsWith('@c.us')) {
        const wid = await this.registeredId(client, chatId);
        if (!wid) throw new SendError('permanent', 'not_on_whatsapp', `${chatId} has no WhatsApp account`);
        target = wid;
      }
      if (client.pupPage?.isClosed?.()) throw new SendError('transient', 'connection_lost', 'the WhatsApp Web page is closed');
      if (this.context.readyClient() !== client) throw new SendError('transient', 'not_ready', `WhatsApp is ${this.context.status().state}`);
    } catch (err) {
      throw classifySendError(err);
    }
    await this.context.preparePage(client);
    await hooks.handOver(); // throws HandOverRefused when the message may not be sent
    const handedOverAt = new Date();
    let message: unknown;
    try {
      message = await handOver(client, target);
    } catch (err) {
      if (err instanceof HandOverRefused) throw err;
      const detail = describe(err).slice(0, 300);
      if (REFUSED_BEFORE_HAND_OVER.test(detail)) throw new SendError('permanent', 'rejected', detail);
      return this.settleThrown(target, expectedBody, handedOverAt, detail);
    }
    const messageId = messageIdOf(message);
    if (messageId) return { outcome: 'confirmed', messageId };
    return { outcome: 'unknown', reason: 'no_message_id: WhatsApp Web returned no message id' };
  }

  /**
   * sendMessage threw after the hand-over: the chat says whether WhatsApp Web took the message. Not in
   * a history that reaches back past the hand-over: a failure before the hand-over (SendError, retried).
   * In it: reported as an own message (the confirmer confirms it, never taking an id twice), unknown
   * until then. Unreadable: unknown.
   */
  private async settleThrown(chatId: string, body: string, handedOverAt: Date, detail: string): Promise<SendResult> {
    await sleep(SETTLE_AFTER_THROW_MS);
    let history: ChatHistory;
    try {
      history = await this.readOwnMessages(chatId, new Date(handedOverAt.getTime() - CLOCK_SLACK_MS));
    } catch (err) {
      return { outcome: 'unknown', reason: `send_error after hand-over: ${detail}; the chat could not be read to check it: ${describe(err)}` };
    }
    const wanted = normalised(body);
    const there = history.messages.filter((m) => normalised(m.body) === wanted && m.at.getTime() >= handedOverAt.getTime() - CLOCK_SLACK_MS);
    if (there.length > 0) {
      for (const own of there) this.context.reportOwn(own);
      return { outcome: 'unknown', reason: `send_error after hand-over: ${detail}; the message is in the chat (${history.looked.chatId}), confirming it` };
    }
    if (!history.complete) {
      return { outcome: 'unknown', reason: `send_error after hand-over: ${detail}; not among the chat's last ${history.looked.fetched} own messages, which do not show its history back to the hand-over` };
    }
    throw new SendError('transient', 'not_taken', `${detail} (checked in the chat: WhatsApp Web did not take the message; ${history.looked.fetched} own messages read)`);
  }

  private async registeredId(client: WwebClientLike, chatId: string): Promise<string | null> {
    const cached = this.numbers.get(chatId);
    if (cached && Date.now() - cached.at < NUMBER_CACHE_MS) return cached.wid;
    const result = await client.getNumberId(chatId);
    const wid = result?._serialized ?? null;
    this.numbers.set(chatId, { wid, at: Date.now() });
    return wid;
  }
}

/** A message's text as it is compared: line breaks and outer white space normalised. */
function normalised(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

/** The ack level a fetched message carries (0 when it says none). */
function ackOf(message: unknown): number {
  const ack = Number((message as { ack?: unknown })?.ack);
  return Number.isFinite(ack) ? ack : 0;
}
