/**
 * Sending through whatsapp-web.js, with the hand-over made exact: anything that goes wrong before
 * `sendMessage` is called is a failure (SendError); once it is called the message is handed over, and
 * WhatsApp's id (whatever shape its key has, see messages.ts) confirms it, while no id, or an error
 * thrown by the call, is an unknown outcome, except an error WhatsApp Web raises before it takes the
 * message (an invalid chat id).
 *
 * `…@c.us` numbers are checked with getNumberId first (the answer cached 6 hours); not registered is a
 * permanent `not_on_whatsapp`. Sent without marking the chat seen (`sendSeen: false`, the markedUnread
 * crash) and without link previews; documents as documents, with their caption.
 */
import {
  HandOverRefused,
  SendError,
  type OutgoingDocument,
  type OwnMessage,
  type SendHooks,
  type SendResult,
  type TransportStatus,
} from '../transport.js';
import { documentMedia, type WwebClientLike } from './client.js';
import { messageIdOf } from './messages.js';

/** getNumberId answers are reused for this long. */
const NUMBER_CACHE_MS = 6 * 60 * 60 * 1000;

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
}

export class Sender {
  private readonly numbers = new Map<string, { wid: string | null; at: number }>();

  constructor(private readonly context: SenderContext) {}

  /** A session cleared: what WhatsApp said about numbers may not hold for the next one. */
  forgetNumbers(): void {
    this.numbers.clear();
  }

  sendText(chatId: string, text: string, hooks: SendHooks): Promise<SendResult> {
    return this.send(chatId, hooks, (client, target) => client.sendMessage(target, text, { linkPreview: false, sendSeen: false }));
  }

  sendDocument(chatId: string, document: OutgoingDocument, hooks: SendHooks): Promise<SendResult> {
    const media = documentMedia(document);
    return this.send(chatId, hooks, (client, target) =>
      client.sendMessage(target, media, { sendMediaAsDocument: true, sendSeen: false, ...(document.caption ? { caption: document.caption } : {}) }),
    );
  }

  async isRegistered(chatId: string): Promise<boolean> {
    return (await this.registeredId(this.client(), chatId)) !== null;
  }

  /** This session's messages in a chat since a time (WhatsApp Web's copy of the chat; best effort). */
  async findOwnMessages(chatId: string, since: Date): Promise<OwnMessage[]> {
    const client = this.context.readyClient();
    if (!client?.getChatById) return [];
    const chat = await client.getChatById(chatId);
    if (!chat) return [];
    const messages = await chat.fetchMessages({ limit: 50, fromMe: true });
    const found: OwnMessage[] = [];
    for (const message of messages) {
      const timestamp = Number((message as { timestamp?: unknown }).timestamp) * 1000;
      const own = await this.context.ownMessage(message, null);
      if (own && (!Number.isFinite(timestamp) || timestamp >= since.getTime())) found.push({ ...own, at: Number.isFinite(timestamp) ? new Date(timestamp) : own.at });
    }
    return found;
  }

  private client(): WwebClientLike {
    const client = this.context.readyClient();
    if (!client) throw new SendError('transient', 'not_ready', `WhatsApp is ${this.context.status().state}`);
    return client;
  }

  private async send(chatId: string, hooks: SendHooks, handOver: (client: WwebClientLike, target: string) => Promise<unknown>): Promise<SendResult> {
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
    await hooks.handOver(); // throws HandOverRefused when the message may not be sent
    let message: unknown;
    try {
      message = await handOver(client, target);
    } catch (err) {
      if (err instanceof HandOverRefused) throw err;
      const detail = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 300);
      if (REFUSED_BEFORE_HAND_OVER.test(detail)) throw new SendError('permanent', 'rejected', detail);
      return { outcome: 'unknown', reason: `send_error after hand-over: ${detail}` };
    }
    const messageId = messageIdOf(message);
    if (messageId) return { outcome: 'confirmed', messageId };
    return { outcome: 'unknown', reason: 'no_message_id: WhatsApp Web returned no message id' };
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
