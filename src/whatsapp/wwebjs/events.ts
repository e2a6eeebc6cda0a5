/**
 * What WhatsApp reports about messages, turned into the transport's events:
 *
 * - `message_create` with fromMe: this number's own messages (how an unknown send is confirmed later);
 * - `message_ack`: receipts, and (fromMe) the message again, in case its message_create was missed;
 * - `message`: messages other people send to this number, personal or in a group.
 *
 * A chat or sender filed under a LID is reported with its phone number too, where WhatsApp knows it
 * (`getContactLidAndPhone`, cached).
 */
import type { Logger } from '../../lib/logger.js';
import type { InboundMessage, Listeners, OwnMessage } from '../transport.js';
import type { WwebClientLike } from './client.js';
import { inboundMessage, isFromMe, messageBody, messageIdOf, ownMessageChat } from './messages.js';

export interface MessageSinks {
  acks: Listeners<[string, number]>;
  own: Listeners<[OwnMessage]>;
  inbound: Listeners<[InboundMessage]>;
}

export class MessageEvents {
  /** LID ↔ phone-number ids WhatsApp told us about. */
  private readonly aliases = new Map<string, string>();

  constructor(
    private readonly sinks: MessageSinks,
    private readonly current: () => WwebClientLike | null,
    private readonly logger: Logger,
  ) {}

  wire(client: WwebClientLike, mine: () => boolean): void {
    client.on('message_create', (message: unknown) => {
      if (mine() && isFromMe(message)) this.report(this.ownMessage(message, null), this.sinks.own);
    });
    client.on('message_ack', (message: unknown, ack: number) => {
      const id = messageIdOf(message);
      if (!mine() || !id || typeof ack !== 'number') return;
      this.sinks.acks.emit(id, ack);
      // The ack carries the message: it can confirm a send whose message_create was missed.
      if (isFromMe(message)) this.report(this.ownMessage(message, ack), this.sinks.own);
    });
    client.on('message', (message: unknown) => {
      if (mine() && !isFromMe(message)) this.report(this.inbound(message), this.sinks.inbound);
    });
  }

  /** Reports in the order WhatsApp raised the events, although reading one (a LID look-up) may take longer. */
  private reported: Promise<void> = Promise.resolve();

  private report<T>(reading: Promise<T | null>, sink: Listeners<[T]>): void {
    if (sink.size === 0) {
      reading.catch(() => undefined);
      return;
    }
    this.reported = this.reported
      .then(() => reading)
      .then((value) => {
        if (value) sink.emit(value);
      })
      .catch((err: Error) => this.logger.debug({ err: err.message }, 'could not read a WhatsApp message event'));
  }

  /** An own message as the gateway matches it: id, chat (with its LID or phone alias), text. */
  async ownMessage(message: unknown, ack: number | null): Promise<OwnMessage | null> {
    const messageId = messageIdOf(message);
    const chat = ownMessageChat(message);
    if (!messageId || !chat) return null;
    const chatIds = [chat];
    const alias = await this.aliasOf(chat);
    if (alias) chatIds.push(alias);
    return { messageId, chatIds, body: messageBody(message), at: new Date(), ack };
  }

  private async inbound(message: unknown): Promise<InboundMessage | null> {
    const read = inboundMessage(message);
    if (!read) return null;
    const sender = read.senderId;
    const alias = await this.aliasOf(sender);
    const phone = sender.endsWith('@c.us') ? sender : alias?.endsWith('@c.us') ? alias : null;
    const lid = sender.endsWith('@lid') ? sender : alias?.endsWith('@lid') ? alias : null;
    return { ...read, senderId: phone ?? sender, senderPhone: phone, senderLid: lid };
  }

  /** The phone-number id of a LID, or the LID of a phone-number id, where WhatsApp knows it. */
  async aliasOf(id: string): Promise<string | null> {
    if (!/@(lid|c\.us)$/.test(id)) return null;
    if (this.aliases.has(id)) return this.aliases.get(id)!;
    const client = this.current();
    if (!client?.getContactLidAndPhone) return null;
    try {
      const [pair] = await client.getContactLidAndPhone([id]);
      if (pair?.lid && pair.pn) {
        this.aliases.set(pair.lid, pair.pn);
        this.aliases.set(pair.pn, pair.lid);
      }
    } catch (err) {
      this.logger.debug({ err: (err as Error).message, id }, 'could not resolve the LID and phone number of a contact');
    }
    return this.aliases.get(id) ?? null;
  }
}
